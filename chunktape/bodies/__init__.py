"""How a body's bytes are written in a cassette: as readable as possible, always byte-exact.

Each encoding is tried in turn and kept only if decoding it gives back the very same bytes:
one item per AWS event-stream message, structured JSON, one item per element of a streamed
JSON array, one SSE event per list item, plain UTF-8 text (NDJSON reads as a literal block of
lines), and base64 as the last resort. docs/body-formats.md describes each kind.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from chunktape.bodies import event_stream, json_array
from chunktape.bodies.json_styles import dump, exact_json
from chunktape.errors import BodyFormatError
from chunktape.sse import looks_like_sse

__all__ = ["BODY_KINDS", "BODY_OPTIONS", "BodyFormatError", "decode_body", "encode_body"]

BODY_KINDS = ("json", "sse_events", "json_array", "event_stream", "text", "base64")
BODY_OPTIONS = ("json_style", "line_end", "unterminated", *json_array.OPTIONS)


def encode_body(data: bytes, content_type: str | None) -> dict[str, Any]:
    """A YAML-ready mapping that decodes back to exactly `data`."""
    if data and event_stream.looks_like_event_stream(content_type):
        as_messages = event_stream.encode(data)  # each message item is checked to give back its bytes
        if as_messages is not None:
            return as_messages
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return {"base64": base64.b64encode(data).decode("ascii")}
    if content_type is None or "json" in content_type.lower():
        found = exact_json(text)
        if found is not None:
            value, style = found
            return {"json": value} if style == "compact" else {"json": value, "json_style": style}
        as_array = json_array.encode(text)
        if as_array is not None:
            return as_array
    if looks_like_sse(content_type):
        as_sse = _encode_sse(text)
        if as_sse is not None:
            return as_sse
    return {"text": text}


def decode_body(node: object) -> bytes:
    """The bytes a body mapping stands for; raises BodyFormatError naming what is wrong."""
    if node is None:
        return b""
    if not isinstance(node, dict):
        raise BodyFormatError(f"body must be a mapping with one of {', '.join(BODY_KINDS)}")
    kinds = [kind for kind in BODY_KINDS if kind in node]
    unknown = sorted(str(key) for key in set(node) - set(BODY_KINDS) - set(BODY_OPTIONS))  # keys may be null
    if unknown:
        raise BodyFormatError(f"unknown body field {unknown[0]!r}; expected one of {', '.join(BODY_KINDS)}")
    if len(kinds) != 1:
        raise BodyFormatError(f"body must have exactly one of {', '.join(BODY_KINDS)}, found {len(kinds)}")
    kind = kinds[0]
    value = node[kind]
    if kind == "base64":
        if not isinstance(value, str):
            raise BodyFormatError("body.base64 must be a string")
        try:
            return base64.b64decode(value.encode("ascii"), validate=True)
        except (binascii.Error, UnicodeEncodeError) as exc:
            raise BodyFormatError(f"body.base64 is not valid base64 ({exc})") from None
    if kind == "text":
        if not isinstance(value, str):
            raise BodyFormatError("body.text must be a string")
        return _utf8(value, "body.text")
    if kind == "json":
        return _utf8(dump(value, node.get("json_style", "compact"), "body.json"), "body.json")
    if kind == "json_array":
        return _utf8(json_array.decode(node, value), "body.json_array")
    if kind == "event_stream":
        return event_stream.decode(value)
    return _decode_sse(node, value)


def _line_end(text: str) -> str:
    if "\r\n" in text:
        return "\r\n"
    if "\n" in text:
        return "\n"
    return "\r"


def _encode_sse(text: str) -> dict[str, Any] | None:
    line_end = _line_end(text)
    separator = line_end * 2
    events = text.split(separator)
    unterminated = events[-1] != ""
    if not unterminated:
        events.pop()
    shown = [event.replace(line_end, "\n") for event in events] if line_end != "\n" else events
    node: dict[str, Any] = {"sse_events": shown}
    if line_end != "\n":
        node["line_end"] = line_end
    if unterminated:
        node["unterminated"] = True
    return node if _sse_text(shown, line_end, unterminated) == text else None


def _sse_text(events: list[str], line_end: str, unterminated: bool) -> str:
    """Events joined by blank lines, every line ended by `line_end`: one join and one replace
    over the whole stream, not one per event (a 10 MB cassette holds tens of thousands)."""
    if not events:
        return ""
    text = "\n\n".join(events) + ("" if unterminated else "\n\n")
    return text if line_end == "\n" else text.replace("\n", line_end)


def _decode_sse(node: dict[str, Any], events: object) -> bytes:
    if not isinstance(events, list) or not all(isinstance(event, str) for event in events):
        raise BodyFormatError("body.sse_events must be a list of strings, one event each")
    line_end = node.get("line_end", "\n")
    if line_end not in ("\n", "\r\n", "\r"):
        raise BodyFormatError('body.line_end must be "\\n", "\\r\\n" or "\\r"')
    unterminated = node.get("unterminated", False)
    if not isinstance(unterminated, bool):
        raise BodyFormatError("body.unterminated must be true or false")
    if unterminated and not events:
        raise BodyFormatError("body.unterminated needs at least one event")
    return _utf8(_sse_text(events, line_end, unterminated), "body.sse_events")


def _utf8(text: str, what: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate, which YAML's pure-Python reader lets through
        raise BodyFormatError(f"{what} holds a lone surrogate (an invalid \\uD800-\\uDFFF escape)") from None
