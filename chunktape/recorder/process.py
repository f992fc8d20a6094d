"""`Recorder`: the Python API, a recording proxy in a child process (`python -m chunktape record`).

Why a child process rather than mitmproxy's master on a thread of the caller:

- mitmproxy keeps its master and options in module globals (`mitmproxy.ctx`), so two
  masters in one process (two recorders, or a recorder next to other mitmproxy use)
  would read each other's options;
- the proxy's timing must not depend on the caller's GIL: a test busy parsing a stream
  in the same interpreter would delay the proxy forwarding the next chunk, and the
  recorded rhythm would be the test's, not the upstream's;
- a child process is exactly what `chunktape record` is, so the Python API, the CLI and
  the SIGTERM/SIGKILL guarantees are one code path, tested once.

The cost is about a second to start (importing mitmproxy), paid once per recording.
"""

from __future__ import annotations

import collections
import contextlib
import os
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from collections.abc import Iterable
from types import TracebackType
from typing import IO, Self

from chunktape.errors import RecordingError
from chunktape.recorder.settings import CA_CERT_NAME, CONFDIR_ENV, KEY_REDACTED, parse_upstream
from chunktape.recorder.unreachable import NOTE

_START_TIMEOUT_S = 60.0
_STOP_TIMEOUT_S = 30.0


class Recorder:
    """A recording proxy: reverse mode in front of `upstream`, or a forward proxy without one.

        with Recorder("cassettes/chat.yaml", upstream="https://api.openai.com") as recorder:
            client = OpenAI(base_url=recorder.base_url + "/v1")
            ...
        # every finished exchange is in cassettes/chat.yaml

    Each recorder has its own mitmproxy directory (and so its own CA in forward mode),
    removed on `stop`.
    """

    def __init__(
        self,
        cassette_path: str,
        *,
        upstream: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        redact: Iterable[str] = (),
        append: bool = False,
        ssl_insecure: bool = False,
        keep_preflights: bool = False,
        once_per_run: str | None = None,
    ) -> None:
        if upstream is not None:
            parse_upstream(upstream)
        self.cassette_path = cassette_path
        self.upstream = upstream
        self.host = host
        self.port = port
        self.redact = tuple(redact)
        self.append = append
        self.ssl_insecure = ssl_insecure
        self.keep_preflights = keep_preflights
        """Record browsers' CORS preflights too; by default they pass through unrecorded."""
        self.once_per_run = once_per_run
        """Without `append`: a folder shared by the recorders of one run (pytest's `all` mode); only
        the run's first recording into the cassette starts it afresh, later ones add to it."""
        self._process: subprocess.Popen[bytes] | None = None
        self._url: str | None = None
        self._confdir: str | None = None
        self._stderr_tail: collections.deque[str] = collections.deque(maxlen=20)
        self.redacted_keys: list[str] = []
        """The recorder's warnings about keys it found by their format and redacted (masked),
        complete once `stop` returns: the pytest plugin warns with them, naming the test."""
        self._unreachable: list[str] = []
        self._stderr_thread: threading.Thread | None = None
        self._finalizer: weakref.finalize[[subprocess.Popen[bytes], str], Recorder] | None = None

    # ------------------------------------------------------------ addresses

    @property
    def base_url(self) -> str:
        """Where clients send requests: `http://127.0.0.1:PORT` (reverse mode)."""
        if self._url is None:
            raise RecordingError("the recorder is not running; call start() or use it as a context manager")
        return self._url

    @property
    def proxy_url(self) -> str:
        """The proxy to configure in clients (forward mode): `http://127.0.0.1:PORT`."""
        return self.base_url

    @property
    def ca_cert_path(self) -> str | None:
        """The mitmproxy CA (PEM) that clients must trust in forward mode; None in reverse mode."""
        if self.upstream is not None or self._confdir is None:
            return None
        return os.path.join(self._confdir, CA_CERT_NAME)

    @property
    def tls_ca_path(self) -> str | None:
        """The mitmproxy CA (PEM) behind the certificate clients see when they connect with TLS
        (https://, wss://) in reverse mode: google-genai's Live client always does. Trust it
        for the test process only: `SSL_CERT_FILE=<this path>`. None before `start()`."""
        if self._confdir is None:
            return None
        return os.path.join(self._confdir, CA_CERT_NAME)

    def unreachable_upstream(self, settle_s: float = 1.0) -> str | None:
        """The first line the recorder wrote about an upstream it could not reach (naming it and
        why), or None. A request's failure reaches the client just after that line reaches the
        recorder's stderr, so this waits up to `settle_s` for what is already there to be read."""
        process = self._process
        if process is not None and process.stderr is not None and not self._unreachable:
            deadline = time.monotonic() + settle_s
            with selectors.DefaultSelector() as selector:
                selector.register(process.stderr, selectors.EVENT_READ)
                while not self._unreachable and time.monotonic() < deadline and selector.select(0):
                    time.sleep(0.01)  # the pump thread is reading what is there
        return self._unreachable[0] if self._unreachable else None

    # ------------------------------------------------------------ lifecycle

    def command_line(self) -> list[str]:
        """The `chunktape record` invocation this recorder runs."""
        args = [sys.executable, "-m", "chunktape", "record", "--cassette", self.cassette_path]
        args += ["--host", self.host, "--port", str(self.port)]
        if self.upstream is not None:
            args += ["--upstream", self.upstream]
        for name in self.redact:
            args += ["--redact-header", name]
        if self.append:
            args.append("--append")
        if self.ssl_insecure:
            args.append("--ssl-insecure")
        if self.keep_preflights:
            args.append("--keep-preflights")
        if self.once_per_run is not None:
            args += ["--once-per-run", self.once_per_run]
        return args

    def start(self) -> None:
        """Start the proxy; returns once it is listening. RecordingError if it cannot start."""
        if self._process is not None:
            raise RecordingError("the recorder is already running")
        self._confdir = tempfile.mkdtemp(prefix="chunktape-mitmproxy-")
        process = subprocess.Popen(
            self.command_line(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=_child_env(self._confdir),
        )
        self._process = process
        self._finalizer = weakref.finalize(self, _kill, process, self._confdir)
        assert process.stderr is not None
        assert process.stdout is not None
        self._stderr_tail.clear()
        self._stderr_thread = threading.Thread(
            target=_pump_stderr,
            args=(process.stderr, self._stderr_tail, self.redacted_keys, self._unreachable),
            name="chunktape-recorder-stderr",
            daemon=True,
        )
        self._stderr_thread.start()
        line = _read_line(process.stdout, process, _START_TIMEOUT_S)
        if not line.startswith("chunktape: recording to "):
            self._abandon()
            raise RecordingError(f"the recorder did not start: {self._last_error() or 'no output'}")
        self._url = line.rsplit(" ", 1)[-1]

    def stop(self) -> None:
        """Stop the proxy; on return every finished interaction is in the cassette. Idempotent."""
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            returncode = process.wait(_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self._abandon()
            raise RecordingError(
                f"the recorder did not stop within {_STOP_TIMEOUT_S:.0f} s and was killed; "
                f"exchanges still in flight were not recorded ({self.cassette_path})"
            ) from None
        self._cleanup()
        if returncode != 0:
            raise RecordingError(
                f"the recorder exited with status {returncode}: {self._last_error() or 'see its output above'}"
            )

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # ------------------------------------------------------------ internals

    def _last_error(self) -> str:
        if self._stderr_thread is not None:
            self._stderr_thread.join(1.0)
        lines = [line.strip() for line in self._stderr_tail if line.strip()]
        errors = [line for line in lines if "error" in line.lower()]
        last = (errors or lines or [""])[-1]
        for prefix in ("chunktape: error: ", "chunktape: "):
            last = last.removeprefix(prefix)
        return last

    def _abandon(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        self._cleanup()

    def _cleanup(self) -> None:
        if self._stderr_thread is not None:
            self._stderr_thread.join(5.0)
        if self._finalizer is not None:
            self._finalizer.detach()
        for stream in (self._process.stdout, self._process.stderr) if self._process is not None else ():
            if stream is not None:
                stream.close()
        if self._confdir is not None:
            shutil.rmtree(self._confdir, ignore_errors=True)
        self._confdir = None
        self._process = None
        self._url = None
        self._finalizer = None


def _child_env(confdir: str) -> dict[str, str]:
    """The caller's environment, its own mitmproxy directory, and the very chunktape the
    caller imported (a source checkout on sys.path only, e.g. under pytest's rootdir)."""
    env = {**os.environ, CONFDIR_ENV: confdir, "PYTHONUNBUFFERED": "1"}
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # above chunktape/
    if os.path.basename(root) not in ("site-packages", "dist-packages"):  # never put those before the stdlib
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
    return env


def _read_line(stream: IO[bytes], process: subprocess.Popen[bytes], timeout_s: float) -> str:
    """The first stdout line, or "" if the process exits or stays silent for `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    buffer = b""
    with selectors.DefaultSelector() as selector:
        selector.register(stream, selectors.EVENT_READ)
        while b"\n" not in buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not selector.select(remaining):
                return ""
            data = os.read(stream.fileno(), 4096)
            if not data:
                break
            buffer += data
    if process.poll() is not None and b"\n" not in buffer:
        return ""
    return buffer.split(b"\n", 1)[0].decode("utf-8", "replace")


def _pump_stderr(
    stream: IO[bytes], tail: collections.deque[str], redacted_keys: list[str], unreachable: list[str]
) -> None:
    """Pass the recorder's messages on to our stderr (fd 2, so pytest's capture sees them)."""
    for raw in iter(stream.readline, b""):
        line = raw.decode("utf-8", "replace")
        tail.append(line)
        if KEY_REDACTED in line:
            redacted_keys.append(line.strip().removeprefix("chunktape: "))
        if line.startswith(f"chunktape: {NOTE} "):
            unreachable.append(line.strip().removeprefix("chunktape: "))
        with contextlib.suppress(OSError, ValueError):
            os.write(2, raw)


def _kill(process: subprocess.Popen[bytes], confdir: str) -> None:
    """Last resort when a Recorder is dropped without stop(): never leave a proxy running."""
    if process.poll() is None:
        process.kill()
        with contextlib.suppress(Exception):
            process.wait(5)
    shutil.rmtree(confdir, ignore_errors=True)
