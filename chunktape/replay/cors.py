"""CORS for the replay server, so a page in a real browser can read a replayed stream.

A page served from one origin (http://localhost:5173) calling the replay server on another
(http://127.0.0.1:PORT) needs the server to answer the browser's preflight and to name the
page's origin on every response. Off unless asked for. When on:

- a preflight (OPTIONS with Origin and Access-Control-Request-Method) is answered 204 here and
  never reaches the cassette: it allows the requested method and headers, and lists besides
  them the methods the cassette holds for that path. Whether the request then matches is the
  cassette's business: a miss is answered by the real request, whose JSON diff the page can read;
- every answer (replayed, miss, fallback) to an allowed origin carries
  Access-Control-Allow-Origin set to that origin, Access-Control-Allow-Credentials, Vary: Origin,
  and exposes the replayed headers; CORS headers recorded from the original backend are replaced;
- `*` allows any origin, answered by echoing it (a literal `*` is refused by browsers for
  credentialed requests); with no origins named, loopback origins are allowed;
- a disallowed origin's preflight gets a 403 saying how to allow it; its other requests are
  answered without CORS headers, so the browser blocks them, as the real backend's would be.

Pure: no sockets, no clock. The server wraps its `send` with `with_cors_headers`.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Awaitable, Callable, Iterable, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from chunktape.cassette import Request
from chunktape.errors import KnobError
from chunktape.preflight import is_preflight

Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

ANY_ORIGIN = "*"
LOOPBACK = "loopback"
OFF_WORDS = ("", "off", "no", "false", "none")
ON_WORDS = ("on", "yes", "true", LOOPBACK)
PREFLIGHT_REFUSED_STATUS = 403

_SAFELISTED_RESPONSE = frozenset(
    {"cache-control", "content-language", "content-length", "content-type", "expires", "last-modified", "pragma"}
)
_NOT_EXPOSED = frozenset({"set-cookie", "set-cookie2", "connection", "transfer-encoding", "keep-alive"})


@dataclass(frozen=True)
class CorsPolicy:
    """Which page origins may read the replay server's answers. `origins` empty: loopback ones."""

    origins: tuple[str, ...] = ()

    @classmethod
    def parse(cls, values: str | Iterable[str] | CorsPolicy | None) -> CorsPolicy | None:
        """None (off) from off/none/empty; loopback origins from on/loopback; else the origins
        named (`*` for any), from a list or one string separated by commas or spaces."""
        if values is None or isinstance(values, CorsPolicy):
            return values
        if isinstance(values, bool):
            return cls() if values else None
        if isinstance(values, str):
            values = values.replace(",", " ").split() or [""]
        elif not isinstance(values, Iterable):
            raise KnobError(f"bad cors {values!r}: write on, off, * or origins like http://localhost:5173")
        words = [str(value).strip() for value in values]
        if all(word.lower() in OFF_WORDS for word in words):
            return None
        origins: list[str] = []
        for word in words:
            lowered = word.lower()
            if lowered in OFF_WORDS or lowered in ON_WORDS:
                continue
            if word != ANY_ORIGIN:
                word = _checked_origin(word)
            origins.append(word)
        return cls(tuple(origins))

    def allows(self, origin: str) -> bool:
        if ANY_ORIGIN in self.origins:
            return True
        if not self.origins:
            return is_loopback_origin(origin)
        return origin.rstrip("/").lower() in {allowed.lower() for allowed in self.origins}

    def describe(self) -> str:
        return ", ".join(self.origins) if self.origins else "loopback origins"


def is_loopback_origin(origin: str) -> bool:
    """http(s)://localhost, 127.0.0.0/8 or [::1], any port."""
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return False
    host = parts.hostname
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _checked_origin(text: str) -> str:
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
        raise KnobError(f"bad cors origin {text!r}: write an origin like http://localhost:5173 (scheme, host, port)")
    return f"{parts.scheme}://{parts.netloc}"


def header(headers: Sequence[tuple[str, str]], name: str) -> str | None:
    return next((value for key, value in headers if key.lower() == name), None)


@dataclass(frozen=True)
class Preflight:
    """The answer to one preflight: status, headers, body."""

    status: int
    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes


def answer_preflight(policy: CorsPolicy, request: Request, recorded: Iterable[Request]) -> Preflight:
    """Allow the requested method and headers (a miss is told by the real request), naming too
    the methods recorded for this path; refuse an origin the policy does not allow."""
    origin = header(request.headers, "origin") or ""
    if not policy.allows(origin):
        message = (
            f"origin {origin} is not allowed by the replay server's CORS setting ({policy.describe()}); "
            f"add it, as in --cors {origin} (or cors='{origin}' in the marker)"
        )
        body = json.dumps({"error": {"code": PREFLIGHT_REFUSED_STATUS, "message": message}, "chunktape": "cors"})
        refused = ((b"content-type", b"application/json"), (b"vary", b"Origin"))
        return Preflight(PREFLIGHT_REFUSED_STATUS, refused, body.encode("utf-8"))
    wanted = (header(request.headers, "access-control-request-method") or "").strip().upper()
    path = urlsplit(request.url).path
    methods = sorted({r.method.upper() for r in recorded if urlsplit(r.url).path == path} | {wanted})
    requested_headers = header(request.headers, "access-control-request-headers") or ""
    headers = [
        *allow_origin_headers(origin),
        (b"access-control-allow-methods", ", ".join(methods).encode("latin-1")),
        (b"access-control-max-age", b"0"),  # a replay's answers change with the cassette: never cached
        (b"content-length", b"0"),
    ]
    if requested_headers.strip():
        headers.append((b"access-control-allow-headers", requested_headers.strip().encode("latin-1")))
    if header(request.headers, "access-control-request-private-network") is not None:
        headers.append((b"access-control-allow-private-network", b"true"))
    return Preflight(204, tuple(headers), b"")


def allow_origin_headers(origin: str) -> list[tuple[bytes, bytes]]:
    """The echo of an allowed origin: works for credentialed requests, where `*` does not."""
    return [
        (b"access-control-allow-origin", origin.encode("latin-1")),
        (b"access-control-allow-credentials", b"true"),
        (b"vary", b"Origin"),
    ]


def response_headers(
    policy: CorsPolicy, origin: str | None, head: Sequence[tuple[bytes, bytes]]
) -> list[tuple[bytes, bytes]]:
    """`head` with recorded CORS headers replaced by this server's: the page's origin allowed
    (if it is), and every replayed header exposed to its script."""
    kept = [(name, value) for name, value in head if not name.lower().startswith(b"access-control-")]
    if origin is None or not policy.allows(origin):
        return kept
    exposed = sorted(
        {
            name.lower().decode("latin-1")
            for name, _ in kept
            if name.lower().decode("latin-1") not in _SAFELISTED_RESPONSE | _NOT_EXPOSED
        }
    )
    extra = allow_origin_headers(origin)
    if exposed:
        extra.append((b"access-control-expose-headers", ", ".join(exposed).encode("latin-1")))
    return kept + extra


def with_cors_headers(send: Send, policy: CorsPolicy, origin: str | None) -> Send:
    """`send` that puts this server's CORS headers on the response head."""

    async def sending(message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": response_headers(policy, origin, list(message.get("headers", ())))}
        await send(message)

    return sending


async def cors_gate(
    policy: CorsPolicy | None, request: Request, recorded: Iterable[Request], send: Send
) -> Send | None:
    """Where the server's answer goes: None when this was a preflight, answered here; else `send`,
    adding this server's CORS headers when CORS is on."""
    if policy is None:
        return send
    if is_preflight(request):
        answer = answer_preflight(policy, request, recorded)
        await send({"type": "http.response.start", "status": answer.status, "headers": list(answer.headers)})
        await send({"type": "http.response.body", "body": answer.body, "more_body": False})
        return None
    return with_cors_headers(send, policy, header(request.headers, "origin"))
