"""Has the provider moved since the cassette was recorded? A recorded response and a live (or
newer) one compared by structure, not text: status, content type and ending; the set of event
kinds; the JSON shape of each kind; and time to first chunk and gap p50/p90 as ratios.

Words, ids and timestamps changing is not drift; how many events of a kind came, and in what
order, varies from run to run and is not either. Every finding has a severity: `breaking` (a
field or event kind removed, a type changed, status, ending), `notable` (a field or event kind
added), `timing`. Pure: no sockets, no clock; the live fetch is the caller's job.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from typing import Any, Literal

from chunktape.bodies.framing import events as stream_events
from chunktape.cassette import Response
from chunktape.stream_end import has_final_event
from chunktape.views.diff import percentile
from chunktape.views.json_shape import Shape, shape_changes, shape_of

Severity = Literal["breaking", "notable", "timing"]
SEVERITIES: tuple[Severity, ...] = ("breaking", "notable", "timing")
"""Most serious first: `--fail-on notable` fails on breaking and notable findings."""

DEFAULT_TOLERANCE = 2.0
MIN_TIMING_SHIFT_S = 0.05
"""A timing figure that moved less than this is never a finding, whatever the ratio: network
and a busy machine jitter by about as much, and 2 ms -> 5 ms is not a slower provider."""

MIN_GAPS = {"gap_p50": 3, "gap_p90": 10}
"""Gaps a stream needs before its percentile is compared: the p90 of fewer than 10 gaps is the
slowest one, a single stall; the median of fewer than 3 is no median."""

_KIND_SEVERITY: dict[str, Severity] = {
    "status_changed": "breaking",
    "content_type_changed": "breaking",
    "ending_changed": "breaking",
    "final_event_missing": "breaking",
    "event_kind_removed": "breaking",
    "field_removed": "breaking",
    "type_changed": "breaking",
    "event_kind_added": "notable",
    "field_added": "notable",
    "final_event_added": "notable",
    "slower": "timing",
    "faster": "timing",
}


@dataclass(frozen=True)
class Finding:
    """One way the live response differs in structure or timing from the recorded one.

    `path` is the field path (`choices[].delta.content`, within `event`'s kind), the event kind
    (`event:ping`), a head figure (`status`, `content-type`, `ending`) or a timing figure
    (`ttft`, `gap_p50`, `gap_p90`)."""

    kind: str
    path: str
    recorded: str
    live: str
    event: str | None = None
    ratio: float | None = None

    @property
    def severity(self) -> Severity:
        return _KIND_SEVERITY[self.kind]

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"severity": self.severity, "kind": self.kind, "path": self.path}
        if self.event is not None:
            out["event"] = self.event
        out["recorded"], out["live"] = self.recorded, self.live
        if self.ratio is not None:
            out["ratio"] = self.ratio
        return out

    def line(self) -> str:
        where = f"{self.path} (event {self.event})" if self.event is not None else self.path
        what = self.kind.replace("_", " ")
        if self.ratio is not None:
            return f"{self.severity:<8} {what}: {where} {self.recorded} -> {self.live} ({self.ratio:g}x)"
        return f"{self.severity:<8} {what}: {where}: {self.recorded} -> {self.live}"


@dataclass
class InteractionDrift:
    """The findings for one recorded request (`POST /v1/chat/completions`, secrets redacted)."""

    request: str
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"request": self.request, "findings": [one.as_dict() for one in self.findings]}
        if self.notes:
            out["notes"] = list(self.notes)
        return out


@dataclass
class DriftReport:
    """Every compared request, in order, and, when the run stopped early, why."""

    interactions: list[InteractionDrift] = field(default_factory=list)
    error: str | None = None

    def findings(self) -> list[Finding]:
        return [finding for one in self.interactions for finding in one.findings]

    def fails(self, fail_on: Severity) -> bool:
        """Whether a finding at or above `fail_on` drifted."""
        worst = SEVERITIES.index(fail_on)
        return any(SEVERITIES.index(finding.severity) <= worst for finding in self.findings())

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"interactions": [one.as_dict() for one in self.interactions]}
        if self.error is not None:
            out["error"] = self.error
        return out

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), ensure_ascii=False, indent=2) + "\n"

    def render(self) -> str:
        lines: list[str] = []
        for one in self.interactions:
            count = len(one.findings)
            lines.append(f"{one.request}: " + (f"{count} finding{'' if count == 1 else 's'}" if count else "no drift"))
            lines.extend(f"  {finding.line()}" for finding in one.findings)
            lines.extend(f"  note: {note}" for note in one.notes)
        counts = dict.fromkeys(SEVERITIES, 0)
        for finding in self.findings():
            counts[finding.severity] += 1
        total = sum(counts.values())
        shown = ", ".join(f"{number} {severity}" for severity, number in counts.items() if number)
        compared = len(self.interactions)
        lines.append(
            f"{compared} request{'' if compared == 1 else 's'} compared: "
            + (f"{total} finding{'' if total == 1 else 's'} ({shown})" if total else "no drift")
        )
        if self.error is not None:
            lines.append(f"stopped early: {self.error}")
        return "\n".join(lines) + "\n"


# -- the comparison ----------------------------------------------------------


def compare(
    request: str, recorded: Response, live: Response, *, timing_tolerance: float = DEFAULT_TOLERANCE
) -> InteractionDrift:
    """What drifted between the recorded response and the live one to the same request."""
    result = InteractionDrift(request)
    findings = result.findings
    if recorded.status != live.status:  # an error's body says nothing about the stream's shape
        findings.append(Finding("status_changed", "status", str(recorded.status), str(live.status)))
        result.notes.append("body and timing not compared: the status changed")
        return result
    before_type, after_type = _media_type(recorded), _media_type(live)
    if before_type != after_type:
        findings.append(Finding("content_type_changed", "content-type", before_type or "-", after_type or "-"))
    if recorded.ended != live.ended:
        findings.append(Finding("ending_changed", "ending", recorded.ended, live.ended))
    final_before = has_final_event(recorded.body, recorded.header("content-type"))
    final_after = has_final_event(live.body, live.header("content-type"))
    if final_before != final_after and recorded.ended == live.ended:
        kind = "final_event_missing" if final_before else "final_event_added"
        findings.append(Finding(kind, "ending", _final(final_before), _final(final_after)))
    before_kinds, after_kinds = kinds_of(recorded), kinds_of(live)
    for kind in sorted(set(before_kinds) - set(after_kinds)):
        findings.append(Finding("event_kind_removed", f"event:{kind}", "present", "absent"))
    for kind in sorted(set(after_kinds) - set(before_kinds)):
        findings.append(Finding("event_kind_added", f"event:{kind}", "absent", "present"))
    for kind in sorted(set(before_kinds) & set(after_kinds)):
        for change in shape_changes(before_kinds[kind], after_kinds[kind]):
            findings.append(Finding(change.change, change.path, change.recorded, change.live, event=kind))
    if recorded.timing != "recorded":
        result.notes.append(f"timing not compared: the recorded chunk times are {recorded.timing}, not measured")
    else:
        findings.extend(timing_findings(recorded, live, timing_tolerance))
    findings.sort(key=lambda finding: SEVERITIES.index(finding.severity))  # most serious first, else as found
    return result


def _final(present: bool) -> str:
    return "final event" if present else "none"


def _media_type(response: Response) -> str:
    return (response.header("content-type") or "").split(";")[0].strip().lower()


def kinds_of(response: Response) -> dict[str, Shape]:
    """The event kinds of a body and the merged JSON shape of each: an SSE `event:` name, else
    a JSON `type` field, else a JSON `object` field; a body that is one JSON document is one event."""
    content_type = response.header("content-type")
    _, found = stream_events(response.body, content_type)
    values: dict[str, list[Any]] = {}
    if found:
        for event in found:
            value = _json(event.summary)
            named = event.name if event.name not in ("", "message") else None
            values.setdefault(named or _kind_of(value, event.summary), []).append(value)
    elif response.body.strip():
        text = response.body.decode("utf-8", errors="replace")
        value = _json(text)
        if value is _NOT_JSON:
            return {"document": {}}
        values[_kind_of(value, text, default="document")] = [value]
    return {kind: shape_of(item for item in items if item is not _NOT_JSON) for kind, items in values.items()}


_NOT_JSON = object()


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return _NOT_JSON


def _kind_of(value: Any, text: str, default: str = "message") -> str:
    if isinstance(value, dict):
        for key in ("type", "object"):
            if isinstance(value.get(key), str):
                return str(value[key])
        return default
    if value is _NOT_JSON and text.strip() == "[DONE]":
        return "[DONE]"
    return default


# -- timing --------------------------------------------------------------------


@dataclass(frozen=True)
class TimingFigures:
    """Time to first chunk and the gaps between chunks (p50, p90), in seconds; a gap figure is
    None when too few gaps make it one stall's word (see MIN_GAPS)."""

    ttft: float | None
    gap_p50: float | None
    gap_p90: float | None

    @classmethod
    def of(cls, response: Response) -> TimingFigures:
        arrivals = [chunk.at_s for chunk in response.chunks]
        gaps = sorted(later - earlier for earlier, later in itertools.pairwise(arrivals))
        p50 = percentile(gaps, 50) if len(gaps) >= MIN_GAPS["gap_p50"] else None
        p90 = percentile(gaps, 90) if len(gaps) >= MIN_GAPS["gap_p90"] else None
        return cls(arrivals[0] if arrivals else None, p50, p90)


def timing_findings(recorded: Response, live: Response, tolerance: float) -> list[Finding]:
    """A figure whose live/recorded ratio is beyond `tolerance` either way (and which moved by
    at least MIN_TIMING_SHIFT_S) is a finding that says which way."""
    before, after = TimingFigures.of(recorded), TimingFigures.of(live)
    found: list[Finding] = []
    for name in ("ttft", "gap_p50", "gap_p90"):
        was, now = getattr(before, name), getattr(after, name)
        if was is None or now is None or abs(now - was) < MIN_TIMING_SHIFT_S:
            continue
        ratio = now / max(was, 0.001)
        if ratio > tolerance:
            found.append(Finding("slower", name, _ms(was), _ms(now), ratio=round(ratio, 2)))
        elif ratio < 1 / tolerance:
            found.append(Finding("faster", name, _ms(was), _ms(now), ratio=round(ratio, 2)))
    return found


def _ms(seconds: float) -> str:
    return f"{round(seconds * 1000):d} ms"


def parse_tolerance(text: str) -> float:
    """`2` or `2x`: a ratio above 1. ValueError with the fix otherwise."""
    cleaned = text.strip().lower().removesuffix("x")
    try:
        value = float(cleaned)
    except ValueError:
        raise ValueError(f"bad timing tolerance {text!r}: write a ratio above 1, like 2 or 2x") from None
    if not value > 1 or value != value or value == float("inf"):
        raise ValueError(f"bad timing tolerance {text!r}: write a ratio above 1, like 2 or 2x")
    return value
