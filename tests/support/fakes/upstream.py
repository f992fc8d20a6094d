"""A real HTTP/1.1 server that answers like Gemini, OpenAI and Anthropic (and, given
:data:`~tests.support.fakes.formats.FORMAT_EXCHANGES`, like Gemini REST, Ollama and Bedrock).

``FakeUpstream`` runs plain asyncio streams on 127.0.0.1 in a background
thread.  Each wire chunk of a :class:`~tests.support.fakes.wire.WireExchange` goes out
as its own HTTP chunk in its own ``write`` + ``drain`` (TCP_NODELAY is set),
after sleeping the chunk's gap, so a client sees the provider's chunk
boundaries and timing.

    with FakeUpstream() as up:
        client = OpenAI(api_key="sk-test", base_url=up.base_url + "/v1")
        ...
        assert up.requests[0].header("authorization") == "Bearer sk-test"
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import socket
import ssl
import struct
import threading
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from types import TracebackType
from typing import Any, Self, TypedDict
from urllib.parse import parse_qsl, urlsplit

from .formats import error_for
from .wire import EXCHANGES, WireExchange

__all__ = ["FakeUpstream", "RecordedRequest", "ServeOverride"]

_MAX_HEAD = 64 * 1024
_EXTRA_REASONS = {529: "Site Overloaded"}
# google-genai 3.x defaults to /v1/, other clients still use /v1beta/: same API.
_GEMINI_VERSION = re.compile(r"^/v1(?:beta|alpha)?(?=/models/[^/]+:[A-Za-z]+$)")


def _route_key(path: str) -> str:
    return _GEMINI_VERSION.sub("/v1", path)


class ServeOverride(TypedDict, total=False):
    """Per-exchange replacement of the server-wide options."""

    speed: float
    cut_after: int | None
    status: int | None
    gzip: bool


@dataclass(frozen=True)
class RecordedRequest:
    """A request the fake received, as it arrived."""

    method: str
    target: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    connection: int = 0
    """Which TCP connection carried it (numbered from 1 per server)."""

    @property
    def path(self) -> str:
        """Path plus query, exactly as sent in the request line."""
        return self.target

    @property
    def path_only(self) -> str:
        return urlsplit(self.target).path

    @property
    def query(self) -> dict[str, str]:
        return dict(parse_qsl(urlsplit(self.target).query, keep_blank_values=True))

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (case-insensitive), or None."""
        wanted = name.lower()
        for key, value in self.headers:
            if key.lower() == wanted:
                return value
        return None

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class _Options:
    speed: float
    cut_after: int | None
    status: int | None
    gzip: bool


class _Gzipper:
    """Gzips a body piece by piece, each piece decodable as it arrives."""

    def __init__(self) -> None:
        self._z = zlib.compressobj(6, zlib.DEFLATED, 31)

    def piece(self, data: bytes, *, last: bool) -> bytes:
        out = self._z.compress(data)
        return out + self._z.flush(zlib.Z_FINISH if last else zlib.Z_SYNC_FLUSH)


class FakeUpstream:
    """An HTTP/1.1 (or HTTPS) server replaying :class:`WireExchange` responses.

    Options apply to every request; ``overrides`` replaces them for the named
    exchanges.  They are read when a request arrives, so tests may change the
    attributes (``up.status = 429``) between requests.

    * ``speed``: gaps are divided by it; ``0`` sends without sleeping.
    * ``cut_after``: close the connection abruptly after that many chunks,
      with no terminating zero-length chunk (or short of Content-Length).
    * ``status``: answer the provider's error JSON with this status instead.
    * ``gzip``: ``content-encoding: gzip``, still one HTTP chunk per wire chunk.
    * ``reset``: end a ``cut_after`` cut with a TCP RST instead of a FIN.
    * ``tls``: serve HTTPS with this server-side context.
    """

    def __init__(
        self,
        exchanges: Mapping[str, WireExchange] | Iterable[WireExchange] | None = None,
        *,
        speed: float = 1.0,
        cut_after: int | None = None,
        status: int | None = None,
        gzip: bool = False,
        reset: bool = False,
        tls: ssl.SSLContext | None = None,
        hostname: str = "127.0.0.1",
        overrides: Mapping[str, ServeOverride] | None = None,
    ) -> None:
        if exchanges is None:
            exchanges = EXCHANGES
        values = exchanges.values() if isinstance(exchanges, Mapping) else exchanges
        self.exchanges: dict[str, WireExchange] = {e.name: e for e in values}
        self.speed = speed
        self.cut_after = cut_after
        self.status = status
        self.gzip = gzip
        self.reset = reset
        self.overrides: dict[str, ServeOverride] = dict(overrides or {})
        self.tls = tls
        self.hostname = hostname
        self.requests: list[RecordedRequest] = []
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self._error: BaseException | None = None
        self._connection_ids = itertools.count(1)

    # -- public API ---------------------------------------------------------

    @property
    def base_url(self) -> str:
        scheme = "https" if self.tls is not None else "http"
        return f"{scheme}://{self.hostname}:{self.port}"

    def url(self, exchange: WireExchange | str) -> str:
        """Absolute URL of an exchange's path (query included)."""
        ex = self.exchanges[exchange] if isinstance(exchange, str) else exchange
        return self.base_url + ex.path

    def route(self, method: str, target: str) -> WireExchange | None:
        """The exchange answering ``method target``, or None.

        The path must match (Gemini's ``/v1beta/`` and ``/v1/`` count as the
        same); the query picks among exchanges sharing a path: an exact match
        first, then one whose query the request includes.
        """
        split = urlsplit(target)
        query = set(parse_qsl(split.query, keep_blank_values=True))
        key = _route_key(split.path)
        candidates = [
            e
            for e in self.exchanges.values()
            if e.method == method.upper() and _route_key(urlsplit(e.path).path) == key
        ]
        for exchange in candidates:
            if exchange.path == target:
                return exchange
        for exchange in candidates:
            if set(parse_qsl(urlsplit(exchange.path).query)) <= query:
                return exchange
        return candidates[0] if candidates else None

    def start(self) -> Self:
        if self._thread is not None:
            raise RuntimeError("FakeUpstream already started")
        ready = threading.Event()
        loop = asyncio.new_event_loop()
        self._loop = loop

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self._listen())
            except BaseException as exc:  # reported to start()
                self._error = exc
                ready.set()
                loop.close()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.close()

        self._thread = threading.Thread(target=run, name="FakeUpstream", daemon=True)
        self._thread.start()
        ready.wait()
        if self._error is not None:
            self._thread.join()
            raise RuntimeError("FakeUpstream failed to start") from self._error
        return self

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        if loop.is_running():
            future = asyncio.run_coroutine_threadsafe(self._shutdown(), loop)
            with contextlib.suppress(Exception):
                future.result(timeout=10)
            loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        self._loop = None
        self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- server ---------------------------------------------------------------

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(
            self._connection, host="127.0.0.1", port=0, ssl=self.tls, limit=_MAX_HEAD
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def _shutdown(self) -> None:
        server = self._server
        if server is not None:
            server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        tasks = list(self._connections)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), timeout=5)

    def _options(self, exchange: WireExchange) -> _Options:
        override = self.overrides.get(exchange.name, {})
        return _Options(
            speed=override.get("speed", self.speed),
            cut_after=override.get("cut_after", self.cut_after),
            status=override.get("status", self.status),
            gzip=override.get("gzip", self.gzip),
        )

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._connections.add(task)
        self._writers.add(writer)
        sock = writer.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        connection = next(self._connection_ids)
        try:
            while True:
                request = await self._read_request(reader, connection)
                if request is None:
                    break
                self.requests.append(request)
                if not await self._respond(request, writer):
                    break
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            pass  # the client went away, or sent something that is not HTTP/1.1
        except asyncio.CancelledError:
            pass  # stop()
        finally:
            self._writers.discard(writer)
            if task is not None:
                self._connections.discard(task)
            with contextlib.suppress(Exception):
                writer.close()

    async def _read_request(self, reader: asyncio.StreamReader, connection: int) -> RecordedRequest | None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            return None
        lines = head[:-4].decode("latin-1").split("\r\n")
        method, target, _version = lines[0].split(" ", 2)
        headers: list[tuple[str, str]] = []
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers.append((name.strip(), value.strip()))
        lookup = {k.lower(): v for k, v in headers}
        if "chunked" in lookup.get("transfer-encoding", "").lower():
            parts: list[bytes] = []
            while True:
                size_line = await reader.readuntil(b"\r\n")
                size = int(size_line.split(b";", 1)[0].strip(), 16)
                if size == 0:
                    while (await reader.readuntil(b"\r\n")) != b"\r\n":
                        pass  # trailers
                    break
                parts.append(await reader.readexactly(size))
                await reader.readexactly(2)
            payload = b"".join(parts)
        else:
            payload = await reader.readexactly(int(lookup.get("content-length", "0") or 0))
        return RecordedRequest(
            method=method, target=target, headers=tuple(headers), body=payload, connection=connection
        )

    async def _respond(self, request: RecordedRequest, writer: asyncio.StreamWriter) -> bool:
        """Sends one response; False when the connection must not be reused."""
        keep_alive = (request.header("connection") or "").lower() != "close"
        exchange = self.route(request.method, request.target)
        if exchange is None:
            payload = json.dumps(
                {
                    "error": {
                        "code": 404,
                        "message": f"no fake exchange for {request.method} {request.target}",
                        "status": "NOT_FOUND",
                    }
                }
            ).encode()
            await self._send_fixed(
                writer, 404, (("content-type", "application/json"),), [(0.0, payload)], keep_alive, None
            )
            return keep_alive
        options = self._options(exchange)
        if options.status is not None:
            headers, payload = error_for(exchange, options.status)
            await self._send_fixed(writer, options.status, headers, [(0.0, payload)], keep_alive, None)
            return keep_alive
        chunks = [(gap / options.speed if options.speed > 0 else 0.0, data) for gap, data in exchange.chunks]
        headers = exchange.headers
        if options.gzip:
            gz = _Gzipper()
            chunks = [(gap, gz.piece(data, last=i == len(chunks) - 1)) for i, (gap, data) in enumerate(chunks)]
            headers = (*headers, ("content-encoding", "gzip"))
        if exchange.streamed:
            return await self._send_chunked(writer, exchange.status, headers, chunks, keep_alive, options.cut_after)
        return await self._send_fixed(writer, exchange.status, headers, chunks, keep_alive, options.cut_after)

    @staticmethod
    def _head(status: int, headers: Iterable[tuple[str, str]], framing: tuple[str, str], keep_alive: bool) -> bytes:
        try:
            reason = HTTPStatus(status).phrase
        except ValueError:
            reason = _EXTRA_REASONS.get(status, "Unknown")
        lines = [f"HTTP/1.1 {status} {reason}"]
        lines += [f"{k}: {v}" for k, v in headers]
        lines.append(f"{framing[0]}: {framing[1]}")
        if not keep_alive:
            lines.append("Connection: close")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    async def _cut(self, writer: asyncio.StreamWriter) -> None:
        """Close with a FIN after what was sent, as a crashing upstream's kernel would: an
        abort could turn into a RST that discards bytes the client has not read yet.

        With ``reset`` set, end with a RST instead (SO_LINGER 0), as a load balancer or a
        firewall dropping the connection does; first a pause, so the client has read what
        was sent and the reset is what it meets next."""
        if not self.reset:
            writer.close()
            return
        await asyncio.sleep(0.05)
        sock = writer.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()

    @staticmethod
    async def _write(writer: asyncio.StreamWriter, data: bytes) -> None:
        writer.write(data)
        await writer.drain()

    async def _send_chunked(
        self,
        writer: asyncio.StreamWriter,
        status: int,
        headers: tuple[tuple[str, str], ...],
        chunks: list[tuple[float, bytes]],
        keep_alive: bool,
        cut_after: int | None,
    ) -> bool:
        await self._write(writer, self._head(status, headers, ("Transfer-Encoding", "chunked"), keep_alive))
        for sent, (gap, data) in enumerate(chunks):
            if cut_after is not None and sent >= cut_after:
                await self._cut(writer)
                return False
            if gap > 0:
                await asyncio.sleep(gap)
            if data:  # an empty HTTP chunk would end the body
                await self._write(writer, b"%x\r\n%s\r\n" % (len(data), data))
        if cut_after is not None and cut_after >= len(chunks):
            await self._cut(writer)
            return False
        await self._write(writer, b"0\r\n\r\n")
        return keep_alive

    async def _send_fixed(
        self,
        writer: asyncio.StreamWriter,
        status: int,
        headers: Iterable[tuple[str, str]],
        chunks: list[tuple[float, bytes]],
        keep_alive: bool,
        cut_after: int | None,
    ) -> bool:
        length = sum(len(data) for _, data in chunks)
        await self._write(writer, self._head(status, headers, ("Content-Length", str(length)), keep_alive))
        for sent, (gap, data) in enumerate(chunks):
            if cut_after is not None and sent >= cut_after:
                await self._cut(writer)
                return False
            if gap > 0:
                await asyncio.sleep(gap)
            if data:
                await self._write(writer, data)
        return keep_alive
