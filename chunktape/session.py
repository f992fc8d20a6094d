"""The realtime session model: one recorded WebSocket conversation, as plain immutable values.

A session is its own kind of interaction: the handshake (the client's upgrade request and
the server's 101 head), then every message in both directions with its frame type, its
exact bytes and when it arrived after the handshake was sent, then how it closed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from chunktape.cassette import Headers, Request, header_value

Direction = Literal["client", "server"]
Frame = Literal["text", "binary"]


@dataclass(frozen=True)
class Message:
    """One WebSocket message, `at_s` seconds after the handshake request was sent."""

    at_s: float
    sender: Direction
    frame: Frame
    data: bytes


@dataclass(frozen=True)
class Close:
    """How the session ended: the close code (None when the connection just dropped), the
    reason, who closed first, and when."""

    at_s: float
    by: Direction
    code: int | None = 1000
    reason: str = ""


@dataclass(frozen=True, repr=False)
class Handshake:
    """The server's answer to the upgrade: normally 101 Switching Protocols."""

    status: int = 101
    headers: Headers = ()
    headers_at_s: float = 0.0

    def header(self, name: str) -> str | None:
        return header_value(self.headers, name)

    def __repr__(self) -> str:
        names = ", ".join(name for name, _ in self.headers)
        return f"Handshake({self.status}, headers: [{names}])"


@dataclass(frozen=True)
class Session:
    """A WebSocket session: the upgrade request, the handshake answer, the messages, the close."""

    request: Request
    handshake: Handshake
    messages: tuple[Message, ...] = ()
    close: Close | None = None

    def server_messages(self) -> tuple[Message, ...]:
        return tuple(message for message in self.messages if message.sender == "server")

    def client_messages(self) -> tuple[Message, ...]:
        return tuple(message for message in self.messages if message.sender == "client")
