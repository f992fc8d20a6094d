"""Two cassettes compared for review: interactions paired by match key, differences told as
requests, statuses, endings, SSE events and JSON fields, and a timing summary; not raw lines.

Pure and stable: the same two cassettes always give the same lines, sorted, with no clock
or path in them, so the output can be snapshot-tested and read in code review.
"""

from __future__ import annotations

import difflib
import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from chunktape.bodies.framing import events as stream_events
from chunktape.cassette import Cassette, Headers, Interaction, Response
from chunktape.matching import MatchRules
from chunktape.secret_names import REDACTED
from chunktape.views.json_diff import as_json, as_text, clip, normalized, value_differences
from chunktape.views.pairing import pair_interactions

VOLATILE_HEADERS = frozenset(
    {
        "date",
        "age",
        "expires",
        "server-timing",
        "x-request-id",
        "request-id",
        "cf-ray",
        "x-cloud-trace-context",
        "x-envoy-upstream-service-time",
        "openai-processing-ms",
        "x-amzn-requestid",
        "x-amzn-trace-id",
        "content-length",
    }
)
"""Response headers that change on every recording; their changes are not differences."""

_MOST_LINES_PER_EVENT = 12


@dataclass(frozen=True)
class Timing:
    """The figures a timing summary compares, in seconds."""

    headers_s: float
    first_byte_s: float | None
    total_s: float
    gap_p50_s: float | None
    gap_p99_s: float | None

    @classmethod
    def of(cls, response: Response) -> Timing:
        arrivals = [response.headers_at_s, *(chunk.at_s for chunk in response.chunks)]
        gaps = sorted(later - earlier for earlier, later in itertools.pairwise(arrivals))
        return cls(
            headers_s=response.headers_at_s,
            first_byte_s=response.chunks[0].at_s if response.chunks else None,
            total_s=response.end_s,
            gap_p50_s=percentile(gaps, 50),
            gap_p99_s=percentile(gaps, 99),
        )


def percentile(ordered: Sequence[float], percent: int) -> float | None:
    """Nearest-rank percentile of sorted values."""
    if not ordered:
        return None
    rank = max(1, math.ceil(percent / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass
class PairDiff:
    """What differs between one interaction of OLD and its partner in NEW."""

    title: str
    old_index: int | None
    new_index: int | None
    lines: list[str] = field(default_factory=list)
    timing_line: str | None = None

    @property
    def equal(self) -> bool:
        return self.old_index is not None and self.new_index is not None and not self.lines and not self.timing_line


@dataclass
class CassetteDiff:
    pairs: list[PairDiff]

    @property
    def equal(self) -> bool:
        return all(pair.equal for pair in self.pairs)

    def render(self) -> str:
        paired = sum(1 for pair in self.pairs if pair.old_index is not None and pair.new_index is not None)
        only_old = sum(1 for pair in self.pairs if pair.new_index is None)
        only_new = sum(1 for pair in self.pairs if pair.old_index is None)
        changed = sum(1 for pair in self.pairs if not pair.equal)
        lines = [
            f"{paired} paired, {only_old} only in OLD, {only_new} only in NEW; "
            + ("no differences" if changed == 0 else f"{changed} differ")
        ]
        for pair in self.pairs:
            if pair.old_index is None:
                lines.append(f"+ {pair.title}: only in NEW (#{pair.new_index})")
            elif pair.new_index is None:
                lines.append(f"- {pair.title}: only in OLD (#{pair.old_index})")
            elif pair.equal:
                lines.append(f"= {pair.title} (#{pair.old_index} -> #{pair.new_index})")
            else:
                lines.append(f"~ {pair.title} (#{pair.old_index} -> #{pair.new_index})")
                lines.extend(f"    {line}" for line in pair.lines)
                if pair.timing_line:
                    lines.append(f"    {pair.timing_line}")
        return "\n".join(lines) + "\n"


def diff_cassettes(
    old: Cassette,
    new: Cassette,
    *,
    rules: MatchRules | None = None,
    timing_tolerance_s: float | None = None,
    ignore_fields: Iterable[str] = (),
) -> CassetteDiff:
    """Pair OLD's and NEW's interactions by match key (the n-th of a key with the n-th) and
    tell what differs in each pair; timing shifts up to `timing_tolerance_s` are not differences."""
    rules = rules or MatchRules()
    ignored = frozenset(name.lower() for name in ignore_fields)
    pairs: list[PairDiff] = []
    for paired in pair_interactions(old, new, rules):
        pair = PairDiff(paired.title, paired.old_index, paired.new_index)
        if paired.old is not None and paired.new is not None:
            pair.lines = interaction_differences(paired.old, paired.new, ignored)
            pair.timing_line = timing_difference(paired.old.response, paired.new.response, timing_tolerance_s)
        pairs.append(pair)
    return CassetteDiff(pairs)


def interaction_differences(old: Interaction, new: Interaction, ignored: frozenset[str] = frozenset()) -> list[str]:
    lines: list[str] = []
    if old.request.url != new.request.url:
        lines.append(f"request url: {old.request.url} -> {new.request.url}")
    lines += [f"request {line}" for line in header_differences(old.request.headers, new.request.headers, set())]
    if old.request.body != new.request.body:
        lines.append("request body: same match key, different bytes (formatting or ignored fields)")
    before, after = old.response, new.response
    if before.status != after.status:
        lines.append(f"status: {before.status} -> {after.status}")
    if before.ended != after.ended:
        lines.append(f"ended: {before.ended} -> {after.ended}")
    if before.timing != after.timing:
        lines.append(f"timing source: {before.timing} -> {after.timing}")
    lines += [f"response {line}" for line in header_differences(before.headers, after.headers, VOLATILE_HEADERS)]
    lines += body_differences(before, after, ignored)
    return lines


def header_differences(old: Headers, new: Headers, skip: frozenset[str] | set[str]) -> list[str]:
    def table(headers: Headers) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for name, value in headers:
            if name.lower() not in skip:
                out.setdefault(name.lower(), []).append(value)
        return out

    before, after = table(old), table(new)
    lines = []
    for name in sorted(set(before) | set(after)):
        if name not in after:
            lines.append(f"header removed: {name}")
        elif name not in before:
            lines.append(f"header added: {name}: {_shown(after[name])}")
        elif before[name] != after[name]:
            lines.append(f"header changed: {name}: {_shown(before[name])} -> {_shown(after[name])}")
    return lines


def _shown(values: list[str]) -> str:
    return ", ".join(REDACTED if value == REDACTED else clip(value) for value in values)


def body_differences(old: Response, new: Response, ignored: frozenset[str]) -> list[str]:
    if old.body == new.body:
        return []
    _, old_events = stream_events(old.body, old.header("content-type"))
    _, new_events = stream_events(new.body, new.header("content-type"))
    if not old_events and not new_events:
        return document_differences(old.body, new.body, ignored)
    before = [(event.name, normalized(event.summary, ignored)) for event in old_events]
    after = [(event.name, normalized(event.summary, ignored)) for event in new_events]
    lines: list[str] = []
    hashable_before = [(name, as_json(value)) for name, value in before]
    hashable_after = [(name, as_json(value)) for name, value in after]
    matcher = difflib.SequenceMatcher(a=hashable_before, b=hashable_after, autojunk=False)
    for tag, a_start, a_end, b_start, b_end in matcher.get_opcodes():
        if tag == "equal":
            continue
        olds = list(range(a_start, a_end))
        news = list(range(b_start, b_end))
        for old_at, new_at in zip(olds, news, strict=False):
            name = before[old_at][0]
            label = f"event {old_at + 1}" + (f" -> {new_at + 1}" if new_at != old_at else "") + f" ({name}) changed"
            if before[old_at][0] != after[new_at][0]:
                lines.append(f"{label}: event name {before[old_at][0]} -> {after[new_at][0]}")
            for change in value_differences(before[old_at][1], after[new_at][1])[:_MOST_LINES_PER_EVENT]:
                lines.append(f"{label}: {change}")
        for old_at in olds[len(news) :]:
            lines.append(f"event {old_at + 1} ({before[old_at][0]}) removed: {clip(as_text(before[old_at][1]))}")
        for new_at in news[len(olds) :]:
            lines.append(f"event {new_at + 1} ({after[new_at][0]}) added: {clip(as_text(after[new_at][1]))}")
    if not lines:
        lines.append("body: same events, different bytes (line ends or framing)")
    return lines


def document_differences(old: bytes, new: bytes, ignored: frozenset[str]) -> list[str]:
    """A JSON document field by field; any other body by its lines."""
    before = normalized(old.decode("utf-8", errors="replace"), ignored)
    after = normalized(new.decode("utf-8", errors="replace"), ignored)
    if before == after:
        return []
    if not isinstance(before, str) and not isinstance(after, str):
        return [f"body {change}" for change in value_differences(before, after)]
    diff = difflib.unified_diff(
        as_text(before).splitlines(), as_text(after).splitlines(), "OLD", "NEW", lineterm="", n=0
    )
    return ["body " + clip(line) for line in list(diff)[2:42]]


def timing_difference(old: Response, new: Response, tolerance_s: float | None) -> str | None:
    """`timing: headers 31 ms -> 40 ms, ...` for the figures that moved by more than the
    tolerance (any amount without one); None when none did."""
    before, after = Timing.of(old), Timing.of(new)
    names = (
        ("headers", "headers_s"),
        ("first byte", "first_byte_s"),
        ("total", "total_s"),
        ("gap p50", "gap_p50_s"),
        ("gap p99", "gap_p99_s"),
    )
    shifted = []
    for label, attribute in names:
        was, now = getattr(before, attribute), getattr(after, attribute)
        if was == now:
            continue
        if (
            was is not None and now is not None and tolerance_s is not None and abs(now - was) <= tolerance_s + 1e-9
        ):  # cassette times have 6 decimals
            continue
        shifted.append(f"{label} {_ms(was)} -> {_ms(now)}")
    return "timing: " + ", ".join(shifted) if shifted else None


def _ms(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    milliseconds = round(seconds * 1000, 1)
    return f"{milliseconds:g} ms"
