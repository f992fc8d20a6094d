"""Running the recorder the ways users do (`chunktape record`, `mitmdump -s`) and timing what a client sees."""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import selectors
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
ADDON = ROOT / "chunktape" / "recorder" / "addon.py"
MITMDUMP = Path(sys.executable).parent / "mitmdump"


@dataclass
class Running:
    """A recorder process and the URL it announced."""

    process: subprocess.Popen[str]
    url: str
    first_line: str


def read_line(process: subprocess.Popen[str], pattern: str, timeout_s: float = 30.0) -> str:
    """The first stdout line matching `pattern`; fails the test on timeout or early exit."""
    assert process.stdout is not None
    deadline = time.monotonic() + timeout_s
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while time.monotonic() < deadline:
            if not selector.select(deadline - time.monotonic()):
                break
            line = process.stdout.readline()
            if not line:
                break
            if re.search(pattern, line):
                return line
    raise AssertionError(f"no line matching {pattern!r} (exit status {process.poll()})")


def stop(process: subprocess.Popen[str], sig: int = signal.SIGTERM, timeout_s: float = 20.0) -> int:
    """Signal the process and wait; kill it if it does not exit in time."""
    if process.poll() is None:
        process.send_signal(sig)
    try:
        return process.wait(timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise AssertionError(f"process did not exit within {timeout_s} s of signal {sig}") from None


def record_env(confdir: Path, **extra: str) -> dict[str, str]:
    env = {**os.environ, "CHUNKTAPE_MITMPROXY_CONFDIR": str(confdir), "PYTHONUNBUFFERED": "1"}
    env.update(extra)
    return env


@contextlib.contextmanager
def chunktape_record(
    cassette: Path,
    *args: str,
    confdir: Path,
    command: Sequence[str] = (),
    env: dict[str, str] | None = None,
    preexec: Callable[[], None] | None = None,
) -> Iterator[Running]:
    """`python -m chunktape record --cassette ... ARGS [-- COMMAND]`, stopped with SIGTERM at exit.
    `preexec` runs in the child before it starts (to set a resource limit, say)."""
    argv = [sys.executable, "-m", "chunktape", "record", "--cassette", str(cassette), "--port", "0", *args]
    if command:
        argv += ["--", *command]
    process = subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env=env or record_env(confdir),
        preexec_fn=preexec,  # only ever sets a resource limit
    )
    try:
        line = read_line(process, r"^chunktape: recording to ")
        yield Running(process, line.split()[-1], line)
    finally:
        if process.poll() is None:
            stop(process)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


@contextlib.contextmanager
def mitmdump_record(cassette: Path, upstream: str, *sets: str, confdir: Path) -> Iterator[Running]:
    """`mitmdump -s chunktape/recorder/addon.py --mode reverse:UPSTREAM --set chunktape_cassette=...`."""
    argv = [
        str(MITMDUMP),
        "-s",
        str(ADDON),
        "--mode",
        f"reverse:{upstream}",
        "--listen-host",
        "127.0.0.1",
        "--listen-port",
        "0",
        "--set",
        f"confdir={confdir}",
        "--set",
        f"chunktape_cassette={cassette}",
    ]
    for option in sets:
        argv += ["--set", option]
    process = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True
    )
    try:
        line = read_line(process, r"listening at")
        port = re.search(r"listening at \S*?:(\d+)", line)
        assert port, line
        yield Running(process, f"http://127.0.0.1:{port.group(1)}", line)
    finally:
        if process.poll() is None:
            stop(process)
        if process.stdout is not None:
            process.stdout.close()


def timed_raw(
    client: httpx.Client, method: str, url: str, **kwargs: Any
) -> tuple[httpx.Response, list[tuple[float, bytes]]]:
    """The response and each raw chunk with its arrival time, seconds after the request was sent."""
    started = time.perf_counter()
    with client.stream(method, url, **kwargs) as response:
        chunks = [(time.perf_counter() - started, chunk) for chunk in response.iter_raw()]
    return response, chunks


def gaps(times: Sequence[float]) -> list[float]:
    return [later - earlier for earlier, later in itertools.pairwise(times)]


def in_threads[T](count: int, work: Callable[[int], T]) -> tuple[dict[int, T], list[BaseException]]:
    """Run work(n) for n in range(count), all released at once; results by n, and any errors."""
    results: dict[int, T] = {}
    errors: list[BaseException] = []
    barrier = threading.Barrier(count)

    def one(n: int) -> None:
        try:
            barrier.wait(10)
            results[n] = work(n)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results, errors
