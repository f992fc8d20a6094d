"""A bounded load client on raw asyncio sockets, run as its own process.

Bounded in count and in time, loopback only. Two modes:

- `throughput`: C keep-alive connections, each sending the POST again as soon as its
  previous stream ended, until N streams are done or T seconds passed;
- `hold`: N connections at once, one stream each, counting how many are open together,
  how many complete, and how many bytes arrive;
- `lateness`: N connections opened first, then every request posted at one moment
  (`--start-at`, a time.monotonic() reading shared by several client processes); each SSE
  event's lateness is its arrival - its request's send time - its recorded offset
  (`--offsets`), counted in 0.1 ms buckets.

Prints one JSON line with what it counted and the CPU it used itself (so a reader can see
the client was not the bottleneck).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import time
from dataclasses import asdict, dataclass
from urllib.parse import urlsplit

_LIMIT = 1 << 20


@dataclass
class Tally:
    streams: int = 0
    failed: int = 0
    bytes: int = 0
    chunks: int = 0
    events: int = 0
    open_now: int = 0
    open_peak: int = 0
    seconds: float = 0.0
    client_cpu_s: float = 0.0
    first_error: str = ""


def _request(url: str, body: bytes) -> tuple[str, int, bytes]:
    parts = urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit(f"refusing to load {host}: the bench only targets loopback")
    port = parts.port or 80
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    head = (
        f"POST {target} HTTP/1.1\r\nhost: {host}:{port}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\n\r\n"
    )
    return host, port, head.encode("latin-1") + body


async def _read_response(reader: asyncio.StreamReader, tally: Tally) -> bool:
    """One response; True when the connection may carry another."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    lowered = head.lower()
    body = bytearray()
    chunks = 0
    if b"transfer-encoding: chunked" in lowered:
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                break
            body += (await reader.readexactly(size + 2))[:-2]
            chunks += 1
    else:
        length = 0
        for line in lowered.split(b"\r\n"):
            if line.startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        body += await reader.readexactly(length)
        chunks = 1
    if status != 200:
        raise RuntimeError(f"status {status}")
    tally.bytes += len(body)
    tally.chunks += chunks
    tally.events += body.count(b"\n\n")
    tally.streams += 1
    return b"connection: close" not in lowered


async def _throughput(url: str, body: bytes, connections: int, max_streams: int, max_seconds: float) -> Tally:
    host, port, request = _request(url, body)
    tally = Tally()
    deadline = time.monotonic() + max_seconds
    budget = [max_streams]

    async def worker() -> None:
        writer: asyncio.StreamWriter | None = None
        try:
            reader, writer = await asyncio.open_connection(host, port, limit=_LIMIT)
            while budget[0] > 0 and time.monotonic() < deadline:
                budget[0] -= 1
                writer.write(request)
                if not await _read_response(reader, tally):
                    writer.close()
                    reader, writer = await asyncio.open_connection(host, port, limit=_LIMIT)
        except (OSError, RuntimeError, asyncio.IncompleteReadError, ValueError) as exc:
            tally.failed += 1
            tally.first_error = tally.first_error or repr(exc)
        finally:
            if writer is not None:
                writer.close()

    started = time.monotonic()
    await asyncio.wait_for(asyncio.gather(*(worker() for _ in range(connections))), max_seconds + 30)
    tally.seconds = time.monotonic() - started
    return tally


async def _hold(url: str, body: bytes, streams: int, max_seconds: float) -> Tally:
    host, port, request = _request(url, body)
    tally = Tally()

    async def one() -> None:
        writer: asyncio.StreamWriter | None = None
        try:
            reader, writer = await asyncio.open_connection(host, port, limit=_LIMIT)
            writer.write(request)
            tally.open_now += 1
            tally.open_peak = max(tally.open_peak, tally.open_now)
            try:
                await _read_response(reader, tally)
            finally:
                tally.open_now -= 1
        except (OSError, RuntimeError, asyncio.IncompleteReadError, ValueError) as exc:
            tally.failed += 1
            tally.first_error = tally.first_error or repr(exc)
        finally:
            if writer is not None:
                writer.close()

    started = time.monotonic()
    tasks = [asyncio.ensure_future(one()) for _ in range(streams)]
    done, pending = await asyncio.wait(tasks, timeout=max_seconds)
    for task in pending:
        task.cancel()
    tally.failed += len(pending)
    tally.seconds = time.monotonic() - started
    del done
    return tally


class _Timed(asyncio.Protocol):
    """One stream: when its request went out, and when each event ("\\n\\n") arrived."""

    def __init__(self, offsets: list[float], buckets: dict[int, int], done: asyncio.Future[bool]) -> None:
        self.offsets, self.buckets, self.done = offsets, buckets, done
        self.sent = 0.0
        self.events = 0
        self.newline = False
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter()
        count = data.count(b"\n\n") + (1 if self.newline and data[:1] == b"\n" else 0)
        self.newline = data[-1:] == b"\n"
        for _ in range(count):
            if self.events < len(self.offsets):
                late_ms = (now - self.sent - self.offsets[self.events]) * 1000
                key = int(late_ms * 10)
                self.buckets[key] = self.buckets.get(key, 0) + 1
            self.events += 1
        if self.events >= len(self.offsets) and data.endswith(b"0\r\n\r\n") and not self.done.done():
            self.done.set_result(True)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_result(self.events >= len(self.offsets))


async def _lateness(
    url: str, body: bytes, streams: int, start_at: float, offsets: list[float], max_seconds: float
) -> dict[str, object]:
    host, port, request = _request(url, body)
    loop = asyncio.get_running_loop()
    buckets: dict[int, int] = {}
    opened: list[tuple[_Timed, asyncio.Future[bool]]] = []
    failed, first_error = 0, ""
    gate = asyncio.Semaphore(256)

    async def connect() -> None:
        nonlocal failed, first_error
        done: asyncio.Future[bool] = loop.create_future()
        try:
            async with gate:
                _, protocol = await loop.create_connection(lambda: _Timed(offsets, buckets, done), host, port)
            opened.append((protocol, done))
        except OSError as exc:
            failed += 1
            first_error = first_error or repr(exc)

    await asyncio.gather(*(connect() for _ in range(streams)))
    await asyncio.sleep(max(0.0, start_at - time.monotonic()))
    for protocol, _ in opened:
        protocol.sent = time.perf_counter()
        assert protocol.transport is not None
        protocol.transport.write(request)
    finished, pending = await asyncio.wait([done for _, done in opened], timeout=max_seconds)
    failed += len(pending) + sum(1 for done in finished if not done.result())
    if pending:
        first_error = first_error or f"{len(pending)} streams not finished in {max_seconds} s"
    for protocol, _ in opened:
        if protocol.transport is not None:
            protocol.transport.close()
    return {"streams": len(opened) - len(pending), "failed": failed, "first_error": first_error, "buckets": buckets}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("mode", choices=["throughput", "hold", "lateness"])
    parser.add_argument("url")
    parser.add_argument("--body", default='{"model":"bench","stream":true}')
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--streams", type=int, default=1000, help="the count bound (throughput) or how many to hold")
    parser.add_argument("--seconds", type=float, default=5.0, help="the time bound")
    parser.add_argument("--start-at", type=float, default=0.0, help="lateness: when to post (time.monotonic())")
    parser.add_argument("--offsets", default="[]", help="lateness: each event's recorded offset, a JSON list")
    parser.add_argument("--out", default="lateness.json", help="lateness: where the JSON report goes")
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, args.streams + 256)), hard))
    body = args.body.encode()
    if args.mode == "lateness":
        offsets = json.loads(args.offsets)
        run = asyncio.run
        try:
            import uvloop

            run = uvloop.run
        except ImportError:
            pass
        report = run(_lateness(args.url, body, args.streams, args.start_at, offsets, args.seconds))
        times = os.times()
        with open(args.out, "w") as out:
            json.dump({**report, "client_cpu_s": times.user + times.system}, out)
        return
    if args.mode == "throughput":
        tally = asyncio.run(_throughput(args.url, body, args.connections, args.streams, args.seconds))
    else:
        tally = asyncio.run(_hold(args.url, body, args.streams, args.seconds))
    times = os.times()
    tally.client_cpu_s = times.user + times.system
    print(json.dumps(asdict(tally)), flush=True)


if __name__ == "__main__":
    main()
