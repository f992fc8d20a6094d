"""Shared pieces of the bench: streams, statistics, clocks, child processes, machine facts.

Every figure the bench claims is a ratio or a distribution against a peer measured in the
same run; the absolute numbers are kept in the JSON only to explain the ratios.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import random
import re
import resource
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
PYTHON = sys.executable
VENV_BIN = Path(PYTHON).parent

# one clock for every process on the machine, so an upstream's send stamp and a client's
# receive time can be subtracted (CLOCK_MONOTONIC on Linux)
now_ns = time.monotonic_ns

STAMP_PLACEHOLDER = b'"t":0000000000000000000'
STAMP_RE = re.compile(rb'"i":(\d+),"t":(\d{19})')


# ---------------------------------------------------------------- streams


@dataclass(frozen=True)
class Stream:
    """A streamed response: each chunk with the gap before it, and the request that asks for it."""

    path: str
    request_body: bytes
    headers: tuple[tuple[str, str], ...]
    chunks: tuple[tuple[float, bytes], ...]
    headers_gap_s: float = 0.0

    @property
    def body(self) -> bytes:
        return b"".join(data for _, data in self.chunks)

    @property
    def offsets_s(self) -> list[float]:
        """Each chunk's arrival time after the response head, as recorded."""
        at, out = 0.0, []
        for gap, _ in self.chunks:
            at += gap
            out.append(at)
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "request_body": self.request_body.decode("latin-1"),
            "headers": [list(pair) for pair in self.headers],
            "chunks": [[gap, data.decode("latin-1")] for gap, data in self.chunks],
            "headers_gap_s": self.headers_gap_s,
        }

    @classmethod
    def from_json(cls, node: dict[str, Any]) -> Stream:
        return cls(
            path=node["path"],
            request_body=node["request_body"].encode("latin-1"),
            headers=tuple((k, v) for k, v in node["headers"]),
            chunks=tuple((float(gap), data.encode("latin-1")) for gap, data in node["chunks"]),
            headers_gap_s=float(node.get("headers_gap_s", 0.0)),
        )


SSE_HEADERS = (("content-type", "text/event-stream"), ("cache-control", "no-cache"))
_WORDS = (
    "the",
    "stream",
    "arrives",
    "token",
    "by",
    "token",
    "流式",
    "输出",
    "分块",
    "and",
    "every",
    "chunk",
    "keeps",
    "its",
    "time",
)


def _sse_event(index: int, rng: random.Random, min_text: int, max_text: int) -> bytes:
    """An OpenAI-chat-shaped event carrying its index and a stamp slot the upstream fills in."""
    words: list[str] = []
    while sum(len(w) + 1 for w in words) < rng.randint(min_text, max_text):
        words.append(rng.choice(_WORDS))
    text = json.dumps(" ".join(words), ensure_ascii=False)
    head = b'data: {"i":%d,' % index + STAMP_PLACEHOLDER
    tail = b',"object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":%s}}]}\n\n' % (
        text.encode("utf-8")
    )
    return head + tail


def uneven_stream(chunks: int = 50, min_gap_ms: float = 5, max_gap_ms: float = 80, seed: int = 6) -> Stream:
    """~50 SSE events, one per chunk, with uneven gaps of tens of milliseconds."""
    rng = random.Random(seed)
    pieces = tuple((rng.uniform(min_gap_ms, max_gap_ms) / 1000, _sse_event(i, rng, 20, 200)) for i in range(chunks))
    return Stream("/v1/chat/completions", b'{"model":"bench","stream":true}', SSE_HEADERS, pieces, 0.02)


def fast_stream(events: int = 100, seed: int = 7) -> Stream:
    """100 SSE events, one per chunk, no gaps: the throughput body."""
    rng = random.Random(seed)
    pieces = tuple((0.0, _sse_event(i, rng, 20, 120)) for i in range(events))
    return Stream("/v1/chat/completions", b'{"model":"bench","stream":true}', SSE_HEADERS, pieces, 0.0)


def slow_stream(events: int = 12, gap_s: float = 0.4, seed: int = 8) -> Stream:
    """A few events spread over seconds: many such streams overlap."""
    rng = random.Random(seed)
    pieces = tuple((gap_s, _sse_event(i, rng, 40, 120)) for i in range(events))
    return Stream("/v1/chat/completions", b'{"model":"bench","stream":true}', SSE_HEADERS, pieces, 0.05)


def rhythm_stream(events: int = 60, gap_s: float = 0.02, seed: int = 9) -> Stream:
    """The concurrency section's stream: 60 SSE events 20 ms apart, the first 20 ms in."""
    rng = random.Random(seed)
    pieces = tuple((gap_s, _sse_event(i, rng, 20, 80)) for i in range(events))
    return Stream("/v1/chat/completions", b'{"model":"bench","stream":true}', SSE_HEADERS, pieces, 0.0)


def stream_writes(stream_json: dict[str, Any]) -> tuple[bytes, list[tuple[float, bytes]]]:
    """The head and the timed chunked writes chunktape sends for a stream (Stream.to_json form)."""
    head = b"HTTP/1.1 200 OK\r\n"
    for name, value in stream_json["headers"]:
        head += f"{name}: {value}\r\n".encode("latin-1")
    head += b"transfer-encoding: chunked\r\n\r\n"
    at, writes = float(stream_json.get("headers_gap_s", 0.0)), []
    for gap, text in stream_json["chunks"]:
        at = round(at + gap, 6)
        data = text.encode("latin-1")
        writes.append((at, b"%x\r\n%b\r\n" % (len(data), data)))
    writes.append((at, b"0\r\n\r\n"))
    return head, writes


def stream_cassette(stream: Stream, url_base: str = "https://api.openai.com") -> Any:
    """The stream as a one-interaction chunktape Cassette, with its recorded offsets."""
    from chunktape import Cassette, Chunk, Interaction, Request, Response

    at = stream.headers_gap_s
    chunks = []
    for gap, data in stream.chunks:
        at = round(at + gap, 6)
        chunks.append(Chunk(at_s=at, data=data))
    request = Request("POST", url_base + stream.path, (("content-type", "application/json"),), stream.request_body)
    response = Response(200, stream.headers, stream.headers_gap_s, tuple(chunks), ended_at_s=at)
    return Cassette([Interaction(request, response)])


# ---------------------------------------------------------------- arrivals and gaps


@dataclass
class Arrivals:
    """What a client saw: each raw piece of body with its receive time (monotonic ns)."""

    started_ns: int
    pieces: list[tuple[int, bytes]] = field(default_factory=list)
    headers_ns: int = 0

    @property
    def body(self) -> bytes:
        return b"".join(data for _, data in self.pieces)

    def sizes(self) -> list[int]:
        return [len(data) for _, data in self.pieces]

    def byte_times(self, ends: Sequence[int]) -> list[int]:
        """For each body offset in `ends` (exclusive end of a recorded chunk), when its last byte arrived."""
        out: list[int] = []
        position, index = 0, 0
        for at, data in self.pieces:
            position += len(data)
            while index < len(ends) and ends[index] <= position:
                out.append(at)
                index += 1
        return out


def chunk_ends(sizes: Sequence[int]) -> list[int]:
    ends, total = [], 0
    for size in sizes:
        total += size
        ends.append(total)
    return ends


def gap_errors_ms(recorded_offsets_s: Sequence[float], sizes: Sequence[int], seen: Arrivals) -> list[float]:
    """|replayed gap - recorded gap| for every gap between consecutive recorded chunks."""
    times = seen.byte_times(chunk_ends(sizes))
    if len(times) != len(sizes):
        raise AssertionError(f"stream incomplete: {len(times)} of {len(sizes)} chunks arrived")
    errors = []
    for i in range(1, len(sizes)):
        replayed_ms = (times[i] - times[i - 1]) / 1e6
        recorded_ms = (recorded_offsets_s[i] - recorded_offsets_s[i - 1]) * 1000
        errors.append(abs(replayed_ms - recorded_ms))
    return errors


def stamp_delays_ms(seen: Arrivals) -> list[float]:
    """For every stamped event, receive time minus the upstream's send stamp (same clock)."""
    body = seen.body
    matches = list(STAMP_RE.finditer(body))
    ends = []
    for match in matches:
        end = body.find(b"\n\n", match.end())
        ends.append(end + 2 if end >= 0 else len(body))
    times = seen.byte_times(ends)
    return [(at - int(match.group(2))) / 1e6 for match, at in zip(matches, times, strict=True)]


def stamped(data: bytes) -> bytes:
    return data.replace(STAMP_PLACEHOLDER, b'"t":%019d' % now_ns(), 1)


# ---------------------------------------------------------------- statistics


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile, q in [0, 100]."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summary(values: Sequence[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "p50": percentile(values, 50),
        "p90": percentile(values, 90),
        "p99": percentile(values, 99),
        "max": max(values) if values else float("nan"),
    }


def median(values: Sequence[float]) -> float:
    return percentile(values, 50)


# ---------------------------------------------------------------- child processes


class Service:
    """A child process that prints a line ending with its base URL once it is listening."""

    def __init__(self, name: str, argv: Sequence[str], *, pattern: str = r"(https?://[\w.:\[\]]+)\s*$") -> None:
        self.name = name
        self.argv = list(argv)
        self.pattern = re.compile(pattern)
        self.proc: subprocess.Popen[bytes] | None = None
        self.base_url = ""
        self.output: list[str] = []

    def spawn(self) -> Service:
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(ROOT)}
        self.proc = subprocess.Popen(
            self.argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=ROOT, env=env, start_new_session=True
        )
        return self

    def wait_ready(self, timeout_s: float = 30.0) -> Service:
        """Read its output until the line with the base URL (or fail with what it printed)."""
        assert self.proc is not None
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout_s
        buffer = b""
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.proc.stdout], [], [], 0.1)
            if ready:
                data = os.read(self.proc.stdout.fileno(), 65536)
                if not data:
                    break
                buffer += data
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    text = line.decode("utf-8", "replace").rstrip()
                    self.output.append(text)
                    match = self.pattern.search(text)
                    if match:
                        self.base_url = match.group(1) if match.group(1).startswith("http") else self._url(match)
                        self._drain_in_background()
                        return self
            elif self.proc.poll() is not None:
                break
        self.stop()
        raise RuntimeError(f"{self.name} did not start: {' '.join(self.argv)}\n" + "\n".join(self.output[-20:]))

    def start(self, timeout_s: float = 30.0) -> Service:
        return self.spawn().wait_ready(timeout_s)

    @staticmethod
    def _url(match: re.Match[str]) -> str:
        return f"http://{match.group(1)}"

    def _drain_in_background(self) -> None:
        """Keep reading its output so a chatty child never blocks on a full pipe."""
        import threading

        proc = self.proc
        assert proc is not None
        assert proc.stdout is not None
        stdout = proc.stdout

        def drain() -> None:
            with contextlib.suppress(Exception):
                for line in stdout:
                    if len(self.output) < 2000:
                        self.output.append(line.decode("utf-8", "replace").rstrip())

        threading.Thread(target=drain, daemon=True).start()

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def stop(self, sig: int = signal.SIGINT, timeout_s: float = 10.0) -> int | None:
        proc = self.proc
        if proc is None:
            return None
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(sig)
            try:
                proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        return proc.returncode

    def __enter__(self) -> Service:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def rss_kib(pid: int) -> int:
    """Resident set size of a process (KiB), 0 if it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def raise_fd_limit(wanted: int = 8192) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = min(max(soft, wanted), hard) if hard != resource.RLIM_INFINITY else max(soft, wanted)
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def wait_port(host: str, port: int, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listening on {host}:{port}")


@contextlib.contextmanager
def services(*items: Service) -> Iterator[tuple[Service, ...]]:
    """Start several at once (their start-up costs overlap), stop them all at the end."""
    started: list[Service] = []
    try:
        for item in items:
            started.append(item.spawn())
        for item in items:
            item.wait_ready()
        yield tuple(started)
    finally:
        for item in reversed(started):
            item.stop()


# ---------------------------------------------------------------- machine


def machine() -> dict[str, Any]:
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    load = os.getloadavg()
    versions: dict[str, str] = {}
    for name in ("httpx", "uvicorn", "starlette", "mitmproxy", "vcrpy", "PyYAML", "h11"):
        with contextlib.suppress(Exception):
            from importlib.metadata import version

            versions[name] = version(name)
    return {
        "nproc": len(os.sched_getaffinity(0)),  # what `nproc` prints
        "cpu_model": model or platform.processor() or "unknown",
        "python": platform.python_version(),
        "platform": platform.platform(),
        "loadavg_at_start": [round(x, 2) for x in load],
        "versions": versions,
    }
