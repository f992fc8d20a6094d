"""The cassette model: what one recorded streaming exchange is, as plain immutable values.

A response keeps its body as the exact chunks the client received, each with the time
it arrived, so replay can reproduce both the bytes and the rhythm. A realtime session
(WebSocket: Gemini Live, OpenAI Realtime; or an MCP server's stdin and stdout) is an interaction
kind of its own: the handshake, every message in both directions with its frame type, bytes and
arrival time, then the close.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import ClassVar, Literal, Protocol
from urllib.parse import urlsplit

from chunktape.secret_names import SecretNames, mask_secrets, redact_url

Headers = tuple[tuple[str, str], ...]
Ending = Literal["complete", "cut"]
Timing = Literal["recorded", "imported", "paced"]
"""Where chunk times come from: `recorded` measured on the wire; `imported` from a file that kept
no chunk timing (vcrpy, HAR): the body is one chunk at the recorded total time; `paced` imported,
then spaced per event by `--pace` (invented, not measured)."""


def header_value(headers: Headers, name: str) -> str | None:
    """The first value of a header, case-insensitively, or None."""
    wanted = name.lower()
    for key, value in headers:
        if key.lower() == wanted:
            return value
    return None


@dataclass(frozen=True, repr=False)
class Request:
    """What the client sent: method, full URL, headers in order, and the body bytes.

    Its repr (what tracebacks, `--showlocals` and logs print) never shows a secret: header
    names only, the body's size, and the URL with secret query values masked.
    """

    method: str
    url: str
    headers: Headers = ()
    body: bytes = b""

    @property
    def path(self) -> str:
        return urlsplit(self.url).path or "/"

    @property
    def query(self) -> str:
        return urlsplit(self.url).query

    def header(self, name: str) -> str | None:
        return header_value(self.headers, name)

    def __repr__(self) -> str:
        names = ", ".join(name for name, _ in self.headers)
        return f"Request({self.method} {_masked_url(self.url)}, headers: [{names}], body: {len(self.body)} bytes)"


@dataclass(frozen=True)
class Chunk:
    """One piece of the response body as it arrived, `at_s` seconds after the request was sent."""

    at_s: float
    data: bytes


@dataclass(frozen=True, repr=False)
class Response:
    """The response head, its arrival time, and the body as the chunks that carried it.

    `ended` is "cut" when the upstream closed the connection before the body was complete;
    replay reproduces the same cut. `timing` says whether the chunk times were measured
    (see `Timing`).
    """

    status: int
    headers: Headers = ()
    headers_at_s: float = 0.0
    chunks: tuple[Chunk, ...] = ()
    ended: Ending = "complete"
    ended_at_s: float | None = None
    http_version: str = "HTTP/1.1"
    timing: Timing = "recorded"

    @property
    def body(self) -> bytes:
        return b"".join(chunk.data for chunk in self.chunks)

    @property
    def end_s(self) -> float:
        """When the exchange finished: the recorded end, or the last chunk's arrival."""
        if self.ended_at_s is not None:
            return self.ended_at_s
        return self.chunks[-1].at_s if self.chunks else self.headers_at_s

    def header(self, name: str) -> str | None:
        return header_value(self.headers, name)

    def __repr__(self) -> str:  # header values (Set-Cookie) stay out of tracebacks too
        names = ", ".join(name for name, _ in self.headers)
        return (
            f"Response({self.status}, headers: [{names}], {len(self.chunks)} chunks, "
            f"{sum(len(chunk.data) for chunk in self.chunks)} bytes, ended {self.ended})"
        )


@dataclass(frozen=True)
class Interaction:
    """One request and the response it got; `recorded_at` is when the request was sent (UTC),
    None in files older than the field."""

    request: Request
    response: Response
    recorded_at: datetime | None = None


def iso_utc(moment: datetime) -> str:
    """`2026-12-06T09:04:05Z`: ISO-8601 in UTC with a Z; fractions of a second only when the
    time has them."""
    moment = moment.astimezone(UTC)
    spec = "microseconds" if moment.microsecond else "seconds"
    return moment.replace(tzinfo=None).isoformat(timespec=spec) + "Z"


def parse_iso_utc(text: str) -> datetime:
    """The moment an ISO-8601 text with a zone names (`Z` or `+02:00`), in UTC; ValueError for
    a text without a zone, which would be a local time nobody can place."""
    moment = datetime.fromisoformat(text.strip())
    if moment.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone; write it in UTC with a Z, as in 2026-01-31T09:30:00Z")
    return moment.astimezone(UTC)


def oldest_recording(interactions: Iterable[Interaction]) -> datetime | None:
    """When a cassette was recorded, for its age: the oldest `recorded_at` of its interactions
    (None when none has one: a file older than the field)."""
    return min((one.recorded_at for one in interactions if one.recorded_at is not None), default=None)


# -- realtime sessions ----------------------------------------------------------

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


SessionKind = Literal["websocket", "stdio"]


@dataclass(frozen=True, repr=False)
class Handshake:
    """The server's answer to the upgrade: normally 101 Switching Protocols. For a `stdio`
    session (an MCP server started as a process, its JSON-RPC lines on stdin and stdout) the
    start of the process, at `headers_at_s` 0: no status, no headers."""

    status: int = 101
    headers: Headers = ()
    headers_at_s: float = 0.0
    kind: SessionKind = "websocket"

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

    @property
    def stdio(self) -> bool:
        """A process's stdin and stdout (`chunktape record --stdio`), not a WebSocket."""
        return self.handshake.kind == "stdio"


@dataclass
class Cassette:
    """An ordered list of interactions; identical requests replay in the order recorded.

    `sessions` holds the realtime (WebSocket) sessions, in the order recorded."""

    interactions: list[Interaction] = field(default_factory=list)
    path: str | None = None
    sessions: list[Session] = field(default_factory=list)
    persister: ClassVar[Persister | None] = None
    """Set by `chunktape/__init__.py` to the YAML files persister, when the first name is used from it."""

    def __len__(self) -> int:
        return len(self.interactions)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Cassette):
            return NotImplemented
        return self.interactions == other.interactions and self.sessions == other.sessions

    def append(self, interaction: Interaction | Session) -> None:
        if isinstance(interaction, Interaction):
            self.interactions.append(interaction)
        else:
            self.sessions.append(interaction)

    @classmethod
    def load(cls, path: str, *, persister: Persister | None = None) -> Cassette:
        """Read a cassette file (through `persister`, by default the YAML files one)."""
        return _persister(persister or cls.persister).load(path)

    def save(self, path: str | None = None, *, redact: Iterable[str] = (), persister: Persister | None = None) -> str:
        """Write atomically (redacting secrets) and return the path written."""
        target = path or self.path
        if target is None:
            raise ValueError("Cassette.save() needs a path: this cassette was never loaded from one")
        _persister(persister or self.persister).save(self, target, redact=redact)
        self.path = target
        return target


class Persister(Protocol):
    """Where cassettes live (vcrpy's persister): `chunktape.persist.FilesystemPersister` for
    YAML files; the model receives it, it never imports it."""

    def load(self, path: str) -> Cassette: ...

    def save(self, cassette: Cassette, path: str, *, redact: Iterable[str] = ()) -> None: ...


def _persister(persister: Persister | None) -> Persister:
    if persister is None:
        raise RuntimeError(
            "no cassette persister is set: use `from chunktape import Cassette` (the first name used from chunktape "
            "sets the YAML files one) or pass persister="
        )
    return persister


# -- secrets stay out of reprs ---------------------------------------------------


def _masked_url(url: str) -> str:
    """`url` with the values of secret query parameters and key-shaped strings masked."""
    try:
        return mask_secrets(redact_url(url, SecretNames()))
    except ValueError:  # not a URL urllib can parse: show none of it
        return f"<unparsable URL, {len(url)} characters>"


def chunks_from(pieces: Sequence[tuple[float, bytes]]) -> tuple[Chunk, ...]:
    """Chunks from (at_s, bytes) pairs: a convenience for building cassettes in code."""
    return tuple(Chunk(at_s=at, data=data) for at, data in pieces)
