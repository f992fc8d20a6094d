"""A real HTTP replay server on uvicorn, for any client in any language.

    with ReplayServer(CassettePlayer([Cassette.load("cassettes/gemini_stream.yaml")])) as server:
        client = genai.Client(api_key="test", http_options=types.HttpOptions(base_url=server.base_url))

It runs in a background thread with its own event loop, so sync tests can use it. One
server can answer for many players at once: `mount()` gives each its own base URL.

`start()` returns only once the server has answered one stream of its own through the
socket: the imports and first-time paths of a request cost the warm-up, not the first
request a client times.

Long on purpose: starting, warming up, mounting and stopping one uvicorn server, with the
choice of engine, belong together.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any, Literal, cast

import uvicorn

from chunktape.cassette import Cassette, Chunk, Interaction, Request, Response
from chunktape.errors import ChunktapeError
from chunktape.knobs import ReplayPolicy
from chunktape.replay.asgi import MOUNT_PREFIX, Mount, ReplayApp, install_log_filter
from chunktape.replay.cors import CorsPolicy
from chunktape.replay.local_tls import LocalTLS
from chunktape.replay.player import CassettePlayer
from chunktape.replay.stats import ServeStats
from chunktape.replay.ws_protocol import SessionProtocol

_START_TIMEOUT_S = 10.0
_GRACE_S = 1  # whole seconds: uvicorn takes an int
_WARM_UP_ID = "warm-up"  # never a real mount id: those are 8 hex digits
_WARM_UP_DIRECT_ID = "warm-up-direct"
_WARM_UP_PATH = "/v1/warm-up?alt=sse"
_WARM_UP_BODY = b'{"contents":[{"parts":[{"text":"warm up"}]}]}'

Engine = Literal["auto", "careful", "pure-python"]
ENGINES: tuple[Engine, ...] = ("auto", "careful", "pure-python")
"""auto: uvloop, httptools and the direct path when installed (the default); careful: every
request through the ASGI app (uvicorn's own protocol); pure-python: the ASGI app on h11 and
asyncio's own loop, as on a machine without the compiled speed-ups."""


class _Uvicorn(uvicorn.Server):
    """uvicorn that leaves signals alone: whoever owns the process decides when to stop."""

    def install_signal_handlers(self) -> None:  # uvicorn < 0.29
        pass

    @contextlib.contextmanager
    def capture_signals(self):  # type: ignore[no-untyped-def]  # uvicorn >= 0.29
        yield


class ReplayServer:
    """Serves cassettes over HTTP/1.1 with real chunked streaming, timing and faults."""

    def __init__(
        self,
        player: CassettePlayer | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        fallback_url: str | None = None,
        cors: CorsPolicy | str | Iterable[str] | None = None,
        tls: LocalTLS | None = None,
        engine: Engine = "auto",
        reuse_port: bool = False,
    ) -> None:
        """`cors`: let pages in a browser read the answers; "on" (loopback origins), "*", or
        origins like "http://localhost:5173" (see chunktape.replay.cors). Off by default.
        `tls` serves https:// and wss:// with a local identity (see `local_tls`). `engine`:
        see ENGINES. `reuse_port`: share the port with other processes (SO_REUSEPORT), the
        kernel spreading connections among them (`serve --workers`)."""
        if engine not in ENGINES:
            raise ChunktapeError(f"unknown replay server engine {engine!r}: use one of {', '.join(ENGINES)}")
        self.engine = engine
        self.reuse_port = reuse_port
        self.host = host
        self.tls = tls
        self.port = port
        self.app = ReplayApp(Mount(player, fallback_url, cors=CorsPolicy.parse(cors)))
        self._server: _Uvicorn | None = None
        self._thread: threading.Thread | None = None
        self._failure: BaseException | None = None
        self._lock = threading.Lock()

    @property
    def player(self) -> CassettePlayer | None:
        return self.app.root.player

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def base_url(self) -> str:
        """The root mount, answered by the player given to the constructor."""
        if self._server is None:
            raise ChunktapeError("the replay server is not started; call start() or use it as a context manager")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}"

    @property
    def ws_url(self) -> str:
        """The root mount for WebSocket clients: ws:// (wss:// with TLS)."""
        return "ws" + self.base_url.removeprefix("http")

    def start(self) -> None:
        """Start serving in a background thread; returns once the socket is listening."""
        if self._server is not None:
            raise ChunktapeError("this replay server is already started")
        install_log_filter()
        sock = _bind(self.host, self.port, self.reuse_port)
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app,
            http=_http_protocol(self.engine),
            lifespan="off",
            log_config=None,
            access_log=False,
            server_header=False,
            date_header=False,
            proxy_headers=False,
            timeout_graceful_shutdown=_GRACE_S,
            timeout_keep_alive=30,
            ssl_certfile=self.tls.cert_path if self.tls else None,
            ssl_keyfile=self.tls.key_path if self.tls else None,
            # upgrades go to websockets' Sans-I/O directly, not ASGI: it can fragment (ws_protocol.py)
            ws=cast(Any, functools.partial(SessionProtocol, self.app)),
        )
        self._server = _Uvicorn(config)
        self._thread = threading.Thread(target=self._run, args=(sock,), name="chunktape-replay-server", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + _START_TIMEOUT_S
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                sock.close()
                self._server = None
                raise ChunktapeError(f"the replay server could not start on {self.host}:{self.port}: {self._failure}")
            time.sleep(0.002)
        self._warm_up()

    def _warm_up(self) -> None:
        """Answer one small stream through the socket, the way a client's request goes: parse,
        route, read the body, match, build a schedule, wait (anyio's sleep and the final
        spin), send each chunk, end. Also builds the root player's schedules. Best effort:
        a server that cannot reach itself (a firewalled address) just starts cold."""
        if self.player is not None:
            self.player.prepare()
        if self.tls is not None or self.reuse_port:
            return  # the warm-up speaks plain HTTP, to this process (a shared port may lead elsewhere)
        with self._lock:
            # the careful path first (a CORS mount is handed over to it), then the direct path
            self.app.mounts = {
                **self.app.mounts,
                _WARM_UP_ID: Mount(_warm_up_player(), cors=CorsPolicy.parse("*")),
                _WARM_UP_DIRECT_ID: Mount(_warm_up_player()),
            }
        try:
            for mount_id in (_WARM_UP_ID, _WARM_UP_DIRECT_ID):
                with socket.create_connection((_loopback(self.host), self.port), timeout=_START_TIMEOUT_S) as sock:
                    sock.sendall(
                        f"POST {MOUNT_PREFIX}{mount_id}{_WARM_UP_PATH} HTTP/1.1\r\nHost: chunktape\r\n"
                        f"Content-Type: application/json\r\nContent-Length: {len(_WARM_UP_BODY)}\r\n"
                        "Connection: close\r\n\r\n".encode("ascii")
                        + _WARM_UP_BODY
                    )
                    while sock.recv(65536):
                        pass
        except OSError:
            pass
        finally:
            with self._lock:
                self.app.mounts = {
                    k: v for k, v in self.app.mounts.items() if k not in (_WARM_UP_ID, _WARM_UP_DIRECT_ID)
                }
            self.app.stats = ServeStats()  # the warm-up is no stream of anyone's
        # Everything imported so far is now old: without this, the first requests' garbage
        # tips the collector into a full pass over all of it, 10-20 ms in the middle of a stream.
        gc.collect()

    def _run(self, sock: socket.socket) -> None:
        assert self._server is not None
        try:
            asyncio.run(self._serve(self._server, sock), loop_factory=_loop_factory(self.engine))
        except BaseException as exc:  # reported by start() or shown by stop()
            self._failure = exc

    async def _serve(self, server: _Uvicorn, sock: socket.socket) -> None:
        try:
            await server.serve(sockets=[sock])
        finally:
            for connection in list(server.server_state.connections):  # past the grace period
                transport = getattr(connection, "transport", None)
                if transport is not None:
                    transport.close()
            await self.app.aclose()

    def stop(self) -> None:
        """Stop accepting, give open streams a moment to finish, then close them."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        server.should_exit = True
        thread.join(timeout=_GRACE_S + 5.0)
        self._server = None
        self._thread = None

    def __enter__(self) -> ReplayServer:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    def mount(
        self,
        player: CassettePlayer,
        *,
        fallback_url: str | None = None,
        log_misses: bool = True,
        cors: CorsPolicy | str | Iterable[str] | None = None,
    ) -> str:
        """A base URL with its own path prefix, answered by `player` (prefix stripped before
        matching); its schedules are built now. `log_misses=False` leaves misses to
        `player.misses` alone; `cors` as for the constructor, for this mount."""
        policy = CorsPolicy.parse(cors)
        player.prepare()
        with self._lock:
            mount_id = secrets.token_hex(4)
            while mount_id in self.app.mounts:
                mount_id = secrets.token_hex(4)
            self.app.mounts = {**self.app.mounts, mount_id: Mount(player, fallback_url, log_misses, policy)}
        return f"{self.base_url}{MOUNT_PREFIX}{mount_id}"

    def unmount(self, base_url: str) -> None:
        """Forget a mount; its URL answers 404 from now on. Unknown URLs are ignored."""
        mount_id = base_url.rstrip("/").rpartition(MOUNT_PREFIX)[2]
        with self._lock:
            self.app.mounts = {k: v for k, v in self.app.mounts.items() if k != mount_id}


def _warm_up_player() -> CassettePlayer:
    """A player for one small SSE stream, with a few chunks a few milliseconds apart."""
    request = Request(
        "POST", f"http://chunktape{_WARM_UP_PATH}", (("content-type", "application/json"),), _WARM_UP_BODY
    )
    chunks = tuple(Chunk(at_s=0.003 + 0.0005 * index, data=b"data: {}\r\n\r\n") for index in range(3))
    response = Response(200, (("content-type", "text/event-stream"),), 0.001, chunks)
    return CassettePlayer([Cassette([Interaction(request, response)])], ReplayPolicy())


def _loopback(host: str) -> str:
    """The address that reaches a server listening on `host` from this machine."""
    if host in ("", "0.0.0.0"):
        return "127.0.0.1"
    if host == "::":
        return "::1"
    return host


def _http_protocol(engine: Engine) -> Any:
    """uvicorn's `http` setting for this engine."""
    if engine == "pure-python":
        return "h11"
    try:
        from chunktape.replay.direct import DirectProtocol  # needs httptools
    except ImportError:
        return "auto"
    return "httptools" if engine == "careful" else DirectProtocol


def _loop_factory(engine: Engine) -> Callable[[], asyncio.AbstractEventLoop] | None:
    if engine == "pure-python":
        return None
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def _bind(host: str, port: int, reuse_port: bool = False) -> socket.socket:
    """Bind before starting uvicorn, so `--port 0` yields its real port with no race.

    The protocol must be named: asyncio sets TCP_NODELAY on accepted connections only when
    the socket's proto is IPPROTO_TCP, and without it Nagle's algorithm holds a small chunk
    back until the client ACKs the previous one, merging chunks and shifting their times.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # inherited by accepted sockets
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise ChunktapeError(f"cannot listen on {host}:{port} ({exc.strerror}); pick another --port") from None
    sock.setblocking(False)
    return sock
