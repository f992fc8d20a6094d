"""Virtual time: under a test clock (looptime on asyncio, trio's MockClock) async replays
wait on the event loop's own clock, so recorded stalls of 20 s or 10 minutes pass in no
wall time and every chunk lands exactly at its recorded moment on the loop clock."""

from __future__ import annotations

import contextlib
import dataclasses
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import httpx2
import looptime
import openai
import pytest
import trio
from trio.testing import MockClock

from chunktape import AsyncReplayTransport, Cassette, ChunktapeError, ReplayTransport, StreamClock
from tests.support.builders import SSE_BODY, sse_cassette
from tests.support.sdk_calls import GEMINI_STREAM, OPENAI_CHAT, gemini_client

CASSETTES = Path(__file__).resolve().parents[2] / "cassettes"
URL = "http://replay.test/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
BODY = {"contents": [{"parts": [{"text": "hi"}], "role": "user"}]}
EXACT = 1e-6  # the loop clocks keep microseconds (looptime's resolution); arrivals are exact to it

FLAVORS = [pytest.param(httpx, id="httpx"), pytest.param(httpx2, id="httpx2")]
STALLS = [pytest.param(20.0, id="20s"), pytest.param(600.0, id="10min")]


def run_looptime[T](main: Callable[[], Awaitable[T]]) -> T:
    loop = looptime.new_event_loop()
    try:
        return loop.run_until_complete(main())  # type: ignore[arg-type]
    finally:
        loop.close()


def run_trio_mock[T](main: Callable[[], Awaitable[T]]) -> T:
    return trio.run(main, clock=MockClock(autojump_threshold=0))


RUNNERS = [pytest.param(run_looptime, id="asyncio+looptime"), pytest.param(run_trio_mock, id="trio+MockClock")]
Runner = Callable[[Callable[[], Awaitable[StreamClock]]], StreamClock]


def timed(runner: Runner, main: Callable[[], Awaitable[StreamClock]]) -> tuple[StreamClock, float]:
    """Run once to warm imports and caches, then again timed: (what the client saw, wall seconds)."""
    runner(main)
    started = time.perf_counter()
    seen = runner(main)
    return seen, time.perf_counter() - started


def stalled(name: str, stall_s: float, after: int = 3) -> Cassette:
    """An example cassette whose upstream went silent for `stall_s` before chunk `after`."""
    cassette = Cassette.load(str(CASSETTES / f"{name}.yaml"))
    interaction = cassette.interactions[0]
    chunks = tuple(
        dataclasses.replace(chunk, at_s=chunk.at_s + (stall_s if index >= after else 0.0))
        for index, chunk in enumerate(interaction.response.chunks)
    )
    response = dataclasses.replace(interaction.response, chunks=chunks)
    return Cassette([dataclasses.replace(interaction, response=response)])


def chunk_times(cassette: Cassette) -> list[float]:
    return [chunk.at_s for chunk in cassette.interactions[0].response.chunks]


def assert_lands_on_recorded_moments(seen: StreamClock, times: list[float], stall_s: float, after: int = 3) -> None:
    """Every item arrived exactly when a recorded chunk did, some before and some after the stall."""
    assert seen.error is None
    for arrival in seen.arrivals_s:
        assert min(abs(arrival - at) for at in times) < EXACT, (arrival, times)
    before = [a for a in seen.arrivals_s if a < times[after]]
    after_stall = [a for a in seen.arrivals_s if a >= times[after]]
    assert before
    assert after_stall
    assert after_stall[0] - before[-1] >= stall_s


# ---------------------------------------------------------------- raw httpx / httpx2 clients


@pytest.mark.parametrize("stall_s", STALLS)
@pytest.mark.parametrize("runner", RUNNERS)
@pytest.mark.parametrize("flavor", FLAVORS)
def test_a_long_stall_replays_in_no_wall_time_with_exact_loop_clock_arrivals(
    flavor: ModuleType, runner: Runner, stall_s: float
) -> None:
    times = [1.0, 1.0 + stall_s, 1.25 + stall_s, 1.3 + stall_s]
    cassette = sse_cassette(times=times, headers_at_s=0.5)

    async def main() -> StreamClock:
        async with flavor.AsyncClient(transport=AsyncReplayTransport(cassette), timeout=None) as client:
            seen = StreamClock()
            async with client.stream("POST", URL, json=BODY) as response:
                await seen.observe(response.aiter_raw()).adrain()
            return seen

    seen, wall_s = timed(runner, main)
    assert b"".join(seen.chunks) == SSE_BODY
    assert len(seen.arrivals_s) == len(times)
    for arrival, recorded in zip(seen.arrivals_s, times, strict=True):
        assert abs(arrival - recorded) < EXACT
    assert wall_s < 1.0, f"a {stall_s:.0f} s stall took {wall_s:.2f} s of wall time"


@pytest.mark.parametrize("runner", RUNNERS)
@pytest.mark.parametrize("flavor", FLAVORS)
def test_a_stall_past_the_read_timeout_raises_the_clients_read_timeout_at_the_recorded_moment(
    flavor: ModuleType, runner: Runner
) -> None:
    cassette = sse_cassette(times=[1.0, 21.0, 21.25, 21.3], headers_at_s=0.5)

    async def main() -> StreamClock:
        async with flavor.AsyncClient(transport=AsyncReplayTransport(cassette), timeout=10.0) as client:
            seen = StreamClock()
            try:
                async with client.stream("POST", URL, json=BODY) as response:
                    await seen.observe(response.aiter_raw()).adrain()
            except flavor.ReadTimeout:
                pass
            return seen

    seen, wall_s = timed(runner, main)
    assert isinstance(seen.error, flavor.ReadTimeout)
    assert seen.arrivals_s == [pytest.approx(1.0, abs=EXACT)]
    assert seen.total_s == pytest.approx(11.0, abs=EXACT)  # the stall starts at 1.0 s; the client gives up 10 s on
    assert wall_s < 1.0


@pytest.mark.parametrize("runner", RUNNERS)
def test_a_head_slower_than_the_read_timeout_times_out_at_the_timeout(runner: Runner) -> None:
    cassette = sse_cassette(times=[40.0, 40.1, 40.2, 40.3], headers_at_s=30.0)

    async def main() -> StreamClock:
        seen = StreamClock()
        async with httpx2.AsyncClient(transport=AsyncReplayTransport(cassette), timeout=10.0) as client:
            with contextlib.suppress(httpx2.ReadTimeout):
                await seen.observe(_one_request(client)).adrain()
        return seen

    seen, _ = timed(runner, main)
    assert isinstance(seen.error, httpx2.ReadTimeout)
    assert seen.total_s == pytest.approx(10.0, abs=EXACT)


async def _one_request(client: httpx2.AsyncClient) -> Any:
    yield await client.post(URL, json=BODY)


# ---------------------------------------------------------------- the official SDKs' async clients


async def _openai_stream(http: httpx2.AsyncClient, *, timeout_s: float) -> Any:
    """The recorded chat request through the official async client, streamed."""
    request = OPENAI_CHAT.request_json
    client = openai.AsyncOpenAI(
        api_key="sk-test-not-secret", base_url="http://replay.test/v1", http_client=http, max_retries=0
    )
    return await client.chat.completions.create(
        model=request["model"],
        messages=request["messages"],
        stream=True,
        stream_options=request["stream_options"],
        timeout=timeout_s,
    )


@pytest.mark.parametrize("stall_s", STALLS)
@pytest.mark.parametrize("runner", RUNNERS)
def test_openai_async_sdk_lives_a_long_stall_in_no_wall_time(runner: Runner, stall_s: float) -> None:
    cassette = stalled("openai_chat", stall_s)

    async def main() -> StreamClock:
        http = httpx2.AsyncClient(transport=AsyncReplayTransport(cassette))
        seen = StreamClock()
        stream = await _openai_stream(http, timeout_s=stall_s + 60)
        events = await seen.observe(stream).adrain()
        assert "".join(e.choices[0].delta.content or "" for e in events if e.choices) == OPENAI_CHAT.text
        await http.aclose()
        return seen

    seen, wall_s = timed(runner, main)
    assert_lands_on_recorded_moments(seen, chunk_times(cassette), stall_s)
    assert wall_s < 1.0


@pytest.mark.parametrize("runner", RUNNERS)
def test_openai_async_sdk_times_out_at_stall_start_plus_its_timeout(runner: Runner) -> None:
    cassette = stalled("openai_chat", 20.0)

    async def main() -> StreamClock:
        http = httpx2.AsyncClient(transport=AsyncReplayTransport(cassette))
        seen = StreamClock()
        stream = await _openai_stream(http, timeout_s=10.0)
        with contextlib.suppress(httpx2.ReadTimeout, openai.APITimeoutError):
            await seen.observe(stream).adrain()
        await http.aclose()
        return seen

    seen, wall_s = timed(runner, main)
    assert isinstance(seen.error, (httpx2.ReadTimeout, openai.APITimeoutError))
    stall_start = chunk_times(cassette)[2]
    assert seen.total_s == pytest.approx(stall_start + 10.0, abs=EXACT)
    assert wall_s < 1.0


@pytest.mark.parametrize("stall_s", STALLS)
@pytest.mark.parametrize("runner", RUNNERS)
def test_google_genai_async_sdk_lives_a_long_stall_in_no_wall_time(runner: Runner, stall_s: float) -> None:
    cassette = stalled("gemini_stream", stall_s)

    async def main() -> StreamClock:
        http = httpx2.AsyncClient(transport=AsyncReplayTransport(cassette), timeout=None)
        client = gemini_client("http://replay.test", async_client=http)
        seen = StreamClock()
        stream = await client.aio.models.generate_content_stream(
            model=GEMINI_STREAM.path.split("/models/")[1].split(":")[0],
            contents=GEMINI_STREAM.request_json["contents"][0]["parts"][0]["text"],
        )
        chunks = await seen.observe(stream).adrain()
        assert "".join(chunk.text or "" for chunk in chunks) == GEMINI_STREAM.text
        await http.aclose()
        return seen

    seen, wall_s = timed(runner, main)
    assert_lands_on_recorded_moments(seen, chunk_times(cassette), stall_s)
    assert wall_s < 1.0


# ---------------------------------------------------------------- the modes


def test_clock_virtual_refuses_a_loop_on_real_time() -> None:
    import asyncio

    transport = AsyncReplayTransport(sse_cassette(), clock="virtual")

    async def main() -> None:
        async with httpx2.AsyncClient(transport=transport) as client:
            await client.post(URL, json=BODY)

    with pytest.raises(ChunktapeError, match=r"clock 'virtual' needs an event loop on a test clock.*looptime"):
        asyncio.run(main())


@pytest.mark.parametrize("runner", RUNNERS)
def test_clock_real_waits_on_the_machine_even_under_a_test_clock(runner: Callable[..., Any]) -> None:
    cassette = sse_cassette(times=[0.05, 0.1, 0.15, 0.2], headers_at_s=0.01)

    async def main() -> float:
        transport = AsyncReplayTransport(cassette, clock="real")
        async with httpx2.AsyncClient(transport=transport) as client:
            started = time.perf_counter()
            async with client.stream("POST", URL, json=BODY) as response:
                async for _ in response.aiter_raw():
                    pass
            return time.perf_counter() - started

    assert runner(main) >= 0.19  # the recorded 0.2 s, on the machine's clock


def test_a_sync_transport_on_virtual_time_steps_through_the_beats_without_waiting() -> None:
    transport = ReplayTransport(sse_cassette(times=[1.0, 601.0, 601.25, 601.3]), clock="virtual")
    started = time.perf_counter()
    seen = StreamClock(clock=transport.clock)
    with httpx2.Client(transport=transport, timeout=None) as client, client.stream("POST", URL, json=BODY) as response:
        seen.observe(response.iter_raw()).drain()
    assert seen.arrivals_s == [1.0, 601.0, 601.25, 601.3]
    assert time.perf_counter() - started < 30  # ten minutes of recorded silence, not waited


def test_chunktape_replays_async_without_looptime_or_trio_installed() -> None:
    script = """
import asyncio, sys
sys.modules["trio"] = None
sys.modules["looptime"] = None
import httpx2
from chunktape import AsyncReplayTransport
from tests.support.builders import sse_cassette

async def main():
    transport = AsyncReplayTransport(sse_cassette(times=[0.01, 0.02, 0.03, 0.04]))
    async with httpx2.AsyncClient(transport=transport) as client:
        body = {"contents": [{"parts": [{"text": "hi"}], "role": "user"}]}
        response = await client.post("http://replay.test/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse", json=body)
    print(len(response.content), "trio" in sys.modules and sys.modules["trio"] is None)

asyncio.run(main())
"""
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", script], cwd=root, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [str(len(SSE_BODY)), "True"]
