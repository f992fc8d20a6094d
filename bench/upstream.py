"""A FakeUpstream-like provider for the bench, run as its own process.

Like tests/support/fakes/upstream.py it sends each chunk as its own HTTP chunk in its own write
(TCP_NODELAY), after the chunk's gap; unlike it, it stamps every event with the moment it
was written (monotonic ns, the clock every process shares), so a client can tell exactly
how late each chunk reached it through whatever sat in between.

    python -m bench.upstream STREAM.json     # prints "bench upstream on http://127.0.0.1:PORT"
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import socket
import sys
import time

from bench.common import Stream, stamped


async def _read_request(reader: asyncio.StreamReader) -> tuple[str, bytes] | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
    lines = head.decode("latin-1").split("\r\n")
    target = lines[0].split(" ")[1]
    length = 0
    chunked = False
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip() or 0)
        elif name.strip().lower() == "transfer-encoding" and "chunked" in value.lower():
            chunked = True
    if chunked:
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    else:
        await reader.readexactly(length)
    return target.split("?")[0], head


class Upstream:
    def __init__(self, streams: dict[str, Stream]) -> None:
        self.streams = streams

    async def connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            while True:
                request = await _read_request(reader)
                if request is None:
                    break
                started = time.monotonic()
                stream = self.streams.get(request[0])
                if stream is None:
                    writer.write(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n")
                    await writer.drain()
                    continue
                await _sleep_until(started + stream.headers_gap_s)
                head = ["HTTP/1.1 200 OK", *(f"{k}: {v}" for k, v in stream.headers), "transfer-encoding: chunked"]
                writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
                await writer.drain()
                due = started + stream.headers_gap_s
                for gap, data in stream.chunks:
                    due += gap
                    await _sleep_until(due)
                    piece = stamped(data)
                    writer.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                    await writer.drain()
                writer.write(b"0\r\n\r\n")
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.close()


async def _sleep_until(deadline: float) -> None:
    remaining = deadline - time.monotonic()
    if remaining > 0:
        await asyncio.sleep(remaining)


async def _main(path: str) -> None:
    with open(path, encoding="utf-8") as handle:
        streams = {node["path"]: Stream.from_json(node) for node in json.load(handle)}
    upstream = Upstream(streams)
    server = await asyncio.start_server(upstream.connection, "127.0.0.1", 0, backlog=2048)
    port = server.sockets[0].getsockname()[1]
    print(f"bench upstream on http://127.0.0.1:{port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    server.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("streams", help="JSON list of streams (bench.common.Stream.to_json)")
    args = parser.parse_args()
    asyncio.run(_main(args.streams))
    sys.exit(0)


if __name__ == "__main__":
    main()
