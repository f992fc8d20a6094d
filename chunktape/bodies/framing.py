"""Where the events of a streamed body begin and end, whatever its format: SSE events, NDJSON
lines, elements of a streamed JSON array, AWS event-stream messages.

The format is chosen by content type and content. The replay schedule cuts at these
boundaries (`split events`), `inspect` lists the events, and `validate` checks the framing.
Pure functions of bytes: no clock, no I/O.
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
from dataclasses import dataclass
from typing import Any, Literal

from chunktape.bodies import event_stream, event_stream_wire, json_array
from chunktape.sse import event_ends as sse_event_ends
from chunktape.sse import looks_like_sse

StreamFormat = Literal["sse", "ndjson", "json_array", "event_stream"]
FORMAT_NAMES: dict[StreamFormat, str] = {
    "sse": "server-sent events",
    "ndjson": "NDJSON lines",
    "json_array": "JSON array elements",
    "event_stream": "AWS event-stream messages",
}
_NDJSON_TYPES = ("ndjson", "jsonl", "json-lines", "jsonlines", "json-seq")
_ARRAY_START = re.compile(rb"[ \t\r\n]*\[")
_LINE_END = re.compile(rb"\n")


def stream_format(content_type: str | None, data: bytes) -> StreamFormat:
    """The framing of a body; SSE when nothing else fits, as `split sse` always did."""
    kind = (content_type or "").lower()
    if event_stream.looks_like_event_stream(kind):
        return "event_stream"
    if any(name in kind for name in _NDJSON_TYPES):
        return "ndjson"
    if "json" in kind and _ARRAY_START.match(data):
        return "json_array"
    return "sse"


def known_format(content_type: str | None, data: bytes) -> StreamFormat | None:
    """The body's stream format when its content type names one; None for a plain document."""
    found = stream_format(content_type, data)
    return None if found == "sse" and not looks_like_sse(content_type) else found


def event_ends(data: bytes, content_type: str | None) -> list[int]:
    """Offsets just past each complete event, in order (the last may be the body's end)."""
    found = stream_format(content_type, data)
    if found == "event_stream":
        return event_stream.message_ends(data)
    if found == "ndjson":
        return [match.end() for match in _LINE_END.finditer(data)]
    if found == "json_array":
        return _array_ends(data)
    return sse_event_ends(data)


def _array_ends(data: bytes) -> list[int]:
    """Just past each complete element, in bytes. Reads the longest prefix that is UTF-8, so a
    body cut inside a character still frames the elements before the cut."""
    text = data[: _valid_prefix(data)].decode("utf-8")
    ends: list[int] = []
    offset = previous = 0
    for _, end, _ in json_array.element_spans(text):
        offset += len(text[previous:end].encode("utf-8"))
        previous = end
        ends.append(offset)
    return ends


def _valid_prefix(data: bytes) -> int:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start
    return len(data)


@dataclass(frozen=True)
class Event:
    """One event of a body, for people: what it is called and what it carries."""

    offset: int
    size_bytes: int
    name: str
    summary: str


def events(data: bytes, content_type: str | None) -> tuple[StreamFormat, list[Event]]:
    """The body's events, each named (SSE `event:`, the event-stream `:event-type`) and
    summarized; none for a body that is not a stream (a JSON document, plain text)."""
    found = known_format(content_type, data)
    if found is None:
        return "sse", []
    ends = event_ends(data, content_type)
    if not ends or ends[-1] < len(data):
        ends.append(len(data))
    out: list[Event] = []
    start = 0
    for end in ends:
        piece = data[start:end]
        if piece.strip(b" \t\r\n[,]" if found == "json_array" else b" \t\r\n"):
            name, summary = _describe(found, piece)
            out.append(Event(start, len(piece), name, summary))
        start = end
    return found, out


def _describe(found: StreamFormat, piece: bytes) -> tuple[str, str]:
    if found == "event_stream":
        try:
            message = event_stream_wire.read_message(piece)
        except ValueError as exc:
            return "?", f"unreadable message: {exc}"
        headers = {header.name: header.value for header in message.headers}
        name = str(headers.get(":event-type") or headers.get(":exception-type") or headers.get(":message-type", ""))
        return name, _payload_summary(message.payload)
    text = piece.decode("utf-8", errors="replace")
    if found == "sse":
        name = ""
        data_lines = []
        for line in text.splitlines():
            field, _, value = line.partition(":")
            if field == "event":
                name = value.strip()
            elif field == "data":
                data_lines.append(value[1:] if value.startswith(" ") else value)
        return name or "message", "\n".join(data_lines) if data_lines else text.strip()
    if found == "json_array":
        text = text.strip().lstrip("[,").strip()
    return "", _one_line(text.strip())


def _payload_summary(payload: bytes) -> str:
    try:
        value: Any = json.loads(payload)
    except ValueError:
        return payload.decode("utf-8", errors="replace")
    if isinstance(value, dict) and isinstance(value.get("bytes"), str):
        with contextlib.suppress(ValueError):  # a Bedrock chunk: show the model's JSON, not its base64
            value = {**value, "bytes": json.loads(base64.b64decode(value["bytes"], validate=True))}
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _one_line(text: str) -> str:
    try:
        return json.dumps(json.loads(text), ensure_ascii=False, separators=(",", ":"))
    except ValueError:
        return text


def framing_problems(data: bytes, content_type: str | None, *, cut: bool) -> list[tuple[int, str]]:
    """(event index, problem) for every event that breaks its format's framing; a stream that was
    `cut` may end mid-event. SSE is not checked: any text frames as SSE."""
    found = stream_format(content_type, data)
    if found == "sse" or not data:
        return []
    problems: list[tuple[int, str]] = []
    if found == "event_stream":
        pieces = event_stream.pieces(data)
        offset = 0
        for index, raw in enumerate(pieces):
            last = index == len(pieces) - 1
            try:
                event_stream_wire.read_message(raw)
            except ValueError as exc:
                if not (last and cut and len(raw) < _announced(raw)):
                    fix = "re-record it, or write that message as headers and json (its CRCs are computed on load)"
                    problems.append((index, f"event-stream message {index + 1} (at byte {offset}) {exc}; {fix}"))
            offset += len(raw)
        return problems
    text = data.decode("utf-8", errors="replace")
    if found == "ndjson":  # blank lines pass (keep-alives); the last line may lack its "\n"
        lines = text.split("\n")
        for index, line in enumerate(lines):
            if not line.strip() or (cut and index == len(lines) - 1):
                continue
            try:
                json.loads(line)
            except ValueError as exc:
                reason = exc.args[0].split(":")[0]
                problems.append(
                    (index, f"NDJSON line {index + 1} is not JSON ({reason}); re-record it, or fix that line")
                )
        return problems
    spans = json_array.element_spans(text)
    tail = text[spans[-1][1] :] if spans else text
    if not cut and tail.strip() != "]":
        problems.append(
            (len(spans), f"the JSON array does not close with ] after element {len(spans)}; re-record it, or fix close")
        )
    return problems


def _announced(raw: bytes) -> int:
    return int.from_bytes(raw[:4], "big") if len(raw) >= 4 else 1 << 32
