"""AWS event stream (`application/vnd.amazon.eventstream`, Bedrock's streaming framing), one
cassette item per message: its headers, and its payload as JSON where it is JSON.

The bytes of a message (lengths, typed headers, both CRCs) are read and written by
`event_stream_wire`, with no AWS library. An item stores no lengths or CRCs: they are computed
again on load, so a payload edited in the cassette still replays as a valid message.
Header values are text, true/false, or a one-key mapping naming their wire type
(`{integer: 5}`, `{timestamp_ms: ...}`, `{byte_array_base64: ...}`, `{uuid: ...}`).
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Mapping
from typing import Any

from chunktape.bodies.event_stream_wire import Header, HeaderType, Message, read_message
from chunktape.bodies.event_stream_wire import message_ends as message_ends
from chunktape.bodies.event_stream_wire import write_message as write_wire_message
from chunktape.bodies.json_styles import dump, exact_json
from chunktape.errors import BodyFormatError

CONTENT_TYPE = "application/vnd.amazon.eventstream"
ITEM_FIELDS = ("headers", "json", "json_style", "bytes_json_style", "text", "base64", "message_base64")
# how a typed header value is written in a cassette: {key: value}
_TYPED: dict[str, HeaderType] = {
    "byte": "byte",
    "short": "short",
    "integer": "integer",
    "long": "long",
    "timestamp_ms": "timestamp",
    "byte_array_base64": "byte_array",
    "uuid": "uuid",
}
_KEY_OF: dict[HeaderType, str] = {kind: key for key, kind in _TYPED.items()}


def looks_like_event_stream(content_type: str | None) -> bool:
    return content_type is not None and CONTENT_TYPE in content_type.lower()


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


def headers_node(headers: tuple[Header, ...]) -> dict[str, Any]:
    """Headers as a cassette writes them: name -> text, true/false or {type: value}."""
    node: dict[str, Any] = {}
    for header in headers:
        value = header.value
        if header.type in ("string", "boolean"):
            node[header.name] = value
        elif header.type == "byte_array":
            assert isinstance(value, bytes)
            node[header.name] = {"byte_array_base64": base64.b64encode(value).decode("ascii")}
        elif header.type == "uuid":
            assert isinstance(value, bytes)
            node[header.name] = {"uuid": str(uuid.UUID(bytes=value))}
        else:
            node[header.name] = {_KEY_OF[header.type]: value}
    return node


def headers_from(node: object, where: str) -> tuple[Header, ...]:
    """The headers a cassette item's `headers` mapping stands for."""
    if node is None:
        return ()
    if not isinstance(node, Mapping):
        raise BodyFormatError(f"{where} must map header names to values")
    return tuple(_header_from(name, value, where) for name, value in node.items())


_HEADER_HELP = (
    "text, true/false, or one of {byte|short|integer|long|timestamp_ms: N}, {byte_array_base64: ...}, {uuid: ...}"
)


def _header_from(name: object, value: object, where: str) -> Header:
    if not isinstance(name, str):
        raise BodyFormatError(f"{where} has a header name that is not text: {name!r}")
    _utf8(name, f"{where}[{name!r}]")
    if isinstance(value, bool):
        return Header(name, "boolean", value)
    if isinstance(value, str):
        _utf8(value, f"{where}[{name!r}]")
        return Header(name, "string", value)
    if not isinstance(value, Mapping) or len(value) != 1 or next(iter(value)) not in _TYPED:
        raise BodyFormatError(f"{where}[{name!r}] must be {_HEADER_HELP}")
    key, inner = next(iter(value.items()))
    kind = _TYPED[key]
    if kind == "byte_array":
        return Header(name, kind, _base64(inner, f"{where}[{name!r}].{key}"))
    if kind == "uuid":
        try:
            return Header(name, kind, uuid.UUID(str(inner)).bytes)
        except ValueError:
            raise BodyFormatError(
                f"{where}[{name!r}].uuid is not a UUID such as 0f8fad5b-d9cb-469f-a165-70867728950e"
            ) from None
    if not isinstance(inner, int) or isinstance(inner, bool):
        raise BodyFormatError(f"{where}[{name!r}].{key} must be a whole number")
    return Header(name, kind, inner)


def write_message(headers: Mapping[str, object], payload: bytes) -> bytes:
    """One message from headers as a cassette writes them, with its lengths and CRCs computed."""
    header_list = headers_from(headers, "headers")
    try:
        return write_wire_message(header_list, payload)
    except ValueError as exc:
        raise BodyFormatError(f"headers: {exc}") from None


# ---------------------------------------------------------------- cassette items


def encode(data: bytes) -> dict[str, Any]:
    """{"event_stream": [item per message]}; a piece that is no whole message stays base64."""
    return {"event_stream": [_item(raw) for raw in pieces(data)]}


def _item(raw: bytes) -> dict[str, Any]:
    try:
        message: Message = read_message(raw)
    except ValueError:
        return {"message_base64": base64.b64encode(raw).decode("ascii")}
    item = {"headers": headers_node(message.headers), **_payload_fields(message.payload)}
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
    headers = headers_from(item.get("headers"), f"{where}.headers")
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
    try:
        return write_wire_message(headers, payload)
    except ValueError as exc:
        raise BodyFormatError(f"{where}.headers: {exc}") from None


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
