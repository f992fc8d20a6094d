"""AWS event stream (`application/vnd.amazon.eventstream`, Bedrock's streaming framing), one
cassette item per message: its headers, and its payload as JSON where it is JSON.

A message is: total length (4 bytes) | headers length (4) | prelude CRC32 (4) | headers |
payload | message CRC32 (4), big-endian. Messages are read with botocore's own parser, which
checks both CRCs; they are written back with the CRCs computed again, so a payload edited in
the cassette still replays as a valid message. Without botocore such bodies stay base64.
"""

from __future__ import annotations

import base64
import binascii
import struct
from typing import Any

from chunktape.bodies.errors import BodyFormatError
from chunktape.bodies.json_styles import dump, exact_json

CONTENT_TYPE = "application/vnd.amazon.eventstream"
HeaderValue = str | bool
_PRELUDE_BYTES = 12
_SMALLEST_MESSAGE = 16
_STRING, _TRUE, _FALSE = 7, 0, 1
ITEM_FIELDS = ("headers", "json", "json_style", "bytes_json_style", "text", "base64", "message_base64")


def looks_like_event_stream(content_type: str | None) -> bool:
    return content_type is not None and CONTENT_TYPE in content_type.lower()


def message_ends(data: bytes) -> list[int]:
    """Offsets just past each whole message, by the lengths in the preludes; stops at the first
    prelude that cannot start a message or whose message runs past the end (a cut stream)."""
    ends: list[int] = []
    position = 0
    while position + _PRELUDE_BYTES <= len(data):
        total = int.from_bytes(data[position : position + 4], "big")
        if total < _SMALLEST_MESSAGE or position + total > len(data):
            break
        position += total
        ends.append(position)
    return ends


def pieces(data: bytes) -> list[bytes]:
    """The body cut into messages; bytes after the last whole message are one more piece."""
    out: list[bytes] = []
    start = 0
    for end in message_ends(data):
        out.append(data[start:end])
        start = end
    if start < len(data):
        out.append(data[start:])
    return out


def read_message(raw: bytes) -> tuple[dict[str, Any], bytes]:
    """(headers, payload) of one whole message, by botocore's parser; raises ValueError saying
    what is wrong (a bad CRC, a cut message) and ImportError without botocore."""
    from botocore.eventstream import EventStreamBuffer, ParserError

    buffer = EventStreamBuffer()
    buffer.add_data(raw)
    try:
        message = next(buffer)
    except StopIteration:
        raise ValueError(f"is cut short: {len(raw)} bytes, less than its prelude announces") from None
    except ParserError as exc:
        raise ValueError(_reworded(str(exc), raw)) from None
    except (struct.error, UnicodeDecodeError, KeyError) as exc:  # a header botocore cannot read
        raise ValueError(f"has unreadable headers ({type(exc).__name__})") from None
    if message.prelude.total_length != len(raw):
        raise ValueError("has bytes after its message CRC")
    return dict(message.headers), bytes(message.payload)


def _reworded(problem: str, raw: bytes) -> str:
    if "Checksum" in problem:
        which = "prelude" if binascii.crc32(raw[:8]) != int.from_bytes(raw[8:12], "big") else "message"
        return f"has a bad {which} CRC ({problem.rstrip('.')}): its bytes are not the ones it was sent with"
    return problem


def write_message(headers: dict[str, HeaderValue], payload: bytes) -> bytes:
    """One message with its lengths and both CRCs computed."""
    encoded = bytearray()
    for name, value in headers.items():
        name_bytes = name.encode("utf-8")
        encoded += bytes([len(name_bytes)]) + name_bytes
        if isinstance(value, bool):
            encoded.append(_TRUE if value else _FALSE)
        else:
            value_bytes = value.encode("utf-8")
            encoded += bytes([_STRING]) + len(value_bytes).to_bytes(2, "big") + value_bytes
    total = _PRELUDE_BYTES + len(encoded) + len(payload) + 4
    prelude = total.to_bytes(4, "big") + len(encoded).to_bytes(4, "big")
    prelude += binascii.crc32(prelude).to_bytes(4, "big")
    body = prelude + bytes(encoded) + payload
    return body + binascii.crc32(body).to_bytes(4, "big")


# ---------------------------------------------------------------- cassette items


def encode(data: bytes) -> dict[str, Any] | None:
    """{"event_stream": [item per message]}, or None without botocore to read the messages."""
    try:
        import botocore.eventstream  # noqa: F401
    except ImportError:
        return None
    return {"event_stream": [_item(raw) for raw in pieces(data)]}


def _item(raw: bytes) -> dict[str, Any]:
    try:
        headers, payload = read_message(raw)
    except ValueError:
        return {"message_base64": base64.b64encode(raw).decode("ascii")}
    if all(isinstance(k, str) and isinstance(v, (str, bool)) and len(k.encode()) < 256 for k, v in headers.items()):
        item = {"headers": headers, **_payload_fields(payload)}
        try:
            if decode_item(item, "") == raw:
                return item
        except BodyFormatError:
            pass
    return {"message_base64": base64.b64encode(raw).decode("ascii")}


def _payload_fields(payload: bytes) -> dict[str, Any]:
    if not payload:
        return {}
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        return {"base64": base64.b64encode(payload).decode("ascii")}
    found = exact_json(text)
    if found is None:
        return {"text": text}
    value, style = found
    fields: dict[str, Any] = {"json": value} if style == "compact" else {"json": value, "json_style": style}
    inner = _decoded_bytes(value)
    if inner is not None:
        fields["json"] = {key: (inner[0] if key == "bytes" else item) for key, item in value.items()}
        fields["bytes_json_style"] = inner[1]
    return fields


def _decoded_bytes(value: Any) -> tuple[Any, str] | None:
    """Bedrock's InvokeModelWithResponseStream chunks carry the model's JSON base64-encoded in
    `bytes`: (that JSON, its style) when it reads back exactly."""
    if not isinstance(value, dict) or not isinstance(value.get("bytes"), str):
        return None
    try:
        inner = base64.b64decode(value["bytes"].encode("ascii"), validate=True)
        text = inner.decode("utf-8")
    except (binascii.Error, UnicodeError):
        return None
    if base64.b64encode(inner).decode("ascii") != value["bytes"]:
        return None
    return exact_json(text)


def decode(items: object) -> bytes:
    if not isinstance(items, list):
        raise BodyFormatError("body.event_stream must be a list of messages, one {headers, json} each")
    return b"".join(decode_item(item, f"body.event_stream[{index}]") for index, item in enumerate(items))


def decode_item(item: object, where: str) -> bytes:
    """The exact bytes of one message item."""
    if not isinstance(item, dict):
        raise BodyFormatError(f"{where} must be a mapping with headers and a payload (json, text or base64)")
    unknown = sorted(str(key) for key in item if key not in ITEM_FIELDS)
    if unknown:
        raise BodyFormatError(f"{where} has an unknown field {unknown[0]!r}; expected {', '.join(ITEM_FIELDS)}")
    if "message_base64" in item:
        if len(item) != 1:
            raise BodyFormatError(f"{where}.message_base64 stands for the whole message; remove the other fields")
        return _base64(item["message_base64"], f"{where}.message_base64")
    headers = item.get("headers") or {}
    if not isinstance(headers, dict) or not all(
        isinstance(k, str) and isinstance(v, (str, bool)) and len(k.encode("utf-8", "replace")) < 256
        for k, v in headers.items()
    ):
        raise BodyFormatError(f"{where}.headers must map names to text (or true/false)")
    payloads = [field for field in ("json", "text", "base64") if field in item]
    if len(payloads) > 1:
        raise BodyFormatError(f"{where} must have at most one of json, text, base64")
    payload = b""
    if payloads == ["json"]:
        value = item["json"]
        if "bytes_json_style" in item:
            if not isinstance(value, dict) or "bytes" not in value:
                raise BodyFormatError(f"{where}.bytes_json_style needs a json mapping with a bytes member")
            inner = _utf8(dump(value["bytes"], item["bytes_json_style"], f"{where}.json.bytes"), f"{where}.json")
            value = {
                key: (base64.b64encode(inner).decode("ascii") if key == "bytes" else v) for key, v in value.items()
            }
        payload = _utf8(dump(value, item.get("json_style", "compact"), f"{where}.json"), f"{where}.json")
    elif payloads == ["text"]:
        if not isinstance(item["text"], str):
            raise BodyFormatError(f"{where}.text must be a string")
        payload = _utf8(item["text"], f"{where}.text")
    elif payloads == ["base64"]:
        payload = _base64(item["base64"], f"{where}.base64")
    for name, header in headers.items():
        _utf8(name, f"{where}.headers")
        if isinstance(header, str) and len(_utf8(header, f"{where}.headers")) > 0xFFFF:
            raise BodyFormatError(
                f"{where}.headers[{name!r}] is longer than an event-stream header can be (65535 bytes)"
            )
    return write_message(headers, payload)


def _base64(value: object, where: str) -> bytes:
    if not isinstance(value, str):
        raise BodyFormatError(f"{where} must be a string")
    try:
        return base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise BodyFormatError(f"{where} is not valid base64 ({exc})") from None


def _utf8(text: str, where: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        raise BodyFormatError(f"{where} holds a lone surrogate (an invalid \\uD800-\\uDFFF escape)") from None
