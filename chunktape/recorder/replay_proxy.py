"""`chunktape serve --proxy`: a forward proxy that answers from the cassettes, for programs
that only honour `HTTPS_PROXY` and a CA bundle (any language, never reconfigured).

mitmproxy terminates the client's proxy connection (HTTPS through the same local CA as
`chunktape record`'s forward mode) and `ReplayRouting` hands every request to the replay
server running in this process, unchanged but for where it is sent: the Host header and
the path stay as the client wrote them, so matching sees the request as recorded. The
replay server emits the schedule (knobs, timing, faults) and mitmproxy streams each chunk
on as it arrives. A miss is the replay server's 404 with the diff; no connection to
anywhere else is ever opened.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable, Sequence
from typing import Any

from mitmproxy import addons as mitmproxy_addons
from mitmproxy import exceptions, http, options
from mitmproxy.master import Master
from mitmproxy.proxy.server_hooks import ServerConnectionHookData

from chunktape.errors import ChunktapeError
from chunktape.recorder.proxy_env import apply, proxy_changes
from chunktape.recorder.session import command_runner
from chunktape.recorder.settings import CA_CERT_NAME, local_url
from chunktape.replay.server import ReplayServer

log = logging.getLogger("chunktape.replay")


class ReplayRouting:
    """mitmproxy addon: every request goes to the local replay server, and nowhere else."""

    def __init__(self, replay_host: str, replay_port: int) -> None:
        self.address = (replay_host, replay_port)

    def request(self, flow: http.HTTPFlow) -> None:
        request = flow.request
        host_header = request.host_header
        request.scheme = "http"
        request.host, request.port = self.address
        request.host_header = host_header  # matching sees the host the client asked for

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        if flow.response is not None:
            flow.response.stream = True  # each chunk on as the replay server emits it

    def server_connect(self, data: ServerConnectionHookData) -> None:
        if data.server.address is None or tuple(data.server.address[:2]) != self.address:
            data.server.error = "chunktape serve --proxy answers from its cassettes only"


class _Ready:
    def __init__(self) -> None:
        self.event = asyncio.Event()

    def running(self) -> None:
        self.event.set()


def run_proxy(
    server: ReplayServer,
    *,
    host: str,
    port: int,
    confdir: str,
    command: Sequence[str] = (),
    announce: Callable[[str], None] = print,
) -> int:
    """Serve as a forward proxy until a signal (or until `command` exits); its exit status."""
    return asyncio.run(_run(server, host, port, confdir, tuple(command), announce))


async def _run(
    server: ReplayServer, host: str, port: int, confdir: str, command: tuple[str, ...], announce: Callable[[str], None]
) -> int:
    async with command_runner() as runner:
        master, running, listening = await _start(server, host, port, confdir)
        try:
            url = local_url(host, listening)
            ca_path = os.path.join(confdir, CA_CERT_NAME)
            log.info("proxy: clients must trust the CA in %s", ca_path)
            announce(url)
            return await runner.run(command, apply(proxy_changes(url, ca_path), dict(os.environ)))
        finally:
            master.shutdown()  # type: ignore[no-untyped-call]
            with contextlib.suppress(Exception):
                await running


async def _start(server: ReplayServer, host: str, port: int, confdir: str) -> tuple[Master, asyncio.Task[None], int]:
    opts = options.Options(confdir=confdir)
    master = Master(opts)
    ready = _Ready()
    routing = ReplayRouting("127.0.0.1", server.port)
    master.addons.add(routing, *mitmproxy_addons.default_addons(), ready)  # type: ignore[no-untyped-call]
    try:
        opts.update(  # type: ignore[no-untyped-call]
            mode=["regular"], listen_host=host, listen_port=port, connection_strategy="lazy"
        )
    except exceptions.OptionsError as exc:
        raise ChunktapeError(f"cannot start the proxy: {exc}") from None
    running = asyncio.create_task(master.run())
    waiting = asyncio.create_task(ready.event.wait())
    await asyncio.wait((running, waiting), return_when=asyncio.FIRST_COMPLETED)
    proxyserver: Any = master.addons.get("proxyserver")  # type: ignore[no-untyped-call]
    addresses = proxyserver.listen_addrs() if proxyserver is not None else []
    if not addresses or running.done():
        waiting.cancel()
        master.shutdown()  # type: ignore[no-untyped-call]
        with contextlib.suppress(Exception):
            await running
        raise ChunktapeError(f"cannot listen on {host}:{port}; try another --port, or 0")
    return master, running, int(addresses[0][1])
