"""One recording session in this process: mitmproxy's master on the main asyncio loop,
the chunktape addon, an optional command to run against it, and a clean stop on signals.

`chunktape record` calls `run_session`; `Recorder` runs that command in a child process.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import signal
import sys
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from mitmproxy import addons as mitmproxy_addons
from mitmproxy import exceptions, options
from mitmproxy.master import Master

from chunktape.errors import RecordingError
from chunktape.recorder.addon import ChunktapeRecorder
from chunktape.recorder.proxy_env import apply, proxy_changes
from chunktape.recorder.settings import RecordSettings, default_confdir, local_url
from chunktape.recorder.writer import CassetteWriter

logger = logging.getLogger("chunktape.recorder")
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class _Ready:
    """Tells the session when mitmproxy has finished starting (its servers are up or failed)."""

    def __init__(self) -> None:
        self.event = asyncio.Event()

    def running(self) -> None:
        self.event.set()


class _StartupErrors(logging.Handler):
    """Keeps mitmproxy's error messages so a failed start can say why in one line."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage().splitlines()[0])


def command_env(settings: RecordSettings, url: str, base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for `-- COMMAND`: the base URL (reverse) or proxy and CA (forward).

    NO_PROXY is dropped in forward mode: everything the command sends must pass through."""
    env = dict(os.environ if base is None else base)
    if settings.reverse:
        env["CHUNKTAPE_BASE_URL"] = url
        return env
    return apply(proxy_changes(url, settings.ca_cert_path), env)


def run_session(
    settings: RecordSettings,
    command: Sequence[str] = (),
    *,
    announce: Callable[[str], None] = print,
    stop_requested: threading.Event | None = None,
) -> int:
    """Record until a signal (or until `command` exits); returns the exit status.

    `stop_requested` is set by a signal that came while starting: the session then stops
    before it listens. Raises RecordingError or CassetteError for bad input."""
    if not settings.confdir:
        settings = dataclasses.replace(settings, confdir=default_confdir())
    early = stop_requested or threading.Event()
    mode = settings.mode  # validates the upstream URL before anything else happens
    writer = CassetteWriter(
        settings.cassette, redact=settings.redact, append=settings.append, once_per_run=settings.once_per_run
    )
    try:
        if early.is_set():
            logger.info("stopped before recording started; %s is as it was", settings.cassette)
            return 0
        return asyncio.run(_run(settings, mode, writer, tuple(command), announce, early))
    finally:
        writer.close()


async def _run(
    settings: RecordSettings,
    mode: str,
    writer: CassetteWriter,
    command: tuple[str, ...],
    announce: Callable[[str], None],
    early: threading.Event,
) -> int:
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(_quiet_cancellation)
    stopper = _Stopper()
    for signum in _STOP_SIGNALS:  # before announcing: a signal right after the line must stop cleanly
        loop.add_signal_handler(signum, stopper.on_signal, signum)
    try:
        if early.is_set():
            logger.info("stopped before recording started; %s is as it was", settings.cassette)
            return 0
        master, running, port = await _start(settings, mode, writer)
        echo = _echo_mitmproxy_warnings()
        try:
            url = local_url(settings.host, port)
            if not settings.reverse:
                logger.info("forward proxy: clients must trust the CA in %s", settings.ca_cert_path)
            else:  # google-genai's Live client always connects with TLS (wss://)
                logger.info("clients connecting with TLS (https://, wss://) trust the CA in %s", settings.ca_cert_path)
            announce(f"chunktape: recording to {settings.cassette} on {url}")
            status = await stopper.run(command, command_env(settings, url))
        finally:
            await _shutdown(master, running)
            logging.getLogger().removeHandler(echo)
    finally:
        for signum in _STOP_SIGNALS:
            loop.remove_signal_handler(signum)
    writer.close()
    count = writer.recorded
    logger.info("%d interaction%s written to %s", count, "" if count == 1 else "s", settings.cassette)
    if writer.failures and status == 0:
        return 1
    return status


class _Stopper:
    """Waits for SIGINT/SIGTERM, or for the command to exit; a running command gets the
    signal first (and is killed on a second one), so it can finish its own requests."""

    def __init__(self) -> None:
        self.stopping = asyncio.Event()
        self.child: asyncio.subprocess.Process | None = None

    def on_signal(self, signum: int) -> None:
        child = self.child
        if child is not None and child.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                if self.stopping.is_set():
                    child.kill()
                elif not _from_the_terminal(signum):
                    child.send_signal(signum)
        self.stopping.set()

    async def run(self, command: tuple[str, ...], env: dict[str, str]) -> int:
        if not command or self.stopping.is_set():
            await self.stopping.wait()
            return 0
        try:
            self.child = await asyncio.create_subprocess_exec(*command, env=env)
        except OSError as exc:
            raise RecordingError(f"cannot run {command[0]!r}: {exc.strerror or exc}") from None
        return _exit_status(await self.child.wait())


async def _start(settings: RecordSettings, mode: str, writer: CassetteWriter) -> tuple[Master, asyncio.Task[None], int]:
    """mitmproxy's master, running and listening, and its port; RecordingError if it cannot listen."""
    errors = _StartupErrors()
    logging.getLogger().addHandler(errors)
    try:
        try:
            master, ready = _make_master(settings, mode, writer)
        except exceptions.OptionsError as exc:
            raise RecordingError(f"cannot start mitmproxy: {exc}") from None
        running = asyncio.create_task(master.run())
        waiting = asyncio.create_task(ready.event.wait())
        await asyncio.wait((running, waiting), return_when=asyncio.FIRST_COMPLETED)
        proxyserver = master.addons.get("proxyserver")  # type: ignore[no-untyped-call]
        addresses = proxyserver.listen_addrs() if proxyserver is not None else []
    finally:
        logging.getLogger().removeHandler(errors)
    if not addresses or running.done():
        waiting.cancel()
        await _shutdown(master, running)
        reason = errors.messages[0].rsplit(": ", 1)[-1] if errors.messages else "mitmproxy did not start"
        raise RecordingError(f"cannot listen on {settings.host}:{settings.port}: {reason}; try another --port, or 0")
    return master, running, int(addresses[0][1])


def _make_master(settings: RecordSettings, mode: str, writer: CassetteWriter) -> tuple[Master, _Ready]:
    # confdir first: mitmproxy creates its CA there as soon as the TLS addon is configured.
    opts = options.Options(confdir=settings.confdir)
    master = Master(opts)
    ready = _Ready()
    # chunktape first: it must see each response head as the upstream sent it, before a
    # built-in rewrites it (reverse mode points Alt-Svc at the proxy).
    recorder = ChunktapeRecorder(writer, keep_preflights=settings.keep_preflights)
    master.addons.add(recorder, *mitmproxy_addons.default_addons(), ready)  # type: ignore[no-untyped-call]
    opts.update(  # type: ignore[no-untyped-call]
        mode=[mode],
        listen_host=settings.host,
        listen_port=settings.port,
        ssl_insecure=settings.ssl_insecure,
        # connect to the upstream per request, not as a client connects: an unreachable one then
        # fails that request with a 502 and a reason the recorder can name, not a bare disconnect
        connection_strategy="lazy" if settings.reverse else "eager",
    )
    return master, ready


async def _shutdown(master: Master, running: asyncio.Task[None]) -> None:
    master.shutdown()  # type: ignore[no-untyped-call]
    with contextlib.suppress(Exception):
        await running


def _quiet_cancellation(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """Connections still open at shutdown are cancelled; that is the stop, not an error."""
    if isinstance(context.get("exception"), asyncio.CancelledError):
        return
    loop.default_exception_handler(context)


@contextlib.asynccontextmanager
async def command_runner() -> AsyncIterator[_Stopper]:
    """Stops cleanly on SIGINT/SIGTERM while the block runs; `await runner.run(command, env)`
    waits for the signal or runs `command` (passing the signal on) and gives its exit status.
    Shared with `chunktape serve --proxy`."""
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(_quiet_cancellation)
    runner = _Stopper()
    for signum in _STOP_SIGNALS:
        loop.add_signal_handler(signum, runner.on_signal, signum)
    try:
        yield runner
    finally:
        for signum in _STOP_SIGNALS:
            loop.remove_signal_handler(signum)


def _from_the_terminal(signum: int) -> bool:
    """Ctrl-C in a terminal signals the whole foreground process group, command included;
    forwarding it would interrupt the command twice."""
    if signum != signal.SIGINT:
        return False
    try:
        return os.isatty(0) and os.tcgetpgrp(0) == os.getpgrp()
    except OSError:
        return False


def _exit_status(returncode: int) -> int:
    """A command killed by signal N exits 128+N, as in a shell."""
    return 128 - returncode if returncode < 0 else returncode


def log_to_stderr() -> None:
    """chunktape's own messages at INFO on stderr (mitmproxy's join once it is listening)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("chunktape: %(message)s"))
    chunktape_log = logging.getLogger("chunktape")
    chunktape_log.addHandler(handler)
    chunktape_log.setLevel(logging.INFO)
    chunktape_log.propagate = False


def _echo_mitmproxy_warnings() -> logging.Handler:
    """mitmproxy's warnings and errors while recording (an unreachable upstream, a TLS
    failure); during startup they are folded into the one-line error instead."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("chunktape: mitmproxy: %(message)s"))
    handler.setLevel(logging.WARNING)
    root = logging.getLogger()
    root.addHandler(handler)
    if root.level > logging.WARNING or root.level == logging.NOTSET:
        root.setLevel(logging.WARNING)
    return handler
