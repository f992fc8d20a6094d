"""Plays a realtime session onto an ASGI WebSocket connection, causally.

The handshake is matched like an HTTP request (path, query minus secrets); a miss is
answered with an HTTP 404 and the JSON diff before the upgrade, never a 500. Then two
tasks run: one reads the client's messages, checks each against the recording and notes
when it arrived; the other sends each server message a recorded gap after the client
message it followed (see `chunktape.session_script`). A client message that is not the
recorded one closes the session with 1008 and a reason naming the closest recorded one.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from chunktape.cassette import Frame, Request, Session
from chunktape.errors import NoMatchError
from chunktape.knobs import ReplayPolicy
from chunktape.providers import error_response
from chunktape.replay.clock import AsyncClock
from chunktape.replay.player import CassettePlayer
from chunktape.session_script import Beat, Script, build_script, message_differences

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

MISMATCH_CLOSE_CODE = 1008
"""Policy violation: the client sent what the recording does not hold."""
_MAX_REASON_BYTES = 123

log = logging.getLogger("chunktape.replay")


async def deny(send: Send, status: int, document: dict[str, Any]) -> None:
    """Refuse the upgrade with an HTTP answer (ASGI's websocket.http.response extension)."""
    body = json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8")
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "websocket.http.response.start", "status": status, "headers": headers})
    await send({"type": "websocket.http.response.body", "body": body, "more_body": False})


def _subprotocol(session: Session, scope: Scope) -> str | None:
    chosen = session.handshake.header("sec-websocket-protocol")
    offered = scope.get("subprotocols") or []
    return chosen if chosen in offered else None


async def play_session(
    player: CassettePlayer,
    request: Request,
    scope: Scope,
    receive: Receive,
    send: Send,
    clock: AsyncClock,
    *,
    log_misses: bool = True,
) -> bool:
    """Answer one upgrade request from `player`'s sessions (the connect event already read);
    False when it was refused with an HTTP answer instead."""
    started = clock.now()
    try:
        session = player.find_session(request)
    except NoMatchError as miss:
        if log_misses:
            log.warning("%s", miss)
        error = {"code": 404, "message": str(miss), "closest": miss.closest, "differences": list(miss.differences)}
        await deny(send, 404, {"error": error, "chunktape": "no match"})
        return False
    policy = player.policy
    fault = policy.fault
    if fault is not None and fault.kind == "status":
        _, body = error_response(request, fault.status)
        await deny(send, fault.status, json.loads(body) if body.startswith(b"{") else {"error": body.decode()})
        return False
    script = build_script(session, policy)
    await clock.sleep_until(started + (session.handshake.headers_at_s / policy.speed if policy.speed else 0.0))
    await send({"type": "websocket.accept", "subprotocol": _subprotocol(session, scope)})
    await _Conversation(player, session, script, policy, clock, send, log_misses).run(receive)
    return True


class _Conversation:
    def __init__(
        self,
        player: CassettePlayer,
        session: Session,
        script: Script,
        policy: ReplayPolicy,
        clock: AsyncClock,
        send: Send,
        log_misses: bool,
    ) -> None:
        self.player, self.session, self.script, self.policy = player, session, script, policy
        self.clock, self.send, self.log_misses = clock, send, log_misses
        self.anchors = [clock.now()]  # when the handshake and each client message arrived
        self.changed = asyncio.Event()
        self.client_gone = False

    async def run(self, receive: Receive) -> None:
        reader = asyncio.ensure_future(self._read(receive))
        writer = asyncio.ensure_future(self._write())
        try:
            # the client left or sent a mismatch (closed), or the script ended: either way, done
            await asyncio.wait({reader, writer}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (reader, writer):
                task.cancel()
            await asyncio.gather(reader, writer, return_exceptions=True)
        for task in (reader, writer):
            if not task.cancelled() and task.exception() is not None:
                raise task.exception()  # type: ignore[misc]

    async def _read(self, receive: Receive) -> None:
        expected = self.script.client_frames
        while True:
            event = await receive()
            if event["type"] == "websocket.disconnect":
                self.client_gone = True
                self.changed.set()
                return
            if event["type"] != "websocket.receive":
                continue
            text = event.get("text")
            live: tuple[Frame, bytes] = (
                ("text", text.encode("utf-8")) if text is not None else ("binary", event.get("bytes") or b"")
            )
            number = len(self.anchors)
            reasons = (
                message_differences(
                    expected[number - 1], live, self.player.rules.ignore_json_fields, self.player.rules.normalize
                )
                if number <= len(expected)
                else [f"the recording holds only {len(expected)} client messages"]
            )
            if reasons:
                await self._mismatch(number, live, reasons)
                return
            self.anchors.append(self.clock.now())
            self.changed.set()

    async def _mismatch(self, number: int, live: tuple[Frame, bytes], reasons: list[str]) -> None:
        expected = self.script.client_frames
        ranked = sorted(
            range(len(expected)),
            key=lambda index: (
                len(
                    message_differences(
                        expected[index], live, self.player.rules.ignore_json_fields, self.player.rules.normalize
                    )
                ),
                abs(index + 1 - number),
            ),
        )
        closest = f"; closest recorded client message: #{ranked[0] + 1}" if ranked else ""
        where = self.session.request.path
        message = (
            f"client message #{number} on the realtime session {where} does not match the recording: "
            f"{'; '.join(reasons)}{closest}. Record the session again or ignore the volatile JSON fields (ignore)"
        )
        miss = NoMatchError(
            message, closest=f"client message #{ranked[0] + 1}" if ranked else None, differences=tuple(reasons)
        )
        self.player.misses.append(miss)
        if self.log_misses:
            log.warning("%s", message)
        await self._close(MISMATCH_CLOSE_CODE, f"chunktape: client message #{number} does not match: {reasons[0]}")

    async def _close(self, code: int, reason: str) -> None:
        await self.send({"type": "websocket.close", "code": code, "reason": _clip_utf8(reason, _MAX_REASON_BYTES)})

    async def _due(self, after_client: int, wait_s: float) -> float | None:
        """When a step anchored on client message `after_client` is due; None if the client left."""
        while len(self.anchors) <= after_client:
            if self.client_gone:
                return None
            self.changed.clear()
            await self.changed.wait()
        return self.anchors[after_client] + wait_s

    async def _write(self) -> None:
        last_sent = self.anchors[0]
        for beat in self.script.beats:
            due = await self._due(beat.after_client, beat.wait_s)
            if due is None:
                return
            due = max(due, last_sent) + beat.extra_s
            await self.clock.sleep_until(due)
            await self._send_beat(beat)
            last_sent = max(due, self.clock.now())
        ending = self.script.ending
        if ending.kind == "await_client":
            while not self.client_gone:
                self.changed.clear()
                await self.changed.wait()
            return
        due = await self._due(ending.after_client, ending.wait_s)
        if due is None:
            return
        await self.clock.sleep_until(max(due, last_sent))
        if ending.kind == "close":
            await self._close(ending.code, ending.reason)
        # "drop": return without a close frame; the server then closes the connection

    async def _send_beat(self, beat: Beat) -> None:
        if beat.frame == "text":
            await self.send({"type": "websocket.send", "text": beat.data.decode("utf-8")})
        else:
            await self.send({"type": "websocket.send", "bytes": beat.data})


def _clip_utf8(text: str, limit: int) -> str:
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return data[: limit - 3].decode("utf-8", "ignore") + "..."
