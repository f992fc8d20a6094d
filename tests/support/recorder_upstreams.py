"""Upstreams the recorder tests need beyond tests/fakes: HTTP/2 over TLS, brotli, self-signed certs.

Both servers answer every request with one WireExchange, each wire chunk sent on its own
after its gap (an HTTP/1.1 chunk, or an HTTP/2 DATA frame), on 127.0.0.1 in a thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import socket
import ssl
import threading
from pathlib import Path
from types import TracebackType
from typing import Self

import brotli
import h2.config
import h2.connection
import h2.errors
import h2.events

from tests.support.fakes.tls import self_signed_cert
from tests.support.fakes.wire import WireExchange


def server_tls(directory: Path, alpn: tuple[str, ...] = ("http/1.1",)) -> ssl.SSLContext:
    cert_path, key_path = self_signed_cert(directory)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_path, key_path)
    context.set_alpn_protocols(list(alpn))
    return context


def brotli_exchange(exchange: WireExchange) -> WireExchange:
    """The exchange with each wire chunk brotli-compressed and flushed on its own, as a
    streaming server sends `content-encoding: br`."""
    compressor = brotli.Compressor()
    pieces = [(gap, compressor.process(data) + compressor.flush()) for gap, data in exchange.chunks]
    pieces[-1] = (pieces[-1][0], pieces[-1][1] + compressor.finish())
    headers = (*exchange.headers, ("content-encoding", "br"))
    return dataclasses.replace(exchange, headers=headers, chunks=tuple(pieces))


@dataclasses.dataclass(frozen=True)
class SeenRequest:
    method: str
    path: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    http_version: str


class _ThreadedServer:
    """An asyncio server on 127.0.0.1 in its own thread; subclasses handle connections."""

    def __init__(self, exchange: WireExchange, *, speed: float = 0.0, tls: ssl.SSLContext | None = None) -> None:
        self.exchange = exchange
        self.speed = speed
        self.tls = tls
        self.cut_after: int | None = None
        self.end_delay_s = 0.0
        """How long an HTTP/1.1 stream waits between its last chunk and its end marker."""
        self.requests: list[SeenRequest] = []
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=type(self).__name__, daemon=True)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def base_url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def gaps(self) -> list[tuple[float, bytes]]:
        return [(gap / self.speed if self.speed > 0 else 0.0, data) for gap, data in self.exchange.chunks]

    def __enter__(self) -> Self:
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(self._listen(), self._loop)
        future.result(10)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        asyncio.run_coroutine_threadsafe(self._close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0, ssl=self.tls)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _close(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        sock = writer.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            await self._serve(reader, writer)
        except (ConnectionError, OSError, asyncio.IncompleteReadError, ssl.SSLError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raise NotImplementedError


class ScriptedUpstream(_ThreadedServer):
    """HTTP/1.1: the exchange's head, then each wire chunk as one HTTP chunk after its gap."""

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                return
            lines = head.decode("latin-1").split("\r\n")
            method, path, version = lines[0].split(" ", 2)
            headers = tuple(
                (name.strip(), value.strip()) for name, _, value in (line.partition(":") for line in lines[1:] if line)
            )
            length = next((int(v) for k, v in headers if k.lower() == "content-length"), 0)
            body = await reader.readexactly(length)
            self.requests.append(SeenRequest(method, path, headers, body, version))
            status_line = f"HTTP/1.1 {self.exchange.status} OK\r\n"
            fields = "".join(f"{k}: {v}\r\n" for k, v in self.exchange.headers)
            writer.write((status_line + fields + "Transfer-Encoding: chunked\r\n\r\n").encode("latin-1"))
            await writer.drain()
            for sent, (gap, data) in enumerate(self.gaps()):
                if self.cut_after is not None and sent >= self.cut_after:
                    writer.transport.abort()
                    return
                if gap:
                    await asyncio.sleep(gap)
                writer.write(b"%x\r\n%s\r\n" % (len(data), data))
                await writer.drain()
            if self.end_delay_s:
                await asyncio.sleep(self.end_delay_s)
            writer.write(b"0\r\n\r\n")
            await writer.drain()


class H2Upstream(_ThreadedServer):
    """HTTP/2 over TLS only (ALPN h2): each wire chunk is one DATA frame after its gap.

    `cut_after` resets the stream (RST_STREAM) after that many chunks."""

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if writer.get_extra_info("ssl_object").selected_alpn_protocol() != "h2":
            return  # an h2-only server: HTTP/1.1 clients get nothing
        connection = h2.connection.H2Connection(
            config=h2.config.H2Configuration(client_side=False, header_encoding="utf-8")
        )
        connection.initiate_connection()
        writer.write(connection.data_to_send())
        heads: dict[int, list[tuple[str, str]]] = {}
        bodies: dict[int, bytearray] = {}
        tasks: set[asyncio.Task[None]] = set()
        while True:
            data = await reader.read(65536)
            if not data:
                return
            for event in connection.receive_data(data):
                if isinstance(event, h2.events.RequestReceived) and event.stream_id is not None:
                    heads[event.stream_id] = [(str(k), str(v)) for k, v in event.headers or []]
                    bodies[event.stream_id] = bytearray()
                elif isinstance(event, h2.events.DataReceived) and event.stream_id is not None:
                    bodies[event.stream_id] += event.data or b""
                    connection.acknowledge_received_data(event.flow_controlled_length or 0, event.stream_id)
                elif isinstance(event, h2.events.StreamEnded) and event.stream_id is not None:
                    stream_id = event.stream_id
                    pseudo = dict(heads[stream_id])
                    self.requests.append(
                        SeenRequest(
                            pseudo[":method"],
                            pseudo[":path"],
                            tuple((k, v) for k, v in heads[stream_id] if not k.startswith(":")),
                            bytes(bodies[stream_id]),
                            "HTTP/2.0",
                        )
                    )
                    task = asyncio.create_task(self._respond(connection, writer, stream_id))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
            writer.write(connection.data_to_send())
            await writer.drain()

    async def _respond(
        self, connection: h2.connection.H2Connection, writer: asyncio.StreamWriter, stream_id: int
    ) -> None:
        headers = [(":status", str(self.exchange.status))]
        headers += [(k.lower(), v) for k, v in self.exchange.headers]
        connection.send_headers(stream_id, headers)
        writer.write(connection.data_to_send())
        await writer.drain()
        for sent, (gap, data) in enumerate(self.gaps()):
            if self.cut_after is not None and sent >= self.cut_after:
                connection.reset_stream(stream_id, h2.errors.ErrorCodes.INTERNAL_ERROR)
                writer.write(connection.data_to_send())
                await writer.drain()
                return
            if gap:
                await asyncio.sleep(gap)
            connection.send_data(stream_id, data)
            writer.write(connection.data_to_send())
            await writer.drain()
        connection.end_stream(stream_id)
        writer.write(connection.data_to_send())
        await writer.drain()
