"""The in-process emitter: httpx and httpx2 transports replay the schedule with real waiting."""

from __future__ import annotations

import time
from types import ModuleType

import httpx
import httpx2
import pytest

from chunktape import AsyncReplayTransport, Cassette, NoMatchError, ReplayTransport
from tests.support.builders import SSE_BODY, sse_cassette

FLAVORS = [pytest.param(httpx, id="httpx"), pytest.param(httpx2, id="httpx2")]
TIMES = [0.06, 0.12, 0.2, 0.35]
URL = "http://replay.test/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
BODY = {"contents": [{"parts": [{"text": "hi"}], "role": "user"}]}


def cassette() -> Cassette:
    return sse_cassette(times=TIMES)


def stream(flavor: ModuleType, transport: ReplayTransport, timeout: float | None = None) -> list[tuple[float, bytes]]:
    got: list[tuple[float, bytes]] = []
    with flavor.Client(transport=transport, timeout=timeout) as client:
        started = time.perf_counter()
        with client.stream("POST", URL, json=BODY) as response:
            got.extend((time.perf_counter() - started, piece) for piece in response.iter_raw())
    return got


@pytest.mark.parametrize("flavor", FLAVORS)
def test_chunks_arrive_one_by_one_with_recorded_boundaries(flavor: ModuleType) -> None:
    got = stream(flavor, ReplayTransport(cassette(), speed=0))
    assert [piece for _, piece in got] == [c.data for c in cassette().interactions[0].response.chunks]


@pytest.mark.parametrize("flavor", FLAVORS)
def test_speed_1_reproduces_the_recorded_gaps(flavor: ModuleType, quiet_gc: None) -> None:
    got = stream(flavor, ReplayTransport(cassette()))
    for (at, _), recorded in zip(got, TIMES, strict=True):
        assert recorded - 0.002 <= at <= recorded + 1.0  # never early; how close: bench/


@pytest.mark.parametrize("flavor", FLAVORS)
def test_disconnect_fault_raises_remote_protocol_error_of_the_same_library(flavor: ModuleType) -> None:
    with pytest.raises(flavor.RemoteProtocolError, match="incomplete chunked read"):
        stream(flavor, ReplayTransport(cassette(), speed=0, fault="disconnect:2"))


@pytest.mark.parametrize("flavor", FLAVORS)
def test_a_stall_longer_than_the_read_timeout_is_a_read_timeout(flavor: ModuleType) -> None:
    started = time.perf_counter()
    with pytest.raises(flavor.ReadTimeout):
        stream(flavor, ReplayTransport(cassette(), speed=0, fault="stall:1:5s"), timeout=0.2)
    assert time.perf_counter() - started < 2


@pytest.mark.parametrize("flavor", FLAVORS)
def test_status_fault_answers_429(flavor: ModuleType) -> None:
    with flavor.Client(transport=ReplayTransport(cassette(), speed=0, fault="status:429")) as client:
        response = client.post(URL, json=BODY)
    assert response.status_code == 429
    assert response.headers["retry-after"] == "1"


@pytest.mark.parametrize("flavor", FLAVORS)
def test_unmatched_request_fails_loudly_and_never_reaches_the_network(flavor: ModuleType) -> None:
    with (
        flavor.Client(transport=ReplayTransport(cassette(), speed=0)) as client,
        pytest.raises(NoMatchError, match="closest"),
    ):
        client.post("http://127.0.0.1:9/elsewhere", json=BODY)


@pytest.mark.parametrize("flavor", FLAVORS)
async def test_async_transport_streams_with_real_waiting(flavor: ModuleType, quiet_gc: None) -> None:
    async with flavor.AsyncClient(transport=AsyncReplayTransport(cassette())) as client:
        started = time.perf_counter()
        got = []
        async with client.stream("POST", URL, json=BODY) as response:
            async for piece in response.aiter_raw():
                got.append((time.perf_counter() - started, piece))
    assert b"".join(piece for _, piece in got) == SSE_BODY
    for (at, _), recorded in zip(got, TIMES, strict=True):
        assert recorded - 0.002 <= at <= recorded + 1.0  # never early; how close: bench/


@pytest.mark.parametrize("flavor", FLAVORS)
async def test_async_disconnect_fault(flavor: ModuleType) -> None:
    async with flavor.AsyncClient(transport=AsyncReplayTransport(cassette(), speed=0, fault="disconnect:1")) as client:
        with pytest.raises(flavor.RemoteProtocolError):
            await client.post(URL, json=BODY)


pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
