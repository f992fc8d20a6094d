"""`serve --workers N`: N processes answering on one port, the kernel spreading connections
among them (SO_REUSEPORT). Each is a fork made after the cassettes are loaded, so each holds
them once without reading them again; the parent prints the URL line once every worker
listens, and one summary of all of them when they stop.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import select
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable

from chunktape.errors import ChunktapeError
from chunktape.replay.server import ReplayServer
from chunktape.replay.stats import ServeStats

_READY_TIMEOUT_S = 30.0


def reserve_port(host: str, port: int) -> socket.socket:
    """A socket bound (not listening) to host:port with SO_REUSEPORT: it holds the port the
    workers share, `--port 0` resolved once for all of them."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ChunktapeError(f"cannot listen on {host}:{port} ({exc.strerror}); pick another --port") from None
    return sock


def serve_with_workers(
    count: int,
    make_server: Callable[[int], ReplayServer],
    port: int,
    announce: Callable[[], None],
    stopping: threading.Event,
) -> ServeStats:
    """Serve with `count` forked workers until `stopping` is set; their stats, merged."""
    children: list[tuple[int, int]] = []  # (pid, read end of its pipe)
    for _ in range(count):
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the worker
            os.close(read_end)
            _worker(make_server(port), write_end)
        os.close(write_end)
        children.append((pid, read_end))
    try:
        deadline = time.monotonic() + _READY_TIMEOUT_S
        for pid, read_end in children:
            ready, _, _ = select.select([read_end], [], [], max(0.0, deadline - time.monotonic()))
            if not ready or os.read(read_end, 1) != b"R":
                raise ChunktapeError(f"serve worker {pid} did not start; run without --workers to see why")
        announce()
        while not stopping.wait(0.25):
            for pid, _ in children:
                if os.waitpid(pid, os.WNOHANG)[0] == pid:
                    raise ChunktapeError(f"serve worker {pid} stopped unexpectedly")
    finally:
        for pid, _ in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
    merged = ServeStats()
    for pid, read_end in children:
        with os.fdopen(read_end, "rb") as pipe:
            data = pipe.read()
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
        if data:
            merged.merge(pickle.loads(data))
    return merged


def _worker(server: ReplayServer, write_end: int) -> None:
    """A worker's life: listen, say ready, serve until SIGTERM or SIGINT, send its stats."""
    stopping = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda signum, frame: stopping.set())
    status = 0
    try:
        server.start()
        os.write(write_end, b"R")
        while not stopping.wait(0.25):
            if not server.running:
                status = 1
                break
        server.stop()
        with os.fdopen(write_end, "wb") as pipe:
            pipe.write(pickle.dumps(server.app.stats))
    except BaseException as exc:  # the parent reports a worker that never said ready
        print(f"chunktape: worker {os.getpid()}: {exc}", file=sys.stderr)
        status = 1
    finally:
        with contextlib.suppress(OSError):
            os.close(write_end)
        os._exit(status)
