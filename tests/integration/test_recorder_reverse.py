"""`chunktape record --upstream URL` in front of a provider-exact fake: what the client sees
while recording, what lands in the cassette, and how that cassette replays.

One recorder process and one upstream serve the whole module; each test marks its
requests with an `x-test-case` header and finds its interactions by it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from chunktape import Cassette, Interaction, ReplayTransport, load_cassette
from tests.support.fakes.upstream import FakeUpstream
from tests.support.fakes.wire import EXCHANGES, WireExchange, body, error_body
from tests.support.recorder_helpers import Running, chunktape_record, gaps, in_threads, timed_raw

GEMINI = EXCHANGES["gemini_stream"]
CUSTOM_SECRET_HEADER = "x-custom-secret"


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeUpstream]:
    with FakeUpstream(speed=0) as server:
        yield server


@pytest.fixture(autouse=True)
def plain_upstream(upstream: FakeUpstream) -> Iterator[None]:
    """Each test starts from a fast, healthy upstream, whatever the previous one changed."""
    yield
    upstream.speed, upstream.cut_after, upstream.status, upstream.gzip = 0, None, None, False


@pytest.fixture(scope="module")
def cassette(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("reverse") / "cassettes" / "reverse.yaml"


@pytest.fixture(scope="module")
def recorder(upstream: FakeUpstream, cassette: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    confdir = tmp_path_factory.mktemp("mitmproxy")
    args = ("--upstream", upstream.base_url, "--redact-header", CUSTOM_SECRET_HEADER)
    with chunktape_record(cassette, *args, confdir=confdir) as running:
        yield running


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30) as http:
        yield http


def recorded(cassette: Path, case: str, count: int = 1) -> list[Interaction]:
    """The interactions a test made, in recorded order.

    A streamed response is on disk before the client sees its end; a Content-Length body
    is complete for the client at its last byte, a moment before the write lands."""
    deadline = time.monotonic() + 5
    while True:
        found = [i for i in load_cassette(str(cassette)).interactions if i.request.header("x-test-case") == case]
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.01)


def send(
    client: httpx.Client, base_url: str, exchange: WireExchange, case: str
) -> tuple[httpx.Response, list[tuple[float, bytes]]]:
    return timed_raw(
        client, exchange.method, base_url + exchange.path, json=exchange.request_json, headers={"x-test-case": case}
    )


def wire_pieces(exchange: WireExchange) -> list[bytes]:
    return [data for _, data in exchange.chunks]


def replay_raw(
    interaction: Interaction, exchange: WireExchange, speed: float
) -> tuple[httpx.Response, list[tuple[float, bytes]]]:
    transport = ReplayTransport(_single(interaction), speed=speed)
    with httpx.Client(transport=transport) as replay_client:
        return timed_raw(
            replay_client,
            exchange.method,
            interaction.request.url,
            json=exchange.request_json,
            headers={"x-test-case": interaction.request.header("x-test-case") or ""},
        )


def _single(interaction: Interaction) -> Cassette:
    return Cassette([interaction])


# ------------------------------------------------------------------ streaming through


def test_the_client_sees_the_same_chunk_boundaries_as_direct(
    recorder: Running, upstream: FakeUpstream, client: httpx.Client
) -> None:
    upstream.speed = 2  # gaps of 10-60 ms keep every chunk apart on the wire
    _, direct = send(client, upstream.base_url, GEMINI, "boundaries-direct")
    _, proxied = send(client, recorder.url, GEMINI, "boundaries")
    assert [data for _, data in proxied] == [data for _, data in direct] == wire_pieces(GEMINI)
    # the awkward places survive: inside a UTF-8 character, and between \r and \n
    assert any(data.endswith(b"\r") for _, data in proxied)
    assert any(data[-1] >= 0x80 for _, data in proxied)


def test_chunks_reach_the_client_when_the_upstream_sends_them(
    recorder: Running, upstream: FakeUpstream, client: httpx.Client
) -> None:
    upstream.speed = 1
    _, proxied = send(client, recorder.url, GEMINI, "timing")
    times = [at for at, _ in proxied]
    wire_times = [sum(gap for gap, _ in GEMINI.chunks[: n + 1]) for n in range(len(GEMINI.chunks))]
    assert times[0] < wire_times[-1] - 0.2  # the first chunk did not wait for the last
    for seen, sent in zip(gaps(times), gaps(wire_times), strict=True):
        assert seen == pytest.approx(sent, abs=0.1)  # gaps of 20-120 ms; generous for loaded CI


def test_the_recording_replays_byte_exact_at_the_recorded_rhythm(
    recorder: Running, upstream: FakeUpstream, client: httpx.Client, cassette: Path
) -> None:
    upstream.speed = 1
    send(client, recorder.url, GEMINI, "rhythm")
    [interaction] = recorded(cassette, "rhythm")
    response = interaction.response
    assert [chunk.data for chunk in response.chunks] == wire_pieces(GEMINI)
    recorded_gaps = gaps([chunk.at_s for chunk in response.chunks])
    for seen, sent in zip(recorded_gaps, [gap for gap, _ in GEMINI.chunks[1:]], strict=True):
        assert seen == pytest.approx(sent, abs=0.1)

    replayed, chunks = replay_raw(interaction, GEMINI, speed=1)
    assert replayed.status_code == 200
    assert [data for _, data in chunks] == wire_pieces(GEMINI)
    for (at, _), chunk in zip(chunks, response.chunks, strict=True):
        assert at == pytest.approx(chunk.at_s, abs=0.05)


def test_the_request_is_recorded_with_the_upstream_url_and_exact_body(
    recorder: Running, upstream: FakeUpstream, client: httpx.Client, cassette: Path
) -> None:
    send(client, recorder.url, GEMINI, "request")
    [interaction] = recorded(cassette, "request")
    assert interaction.request.method == "POST"
    assert interaction.request.url == upstream.base_url + GEMINI.path
    assert interaction.request.body == upstream.requests[-1].body
    assert interaction.response.header("content-type") == "text/event-stream"
    text = cassette.read_text(encoding="utf-8")
    assert "用两种语言写三段很短的话" in text  # CJK stays readable


@pytest.mark.parametrize("name", sorted(EXCHANGES))
def test_every_provider_exchange_is_recorded_whole(
    name: str, recorder: Running, client: httpx.Client, cassette: Path
) -> None:
    exchange = EXCHANGES[name]
    response, chunks = send(client, recorder.url, exchange, f"whole-{name}")
    assert b"".join(data for _, data in chunks) == body(exchange)
    [interaction] = recorded(cassette, f"whole-{name}")
    assert interaction.response.status == exchange.status
    assert interaction.response.body == body(exchange)
    assert interaction.response.ended == "complete"
    replayed, replayed_chunks = replay_raw(interaction, exchange, speed=0)
    assert replayed.headers.get("content-type") == response.headers.get("content-type")
    assert b"".join(data for _, data in replayed_chunks) == body(exchange)


# ------------------------------------------------------------------ what goes wrong upstream


def test_a_cut_stream_is_recorded_as_cut_and_replays_as_the_same_cut(
    recorder: Running, upstream: FakeUpstream, client: httpx.Client, cassette: Path
) -> None:
    upstream.cut_after = 3
    seen: list[bytes] = []
    with (
        pytest.raises(httpx.RemoteProtocolError),
        client.stream("POST", recorder.url + GEMINI.path, json={}, headers={"x-test-case": "cut"}) as live,
    ):
        seen.extend(live.iter_raw())
    assert seen == wire_pieces(GEMINI)[:3]
    [interaction] = recorded(cassette, "cut")
    assert interaction.response.ended == "cut"
    assert [chunk.data for chunk in interaction.response.chunks] == wire_pieces(GEMINI)[:3]

    replayed: list[bytes] = []
    transport = ReplayTransport(_single(interaction), speed=0)
    with (
        httpx.Client(transport=transport) as replay_client,
        pytest.raises(httpx.RemoteProtocolError),
        replay_client.stream("POST", interaction.request.url, json={}, headers={"x-test-case": "cut"}) as response,
    ):
        replayed.extend(response.iter_raw())
    assert replayed == seen


def test_a_client_that_hangs_up_early_leaves_a_cut_recording_of_what_it_got(
    recorder: Running, upstream: FakeUpstream, client: httpx.Client, cassette: Path
) -> None:
    upstream.speed = 2
    with client.stream("POST", recorder.url + GEMINI.path, json={}, headers={"x-test-case": "hang-up"}) as live:
        arriving = live.iter_raw()
        got = [next(arriving), next(arriving)]
    [interaction] = recorded(cassette, "hang-up")
    assert interaction.response.ended == "cut"
    assert [chunk.data for chunk in interaction.response.chunks][:2] == got


@pytest.mark.parametrize("status", [429, 503])
def test_an_upstream_error_status_and_body_are_recorded(
    status: int, recorder: Running, upstream: FakeUpstream, client: httpx.Client, cassette: Path
) -> None:
    upstream.status = status
    response, _ = send(client, recorder.url, GEMINI, f"status-{status}")
    _, expected_body = error_body("gemini", status)
    assert response.status_code == status
    [interaction] = recorded(cassette, f"status-{status}")
    assert interaction.response.status == status
    assert interaction.response.body == expected_body
    replayed, chunks = replay_raw(interaction, GEMINI, speed=0)
    assert replayed.status_code == status
    assert b"".join(data for _, data in chunks) == expected_body


def test_a_gzip_stream_is_stored_decoded_and_replays_the_same_text(
    recorder: Running, upstream: FakeUpstream, client: httpx.Client, cassette: Path
) -> None:
    upstream.gzip = True
    with client.stream("POST", recorder.url + GEMINI.path, json={}, headers={"x-test-case": "gzip"}) as live:
        assert live.headers["content-encoding"] == "gzip"  # the client still got the wire bytes
        live_text = "".join(live.iter_text())
    assert live_text == body(GEMINI).decode("utf-8")
    [interaction] = recorded(cassette, "gzip")
    response = interaction.response
    assert response.header("content-encoding") is None
    assert [chunk.data for chunk in response.chunks] == wire_pieces(GEMINI)  # each gzip piece, decoded
    assert "sse_events" in cassette.read_text(encoding="utf-8")
    transport = ReplayTransport(_single(interaction), speed=0)
    with httpx.Client(transport=transport) as replay_client:
        replayed = replay_client.post(interaction.request.url, json={}, headers={"x-test-case": "gzip"})
    assert replayed.text == live_text


# ------------------------------------------------------------------ many at once, and secrets


def test_many_concurrent_streams_land_intact_and_distinct(
    recorder: Running, upstream: FakeUpstream, cassette: Path
) -> None:
    upstream.speed = 4  # each stream lasts ~170 ms, so all 24 overlap
    count = 24

    def one(n: int) -> bytes:
        with httpx.Client(timeout=30) as own:
            _, chunks = timed_raw(
                own, "POST", recorder.url + GEMINI.path, json={"n": n}, headers={"x-test-case": "concurrent"}
            )
        return b"".join(data for _, data in chunks)

    bodies, errors = in_threads(count, one)
    assert not errors
    assert all(data == body(GEMINI) for data in bodies.values())
    interactions = recorded(cassette, "concurrent", count)
    assert sorted(i.request.body for i in interactions) == sorted(b'{"n":%d}' % n for n in range(count))
    for interaction in interactions:
        assert interaction.response.ended == "complete"
        assert [chunk.data for chunk in interaction.response.chunks] == wire_pieces(GEMINI)


def test_no_secret_reaches_the_cassette(recorder: Running, client: httpx.Client, cassette: Path) -> None:
    secrets = {
        "x-goog-api-key": "AIzaSECRET-GOOG",
        "authorization": "Bearer sk-SECRET-BEARER",
        "x-api-key": "sk-ant-SECRET-ANT",
        "api-key": "SECRET-AZURE",
        "cookie": "session=SECRET-COOKIE",
        CUSTOM_SECRET_HEADER: "SECRET-CUSTOM",
    }
    client.post(
        recorder.url + GEMINI.path + "&key=SECRET-QUERY", json={}, headers={**secrets, "x-test-case": "secrets"}
    )
    [interaction] = recorded(cassette, "secrets")
    assert interaction.request.header("x-goog-api-key") == "<redacted>"
    raw = cassette.read_bytes()
    assert b"SECRET" not in raw
