"""One realtime session as it happens: the handshake, each message with its time, the close.

Like `capture.py`, free of mitmproxy types: the addon adapts. Times are seconds since the
upgrade request left for the upstream, on the same clock as the handshake's.
"""

from __future__ import annotations

from dataclasses import replace

from chunktape.cassette import Close, Handshake, Message, Session
from chunktape.recorder.capture import ExchangeCapture

ABNORMAL_CLOSURE = 1006
"""What a WebSocket library reports when the connection dropped without a close frame."""


class SessionCapture:
    def __init__(self, exchange: ExchangeCapture) -> None:
        self._exchange = exchange
        self._clock = exchange.clock
        self._messages: list[Message] = []

    @property
    def request_url(self) -> str:
        return self._exchange.request.url

    def on_message(self, from_client: bool, is_text: bool, content: bytes) -> None:
        """Note one whole message (mitmproxy joins continuation frames into it)."""
        at_s = self._clock() - self._exchange.started
        self._messages.append(
            Message(at_s, "client" if from_client else "server", "text" if is_text else "binary", content)
        )

    def finish(self, code: int | None, reason: str | None, closed_by_client: bool | None) -> Session:
        at_s = self._clock() - self._exchange.started
        if self._messages:
            at_s = max(at_s, self._messages[-1].at_s)
        close = Close(
            at_s=at_s,
            by="client" if closed_by_client else "server",
            code=None if code is None or code == ABNORMAL_CLOSURE else code,
            reason=reason or "",
        )
        exchange = self._exchange
        handshake = Handshake(exchange.status or 101, exchange.headers, exchange.headers_at_s)
        request = replace(exchange.request, url=_websocket_url(exchange.request.url))
        return Session(request, handshake, tuple(self._messages), close)


def _websocket_url(url: str) -> str:
    """The upgrade request's URL as the client named it: ws:// or wss://, not http(s)://."""
    scheme, colon, rest = url.partition(":")
    return {"http": "ws", "https": "wss"}.get(scheme.lower(), scheme) + colon + rest
