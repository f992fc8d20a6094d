"""The recorder survives what the network and the machine do to it: 50 streams at once into
one cassette, an upstream that resets the connection (RST, not FIN) mid-stream, a client
that resets mid-stream while others stream on, SIGKILL in the middle of a burst of streams
ending and being written, and a disk that fills up mid-recording.

(A single SIGKILL with one stream in flight, and a client hanging up politely, are in
test_cli_record.py and test_recorder_reverse.py.)
"""

from __future__ import annotations

import random
import resource
import socket
import struct
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from chunktape import CassetteWarning, Interaction, load_cassette
from tests.support.fakes.upstream import FakeUpstream
from tests.support.fakes.wire import EXCHANGES, WireExchange, body
from tests.support.recorder_helpers import Running, chunktape_record, in_threads, stop

GEMINI = EXCHANGES["gemini_stream"]
STREAMS = 50


def numbered(n: int) -> WireExchange:
    """A stream of its own: its path, request and every event name `n`, so a response that
    landed on another request's interaction would show."""
    events = tuple(
        (0.03, f'data: {{"stream":{n},"part":{part},"text":"第{part}段 of stream {n}"}}\n\n'.encode())
        for part in range(5)
    )
    return WireExchange(
        name=f"openai_stream_{n}",
        method="POST",
        path=f"/v1/streams/{n}",
        request_json={"n": n},
        status=200,
        headers=(("content-type", "text/event-stream"),),
        chunks=events,
        text="",
        streamed=True,
    )


NUMBERED = [numbered(n) for n in range(STREAMS)]


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeUpstream]:
    with FakeUpstream({**EXCHANGES, **{e.name: e for e in NUMBERED}}, speed=1) as server:
        yield server


@pytest.fixture(autouse=True)
def healthy(upstream: FakeUpstream) -> Iterator[None]:
    yield
    upstream.speed, upstream.cut_after, upstream.reset = 1, None, False
    upstream.overrides.clear()


@pytest.fixture(scope="module")
def recorder(upstream: FakeUpstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Running, Path]]:
    directory = tmp_path_factory.mktemp("recording")
    cassette = directory / "cassettes" / "faults.yaml"
    with chunktape_record(cassette, "--upstream", upstream.base_url, confdir=directory) as running:
        yield running, cassette


def recorded(cassette: Path, case: str, count: int = 1) -> list[Interaction]:
    """The interactions tagged `case`, once `count` of them are on disk (or after 10 s)."""
    deadline = time.monotonic() + 10
    while True:
        found = [i for i in load_cassette(str(cassette)).interactions if i.request.header("x-test-case") == case]
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.02)


def stream_body(url: str, exchange: WireExchange, case: str) -> bytes:
    """POST and read the whole streamed body; raises if the stream breaks."""
    with (
        httpx.Client(timeout=30) as client,
        client.stream("POST", url + exchange.path, json=exchange.request_json, headers={"x-test-case": case}) as live,
    ):
        return b"".join(live.iter_raw())


def reset_after_reading(url: str, exchange: WireExchange, case: str, chunks: int) -> bytes:
    """A client that reads the head and `chunks` body chunks, then resets the connection."""
    host, port = url.removeprefix("http://").split(":")
    payload = b'{"n":0}'
    head = (
        f"POST {exchange.path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(payload)}\r\nx-test-case: {case}\r\n\r\n"
    ).encode()
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(head + payload)
        received = b""
        while received.count(b"\r\n\r\n") < 1 + chunks:  # the head, then one blank line per SSE event
            piece = sock.recv(65536)
            assert piece, "the recorder closed the connection"
            received += piece
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    return received


# ------------------------------------------------------------------ many at once


def test_fifty_concurrent_streams_land_intact_each_with_its_own_response(recorder: tuple[Running, Path]) -> None:
    running, cassette = recorder
    bodies, errors = in_threads(STREAMS, lambda n: stream_body(running.url, NUMBERED[n], "fifty"))
    assert not errors
    assert [bodies[n] for n in range(STREAMS)] == [body(exchange) for exchange in NUMBERED]
    interactions = recorded(cassette, "fifty", STREAMS)
    assert len(interactions) == STREAMS
    by_path = {i.request.url.rsplit("/", 1)[1]: i for i in interactions}
    assert sorted(by_path, key=int) == [str(n) for n in range(STREAMS)]
    for n, exchange in enumerate(NUMBERED):
        interaction = by_path[str(n)]
        assert interaction.request.body == b'{"n":%d}' % n
        assert interaction.response.ended == "complete"
        assert [chunk.data for chunk in interaction.response.chunks] == [data for _, data in exchange.chunks]


# ------------------------------------------------------------------ resets


def test_an_upstream_reset_mid_stream_is_recorded_as_a_cut_and_recording_goes_on(
    recorder: tuple[Running, Path], upstream: FakeUpstream
) -> None:
    running, cassette = recorder
    upstream.reset, upstream.overrides[NUMBERED[1].name] = True, {"cut_after": 2}
    got: list[bytes] = []
    with (
        pytest.raises(httpx.HTTPError),  # the client's stream breaks, as it did upstream
        httpx.Client(timeout=30) as client,
        client.stream("POST", running.url + NUMBERED[1].path, json={}, headers={"x-test-case": "rst"}) as live,
    ):
        got.extend(live.iter_raw())
    [interaction] = recorded(cassette, "rst")
    assert interaction.response.ended == "cut"
    assert [chunk.data for chunk in interaction.response.chunks] == [data for _, data in NUMBERED[1].chunks[:2]]
    assert b"".join(got) == interaction.response.body
    assert stream_body(running.url, NUMBERED[2], "after-rst") == body(NUMBERED[2])
    assert recorded(cassette, "after-rst")[0].response.ended == "complete"


def test_a_client_reset_mid_stream_is_recorded_as_a_cut_and_other_streams_go_on(
    recorder: tuple[Running, Path], upstream: FakeUpstream
) -> None:
    running, cassette = recorder
    upstream.overrides[GEMINI.name] = {"speed": 1}  # ~650 ms: the others run during it

    def work(n: int) -> bytes:
        if n == 0:
            return reset_after_reading(running.url, GEMINI, "client-rst", chunks=2)
        return stream_body(running.url, NUMBERED[n], "beside-rst")

    results, errors = in_threads(6, work)
    assert not errors
    assert [results[n] for n in range(1, 6)] == [body(NUMBERED[n]) for n in range(1, 6)]
    assert len(recorded(cassette, "beside-rst", 5)) == 5
    [interaction] = recorded(cassette, "client-rst")
    assert interaction.response.ended == "cut"
    wire = [data for _, data in GEMINI.chunks]
    kept = [chunk.data for chunk in interaction.response.chunks]
    assert 2 <= len(kept) < len(wire)
    assert kept == wire[: len(kept)]


# ------------------------------------------------------------------ SIGKILL


@pytest.mark.parametrize("seed", [1, 2])
def test_sigkill_during_a_burst_leaves_a_valid_cassette_with_every_stream_a_client_saw_end(
    upstream: FakeUpstream, tmp_path: Path, seed: int
) -> None:
    """20 streams run at once: the even ones take ~150 ms, the odd ones pause for seconds
    between events, so they are surely in flight. The recorder is killed the moment the
    Kth client (K drawn from the seed) sees its stream end, while other streams are ending
    and being written. The cassette must load and hold every stream whose client saw the
    end (the addon writes before passing the end on). Event-driven: no wall-clock bet."""
    rng = random.Random(seed)
    count = 20
    kill_after = rng.randint(3, 8)
    slow = {n for n in range(count) if n % 2}
    for n in slow:
        upstream.overrides[NUMBERED[n].name] = {"speed": 0.003}  # 10 s between events
    cassette = tmp_path / "burst.yaml"
    finished: dict[int, bool] = {}
    ended = threading.Condition()
    with chunktape_record(cassette, "--upstream", upstream.base_url, confdir=tmp_path) as running:

        def one(n: int) -> None:
            try:
                done = stream_body(running.url, NUMBERED[n], "burst") == body(NUMBERED[n])
            except httpx.HTTPError:
                done = False
            with ended:
                finished[n] = done
                ended.notify_all()

        threads = [threading.Thread(target=one, args=(n,), daemon=True) for n in range(count)]
        for thread in threads:
            thread.start()
        with ended:
            reached = ended.wait_for(lambda: sum(finished.values()) >= kill_after, timeout=60)
        running.process.kill()
        running.process.wait(10)
        for thread in threads:
            thread.join(30)
    assert reached, f"only {sum(finished.values())} of {count - len(slow)} fast streams ended within 60 s"
    kept = {int(i.request.url.rsplit("/", 1)[1]): i for i in load_cassette(str(cassette)).interactions}
    saw_the_end = {n for n, done in finished.items() if done}
    assert len(saw_the_end) >= kill_after
    assert not saw_the_end & slow, "a slow stream ended before the kill: the kill came too late to test anything"
    assert saw_the_end <= set(kept), f"killed after {kill_after} ends; lost {sorted(saw_the_end - set(kept))}"
    for n, interaction in kept.items():
        assert interaction.response.ended == "complete"
        assert interaction.response.body == body(NUMBERED[n])


@pytest.mark.parametrize("seed", [3, 4, 5])
def test_sigkill_at_a_random_moment_of_a_200_stream_session_keeps_every_stream_a_client_saw_end(
    upstream: FakeUpstream, tmp_path: Path, seed: int
) -> None:
    """A session of 200 streams from 4 clients, each stream appended to one cassette as it
    ends. The recorder is killed right after the Nth client saw its stream end (N drawn
    from the seed): the cassette loads, holds every one of those streams, and nothing in
    it is partial (an append torn by the kill is set aside, with a warning, only when its
    `.recording` marker is there)."""
    total, clients = 200, 4
    kill_after = random.Random(seed).randint(20, total - 20)
    upstream.speed = 0
    cassette = tmp_path / "session.yaml"
    seen_end: set[int] = set()
    ended = threading.Condition()
    with chunktape_record(cassette, "--upstream", upstream.base_url, confdir=tmp_path) as running:

        def client(first: int) -> None:
            with httpx.Client(timeout=30) as http:
                for i in range(first, total, clients):
                    exchange = NUMBERED[i % STREAMS]
                    try:
                        with http.stream("POST", f"{running.url}{exchange.path}?i={i}", json={"i": i}) as live:
                            whole = b"".join(live.iter_raw()) == body(exchange)
                    except httpx.HTTPError:
                        return
                    with ended:
                        if whole:
                            seen_end.add(i)
                        ended.notify_all()

        threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(clients)]
        for thread in threads:
            thread.start()
        with ended:
            reached = ended.wait_for(lambda: len(seen_end) >= kill_after, timeout=120)
        running.process.kill()
        running.process.wait(10)
        for thread in threads:
            thread.join(30)
    assert reached, f"only {len(seen_end)} streams ended within 120 s"
    with warnings.catch_warnings():
        # a tear by the kill itself is set aside, and only where the marker says an append was in flight
        in_flight = Path(f"{cassette}.recording").exists()
        warnings.simplefilter("ignore" if in_flight else "error", CassetteWarning)
        kept = load_cassette(str(cassette)).interactions
    by_index = {int(i.request.url.rsplit("?i=", 1)[1]): i for i in kept}
    assert len(by_index) == len(kept)
    assert seen_end <= set(by_index), f"killed after {kill_after} ends; lost {sorted(seen_end - set(by_index))}"
    for i, interaction in by_index.items():
        assert interaction.response.ended == "complete"
        assert interaction.response.body == body(NUMBERED[i % STREAMS])


# ------------------------------------------------------------------ disk full


def test_a_full_disk_mid_recording_is_reported_and_keeps_what_was_written(
    upstream: FakeUpstream, tmp_path: Path
) -> None:
    """The recorder runs with a file size limit (RLIMIT_FSIZE: writes past it fail with
    EFBIG, as they would with ENOSPC on a full disk). Once the cassette outgrows it, saves
    fail: each failure is one clear line, the file keeps every interaction written before,
    no temp file is left, clients still get their streams. When there is room again, the
    next save writes everything, the interactions that failed included; record exits 1."""
    limit = 6_000

    def small_disk() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))

    directory = tmp_path / "cassettes"
    cassette = directory / "full.yaml"
    sizes: list[int] = []
    with chunktape_record(
        cassette, "--upstream", upstream.base_url, confdir=tmp_path / "mitmproxy", preexec=small_disk
    ) as running:
        for n in range(8):
            assert stream_body(running.url, NUMBERED[n], "full") == body(NUMBERED[n])
            sizes.append(cassette.stat().st_size)  # never past the limit: a failed save changes nothing
        assert running.process.poll() is None  # still recording
        kept = load_cassette(str(cassette)).interactions
        assert 1 <= len(kept) < 8
        assert [i.response.body for i in kept] == [body(NUMBERED[n]) for n in range(len(kept))]
        marker = directory / "full.yaml.recording"  # empty between appends: none in flight
        assert not marker.exists() or marker.stat().st_size == 0
        assert sorted(path.name for path in directory.iterdir() if path != marker) == ["full.yaml"]  # no temp file
        resource.prlimit(running.process.pid, resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        assert stream_body(running.url, NUMBERED[8], "full") == body(NUMBERED[8])
        status = stop(running.process)
        assert running.process.stderr is not None
        errors = running.process.stderr.read()
    assert status == 1
    failures = [line for line in errors.splitlines() if "cannot write the cassette" in line]
    assert failures, errors
    assert all(
        line == f"chunktape: {cassette}: cannot write the cassette (File too large); the previous file, if any, "
        "is untouched"
        for line in failures
    )
    assert "Traceback" not in errors
    assert max(sizes) <= limit
    assert [i.response.body for i in load_cassette(str(cassette)).interactions] == [body(NUMBERED[n]) for n in range(9)]
    assert sorted(path.name for path in directory.iterdir()) == ["full.yaml"]
