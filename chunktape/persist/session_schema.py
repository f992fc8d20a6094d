"""The schema of a realtime session item (docs/realtime.md): document <-> `Session`, checked.

    - session:
        url: wss://host/ws/...BidiGenerateContent?key=REDACTED
        headers: {...}                  # the upgrade request's headers
        handshake: {status: 101, headers: {...}, headers_at_s: 0.05}
        messages:
        - from: client                  # or server
          at_s: 0.061                   # seconds after the upgrade request was sent
          frame: text                   # or binary: Gemini sends its JSON in binary frames
          json: {setup: {...}}          # or text / base64; json_style keeps the exact bytes
        close: {by: server, code: 1011, reason: ..., at_s: 1.2}

`close` is required and written last, so a session cut off mid-write never reads as valid.
An MCP server recorded over stdio (`chunktape record --stdio`) is a session too: its url is
`stdio:COMMAND`, its handshake `{kind: stdio, headers_at_s: 0.0}` (the process's start), each
JSON-RPC line a text message, and `close.by` says which side ended it (client: stdin closed).
"""

from __future__ import annotations

import base64
from typing import Any

from chunktape.bodies import BodyFormatError, decode_body
from chunktape.bodies.json_styles import exact_json
from chunktape.cassette import Close, Handshake, Message, Request, Session
from chunktape.persist.fields import (
    Invalid,
    Where,
    _check_keys,
    _describe,
    _field,
    _headers_from,
    _headers_node,
    _seconds,
    _seconds_field,
)

_SESSION_KEYS = ("url", "headers", "handshake", "messages", "close")
_MESSAGE_BODIES = ("json", "text", "base64")
_MESSAGE_KEYS = ("from", "at_s", "frame", *_MESSAGE_BODIES, "json_style", "json_end")


def message_payload_node(data: bytes, frame: str) -> dict[str, Any]:
    """The readable, byte-exact form of a message's bytes: JSON, text, or base64."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return {"base64": base64.b64encode(data).decode("ascii")}
    body = text.rstrip("\r\n")
    found = exact_json(body) if body else None
    if found is not None:
        value, style = found
        node: dict[str, Any] = {"json": value}
        if style != "compact":
            node["json_style"] = style
        if body != text:
            node["json_end"] = text[len(body) :]  # a line break after the value
        return node
    if frame == "binary":
        return {"base64": base64.b64encode(data).decode("ascii")}
    return {"text": text}


def session_node(session: Session) -> dict[str, Any]:
    node: dict[str, Any] = {"url": session.request.url}
    if session.request.headers:
        node["headers"] = _headers_node(session.request.headers)
    handshake: dict[str, Any] = {"kind": "stdio"} if session.stdio else {"status": session.handshake.status}
    if session.handshake.headers:
        handshake["headers"] = _headers_node(session.handshake.headers)
    handshake["headers_at_s"] = _seconds(session.handshake.headers_at_s)
    node["handshake"] = handshake
    node["messages"] = [
        {
            "from": message.sender,
            "at_s": _seconds(message.at_s),
            "frame": message.frame,
            **message_payload_node(message.data, message.frame),
        }
        for message in session.messages
    ]
    close = session.close or Close(at_s=session.messages[-1].at_s if session.messages else 0.0, by="server", code=None)
    close_node: dict[str, Any] = {"by": close.by, "code": close.code}
    if close.reason:
        close_node["reason"] = close.reason
    close_node["at_s"] = _seconds(close.at_s)
    node["close"] = close_node
    return {"session": node}


def session_from(node: Any, where: Where) -> Session:
    _check_keys(node, ("session",), where)
    where = (*where, "session")
    body = _field(node, "session", where[:-1], dict, "a mapping with url, handshake, messages and close")
    _check_keys(body, _SESSION_KEYS, where)
    url = _field(body, "url", where, str, "the WebSocket URL of the upgrade request (ws:// or wss://)")
    request = Request("GET", url, _headers_from(body, where))
    handshake = _handshake_from(_field(body, "handshake", where, dict, "a mapping"), (*where, "handshake"))
    items = body.get("messages") or []
    if not isinstance(items, list):
        raise Invalid((*where, "messages"), f"field 'messages' must be a list of messages, not {_describe(items)}")
    messages: list[Message] = []
    previous = handshake.headers_at_s
    for index, item in enumerate(items):
        message = _message_from(item, (*where, "messages", index), previous)
        messages.append(message)
        previous = message.at_s
    close = _close_from(
        _field(body, "close", where, dict, "a mapping {by, code, reason, at_s}; a session always ends with one"),
        (*where, "close"),
        previous,
    )
    return Session(request=request, handshake=handshake, messages=tuple(messages), close=close)


def _handshake_from(node: dict[str, Any], where: Where) -> Handshake:
    _check_keys(node, ("kind", "status", "headers", "headers_at_s"), where)
    kind = node.get("kind", "websocket")
    if kind == "stdio":
        if "status" in node or "headers" in node:
            raise Invalid(
                where, "a stdio session's handshake has no status or headers: {kind: stdio, headers_at_s: 0.0}"
            )
        return Handshake(headers_at_s=_seconds_field(node, "headers_at_s", where), kind="stdio")
    if kind != "websocket":
        raise Invalid((*where, "kind"), f"handshake kind must be websocket or stdio, not {kind!r}")
    status = _field(node, "status", where, int, "the HTTP status of the upgrade answer (101)")
    if status != 101:
        raise Invalid((*where, "status"), f"a session's handshake status is 101 (Switching Protocols), not {status}")
    return Handshake(status, _headers_from(node, where), _seconds_field(node, "headers_at_s", where))


def _message_from(node: Any, where: Where, previous_at_s: float) -> Message:
    if not isinstance(node, dict):
        raise Invalid(where, f"a message is a mapping {{from, at_s, frame, json|text|base64}}, not {_describe(node)}")
    _check_keys(node, _MESSAGE_KEYS, where)
    sender = _field(node, "from", where, str, "client or server")
    if sender not in ("client", "server"):
        raise Invalid((*where, "from"), f"field 'from' must be client or server, not {sender!r}")
    at_s = _seconds_field(node, "at_s", where)
    if at_s < previous_at_s:
        raise Invalid(
            (*where, "at_s"), f"at_s {at_s} goes back in time (previous {previous_at_s}); offsets never decrease"
        )
    frame = _field(node, "frame", where, str, "text or binary")
    if frame not in ("text", "binary"):
        raise Invalid((*where, "frame"), f"field 'frame' must be text or binary, not {frame!r}")
    payload = {key: node[key] for key in (*_MESSAGE_BODIES, "json_style") if key in node}
    if not any(key in payload for key in _MESSAGE_BODIES):
        raise Invalid(where, "a message needs its bytes as one of json, text or base64")
    try:
        data = decode_body(payload)
    except BodyFormatError as exc:
        raise Invalid(where, str(exc).replace("body.", "message ")) from None
    end = node.get("json_end", "")
    if end:
        if "json" not in payload or not isinstance(end, str) or end.strip("\r\n"):
            raise Invalid((*where, "json_end"), "json_end is the line break after a json message, such as '\\n'")
        data += end.encode("ascii")
    if frame == "text":
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            raise Invalid((*where, "frame"), "a text frame must hold UTF-8; make it a binary frame") from None
    return Message(at_s=at_s, sender=sender, frame=frame, data=data)


def _close_from(node: dict[str, Any], where: Where, previous_at_s: float) -> Close:
    _check_keys(node, ("by", "code", "reason", "at_s"), where)
    by = _field(node, "by", where, str, "client or server")
    if by not in ("client", "server"):
        raise Invalid((*where, "by"), f"field 'by' must be client or server, not {by!r}")
    code = node.get("code")
    if code is not None and (type(code) is not int or not 1000 <= code <= 4999):
        raise Invalid(
            (*where, "code"), f"close code must be a number 1000-4999 or null (dropped), not {_describe(code)}"
        )
    reason = node.get("reason", "")
    if not isinstance(reason, str):
        raise Invalid((*where, "reason"), f"close reason must be text, not {_describe(reason)}")
    at_s = _seconds_field(node, "at_s", where)
    if at_s < previous_at_s:
        raise Invalid((*where, "at_s"), f"close at_s {at_s} is before the last message ({previous_at_s})")
    return Close(at_s=at_s, by=by, code=code, reason=reason)
