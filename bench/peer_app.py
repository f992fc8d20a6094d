"""The throughput peer: a minimal uvicorn + starlette app streaming the same bytes from memory.

Same chunking (one body message per recorded chunk), same rhythm when asked (--speed), and
the same uvicorn settings as chunktape's ReplayServer, so the only difference left is what
each does per request.

    python -m bench.peer_app STREAM.json [--speed 0]    # prints "peer: serving on http://127.0.0.1:PORT"
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

from bench.common import Stream


def build_app(stream: Stream, speed: float) -> Starlette:
    chunks = [data for _, data in stream.chunks]
    offsets = [stream.headers_gap_s + at for at in stream.offsets_s]
    headers = dict(stream.headers)

    async def answer(request: Request) -> StreamingResponse:
        await request.body()
        started = time.perf_counter()

        async def body() -> AsyncIterator[bytes]:
            for at, data in zip(offsets, chunks, strict=True):
                if speed > 0:
                    delay = started + at / speed - time.perf_counter()
                    if delay > 0:
                        await asyncio.sleep(delay)
                yield data

        return StreamingResponse(body(), headers=headers)

    return Starlette(routes=[Route(stream.path, answer, methods=["POST"])])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("stream", help="JSON list with one stream (bench.common.Stream.to_json)")
    parser.add_argument("--speed", type=float, default=0.0)
    args = parser.parse_args()
    with open(args.stream, encoding="utf-8") as handle:
        stream = Stream.from_json(json.load(handle)[0])
    # IPPROTO_TCP, as asyncio's create_server (so `uvicorn.run(app)`) makes it: asyncio then sets
    # TCP_NODELAY on every accepted connection
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(2048)
    sock.setblocking(False)
    config = uvicorn.Config(  # as chunktape.replay.server.ReplayServer configures it
        build_app(stream, args.speed),
        lifespan="off",
        log_config=None,
        access_log=False,
        server_header=False,
        date_header=False,
        proxy_headers=False,
        timeout_graceful_shutdown=1.0,
        timeout_keep_alive=30,
    )
    server = uvicorn.Server(config)
    print(f"peer: serving on http://127.0.0.1:{sock.getsockname()[1]}", flush=True)
    asyncio.run(server.serve(sockets=[sock]))


if __name__ == "__main__":
    main()
