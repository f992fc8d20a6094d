"""The replay server through its Python API: real sockets, real chunked streaming, real faults."""

from __future__ import annotations

import asyncio
import gzip
import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from chunktape import (
    Cassette,
    CassettePlayer,
    ChunktapeError,
    Interaction,
    ReplayPolicy,
    Request,
    Response,
    save_cassette,
)
from chunktape.replay.server import ReplayServer
from tests.support import punctuality
from tests.support.builders import GEMINI_URL, SSE_BODY, cut, sse_cassette, sse_interaction
from tests.support.punctuality import first_is_punctual
from tests.support.serving import serving

ROOT = Path(__file__).resolve().parents[2]

PATH = "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
BODY = {"contents": [{"parts": [{"text": "hi"}], "role": "user"}]}
TIMES = [0.06, 0.12, 0.2, 0.35]


@pytest.fixture(scope="module")
def server() -> Iterator[ReplayServer]:
    """One server for the module; each test mounts its own player on it."""
    with ReplayServer() as replay_server:
        yield replay_server


def mount(server: ReplayServer, cassette: Cassette, **knobs: str | float) -> str:
    return server.mount(CassettePlayer([cassette], ReplayPolicy.from_knobs(**knobs)))  # type: ignore[arg-type]


def stream(url: str, body: object = BODY) -> tuple[httpx.Response, list[tuple[float, bytes]]]:
    """POST and read the body raw, noting when each piece arrived (seconds after sending)."""
    got: list[tuple[float, bytes]] = []
    with httpx.Client(timeout=10) as client:
        started = time.perf_counter()
        with client.stream("POST", url, json=body) as response:
            got.extend((time.perf_counter() - started, piece) for piece in response.iter_raw())
    return response, got


def one_chunk(body: bytes) -> Interaction:
    """The usual Gemini request, answered by `body` in a single chunk."""
    request = sse_interaction().request
    return Interaction(request, Response(200, (("content-type", "text/event-stream"),), 0.0, cut(body, [], [0.0])))


def many_chunks() -> Cassette:
    """Twelve chunks with gaps from 5 to 38 ms, to measure the replayed rhythm."""
    offsets = list(range(15, 15 * 12, 15))
    times, at = [], 0.05
    for index in range(12):
        at += 0.005 + 0.003 * index
        times.append(round(at, 6))
    return sse_cassette(offsets=offsets, times=times)


def test_each_recorded_chunk_arrives_as_its_own_read(server: ReplayServer) -> None:
    recorded = sse_cassette(times=TIMES)
    response, got = stream(mount(server, recorded) + PATH)
    assert response.status_code == 200
    assert [piece for _, piece in got] == [chunk.data for chunk in recorded.interactions[0].response.chunks]


def test_speed_1_reproduces_the_recorded_gaps(server: ReplayServer) -> None:
    recorded = many_chunks()
    _, got = stream(mount(server, recorded) + PATH)
    chunks = recorded.interactions[0].response.chunks
    assert [piece for _, piece in got] == [chunk.data for chunk in chunks]
    for (at, _), (previous_at, _), chunk, previous in zip(got[1:], got, chunks[1:], chunks, strict=False):
        assert abs((at - previous_at) - (chunk.at_s - previous.at_s)) < 0.025
    assert chunks[0].at_s <= got[0][0] < chunks[0].at_s + 1.0  # never early; how close: bench/


def test_speed_2_halves_the_wait(server: ReplayServer) -> None:
    _, got = stream(mount(server, sse_cassette(times=TIMES), speed=2) + PATH)
    assert TIMES[-1] / 2 <= got[-1][0] < TIMES[-1] / 2 + 1.0


def test_the_response_head_arrives_at_the_recorded_time(server: ReplayServer) -> None:
    url = mount(server, sse_cassette(times=[0.45, 0.46, 0.47, 0.48], headers_at_s=0.15)) + PATH
    started = time.perf_counter()
    with httpx.Client() as client, client.stream("POST", url, json=BODY) as response:
        head_at = time.perf_counter() - started
        response.read()
        body_at = time.perf_counter() - started
    assert 0.15 <= head_at < 0.45  # at its recorded time: not with the body, due from 0.45 s
    assert body_at >= 0.48


def test_split_bytes_1_at_speed_0_never_loses_a_byte(server: ReplayServer) -> None:
    _, got = stream(mount(server, sse_cassette(), speed=0, split="bytes:1") + PATH)
    assert b"".join(piece for _, piece in got) == SSE_BODY


def test_disconnect_fault_cuts_the_connection_mid_body(server: ReplayServer) -> None:
    url = mount(server, sse_cassette(times=TIMES), fault="disconnect:2") + PATH
    got: list[bytes] = []
    with (
        pytest.raises(httpx.RemoteProtocolError, match="incomplete chunked read"),
        httpx.Client() as client,
        client.stream("POST", url, json=BODY) as response,
    ):
        got.extend(response.iter_raw())
    chunks = sse_cassette().interactions[0].response.chunks
    assert b"".join(got) == chunks[0].data + chunks[1].data


def test_a_recorded_cut_is_replayed_as_a_cut(server: ReplayServer) -> None:
    interaction = sse_interaction(times=TIMES)
    cut_response = Response(200, interaction.response.headers, 0.05, interaction.response.chunks[:2], "cut", 0.2)
    url = mount(server, Cassette([Interaction(interaction.request, cut_response)]), speed=0) + PATH
    with pytest.raises(httpx.RemoteProtocolError):
        stream(url)


def test_a_cut_under_a_recorded_content_length_leaves_a_short_body(server: ReplayServer) -> None:
    headers = (("content-type", "text/event-stream"), ("content-length", str(len(SSE_BODY))))
    interaction = sse_interaction()
    recorded = Cassette([Interaction(interaction.request, Response(200, headers, 0.0, interaction.response.chunks))])
    url = mount(server, recorded, speed=0, fault="disconnect:1") + PATH
    with httpx.Client() as client, client.stream("POST", url, json=BODY) as response:
        assert response.headers["content-length"] == str(len(SSE_BODY))
        with pytest.raises(httpx.RemoteProtocolError, match="received 52 bytes, expected 209"):
            response.read()


def test_stall_fault_holds_the_connection_open(server: ReplayServer) -> None:
    _, got = stream(mount(server, sse_cassette(), speed=0, fault="stall:1:300ms") + PATH)
    assert b"".join(piece for _, piece in got) == SSE_BODY
    assert got[0][0] < 0.1
    assert got[-1][0] >= 0.3


def test_status_fault_answers_a_provider_shaped_error_with_retry_after(server: ReplayServer) -> None:
    response, got = stream(mount(server, sse_cassette(), speed=0, fault="status:429") + PATH)
    assert response.status_code == 429
    assert response.headers["retry-after"] == "1"
    assert json.loads(b"".join(piece for _, piece in got))["error"]["status"] == "RESOURCE_EXHAUSTED"


def _with_response_headers(headers: tuple[tuple[str, str], ...], body: bytes = b'{"ok":true}') -> Cassette:
    request = Request("GET", "https://api.example.test/v1/thing")
    return Cassette([Interaction(request, Response(200, headers, 0.0, cut(body, [4], [0.0, 0.0])))])


def test_hop_by_hop_headers_and_an_untrue_content_length_are_dropped(server: ReplayServer) -> None:
    recorded = _with_response_headers(
        (
            ("Content-Type", "application/json"),
            ("Transfer-Encoding", "chunked"),
            ("Keep-Alive", "timeout=5"),
            ("Content-Length", "999"),
            ("X-Kept", "yes"),
        )
    )
    response = httpx.get(mount(server, recorded, speed=0) + "/v1/thing")
    assert response.content == b'{"ok":true}'
    assert "content-length" not in response.headers
    assert response.headers.get_list("transfer-encoding") == ["chunked"]
    assert "keep-alive" not in response.headers
    assert response.headers["x-kept"] == "yes"


def test_a_true_content_length_is_kept(server: ReplayServer) -> None:
    recorded = _with_response_headers((("content-type", "application/json"), ("content-length", "11")))
    response = httpx.get(mount(server, recorded, speed=0, split="bytes:3") + "/v1/thing")
    assert response.headers["content-length"] == "11"
    assert "transfer-encoding" not in response.headers
    assert response.json() == {"ok": True}


def test_compressed_bytes_and_content_encoding_pass_through_as_recorded(server: ReplayServer) -> None:
    compressed = gzip.compress(b'{"text":"\xe4\xbd\xa0\xe5\xa5\xbd"}')
    recorded = _with_response_headers((("content-type", "application/json"), ("content-encoding", "gzip")), compressed)
    url = mount(server, recorded, speed=0) + "/v1/thing"
    with httpx.Client() as client, client.stream("GET", url) as response:
        raw = b"".join(response.iter_raw())
    assert raw == compressed
    assert response.headers["content-encoding"] == "gzip"
    assert httpx.get(url).json() == {"text": "你好"}


def test_a_miss_answers_404_with_the_closest_request_and_what_differs(server: ReplayServer) -> None:
    player = CassettePlayer([sse_cassette()], ReplayPolicy.from_knobs(speed=0))
    url = server.mount(player)
    response = httpx.post(url + PATH, json={"contents": [{"parts": [{"text": "bye"}], "role": "user"}]})
    assert response.status_code == 404
    document = response.json()
    assert document["chunktape"] == "no match"
    assert document["error"]["closest"].endswith(f"POST {PATH}")
    assert len(document["error"]["differences"]) == 1
    assert document["error"]["differences"][0].startswith("body differs")
    assert "closest recorded requests" in document["error"]["message"]
    assert len(player.misses) == 1


def test_identical_requests_replay_in_recorded_order(server: ReplayServer) -> None:
    first, second = one_chunk(b"data: 1\n\n"), one_chunk(b"data: 2\n\n")
    url = server.mount(CassettePlayer([Cassette([first, second])], ReplayPolicy(speed=0))) + PATH
    bodies = [httpx.post(url, json=BODY).content for _ in range(3)]
    assert bodies == [b"data: 1\n\n", b"data: 2\n\n", b"data: 2\n\n"]


def test_mounts_answer_with_their_own_player_until_unmounted(server: ReplayServer) -> None:
    one = mount(server, Cassette([one_chunk(b"data: one\n\n")]), speed=0)
    two = mount(server, Cassette([one_chunk(b"data: two\n\n")]), speed=0)
    assert one != two
    assert one.startswith(server.base_url + "/_chunktape/")
    assert httpx.post(one + PATH, json=BODY).content == b"data: one\n\n"
    assert httpx.post(two + PATH, json=BODY).content == b"data: two\n\n"
    server.unmount(one)
    gone = httpx.post(one + PATH, json=BODY)
    assert gone.status_code == 404
    assert "nothing is mounted" in gone.json()["error"]["message"]
    assert httpx.post(two + PATH, json=BODY).content == b"data: two\n\n"


def test_the_root_mount_answers_with_the_constructor_player() -> None:
    player = CassettePlayer([sse_cassette()], ReplayPolicy(speed=0))
    with ReplayServer(player) as root_server:
        assert root_server.base_url.startswith("http://127.0.0.1:")
        assert httpx.post(root_server.base_url + PATH, json=BODY).content == SSE_BODY


def test_fallback_gets_what_the_cassette_cannot_answer_chunk_by_chunk(server: ReplayServer) -> None:
    upstream_cassette = sse_cassette(times=TIMES, url=GEMINI_URL.replace("2.5-flash", "2.5-pro"))
    with ReplayServer(CassettePlayer([upstream_cassette])) as upstream:
        player = CassettePlayer([sse_cassette()], ReplayPolicy(speed=0))
        front = server.mount(player, fallback_url=upstream.base_url)
        _, got = stream(front + PATH.replace("2.5-flash", "2.5-pro"))
    chunks = upstream_cassette.interactions[0].response.chunks
    assert [piece for _, piece in got] == [chunk.data for chunk in chunks]
    assert got[-1][0] >= TIMES[-1]
    assert len(player.misses) == 1


def test_a_fallback_that_cannot_be_reached_answers_502(server: ReplayServer) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        closed_port = unused.getsockname()[1]
    front = server.mount(CassettePlayer([sse_cassette()]), fallback_url=f"http://127.0.0.1:{closed_port}")
    response = httpx.post(front + "/elsewhere", json={})
    assert response.status_code == 502
    assert "could not reach the fallback" in response.json()["error"]["message"]


def test_a_request_body_over_32_mib_is_refused_with_413(server: ReplayServer) -> None:
    url = mount(server, sse_cassette(), speed=0) + PATH
    response = httpx.post(url, content=b"x" * (32 * 1024 * 1024 + 1), timeout=30)
    assert response.status_code == 413


def test_many_concurrent_streams_all_get_every_byte(server: ReplayServer) -> None:
    """200 streams at once, each 1.5 s long: every client gets every byte, and the streams
    really overlap (the most open at once, counted from the clients' own event order: a
    server that serialized them would show 1). No wall-clock bound: a busy machine only
    makes them overlap more."""
    url = mount(server, sse_cassette(times=[0.06, 0.12, 1.0, 1.5])) + PATH
    open_now = peak = 0

    async def one(client: httpx.AsyncClient) -> bytes:
        nonlocal open_now, peak
        pieces: list[bytes] = []
        async with client.stream("POST", url, json=BODY) as response:
            async for piece in response.aiter_raw():
                if not pieces:
                    open_now += 1
                    peak = max(peak, open_now)
                pieces.append(piece)
        open_now -= 1
        return b"".join(pieces)

    async def all_of_them() -> list[bytes]:
        limits = httpx.Limits(max_connections=200)
        async with httpx.AsyncClient(timeout=60, limits=limits) as client:
            return await asyncio.gather(*(one(client) for _ in range(200)))

    assert asyncio.run(all_of_them()) == [SSE_BODY] * 200
    assert peak >= 20, f"at most {peak} of 200 streams were open at once"


def test_a_client_hanging_up_during_a_stall_frees_the_server(server: ReplayServer) -> None:
    url = mount(server, sse_cassette(), speed=0, fault="stall:1:30s") + PATH
    with httpx.Client() as client, client.stream("POST", url, json=BODY) as response:
        next(response.iter_raw())
    state = server._server.server_state if server._server else None  # uvicorn's own count of running requests
    assert state is not None
    deadline = time.monotonic() + 2
    while state.tasks and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not state.tasks


def test_accepted_connections_have_nagle_turned_off(server: ReplayServer) -> None:
    url = mount(server, sse_cassette(), speed=0) + PATH
    with httpx.Client() as client:  # keep-alive: the connection stays open after the response
        assert client.post(url, json=BODY).status_code == 200
        state = server._server.server_state if server._server else None  # uvicorn's open connections
        assert state is not None
        sockets = [connection.transport.get_extra_info("socket") for connection in state.connections]
        assert sockets
        assert all(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) for sock in sockets)


def test_base_url_needs_a_started_server() -> None:
    with pytest.raises(ChunktapeError, match="not started"):
        _ = ReplayServer().base_url


def test_a_port_in_use_is_a_clear_error(server: ReplayServer) -> None:
    taken = int(server.base_url.rsplit(":", 1)[1])
    with pytest.raises(ChunktapeError, match="cannot listen"):
        ReplayServer(port=taken).start()


def test_stop_is_idempotent() -> None:
    replay_server = ReplayServer()
    replay_server.start()
    replay_server.stop()
    replay_server.stop()
    assert not replay_server.running


# ---------------------------------------------------------------- a fresh server is punctual at once


def test_a_fresh_replay_server_answers_its_first_request_as_punctually_as_later_ones() -> None:
    """In a new interpreter, so nothing is warm but what start() warmed: the first request
    imports nothing, and its head is within a few ms of the warm ones (best of 3 runs, so a
    busy machine's hiccup on one request cannot fail it; a cold server misses every time)."""
    runs = []
    for _ in range(3):
        probe = subprocess.run(
            [sys.executable, "-m", "tests.support.punctuality"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        run = json.loads(probe.stdout)
        assert run["imported_by_first_request"] == []
        runs.append(run["late_ms"])
        if first_is_punctual([ms / 1000 for ms in run["late_ms"]]):
            return
    pytest.fail(f"the first response was late every time (ms, first then warm): {runs}")


def test_chunktape_serve_answers_its_first_request_as_punctually_as_later_ones(tmp_path: Path) -> None:
    path = str(tmp_path / "punctual.yaml")
    save_cassette(punctuality.CASSETTE, path)
    runs = []
    for _ in range(3):
        with serving(path) as served:
            port = int(served.base_url.rsplit(":", 1)[1])
            late = [punctuality.head_lateness_s(port) for _ in range(punctuality.ROUNDS)]
        runs.append([round(s * 1000, 2) for s in late])
        if punctuality.first_is_punctual(late):
            return
    pytest.fail(f"the first response was late every time (ms, first then warm): {runs}")
