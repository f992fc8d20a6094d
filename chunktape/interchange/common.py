"""What every importer shares: headers made sendable, bodies decoded, pacing, and redaction
with a report of what it took out."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import parse_qsl, urlsplit

from chunktape.bodies.framing import event_ends
from chunktape.cassette import Chunk, Headers, Interaction, Response
from chunktape.errors import KnobError
from chunktape.knobs import parse_duration
from chunktape.recorder.decoding import decoded_response
from chunktape.redaction import Redactor
from chunktape.secret_names import REDACTED

_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_HEADER_VALUE = re.compile(r"[\t\x20-\x7e\x80-\xff]*")
_HOP_BY_HOP = frozenset({"transfer-encoding", "connection", "keep-alive"})


def source_time(stated: object, headers: Headers, imported_at: datetime | None) -> datetime | None:
    """When an imported exchange happened: the time its file states (HAR's `startedDateTime`),
    else the response's `Date` header, else `imported_at` (the import itself)."""
    if isinstance(stated, str):
        try:
            moment = datetime.fromisoformat(stated)
        except ValueError:
            pass
        else:
            if moment.tzinfo is not None:
                return moment.astimezone(UTC).replace(microsecond=0)
    date = next((value for name, value in headers if name.lower() == "date"), None)
    if date is not None:
        try:
            moment = parsedate_to_datetime(date)
        except (TypeError, ValueError, IndexError):
            pass
        else:
            if moment.tzinfo is not None:
                return moment.astimezone(UTC)
    return imported_at


def sendable_headers(pairs: Iterable[tuple[str, str]]) -> Headers:
    """Headers a replay can send: HTTP/2 pseudo-headers (`:status`), hop-by-hop ones and
    anything HTTP/1.1 cannot carry are left out."""
    kept = []
    for name, value in pairs:
        if name.lower() in _HOP_BY_HOP or not _HEADER_NAME.fullmatch(name) or not _HEADER_VALUE.fullmatch(value):
            continue
        kept.append((name, value))
    return tuple(kept)


def one_chunk_response(
    status: int,
    headers: Headers,
    body: bytes,
    *,
    headers_at_s: float = 0.0,
    end_s: float = 0.0,
    http_version: str = "HTTP/1.1",
) -> Response:
    """The honest shape of a response whose chunk timing is unknown: the whole body as one
    chunk at the recorded total time, marked `timing: imported`."""
    end_s = max(end_s, headers_at_s)
    chunks = (Chunk(at_s=end_s, data=body),) if body else ()
    response = Response(
        status=status,
        headers=headers,
        headers_at_s=headers_at_s,
        chunks=chunks,
        ended="complete",
        ended_at_s=end_s,
        http_version=http_version,
        timing="imported",
    )
    decoded = decoded_response(response)  # vcrpy keeps gzip bytes; HAR its header with decoded text
    if decoded is response and response.header("content-encoding"):
        decoded = replace(response, headers=_without(response.headers, {"content-encoding", "content-length"}))
    return decoded


def _without(headers: Headers, names: set[str]) -> Headers:
    return tuple((k, v) for k, v in headers if k.lower() not in names)


@dataclass(frozen=True)
class Pace:
    """`--pace sse:DUR`: each event of a stream arrives DUR after the one before (invented)."""

    gap_s: float

    @classmethod
    def parse(cls, spec: str) -> Pace:
        kind, _, duration = spec.strip().lower().partition(":")
        if kind not in ("sse", "events") or not duration:
            raise KnobError(f"bad pace {spec!r}: write it as sse:DUR, as in sse:50ms")
        return cls(parse_duration(duration, "pace"))


def paced(response: Response, pace: Pace) -> Response:
    """`response` with its body re-chunked per event, one every `pace.gap_s` after the head."""
    body = response.body
    if not body:
        return response
    ends = [end for end in event_ends(body, response.header("content-type")) if 0 < end < len(body)]
    chunks, start = [], 0
    for number, end in enumerate([*ends, len(body)], start=1):
        chunks.append(Chunk(at_s=round(response.headers_at_s + number * pace.gap_s, 6), data=body[start:end]))
        start = end
    return replace(response, chunks=tuple(chunks), ended_at_s=chunks[-1].at_s, timing="paced")


def redacted(interactions: Sequence[Interaction], names: Iterable[str] = ()) -> tuple[list[Interaction], list[str]]:
    """The interactions redacted as the recorder redacts, and one line per kind of thing taken
    out (`header authorization in 2 interactions`), never the values."""
    redactor = Redactor(names)
    counts: dict[str, int] = {}
    out = []
    for interaction in interactions:
        clean = redactor.interaction(interaction)
        for what in _taken(interaction, clean):
            counts[what] = counts.get(what, 0) + 1
        out.append(clean)
    notes = [
        f"redacted {what} in {count} interaction{'' if count == 1 else 's'}" for what, count in sorted(counts.items())
    ]
    return out, notes


def _taken(before: Interaction, after: Interaction) -> set[str]:
    taken = set()
    pairs = [
        ("request header", before.request.headers, after.request.headers),
        ("response header", before.response.headers, after.response.headers),
    ]
    for label, old, new in pairs:
        for (name, value), (_, clean) in zip(old, new, strict=True):
            if clean == REDACTED and value != REDACTED:
                taken.add(f"{label} {name.lower()}")
    old_query = parse_qsl(urlsplit(before.request.url).query, keep_blank_values=True)
    new_query = parse_qsl(urlsplit(after.request.url).query, keep_blank_values=True)
    for (name, value), (_, clean) in zip(old_query, new_query, strict=False):
        if clean == REDACTED and value != REDACTED:
            taken.add(f"query parameter {name}")
    if before.request.body != after.request.body:
        taken.add("request body fields")
    return taken
