"""The replay server's WebSocket side: uvicorn's `ws` protocol, on websockets' Sans-I/O layer.

Why not ASGI: an ASGI app sends whole messages (`websocket.send`), so it cannot fragment a
message into continuation frames (`split` on sessions), nor hold back its answer to a
client's close while a forwarded session closes upstream (`new_episodes`). uvicorn hands
every upgrade request, with its connection, to the `ws` protocol class it is given; this one
speaks WebSocket through websockets' `ServerProtocol` (its public Sans-I/O API), so every
frame is exactly what the script says, and HTTP and sessions still share one port, one TLS
identity and one shutdown. A served session plays through `websocket.play_session`; a
missing one goes to the mount's fallback (`session_relay`) or gets the 404 diff.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from websockets.datastructures import Headers as WsHeaders
from websockets.frames import Frame as WsFrame
from websockets.frames import Opcode
from websockets.http11 import Request as WsRequest
from websockets.http11 import Response as WsResponse
from websockets.protocol import State
from websockets.server import ServerProtocol
from websockets.typing import Subprotocol

from chunktape.cassette import Frame, Request
from chunktape.matching import describe_request
from chunktape.providers import reason_phrase
from chunktape.redaction import Redactor
from chunktape.replay.session_relay import relay_session
from chunktape.replay.websocket import Refusal, answer_upgrade, miss_refusal, play_session
from chunktape.secrets_scan import mask_secrets

if TYPE_CHECKING:
    from chunktape.replay.asgi import ReplayApp

log = logging.getLogger("chunktape.replay")

CLOSE_TIMEOUT_S = 10.0
"""How long a sent close frame waits for the client's reply before the connection is closed."""
_NO_STATUS = 1005
"""A close frame without a code: recorded as 1005, sent as a close frame with no payload."""


class _Refused(Exception):
    """The upgrade was answered with HTTP after all (websockets found the request invalid)."""


class SessionProtocol(asyncio.Protocol):
    """One upgraded connection of the replay server (uvicorn makes one per upgrade request)."""

    def __init__(
        self,
        app: ReplayApp,
        config: Any,
        server_state: Any,
        app_state: Any = None,
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        self.app = app
        self.connections: set[Any] = server_state.connections
        self._wanted: str | None = None
        self.conn = ServerProtocol(
            max_size=config.ws_max_size,
            select_subprotocol=lambda _protocol, offered: self._subprotocol(offered),
        )
        self.transport: asyncio.Transport | None = None
        self.task: asyncio.Task[None] | None = None
        self.request: WsRequest | None = None
        self._messages: asyncio.Queue[tuple[Frame, bytes] | None] = asyncio.Queue()
        self._writable = asyncio.Event()
        self._writable.set()
        self._lost = asyncio.Event()
        self._kind: Frame = "text"
        self._pieces: list[bytes] = []
        self.relaying = False
        self._holding = False
        self._held: list[bytes] = []

    def _subprotocol(self, offered: Sequence[Subprotocol]) -> Subprotocol | None:
        """The recorded subprotocol if the client offers it (else none, as a server without it)."""
        return next((name for name in offered if name == self._wanted), None)

    # -- asyncio.Protocol ------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is no asyncio.Transport subclass
        self.connections.add(self)

    def data_received(self, data: bytes) -> None:
        self.conn.receive_data(data)
        if self.conn.handshake_exc is not None and self.request is None:
            self.conn.data_to_send()  # only the end of the stream: answer the bad request first
            self._write([self.conn.reject(400, "chunktape: not a valid WebSocket upgrade request\n").serialize(), b""])
            return
        for event in self.conn.events_received():
            if isinstance(event, WsRequest):
                self.request = event
                self.task = asyncio.get_running_loop().create_task(self._serve(event))
            elif isinstance(event, WsFrame):
                self._on_frame(event)
        self._flush()

    def eof_received(self) -> bool | None:
        self.conn.receive_eof()
        self._flush()
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self.connections.discard(self)
        self._messages.put_nowait(None)
        self._lost.set()
        self._writable.set()

    def pause_writing(self) -> None:
        self._writable.clear()

    def resume_writing(self) -> None:
        self._writable.set()

    def shutdown(self) -> None:
        """uvicorn is stopping: close with 1012 (service restart) and drop the connection."""
        if self.conn.state is State.OPEN:
            self.conn.send_close(1012)
        self._holding = False
        self._flush()
        if self.transport is not None:
            self.transport.close()
        if self.task is not None:
            self.task.cancel()

    # -- frames in and out -----------------------------------------------------

    def _on_frame(self, frame: WsFrame) -> None:
        if frame.opcode is Opcode.CLOSE:
            # the client closed first: the reply waits until the forwarded session has closed
            self._holding = self.relaying and bool(self.conn.close_rcvd_then_sent)
            self._messages.put_nowait(None)
            return
        if frame.opcode in (Opcode.TEXT, Opcode.BINARY):
            self._kind = "text" if frame.opcode is Opcode.TEXT else "binary"
            self._pieces = [bytes(frame.data)]
        elif frame.opcode is Opcode.CONT:
            self._pieces.append(bytes(frame.data))
        else:
            return  # ping (websockets queued the pong) or pong
        if frame.fin:
            self._messages.put_nowait((self._kind, b"".join(self._pieces)))
            self._pieces = []

    def _flush(self) -> None:
        writes = self.conn.data_to_send()
        if self._holding:
            self._held += writes
        else:
            self._write(writes)

    def _write(self, writes: list[bytes]) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        for data in writes:
            if data:
                self.transport.write(data)
            else:  # websockets' end of stream: the server closes the TCP connection
                self.transport.close()
                return

    def release(self) -> None:
        """Send the held reply to the client's close (the forwarded session has closed)."""
        self._holding = False
        held, self._held = self._held, []
        self._write(held)

    def drop(self) -> None:
        """Close the connection without a close frame (a recorded drop)."""
        if self.transport is not None:
            self.transport.close()

    # -- the Channel the session player and the relay use -----------------------

    async def accept(self, subprotocol: str | None) -> None:
        assert self.request is not None
        self._wanted = subprotocol
        response = self.conn.accept(self.request)
        self.conn.send_response(response)
        self._flush()
        if response.status_code != 101:
            raise _Refused

    async def receive(self) -> tuple[Frame, bytes] | None:
        message = await self._messages.get()
        if message is None:
            self._messages.put_nowait(None)  # every later call learns it too
        return message

    async def send(self, frame: Frame, fragments: tuple[bytes, ...]) -> None:
        if self.conn.state is not State.OPEN:
            return
        last = len(fragments) - 1
        for index, piece in enumerate(fragments):
            if index == 0:
                (self.conn.send_text if frame == "text" else self.conn.send_binary)(piece, fin=index == last)
            else:
                self.conn.send_continuation(piece, fin=index == last)
        self._flush()
        await self._writable.wait()

    async def close(self, code: int, reason: str) -> None:
        if self.conn.state is not State.OPEN:
            return
        if code == _NO_STATUS:
            self.conn.send_close()
        else:
            self.conn.send_close(code, reason)
        self._flush()

    def client_close(self) -> tuple[int, str] | None:
        """The code and reason of the client's close frame, if one came."""
        received = self.conn.close_rcvd
        return (received.code, received.reason) if received is not None else None

    def refuse(self, refusal: Refusal, headers: tuple[tuple[str, str], ...] = ()) -> None:
        """Answer the upgrade with HTTP: `refusal`'s status and JSON body."""
        body = refusal.body
        fields = [("Content-Type", "application/json"), *headers]
        fields += [("Content-Length", str(len(body))), ("Connection", "close")]
        response = WsResponse(refusal.status, reason_phrase(refusal.status), WsHeaders(fields), body)
        self.conn.send_response(response)
        self._flush()

    # -- one upgrade request ---------------------------------------------------

    async def _serve(self, upgrade: WsRequest) -> None:
        app = self.app
        started = app.clock.now()
        path, _, query = upgrade.path.partition("?")
        mount, routed = app.route(path)
        target = routed + (f"?{query}" if query else "")
        headers = tuple(upgrade.headers.raw_items())
        secure = self.transport is not None and self.transport.get_extra_info("sslcontext") is not None
        host = upgrade.headers.get("Host") or "127.0.0.1"
        request = Request("GET", f"{'wss' if secure else 'ws'}://{host}{target}", headers)
        try:
            if mount is None or mount.player is None:
                message = f"nothing is mounted at {path}; use the base URL that ReplayServer.mount() returned"
                log.warning("%s: %s", mask_secrets(describe_request(request, Redactor())), message)
                self.refuse(miss_refusal(message))
                return
            answer = answer_upgrade(mount.player, request)
            if isinstance(answer, Refusal):
                if answer.miss is not None and mount.fallback_url is not None:
                    self.relaying = True
                    await relay_session(self, mount.fallback_url, target, headers)
                    self.release()
                    await self._close_when_done()
                    return
                if answer.miss is not None and mount.log_misses:
                    log.warning("%s", answer.miss)
                self.refuse(answer)
                return
            await play_session(mount.player, answer, self, app.clock, started, log_misses=mount.log_misses)
            await self._close_when_done()
        except _Refused:
            pass
        except Exception:  # a bug: said once, and the client is not left waiting
            log.exception("chunktape: the realtime session %s failed", mask_secrets(path))
            self.drop()

    async def _close_when_done(self) -> None:
        """The script has ended: wait for the reply to our close frame, or close at once (a drop)."""
        if self.conn.close_sent is not None and not self._lost.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._lost.wait(), CLOSE_TIMEOUT_S)
        self.drop()
