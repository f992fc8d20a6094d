"""`chunktape serve` under load and abuse, on 127.0.0.1 only, every case bounded in count and
time: 1,000 streams at once at the recorded rhythm; slow clients that never read (the
server's memory stays bounded and a normal client is served on time); malformed HTTP from
raw sockets (a 4xx or a close, never a crash); request bodies past the 32 MiB limit.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from chunktape import Cassette, Chunk, Interaction, Request, Response
from tests.support.builders import SSE_BODY, sse_cassette
from tests.support.serving import Served, serving

PATH = "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
BODY = b'{"contents":[{"parts":[{"text":"hi"}],"role":"user"}]}'
# five chunks over 0.8 s at speed 1: a thousand of them overlap
SLOW_TIMES = [0.2, 0.4, 0.6, 0.7, 0.8]
STREAMS = 1_000
FAST_PATH = "/v1/fast"  # answered at once: proves the server still serves
BIG_PATH = "/v1/big"
BIG_BODY_BYTES = 16 * 1024 * 1024  # past every socket buffer, so a client that never reads holds the server up
BIG_CHUNK_BYTES = 64 * 1024


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        line = next(line for line in status if line.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


def big_cassette() -> Cassette:
    body = bytes(range(256)) * (BIG_BODY_BYTES // 256)
    chunks = tuple(
        Chunk(at_s=0.0, data=body[start : start + BIG_CHUNK_BYTES]) for start in range(0, len(body), BIG_CHUNK_BYTES)
    )
    response = Response(200, (("content-type", "application/octet-stream"),), 0.0, chunks)
    return Cassette([Interaction(Request("GET", "http://replay.test" + BIG_PATH), response)])


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    directory = tmp_path_factory.mktemp("served")
    sse_cassette(offsets=[30, 60, 92, 150], times=SLOW_TIMES).save(str(directory / "slow.yaml"))
    big_cassette().save(str(directory / "big.yaml"))
    sse_cassette(url="http://replay.test" + FAST_PATH, times=[0.0] * 4, headers_at_s=0.0).save(
        str(directory / "fast.yaml")
    )
    with serving(str(directory)) as server:  # speed 1: the recorded rhythm
        yield server


def address(served: Served) -> tuple[str, int]:
    host, port = served.base_url.removeprefix("http://").split(":")
    return host, int(port)


def request_bytes(method: str, path: str, body: bytes = b"", *extra: str) -> bytes:
    head = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(body)}", *extra]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


@dataclass
class Stream:
    status: int = 0
    body: bytes = b""
    opened_s: float = 0.0
    closed_s: float = 0.0


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """Status and body of one chunked or fixed-length HTTP/1.1 response."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    headers = {
        line.split(b":", 1)[0].strip().lower(): line.split(b":", 1)[1].strip() for line in head.split(b"\r\n")[1:-2]
    }
    if b"content-length" in headers:
        return status, await reader.readexactly(int(headers[b"content-length"]))
    body = bytearray()
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        if size == 0:
            await reader.readuntil(b"\r\n")
            return status, bytes(body)
        body += (await reader.readexactly(size + 2))[:-2]


async def one_stream(host: str, port: int, started: float) -> Stream:
    stream = Stream()
    reader, writer = await asyncio.open_connection(host, port)
    stream.opened_s = time.perf_counter() - started
    try:
        writer.write(request_bytes("POST", PATH, BODY, "Content-Type: application/json"))
        stream.status, stream.body = await read_response(reader)
    finally:
        stream.closed_s = time.perf_counter() - started
        writer.close()
    return stream


# ------------------------------------------------------------------ load


def test_a_thousand_concurrent_streams_all_arrive_whole(served: Served) -> None:
    host, port = address(served)
    before_mb = rss_mb(served.process.pid)

    async def all_at_once() -> list[Stream]:
        started = time.perf_counter()
        return await asyncio.wait_for(asyncio.gather(*(one_stream(host, port, started) for _ in range(STREAMS))), 50)

    started = time.monotonic()
    streams = asyncio.run(all_at_once())
    elapsed = time.monotonic() - started
    assert elapsed < 30
    completed = [s for s in streams if s.status == 200 and s.body == SSE_BODY]
    assert len(completed) == STREAMS
    assert sum(len(s.body) for s in completed) == STREAMS * len(SSE_BODY)
    # they overlapped: at one moment (the last stream opened) nearly all were open at once
    moment = max(s.opened_s for s in streams)
    open_then = sum(1 for s in streams if s.opened_s <= moment < s.closed_s)
    assert open_then >= STREAMS * 0.9, open_then
    assert all(s.closed_s >= SLOW_TIMES[-1] for s in streams)  # the recorded rhythm held
    grown_mb = rss_mb(served.process.pid) - before_mb
    print(
        f"{STREAMS} streams in {elapsed:.2f} s, {open_then} open at once, server RSS {before_mb:.0f} MB +{grown_mb:.1f} MB"
    )
    assert grown_mb < 200
    assert "Traceback" not in served.stderr()


def test_clients_that_never_read_hold_bounded_memory_and_delay_no_one(served: Served) -> None:
    host, port = address(served)
    baseline_mb = rss_mb(served.process.pid)
    stalled: list[socket.socket] = []
    try:
        for _ in range(40):
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # a small window, set before connecting
            sock.connect((host, port))
            sock.sendall(request_bytes("GET", BIG_PATH))
            stalled.append(sock)
        time.sleep(1.0)  # the server writes until each socket is full, then waits
        held_mb = rss_mb(served.process.pid) - baseline_mb
        print(f"40 stalled clients: server RSS {baseline_mb:.0f} MB -> +{held_mb:.1f} MB")
        # unbounded buffering would hold 40 x 16 MiB = 640 MiB; each stalled stream may hold
        # at most a chunk and the transport's high-water mark
        assert held_mb < 100, f"{held_mb:.0f} MB held for 40 clients that never read"
        started = time.monotonic()
        response = httpx.post(served.base_url + PATH, content=BODY, timeout=10)
        took = time.monotonic() - started
        assert response.status_code == 200
        assert response.content == SSE_BODY
        assert took < SLOW_TIMES[-1] + 1.0, f"a normal client took {took:.2f} s"
    finally:
        for sock in stalled:
            sock.close()
    time.sleep(0.2)
    assert httpx.get(served.base_url + BIG_PATH, timeout=30).content == big_cassette().interactions[0].response.body


# ------------------------------------------------------------------ malformed HTTP

MALFORMED = {
    "garbage": b"\x00\x01\x02\xff garbage \r\n\r\n",
    "no-version": b"GET /\r\n\r\n",
    "bad-request-line": b"GET\r\n\r\n",
    "unknown-http-version": b"GET / HTTP/9.9\r\nHost: x\r\n\r\n",
    "huge-header": b"GET / HTTP/1.1\r\nHost: x\r\nX-Huge: " + b"a" * 200_000 + b"\r\n\r\n",
    "ten-thousand-headers": b"GET / HTTP/1.1\r\nHost: x\r\n" + b"X-A: b\r\n" * 10_000 + b"\r\n",
    "huge-target": b"GET /" + b"a" * 200_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    "header-without-colon": b"GET / HTTP/1.1\r\nHost: x\r\nNoColonHere\r\n\r\n",
    "nul-in-header": b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n",
    "negative-length": b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
    "two-lengths": b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
    "length-and-chunked": b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "bad-chunk-size": b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n",
    "body-shorter-than-length": b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nshort",
    "http2-preface": b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    "tls-client-hello": bytes.fromhex("160301020001000001fc0303") + bytes(64),
    "folded-header": b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n",
    "bytes-beyond-ascii-in-target": b"GET /\xff\xfe\x80 HTTP/1.1\r\nHost: x\r\n\r\n",
    "absolute-form-target": b"GET http://example.com/ HTTP/1.1\r\nHost: example.com\r\n\r\n",
    "connect": b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
    "unknown-method": b"BREW /pot HTTP/1.1\r\nHost: x\r\n\r\n",
    "pipelined-garbage": request_bytes("GET", "/nothing-here") + b"\x16\x03\x01garbage\r\n\r\n",
}


def exchange_raw(host: str, port: int, payload: bytes) -> bytes:
    """Send `payload`, end our side, and read until the server closes (at most 10 s)."""
    with socket.create_connection((host, port), timeout=10) as sock:
        try:
            sock.sendall(payload)
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the server already refused and closed: that is an answer too
        received = b""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                piece = sock.recv(65536)
            except ConnectionResetError:
                break
            if not piece:
                break
            received += piece
        else:
            raise AssertionError("the server neither answered nor closed within 10 s")
    return received


@pytest.mark.parametrize("payload", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_requests_get_a_4xx_or_a_close_and_the_server_keeps_serving(served: Served, payload: bytes) -> None:
    host, port = address(served)
    received = exchange_raw(host, port, payload)
    statuses = [int(line.split(b" ")[1]) for line in received.split(b"\r\n") if line.startswith(b"HTTP/1.1 ")]
    assert all(400 <= status < 500 for status in statuses), received[:300]
    assert b"root:" not in received  # no file is ever served
    assert httpx.post(served.base_url + FAST_PATH, content=BODY, timeout=10).content == SSE_BODY
    assert "Traceback" not in served.stderr()


# ------------------------------------------------------------------ huge bodies


def test_a_body_past_32_mib_is_refused_with_413_however_it_is_framed(served: Served) -> None:
    limit = 32 * 1024 * 1024
    piece = b"x" * (1024 * 1024)

    def chunked() -> Iterator[bytes]:
        for _ in range(33):
            yield piece

    logged = len(served.stderr())
    at_limit = httpx.post(served.base_url + "/upload", content=b"x" * limit, timeout=60)
    assert at_limit.status_code == 404  # accepted, then missed: no such recorded request
    assert len(at_limit.content) < 20_000  # the miss quotes the body clipped, not 32 MiB of it
    assert len(served.stderr()) - logged < 20_000  # and so does its line in the log
    refused = httpx.post(
        served.base_url + "/upload", content=chunked(), timeout=60
    )  # no Content-Length to refuse early
    assert refused.status_code == 413
    assert "larger than 33554432 bytes" in refused.json()["error"]["message"]
    assert httpx.post(served.base_url + FAST_PATH, content=BODY, timeout=10).content == SSE_BODY


def test_rss_is_read_from_the_server_process(served: Served, tmp_path: Path) -> None:
    """The memory figures above are the server's own: a live process, a plausible size."""
    assert 20 < rss_mb(served.process.pid) < 1024
