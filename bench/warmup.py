"""6. First response vs warm: how late the first chunk of the first response of a freshly
started emitter arrives, against the later responses of the same emitter, per emitter:
`chunktape serve` (a new process each round, timed from this warm client over a bare
socket), the sync and the async in-process transports (a new interpreter each round, which
times its own requests). Lateness = arrival - the chunk's scheduled time.

    python -m bench.warmup sync|async    # one fresh-interpreter probe; prints JSON
"""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.common import PYTHON, ROOT, VENV_BIN, Service, median, percentile
from bench.report import Section, Target

HEADERS_AT_S = 0.002
FIRST_CHUNK_AT_S = 0.004
PATH = "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
BODY = b'{"contents":[{"parts":[{"text":"hi"}],"role":"user"}]}'
WARM_REQUESTS = 5


def _cassette() -> Any:
    from chunktape import Cassette, Chunk, Interaction, Request, Response

    events = [b'data: {"i":%d}\r\n\r\n' % index for index in range(4)]
    chunks = tuple(Chunk(at_s=FIRST_CHUNK_AT_S + 0.001 * index, data=data) for index, data in enumerate(events))
    request = Request("POST", "https://generativelanguage.googleapis.com" + PATH, (), BODY)
    response = Response(200, (("content-type", "text/event-stream"),), HEADERS_AT_S, chunks)
    return Cassette([Interaction(request, response)])


def run(work: Path, rounds: int) -> Section:
    from chunktape import save_cassette

    path = work / "warmup.yaml"
    save_cassette(_cassette(), str(path))
    late: dict[str, dict[str, list[float]]] = {name: {"first": [], "warm": []} for name in ("server", "sync", "async")}
    for _ in range(rounds):  # interleaved, so machine noise falls on all of them alike
        with Service("chunktape serve", [str(VENV_BIN / "chunktape"), "serve", str(path), "--port", "0"]) as server:
            port = int(server.base_url.rsplit(":", 1)[1])
            # let this process's output-draining thread get going: its start, not the server,
            # would otherwise delay our first read (server-side first costs stay in the figure)
            time.sleep(0.1)
            seen = [_socket_first_chunk_late_s(port) for _ in range(1 + WARM_REQUESTS)]
        late["server"]["first"].append(seen[0])
        late["server"]["warm"].extend(seen[1:])
        for flavor in ("sync", "async"):
            probe = subprocess.run(
                [PYTHON, "-m", "bench.warmup", flavor, str(path)],
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=120,
                check=True,
            )
            seen = json.loads(probe.stdout)
            late[flavor]["first"].append(seen[0])
            late[flavor]["warm"].extend(seen[1:])

    section = Section(
        "warmup",
        "First response vs warm: first-chunk lateness of a freshly started emitter (ms)",
        ["emitter", "first p50", "first max", "warm p50", "warm p90", "first - warm (p50)", "rounds"],
    )
    labels = {"server": "chunktape serve", "sync": "ReplayTransport (sync)", "async": "AsyncReplayTransport"}
    stats: dict[str, Any] = {}
    for name, seen in late.items():
        first_ms = [s * 1000 for s in seen["first"]]
        warm_ms = [s * 1000 for s in seen["warm"]]
        item = {
            "first_p50_ms": median(first_ms),
            "first_max_ms": max(first_ms),
            "warm_p50_ms": median(warm_ms),
            "warm_p90_ms": percentile(warm_ms, 90),
            "first_samples_ms": first_ms,
        }
        item["extra_ms"] = item["first_p50_ms"] - item["warm_p50_ms"]
        stats[name] = item
        section.add(
            labels[name],
            item["first_p50_ms"],
            item["first_max_ms"],
            item["warm_p50_ms"],
            item["warm_p90_ms"],
            item["extra_ms"],
            len(first_ms),
        )
    section.data = stats
    section.targets.append(
        Target(
            "first response of a fresh `chunktape serve`, extra lateness over warm (p50)",
            stats["server"]["extra_ms"],
            1.0,
            False,
            " ms",
        )
    )
    section.notes.append(
        "Every round starts the emitter afresh (a new serve process; a new interpreter for the transports), "
        f"then makes 1 + {WARM_REQUESTS} requests; the recorded first chunk is at {FIRST_CHUNK_AT_S * 1000:.0f} ms."
    )
    return section


def _socket_first_chunk_late_s(port: int) -> float:
    """A bare-socket POST; seconds between the first body chunk's scheduled time and its arrival."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        message = (
            f"POST {PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-type: application/json\r\n"
            f"content-length: {len(BODY)}\r\nconnection: close\r\n\r\n"
        ).encode() + BODY
        sent = time.perf_counter()
        sock.sendall(message)
        received = b""
        while b"\r\n\r\n" not in received:  # the head, then the first body chunk is its own write
            received += sock.recv(65536)
        _, _, rest = received.partition(b"\r\n\r\n")
        if not rest:
            rest = sock.recv(65536)
        arrived = time.perf_counter()
        while sock.recv(65536):
            pass
    return arrived - sent - FIRST_CHUNK_AT_S


def _probe(flavor: str, cassette: str) -> list[float]:
    """In this fresh interpreter: 1 + WARM_REQUESTS requests through a new transport each."""
    import httpx2

    from chunktape import AsyncReplayTransport, ReplayTransport

    url = "https://generativelanguage.googleapis.com" + PATH

    def sync_once() -> float:
        with httpx2.Client(transport=ReplayTransport(cassette)) as client:
            sent = time.perf_counter()
            with client.stream("POST", url, content=BODY) as response:
                pieces = response.iter_raw()
                next(pieces)
                arrived = time.perf_counter()
                for _ in pieces:
                    pass
        return arrived - sent - FIRST_CHUNK_AT_S

    async def async_once() -> float:
        async with httpx2.AsyncClient(transport=AsyncReplayTransport(cassette)) as client:
            sent = time.perf_counter()
            async with client.stream("POST", url, content=BODY) as response:
                pieces = response.aiter_raw()
                await anext(pieces)
                arrived = time.perf_counter()
                async for _ in pieces:
                    pass
        return arrived - sent - FIRST_CHUNK_AT_S

    if flavor == "sync":
        return [sync_once() for _ in range(1 + WARM_REQUESTS)]

    async def all_async() -> list[float]:
        return [await async_once() for _ in range(1 + WARM_REQUESTS)]

    return asyncio.run(all_async())


if __name__ == "__main__":
    print(json.dumps(_probe(sys.argv[1], sys.argv[2])))
