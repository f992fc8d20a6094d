"""Runs `chunktape serve` as a real subprocess, as a user's CI would, and always stops it."""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO

from click.testing import CliRunner, Result

from chunktape.cli import cli

START_TIMEOUT_S = 20.0


@dataclass
class Served:
    process: subprocess.Popen[str]
    line: str
    errors: IO[str]

    @property
    def base_url(self) -> str:
        return self.line.split()[-1]

    def stderr(self) -> str:
        """Everything the server wrote to stderr so far (a file, so it can never block it)."""
        self.errors.seek(0)
        return self.errors.read()


def chunktape(*args: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    """Run one CLI command to completion in a real process, as a user's script would."""
    return subprocess.run(
        [sys.executable, "-m", "chunktape", *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def invoke(*args: str) -> Result:
    """Run one CLI command in this process: the same code and exit codes, without the
    cost of starting Python (for the many bad-input cases)."""
    return CliRunner().invoke(cli, list(args), prog_name="chunktape")


def launch(*args: str) -> Served:
    """Start `chunktape serve ARGS` (on `--port 0` unless ARGS name one) without waiting;
    `ready()` waits for its line."""
    # a file, not a pipe, so stderr can never fill up and block the server; append mode,
    # so reading it here never moves where the child writes
    errors = tempfile.TemporaryFile("a+", encoding="utf-8")  # noqa: SIM115  # closed by the caller, after stop()
    process = subprocess.Popen(
        [sys.executable, "-m", "chunktape", "serve", *args, *([] if "--port" in args else ["--port", "0"])],
        stdout=subprocess.PIPE,
        stderr=errors,
        text=True,
    )
    return Served(process, "", errors)


def ready(served: Served) -> Served:
    """Wait for the one stdout line that says the server listens."""
    stdout = served.process.stdout
    assert stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(stdout, selectors.EVENT_READ)
        line = stdout.readline() if selector.select(timeout=START_TIMEOUT_S) else ""
    if not line:
        code = stop(served)
        stderr = served.stderr()
        served.errors.close()
        raise AssertionError(f"chunktape serve did not start (exit {code}): {stderr}")
    served.line = line.rstrip("\n")
    return served


def start(*args: str) -> Served:
    """Start `chunktape serve ARGS --port 0` and wait until it listens."""
    return ready(launch(*args))


def stop(served: Served, sig: int = signal.SIGTERM) -> int:
    """Signal the server and wait; kill it if it does not go. Returns the exit code."""
    process = served.process
    if process.poll() is None:
        os.kill(process.pid, sig)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    if process.stdout is not None:
        process.stdout.close()
    return process.returncode


@contextmanager
def serving(*args: str) -> Iterator[Served]:
    served = start(*args)
    try:
        yield served
    finally:
        stop(served)
        served.errors.close()
