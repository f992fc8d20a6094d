"""The realtime part of the terminal view (`chunktape inspect`): each WebSocket session's messages, in order,
with who sent them, their frame type, when, the gap since the message before, and a preview."""

from __future__ import annotations

import json

from chunktape.cassette import Session
from chunktape.secrets_scan import mask_secrets

_ARROWS = {"client": ">", "server": "<"}


def session_report(index: int, session: Session, width: int, more: str) -> str:
    messages = session.messages
    senders = {side: sum(1 for m in messages if m.sender == side) for side in ("client", "server")}
    close = session.close
    if session.stdio and close is not None:  # a process: stdin closed, or the server exited
        reason = f" ({close.reason})" if close.reason else ""
        ending = f"ended by the {close.by}{reason} at {_ms(close.at_s)}"
    elif close is None or close.code is None:
        ending = "connection dropped" if close is None else f"connection dropped by the {close.by} at {_ms(close.at_s)}"
    else:
        reason = f" {close.reason!r}" if close.reason else ""
        ending = f"closed by the {close.by} with {close.code}{reason} at {_ms(close.at_s)}"
    lines = [
        f"session #{index}: {mask_secrets(session.request.url)}",
        f"  {len(messages)} messages ({senders['client']} from the client, {senders['server']} from the server), "
        f"{'started' if session.stdio else f'handshake {session.handshake.status}'} at "
        f"{_ms(session.handshake.headers_at_s)}, {ending}",
    ]
    previous = session.handshake.headers_at_s
    for number, message in enumerate(messages, start=1):
        gap = message.at_s - previous
        previous = message.at_s
        head = (
            f"  {number:>4} {_ARROWS[message.sender]} {message.sender:<6} {message.frame:<6} "
            f"{_ms(message.at_s):>9} +{_ms(gap):>8} {len(message.data):>7} B  "
        )
        lines.append(_clip(head + _preview(message.data), width, more))
    return "\n".join(lines)


def _preview(data: bytes) -> str:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return data[:24].hex(" ")
    try:
        value = json.loads(text)
    except ValueError:
        return mask_secrets(text.replace("\n", "\\n"))
    return mask_secrets(json.dumps(value, ensure_ascii=False, separators=(",", ":")))


def _ms(seconds: float) -> str:
    milliseconds = seconds * 1000
    return f"{milliseconds:.1f} ms" if milliseconds < 10 else f"{milliseconds:.0f} ms"


def _clip(text: str, width: int, more: str) -> str:
    return text if len(text) <= width else text[: max(0, width - len(more))] + more
