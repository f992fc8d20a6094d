"""The replay server's direct path: a plain replay written straight to the socket.

uvicorn runs the server (sockets, TLS, shutdown), and this protocol takes each connection
first. A request it can answer alone (HTTP/1.1, no CORS, no fallback, not HEAD, not an
upgrade) is matched, and its schedule sent as a chain of loop timers, each doing one
`transport.write` of bytes framed ahead of time (`plan.py`): no task, no ASGI message, no
allocation per chunk. The same bytes, at the same moments, as the careful path (the ASGI
app under uvicorn's own protocol): a differential test holds the two together. Anything
else (WebSocket upgrades, CORS, fallbacks, the metrics page, bad requests) hands the
connection over to uvicorn's protocol with the request as received, and the careful path
answers it and whatever follows on that connection.

Timing is the clock's (`clock.py`): a timer to 2.3 ms before the moment, then watching the
clock across loop turns until it passes, a few streams at a time, while few are open.

Long on purpose: an HTTP/1.1 connection's whole life (parse, answer, keep-alive, pipelining,
hand-over) is one state machine, clearer in one place than split.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from typing import Any

import httptools
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from chunktape.errors import NoMatchError
from chunktape.replay.asgi import MAX_BODY_BYTES, MISS_STATUS, ReplayApp, miss_body, to_request
from chunktape.replay.clock import MAX_SPINNING, SPIN_MARGIN_S
from chunktape.replay.plan import Plan, Plans, head_bytes

log = logging.getLogger("chunktape.replay")

_CAREFUL_HEADERS = frozenset({b"expect", b"upgrade"})
_HELD_BYTES = 1 << 20
"""At most this much of a connection's first request is held for a possible hand-over."""
_TIMER_EARLY_S = 0.0005
"""uvloop's timers fire up to ~0.4 ms early (libuv counts whole milliseconds)."""
_FEW_STREAMS = 32
"""Watch the clock only while at most this many streams are open: under load, timers are
as punctual as the loop allows, and watching would only take the other streams' CPU."""


class _Parsed:
    """One request as parsed, kept whole until the response to it starts."""

    __slots__ = ("body", "headers", "keep_alive", "method", "plain", "url")

    def __init__(self) -> None:
        self.method = ""
        self.url = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.body = bytearray()
        self.keep_alive = True
        self.plain = True

    def raw(self) -> bytes:
        """The request re-encoded for the careful path (its body with a Content-Length)."""
        lines = [f"{self.method} ".encode("latin-1"), self.url, b" HTTP/1.1\r\n"]
        for name, value in self.headers:
            if name not in (b"content-length", b"transfer-encoding"):
                lines += [name, b": ", value, b"\r\n"]
        if self.body or self.method not in ("GET", "HEAD", "DELETE", "OPTIONS"):
            lines.append(b"content-length: %d\r\n" % len(self.body))
        lines += [b"\r\n", bytes(self.body)]
        return b"".join(lines)


class DirectProtocol(asyncio.Protocol):
    """uvicorn's HTTP protocol class for a ReplayApp (uvicorn.Config(http=DirectProtocol))."""

    def __init__(self, config: Any, server_state: Any, app_state: dict[str, Any], _loop: Any = None) -> None:
        self.config = config
        self.server_state = server_state
        self.app_state = app_state
        self.app: ReplayApp = config.app
        self.plans: Plans = _plans_of(self.app)
        self.loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpRequestParser(self)
        self.parsing = _Parsed()
        self.waiting: deque[_Parsed] = deque()
        self.handed_over: HttpToolsProtocol | None = None
        self.received = bytearray()
        """Everything received until the first request completes (handed over as is)."""
        self.first = True
        self.scheme = "http"
        self.server_address: tuple[str, int] = ("127.0.0.1", 80)
        self.keep_alive = True
        self.idle: asyncio.TimerHandle | None = None
        # the stream being sent
        self.plan: Plan | None = None
        self.index = 0
        self.started = 0.0
        self.worst = 0.0
        self.timer: asyncio.TimerHandle | asyncio.Handle | None = None
        self.spinning = False
        self.forced = False
        """The timer that woke this stream was its moment: write without looking at the clock."""
        self.closing = False
        self.paused = False
        self.forwarding = False
        """Handed over with the bytes as received: what the parser still reads is the careful path's."""

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is no asyncio.Transport subclass
        self.server_state.connections.add(self)
        if transport.get_extra_info("sslcontext") is not None:
            self.scheme = "https"
        sockname = transport.get_extra_info("sockname")
        if isinstance(sockname, tuple) and len(sockname) >= 2:
            self.server_address = (str(sockname[0]), int(sockname[1]))

    def connection_lost(self, exc: Exception | None) -> None:
        self.server_state.connections.discard(self)
        self.closing = True
        if self.idle is not None:
            self.idle.cancel()
        if self.plan is not None:
            self._stop_stream(dropped=True)

    def data_received(self, data: bytes) -> None:
        if self.idle is not None:
            self.idle.cancel()
            self.idle = None
        if self.first:
            self.received += data
            if len(self.received) > _HELD_BYTES:  # a large upload: the careful path reads it as it comes
                self._hand_over(None)
                return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            if self.handed_over is None:  # (a complete upgrade request was handed over already)
                self._hand_over(self.parsing, upgrade=True)
        except httptools.HttpParserError:
            if self.first:
                self._hand_over(None)  # uvicorn answers the 400
            elif self.transport is not None:
                self.transport.close()

    def eof_received(self) -> None:
        pass

    def pause_writing(self) -> None:
        """The transport holds more than its high-water mark: write nothing until it drains."""
        self.paused = True

    def resume_writing(self) -> None:
        self.paused = False
        if self.plan is not None and self.timer is None:
            self._next()

    def shutdown(self) -> None:
        """uvicorn stops: close now when idle, else after the stream under way."""
        self.keep_alive = False
        if self.plan is None and self.transport is not None:
            self.transport.close()

    # httptools callbacks

    def on_message_begin(self) -> None:
        self.parsing = _Parsed()

    def on_url(self, url: bytes) -> None:
        self.parsing.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self.parsing.headers.append((name.lower(), value))

    def on_headers_complete(self) -> None:
        parsed = self.parsing
        parsed.method = self.parser.get_method().decode("ascii")
        parsed.keep_alive = self.parser.should_keep_alive()
        parsed.plain = self.parser.get_http_version() == "1.1"  # HTTP/1.0: the careful path answers

    def on_body(self, body: bytes) -> None:
        if len(self.parsing.body) <= MAX_BODY_BYTES:
            self.parsing.body += body

    def on_message_complete(self) -> None:
        parsed = self.parsing
        if self.forwarding:
            return
        if self.handed_over is not None:
            self.handed_over.data_received(parsed.raw())
        elif self.plan is not None or self.waiting:
            self.waiting.append(parsed)
        else:
            self._answer(parsed)

    # answering

    def _answer(self, parsed: _Parsed) -> None:
        """Answer `parsed` here, or hand the connection over to the careful path."""
        app = self.app
        url = parsed.url.decode("latin-1")
        path, _, query = url.partition("?")
        mount, routed = app.route(path)
        if (
            mount is None
            or mount.cors is not None
            or mount.fallback_url is not None
            or mount.player is None
            or not parsed.plain
            or parsed.method not in _PLAIN_METHODS
            or len(parsed.body) > MAX_BODY_BYTES
            or any(name in _CAREFUL_HEADERS for name, _ in parsed.headers)
        ):
            self._hand_over(parsed)
            return
        started = time.perf_counter()
        target = routed + (f"?{query}" if query else "")
        request = to_request(
            parsed.method, self.scheme, target, parsed.headers, bytes(parsed.body), self.server_address
        )
        self.keep_alive = self.keep_alive and parsed.keep_alive
        app.direct_answers += 1
        try:
            schedule = mount.player.play(request)
        except NoMatchError as miss:
            app.stats.misses += 1
            if mount.log_misses:
                log.warning("%s", miss)
            self._write_miss(miss)
            return
        plan = self.plans.get(schedule, self.keep_alive)
        if plan is None:
            self._hand_over(parsed)  # (the careful path matches it again, as the only one)
            return
        self.first = False
        self.received = bytearray()
        fault = schedule.policy.fault
        app.stats.started(fault.kind if fault is not None else None)
        self.plan, self.index, self.started, self.worst = plan, 0, started, 0.0
        self._next()

    def _write_miss(self, miss: NoMatchError) -> None:
        body = miss_body(str(miss), miss.closest, miss.differences)
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        head = head_bytes(MISS_STATUS, headers, self.keep_alive)
        assert head is not None
        assert self.transport is not None
        self.first = False
        self.received = bytearray()
        self.transport.write(head[0] + body)
        self._done()

    def _next(self) -> None:
        """Write every write now due, then set a timer for the next: the stream's whole loop."""
        self.timer = None
        plan, transport = self.plan, self.transport
        if plan is None or transport is None:
            return
        at_s, data, stats, app = plan.at_s, plan.data, self.app.stats, self.app
        index = self.index
        while index < len(at_s):
            remaining = self.started + at_s[index] - time.perf_counter()
            if remaining > 0 and not self.forced:
                self.index = index
                if not (self.spinning or (app.spinning < MAX_SPINNING and stats.streams_active <= _FEW_STREAMS)):
                    # enough streams watch the clock, or so many are open that watching would only
                    # take their CPU: one timer, just past the moment (loop timers may fire early)
                    self.forced = True
                    self.timer = self.loop.call_later(remaining + _TIMER_EARLY_S, self._next)
                elif remaining > SPIN_MARGIN_S:
                    self._stop_spinning()
                    self.timer = self.loop.call_later(remaining - SPIN_MARGIN_S, self._next)
                else:
                    if not self.spinning:
                        self.spinning = True
                        app.spinning += 1
                    self.timer = self.loop.call_soon(self._next)
                return
            if self.paused:  # the client is not reading: resume_writing() goes on from here
                self.index = index
                return
            self.forced = False
            self._stop_spinning()
            if data[index]:
                transport.write(data[index])
            stats.late(-remaining)
            if -remaining > self.worst:
                self.worst = -remaining
            index += 1
        self.index = index
        self._stop_stream(dropped=False)
        if plan.close:
            transport.close()
        else:
            self._done()

    def _stop_spinning(self) -> None:
        if self.spinning:
            self.spinning = False
            self.app.spinning -= 1

    def _stop_stream(self, *, dropped: bool) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self._stop_spinning()
        self.forced = False
        self.app.stats.ended(self.worst, dropped=dropped)
        self.plan = None

    def _done(self) -> None:
        """A response ended cleanly: the next request waiting, or keep the connection idle."""
        self.server_state.total_requests += 1
        if not self.keep_alive:
            if self.transport is not None:
                self.transport.close()
            return
        if self.waiting:
            self._answer(self.waiting.popleft())
        elif not self.closing:
            self.idle = self.loop.call_later(self.config.timeout_keep_alive, self._idle_timeout)

    def _idle_timeout(self) -> None:
        if self.transport is not None and self.plan is None:
            self.transport.close()

    def _hand_over(self, parsed: _Parsed | None, *, upgrade: bool = False) -> None:
        """From here on uvicorn's own protocol and the ASGI app serve this connection."""
        assert self.transport is not None
        protocol = HttpToolsProtocol(config=self.config, server_state=self.server_state, app_state=self.app_state)
        self.server_state.connections.discard(self)
        protocol.connection_made(self.transport)  # type: ignore[no-untyped-call]
        self.transport.set_protocol(protocol)
        self.handed_over = protocol
        if self.first:
            data = bytes(self.received)
            self.forwarding = True
        else:
            assert parsed is not None
            data = parsed.raw() if not upgrade else _head(parsed)
            data += b"".join(waiting.raw() for waiting in self.waiting)
        self.waiting.clear()
        self.received = bytearray()
        self.first = False
        protocol.data_received(data)


_PLAIN_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def _head(parsed: _Parsed) -> bytes:
    """An upgrade request's head (it has no body)."""
    lines = [f"{parsed.method} ".encode("latin-1"), parsed.url, b" HTTP/1.1\r\n"]
    for name, value in parsed.headers:
        lines += [name, b": ", value, b"\r\n"]
    lines.append(b"\r\n")
    return b"".join(lines)


def _plans_of(app: ReplayApp) -> Plans:
    plans: Plans | None = getattr(app, "_direct_plans", None)
    if plans is None:
        plans = Plans()
        app._direct_plans = plans  # type: ignore[attr-defined]
    return plans
