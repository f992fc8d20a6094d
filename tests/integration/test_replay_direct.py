"""The direct path sends what the careful path sends: the same bytes, at the same moments.

Each case is replayed through a server on the direct path (engine "auto") and one where every
request goes through the ASGI app under uvicorn's own protocol (engine "careful"); a raw
socket records what arrives and when.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from chunktape import Cassette, Chunk, Interaction, Request, Response
from chunktape.knobs import ReplayPolicy
from chunktape.replay.player import CassettePlayer
from chunktape.replay.server import ReplayServer
from tests.support.builders import sse_interaction

PATH = "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
BODY = b'{"contents":[{"parts":[{"text":"hi"}],"role":"user"}]}'


def _json_interaction() -> Interaction:
    body = b'{"id":"x","choices":[]}'
    request = Request("POST", "https://api.example.com/v1/json", (("content-type", "application/json"),), b"{}")
    headers = (("content-type", "application/json"), ("content-length", str(len(body))), ("connection", "keep-alive"))
    return Interaction(request, Response(200, headers, 0.0, (Chunk(0.0, body[:5]), Chunk(0.0, body[5:]))))


def _request(path: str = PATH, body: bytes = BODY, *, close: bool = True, extra: str = "") -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\nhost: chunktape.test\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\n{extra}{'connection: close' + chr(13) + chr(10) if close else ''}\r\n"
    )
    return head.encode("latin-1") + body


CASES: dict[str, tuple[dict[str, object], list[bytes]]] = {
    "recorded": ({}, [_request()]),
    "split bytes:7": ({"split": "bytes:7"}, [_request()]),
    "split events": ({"split": "events"}, [_request()]),
    "cut after 2": ({"fault": "cut:2"}, [_request()]),
    "truncate": ({"fault": "truncate"}, [_request()]),
    "status 429": ({"fault": "status:429"}, [_request()]),
    "stall": ({"fault": "stall:1:20ms"}, [_request()]),
    "delay first": ({"delay": ["first:20ms"]}, [_request()]),
    "a miss": ({}, [_request("/v1beta/models/other:generateContent")]),
    "keep-alive then close": ({}, [_request(close=False), _request()]),
    "pipelined": ({}, [_request(close=False) + _request()]),
    "content-length body": ({}, [_request("/v1/json", b"{}")]),
    "a large request body": ({}, [_request(body=b'{"contents":"' + b"x" * (2 << 20) + b'"}')]),
    "chunked request body": (
        {},
        [
            f"POST {PATH} HTTP/1.1\r\nhost: chunktape.test\r\ntransfer-encoding: chunked\r\n"
            f"connection: close\r\n\r\n{len(BODY):x}\r\n".encode()
            + BODY
            + b"\r\n0\r\n\r\n"
        ],
    ),
}


def _player(knobs: dict[str, object], speed: str = "0") -> CassettePlayer:
    cassette = Cassette([sse_interaction(), _json_interaction()])
    return CassettePlayer([cassette], ReplayPolicy.from_knobs(speed=speed, **knobs))  # type: ignore[arg-type]


@contextmanager
def _servers() -> Iterator[dict[str, ReplayServer]]:
    with ReplayServer(engine="auto") as direct, ReplayServer(engine="careful") as careful:
        yield {"direct": direct, "careful": careful}


def _exchange(base_url: str, sends: list[bytes]) -> list[tuple[float, bytes]]:
    """Send each piece (after the answer to the previous one began), read to the close;
    (seconds since the last send, bytes) of each read."""
    host, port = base_url.split("://")[1].split("/")[0].split(":")
    prefix = "/" + base_url.split("/", 3)[3] if base_url.count("/") > 2 else ""
    pieces: list[tuple[float, bytes]] = []
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sent = time.perf_counter()
        for index, data in enumerate(sends):
            if index:
                while b"0\r\n\r\n" not in b"".join(piece for _, piece in pieces):
                    pieces.append((time.perf_counter() - sent, sock.recv(65536)))
                sent = time.perf_counter()
            sock.sendall(data.replace(b"POST /", f"POST {prefix}/".encode()))
        while True:
            data = sock.recv(65536)
            if not data:
                return pieces
            pieces.append((time.perf_counter() - sent, data))


@pytest.mark.parametrize("case", list(CASES))
def test_the_direct_path_sends_the_careful_paths_bytes(case: str) -> None:
    knobs, sends = CASES[case]
    with _servers() as servers:
        before = servers["direct"].app.direct_answers  # (its warm-up took the direct path too)
        seen = {
            name: b"".join(data for _, data in _exchange(server.mount(_player(knobs)), sends))
            for name, server in servers.items()
        }
        held = sum(len(data) for data in sends) <= 1 << 20  # a larger upload goes the careful way
        expected = sum(data.count(b"POST ") for data in sends) if held else 0
        assert servers["direct"].app.direct_answers - before == expected
        assert servers["careful"].app.direct_answers == 0
    assert seen["direct"] == seen["careful"]
    assert seen["direct"].startswith(b"HTTP/1.1 ")


def _arrivals(pieces: list[tuple[float, bytes]], ends: list[int]) -> list[float]:
    """When the client held the first `end` bytes, for each end."""
    out, held, position = [], 0, 0
    for at, data in pieces:
        held += len(data)
        while position < len(ends) and ends[position] <= held:
            out.append(at)
            position += 1
    return out


def test_the_direct_path_sends_each_chunk_at_the_careful_paths_moment() -> None:
    with _servers() as servers:
        seen = {name: _exchange(server.mount(_player({}, speed="1")), [_request()]) for name, server in servers.items()}
    assert b"".join(d for _, d in seen["direct"]) == b"".join(d for _, d in seen["careful"])
    whole = b"".join(d for _, d in seen["direct"])
    head_end = whole.index(b"\r\n\r\n") + 4
    chunks = sse_interaction().response.chunks
    ends, position = [], head_end
    for chunk in chunks:  # each chunk framed as "<size>\r\n<data>\r\n"
        position += len(f"{len(chunk.data):x}\r\n") + len(chunk.data) + 2
        ends.append(position)
    for name, pieces in seen.items():
        arrivals = _arrivals(pieces, ends)
        assert len(arrivals) == len(chunks), name
        for arrived, chunk in zip(arrivals, chunks, strict=True):
            assert arrived >= chunk.at_s - 0.002, (name, arrived, chunk.at_s)  # never early
            assert arrived < chunk.at_s + 0.5, (name, arrived, chunk.at_s)  # generous: a busy machine


def test_the_careful_path_answers_cors_and_the_metrics_page_on_a_direct_server() -> None:
    with ReplayServer(engine="auto") as server:
        url = server.mount(_player({}), cors="*")
        pieces = _exchange(url, [_request(extra="origin: http://localhost:5173\r\n")])
        answer = b"".join(data for _, data in pieces)
        assert b"access-control-allow-origin: http://localhost:5173" in answer.lower()
        metrics = _exchange(
            server.base_url, [b"GET /_chunktape/metrics HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n"]
        )
        assert b"chunktape_streams_total" in b"".join(data for _, data in metrics)


def test_the_pure_python_engine_replays_each_chunk_as_it_was_recorded() -> None:
    with ReplayServer(engine="pure-python") as server:
        assert server.app.direct_answers == 0
        pieces = _exchange(server.mount(_player({}, speed="1")), [_request()])
        assert server.app.direct_answers == 0
    whole = b"".join(data for _, data in pieces)
    assert whole.startswith(b"HTTP/1.1 200 ")
    assert whole.endswith(b"0\r\n\r\n")
    for chunk in sse_interaction().response.chunks:
        assert b"%x\r\n%b\r\n" % (len(chunk.data), chunk.data) in whole
