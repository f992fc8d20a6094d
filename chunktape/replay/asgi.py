"""The replay server's ASGI app: route a request to a player, then emit its schedule.

Requests under `/_chunktape/<id>` go to the player mounted there, with the prefix
stripped before matching; everything else goes to the root player. A miss never reaches
the network: it is answered 404 with the closest recorded request and what differs, unless
the mount has a fallback URL, which then gets the request. WebSocket upgrades never reach
this app: the server's `ws` protocol (ws_protocol.py) takes them, routed by `route()`.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from dataclasses import dataclass
from typing import Any

import httpx

from chunktape.cassette import Request
from chunktape.errors import NoMatchError
from chunktape.matching import describe_request
from chunktape.redaction import Redactor
from chunktape.replay.clock import Clock
from chunktape.replay.cors import CorsPolicy, cors_gate
from chunktape.replay.emit import Outcome, Send, emit
from chunktape.replay.forward import forward, new_client
from chunktape.replay.player import CassettePlayer
from chunktape.replay.stats import ServeStats
from chunktape.secrets_scan import mask_secrets

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]

MOUNT_PREFIX = "/_chunktape/"
METRICS_PATH = "/_chunktape/metrics"  # never a mount: their ids are 8 hex digits
MAX_BODY_BYTES = 32 * 1024 * 1024
MISS_STATUS = 404

log = logging.getLogger("chunktape.replay")

# Set in the connection's task when the app cuts the connection on purpose, so the
# server's "returned without completing response" error is not logged for it.
_cutting: contextvars.ContextVar[bool] = contextvars.ContextVar("chunktape_cutting", default=False)


class _QuietDeliberateCuts(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not (_cutting.get() and ("without completing response" in message or "completing handshake" in message))


_filter_lock = threading.Lock()
_filter_installed = False


def install_log_filter() -> None:
    """Once per process: uvicorn logs every unfinished response as an error; ours are not."""
    global _filter_installed
    with _filter_lock:
        if not _filter_installed:
            logging.getLogger("uvicorn.error").addFilter(_QuietDeliberateCuts())
            _filter_installed = True


@dataclass(frozen=True)
class Mount:
    """Who answers requests under one prefix."""

    player: CassettePlayer | None
    fallback_url: str | None = None
    log_misses: bool = True
    """Log each miss (for `chunktape serve`); off when the player's miss list is reported
    elsewhere (the pytest plugin fails the test with it), so a miss is told once."""
    cors: CorsPolicy | None = None
    """Which page origins a browser may read the answers from (None: CORS off); see cors.py."""


_NOT_GET = (405, "text/plain; charset=utf-8", b"GET /_chunktape/metrics for the metrics\n")


class _TooLarge(Exception):
    pass


class ReplayApp:
    """An ASGI 3 app; `mounts` maps a mount id to its Mount and may change while serving."""

    def __init__(self, root: Mount, max_body_bytes: int = MAX_BODY_BYTES) -> None:
        self.root = root
        self.mounts: dict[str, Mount] = {}
        self.max_body_bytes = max_body_bytes
        self.clock = Clock()
        self._client: httpx.AsyncClient | None = None
        self.stats = ServeStats()
        self.spinning = 0
        """How many streams of the direct path are watching the clock for their next write."""
        self.direct_answers = 0
        """Requests the direct path answered itself (the rest went through this app)."""

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        raw_path: bytes = scope.get("raw_path") or scope["path"].encode("utf-8")
        path = raw_path.decode("latin-1")
        if path == METRICS_PATH:
            await self._metrics(scope, send)
            return
        mount, path = self.route(path)
        query = scope.get("query_string", b"").decode("latin-1")
        target = path + (f"?{query}" if query else "")
        try:
            body = await self._read_body(receive)
        except _TooLarge:
            message = f"request body is larger than {self.max_body_bytes} bytes; chunktape refuses it"
            await _answer_json(send, 413, {"error": {"message": message}, "chunktape": "too large"})
            return
        if body is None:
            return
        started = time.perf_counter()
        request = _to_request(scope, target, body)
        if mount is not None and mount.cors is not None:
            gated = await cors_gate(mount.cors, request, _recorded_requests(mount), send)
            if gated is None:
                return
            send = gated
        if mount is None or mount.player is None:
            message = f"nothing is mounted at {path}; use the base URL that ReplayServer.mount() returned"
            log.warning("%s: %s", mask_secrets(describe_request(request, Redactor())), message)
            self.stats.misses += 1
            await _answer_miss(send, message, None, ())
            return
        try:
            schedule = mount.player.play(request)
        except NoMatchError as miss:
            outcome = await self._on_miss(mount, miss, target, request, send)
        else:
            outcome = await self._emit_watching_disconnect(
                emit(schedule, started, send, self.clock, self.stats), receive
            )
        if outcome == "cut":
            _cutting.set(True)

    def route(self, path: str) -> tuple[Mount | None, str]:
        """Who answers `path`, and the path it matches with (the mount prefix stripped)."""
        if not path.startswith(MOUNT_PREFIX):
            return self.root, path
        mount_id, slash, rest = path[len(MOUNT_PREFIX) :].partition("/")
        return self.mounts.get(mount_id), slash + rest or "/"

    async def _read_body(self, receive: Receive) -> bytes | None:
        """The whole request body, or None if the client left. Too large a body is read to
        its end but not kept, so the client gets to see the 413 instead of a reset."""
        body = bytearray()
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            piece = message.get("body", b"")
            size += len(piece)
            if size <= self.max_body_bytes:
                body += piece
            if not message.get("more_body", False):
                break
        if size > self.max_body_bytes:
            raise _TooLarge
        return bytes(body)

    async def _metrics(self, scope: Scope, send: Send) -> None:
        """GET /_chunktape/metrics: this server's counts in Prometheus text format."""
        from chunktape.replay.metrics import render  # prometheus_client loads only when scraped

        status, content_type, body = render(self.stats) if scope["method"] in ("GET", "HEAD") else _NOT_GET
        headers = [(b"content-type", content_type.encode("latin-1")), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body, "more_body": False})

    async def _on_miss(self, mount: Mount, miss: NoMatchError, target: str, request: Request, send: Send) -> Outcome:
        self.stats.misses += 1
        if mount.fallback_url is None:
            if mount.log_misses:
                log.warning("%s", miss)
            await _answer_miss(send, str(miss), miss.closest, miss.differences)
            return "complete"
        if self._client is None:
            self._client = new_client()

        async def on_error(status: int, body: bytes) -> None:
            log.warning("%s", body.decode())
            await _answer(send, status, body)

        return await forward(self._client, mount.fallback_url, target, request, send, on_error)

    async def _emit_watching_disconnect(self, emitting: Awaitable[Outcome], receive: Receive) -> Outcome:
        """Stop emitting as soon as the client goes away, rather than sleep through a stall."""
        emitter = asyncio.ensure_future(emitting)
        watcher = asyncio.ensure_future(_wait_for_disconnect(receive))
        try:
            await asyncio.wait({emitter, watcher}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            watcher.cancel()
            if not emitter.done():
                emitter.cancel()
        if emitter.cancelled() or not emitter.done():
            return "complete"
        return emitter.result()


def _recorded_requests(mount: Mount) -> list[Request]:
    player = mount.player
    if player is None:
        return []
    return [interaction.request for cassette in player.cassettes for interaction in cassette.interactions]


async def _wait_for_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


def _to_request(scope: Scope, target: str, body: bytes) -> Request:
    server = scope.get("server") or ("127.0.0.1", 80)
    return to_request(scope["method"], scope.get("scheme", "http"), target, scope.get("headers", ()), body, server)


def to_request(
    method: str,
    scheme: str,
    target: str,
    raw_headers: Iterable[tuple[bytes, bytes]],
    body: bytes,
    server: tuple[str, int],
) -> Request:
    """The live request as matching sees it, from the parts on the wire (both server paths)."""
    headers = tuple((k.decode("latin-1"), v.decode("latin-1")) for k, v in raw_headers)
    host = next((v for k, v in headers if k.lower() == "host"), None)
    if host is None:
        host = f"{server[0]}:{server[1]}"
    return Request(method=method, url=f"{scheme}://{host}{target}", headers=headers, body=body)


async def _answer(send: Send, status: int, body: bytes) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def _answer_json(send: Send, status: int, document: dict[str, Any]) -> None:
    await _answer(send, status, _json(document))


async def _answer_miss(send: Send, message: str, closest: str | None, differences: tuple[str, ...]) -> None:
    await _answer(send, MISS_STATUS, miss_body(message, closest, differences))


def miss_body(message: str, closest: str | None, differences: tuple[str, ...]) -> bytes:
    """The JSON a miss is answered with: what missed, the closest recorded request, what differs."""
    error = {"code": MISS_STATUS, "message": message, "closest": closest, "differences": list(differences)}
    return _json({"error": error, "chunktape": "no match"})


def _json(document: dict[str, Any]) -> bytes:
    return json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8")
