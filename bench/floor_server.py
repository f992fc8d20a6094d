"""The floor for the concurrency section: the least a Python server can do to replay a stream.

`python -m bench.floor_server STREAM.json`: for each request, sleep to each recorded offset
and write the same bytes chunktape writes (head, chunked framing, the zero chunk), on the
same event loop (uvloop when installed). Prints `floor serving on http://127.0.0.1:PORT`.
"""

import asyncio
import json
import sys
import time
from pathlib import Path

from bench.common import stream_writes


async def main(path: str) -> None:
    head, writes = stream_writes(json.loads(Path(path).read_text())[0])

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                request_head = await reader.readuntil(b"\r\n\r\n")
                started = time.perf_counter()
                length = next(
                    (
                        int(line[15:])
                        for line in request_head.lower().split(b"\r\n")
                        if line.startswith(b"content-length:")
                    ),
                    0,
                )
                await reader.readexactly(length)
                writer.write(head)
                for at_s, data in writes:
                    await asyncio.sleep(started + at_s - time.perf_counter())
                    writer.write(data)
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0, backlog=8192)
    print(f"floor serving on http://127.0.0.1:{server.sockets[0].getsockname()[1]}", flush=True)
    await server.serve_forever()


if __name__ == "__main__":
    try:
        import uvloop

        uvloop.run(main(sys.argv[1]))
    except ImportError:
        asyncio.run(main(sys.argv[1]))
