"""A bounded load client on raw asyncio sockets, run as its own process.

Bounded in count and in time, loopback only. Two modes:

- `throughput`: C keep-alive connections, each sending the POST again as soon as its
  previous stream ended, until N streams are done or T seconds passed;
- `hold`: N connections at once, one stream each, counting how many are open together,
  how many complete, and how many bytes arrive.

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("mode", choices=["throughput", "hold"])
    parser.add_argument("url")
    parser.add_argument("--body", default='{"model":"bench","stream":true}')
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--streams", type=int, default=1000, help="the count bound (throughput) or how many to hold")
    parser.add_argument("--seconds", type=float, default=5.0, help="the time bound")
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, args.streams + 256)), hard))
    body = args.body.encode()
    if args.mode == "throughput":
        tally = asyncio.run(_throughput(args.url, body, args.connections, args.streams, args.seconds))
    else:
        tally = asyncio.run(_hold(args.url, body, args.streams, args.seconds))
    times = os.times()
    tally.client_cpu_s = times.user + times.system
    print(json.dumps(asdict(tally)), flush=True)


if __name__ == "__main__":
    main()
