"""A realtime session the cassette lacks, passed on to the mount's fallback (`new_episodes`).

As an HTTP miss goes on to the recorder (replay/forward.py), a WebSocket upgrade that matches
no recorded session is opened again at the fallback URL, the recorder in front of the
upstream, and every message is relayed both ways with its frame type, so the recorder
records the session. The upstream's answer decides the client's: a refusal is relayed as
its HTTP status and body, a close with its code and reason, a drop as a drop. When the
client closes first, its close goes upstream and the reply to the client waits until the
upstream has answered, so a test that saw its session closed finds it in the cassette.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import logging
from typing import Any, Protocol

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from chunktape.cassette import Frame
from chunktape.replay.websocket import Channel, Refusal
from chunktape.secret_names import SecretNames, redact_url
from chunktape.secrets_scan import mask_secrets

log = logging.getLogger("chunktape.replay")

OPEN_TIMEOUT_S = 30.0
_NOT_PASSED_ON = frozenset(
    {
        "host",
        "connection",
        "upgrade",
        "content-length",
        "sec-websocket-key",
        "sec-websocket-version",
        "sec-websocket-extensions",
        "sec-websocket-protocol",
        "sec-websocket-accept",
    }
)
"""Headers of the client's upgrade request that belong to its own connection, not the session."""
_UNSENDABLE_CODES = frozenset({1005, 1006, 1015})
"""Close codes that only describe a close (none given, dropped, TLS failed): never sent."""


class RelayChannel(Channel, Protocol):
    """The client's side, with what relaying needs beyond playing: refusing with the upstream's
    answer, dropping, and holding the reply to the client's close."""

    def refuse(self, refusal: Refusal, headers: tuple[tuple[str, str], ...] = ()) -> None: ...

    def drop(self) -> None: ...

    def client_close(self) -> tuple[int, str] | None: ...

    def release(self) -> None: ...


async def relay_session(
    channel: RelayChannel, fallback_url: str, target: str, headers: tuple[tuple[str, str], ...]
) -> None:
    """Open `target` at `fallback_url` (http(s):// or ws(s)://) and relay the session through."""
    url = "ws" + fallback_url.rstrip("/").removeprefix("http").removeprefix("ws") + target
    offered = [
        part.strip() for name, value in headers if name.lower() == "sec-websocket-protocol" for part in value.split(",")
    ]
    passed = [(name, value) for name, value in headers if name.lower() not in _NOT_PASSED_ON]
    try:
        upstream = await connect(url, subprotocols=offered or None, additional_headers=passed, **_CONNECT_OPTIONS)  # type: ignore[arg-type]
    except InvalidStatus as refused:
        answer = refused.response
        try:
            document = json.loads(answer.body or b"{}")
        except ValueError:
            document = {"error": {"message": bytes(answer.body or b"").decode("utf-8", "replace")}}
        channel.refuse(Refusal(answer.status_code, document if isinstance(document, dict) else {"error": document}))
        return
    except (OSError, InvalidHandshake, TimeoutError) as exc:
        shown = mask_secrets(redact_url(url, SecretNames()))
        message = f"chunktape could not open the session at {shown} to record it: {mask_secrets(str(exc))}"
        log.warning("%s", message)
        channel.refuse(Refusal(502, {"error": {"code": 502, "message": message}, "chunktape": "not recorded"}))
        return
    async with upstream:
        await channel.accept(upstream.subprotocol)
        from_client = asyncio.ensure_future(_client_to_upstream(channel, upstream))
        from_upstream = asyncio.ensure_future(_upstream_to_client(channel, upstream))
        try:
            await asyncio.wait({from_client, from_upstream}, return_when=asyncio.FIRST_COMPLETED)
            if from_client.done():  # the client closed or left: so does the upstream, then the client hears back
                code, reason = channel.client_close() or (1000, "")
                await upstream.close(code if code not in _UNSENDABLE_CODES else 1000, reason)
                channel.release()
            else:
                await _end_as_upstream_did(channel, upstream)
        finally:
            for task in (from_client, from_upstream):
                task.cancel()
            await asyncio.gather(from_client, from_upstream, return_exceptions=True)


async def _client_to_upstream(channel: RelayChannel, upstream: ClientConnection) -> None:
    while (message := await channel.receive()) is not None:
        frame, data = message
        with contextlib.suppress(ConnectionClosed):
            await upstream.send(data.decode("utf-8", "surrogateescape") if frame == "text" else data)


async def _upstream_to_client(channel: RelayChannel, upstream: ClientConnection) -> None:
    with contextlib.suppress(ConnectionClosed):
        async for message in upstream:
            frame: Frame = "text" if isinstance(message, str) else "binary"
            data = message.encode("utf-8", "surrogateescape") if isinstance(message, str) else bytes(message)
            await channel.send(frame, (data,))


async def _end_as_upstream_did(channel: RelayChannel, upstream: ClientConnection) -> None:
    received = upstream.protocol.close_rcvd
    if received is None or received.code in _UNSENDABLE_CODES - {1005}:
        channel.drop()
    else:
        await channel.close(received.code, received.reason)


def _connect_options() -> dict[str, Any]:
    """No compression (frames pass as they are), no size limit, no keepalive of our own (the
    upstream's own timing stands), and never a proxy from the environment (websockets >= 15
    reads HTTPS_PROXY): the fallback is the local recorder. Only the options this websockets
    release knows (keepalive came in 14, proxies in 15)."""
    wanted: dict[str, Any] = {
        "compression": None,
        "max_size": None,
        "ping_interval": None,
        "open_timeout": OPEN_TIMEOUT_S,
        "user_agent_header": None,
        "proxy": None,
    }
    known = inspect.signature(connect.__init__).parameters
    return {name: value for name, value in wanted.items() if name in known}


_CONNECT_OPTIONS = _connect_options()
