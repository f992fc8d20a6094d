"""`chunktape serve` as a subprocess, and the official SDKs pointed at its base URL: they
get the recorded text under every split and delay, and raise their own errors on faults."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from google import genai

from chunktape import Cassette
from tests.support.sdk_calls import CUT_ERRORS, RATE_LIMIT_ERRORS, SYNC_CALLS, gemini_stream_async
from tests.support.serving import launch, ready, stop

CASSETTES = Path(__file__).resolve().parents[2] / "cassettes"
NAMES = sorted(SYNC_CALLS)
ServerFor = Callable[..., str]


KNOB_SETS = [
    ("--speed", "0"),
    ("--speed", "0", "--split", "utf8"),
    ("--speed", "0", "--split", "bytes:1"),
    ("--speed", "1"),
    ("--speed", "0", "--delay", "first:300ms"),
    ("--speed", "0", "--fault", "disconnect:2"),
    ("--speed", "0", "--fault", "status:429"),
]


@pytest.fixture(scope="module")
def server_for() -> Iterator[ServerFor]:
    """One `chunktape serve` of all example cassettes per knob set, shared by the module
    (started in parallel). Identical requests get the last recorded answer again once
    used, so one server serves every test that uses its knobs."""
    launched = [launch(str(CASSETTES), *knobs) for knobs in KNOB_SETS]
    try:
        servers = {knobs: ready(served).base_url for knobs, served in zip(KNOB_SETS, launched, strict=True)}
        yield lambda *knobs: servers[knobs]
    finally:
        for served in launched:  # signal them all first: they shut down in parallel
            if served.process.poll() is None:
                served.process.send_signal(signal.SIGTERM)
        for served in launched:
            stop(served)
            served.errors.close()


@pytest.mark.parametrize("knobs", [("--speed", "0"), ("--speed", "0", "--split", "utf8")], ids=["recorded", "utf8"])
@pytest.mark.parametrize("name", NAMES)
def test_sdk_yields_the_recorded_text(server_for: ServerFor, name: str, knobs: tuple[str, ...]) -> None:
    call, expected = SYNC_CALLS[name]
    assert call(server_for(*knobs)) == expected


@pytest.mark.parametrize("name", ["gemini_stream", "openai_chat", "anthropic_messages"])
def test_sdk_survives_one_byte_chunks(server_for: ServerFor, name: str) -> None:
    call, expected = SYNC_CALLS[name]
    assert call(server_for("--speed", "0", "--split", "bytes:1")) == expected


@pytest.mark.parametrize("name", ["gemini_stream", "anthropic_messages"])
def test_sdk_at_speed_1_takes_the_recorded_time(server_for: ServerFor, name: str) -> None:
    call, expected = SYNC_CALLS[name]
    url = server_for("--speed", "1")
    started = time.perf_counter()
    assert call(url) == expected
    assert 0.65 <= time.perf_counter() - started < 3.0  # both examples last about 0.7 s


def test_async_gemini_sdk_streams_from_the_server(server_for: ServerFor) -> None:
    expected = SYNC_CALLS["gemini_stream"][1]
    assert asyncio.run(gemini_stream_async(server_for("--speed", "0", "--split", "utf8"))) == expected


@pytest.mark.parametrize("name", NAMES)
def test_delay_first_holds_back_the_first_byte(server_for: ServerFor, name: str) -> None:
    call, expected = SYNC_CALLS[name]
    url = server_for("--speed", "0", "--delay", "first:300ms")
    started = time.perf_counter()
    assert call(url) == expected
    assert time.perf_counter() - started >= 0.3


def test_delay_first_measured_on_the_wire(server_for: ServerFor) -> None:
    interaction = Cassette.load(str(CASSETTES / "gemini_stream.yaml")).interactions[0]
    url = server_for("--speed", "0", "--delay", "first:300ms") + interaction.request.path + "?alt=sse"
    started = time.perf_counter()
    with httpx.Client() as client, client.stream("POST", url, content=interaction.request.body) as response:
        pieces = response.iter_raw()
        first = next(pieces)
        first_at = time.perf_counter() - started
        rest = b"".join(pieces)
    assert first_at >= 0.3
    assert first + rest == interaction.response.body


@pytest.mark.parametrize("name", [n for n in NAMES if n != "gemini_generate"])
def test_sdk_raises_its_own_error_when_the_stream_is_cut(server_for: ServerFor, name: str) -> None:
    call, _ = SYNC_CALLS[name]
    with pytest.raises(CUT_ERRORS[name]):
        call(server_for("--speed", "0", "--fault", "disconnect:2"))


@pytest.mark.parametrize("name", NAMES)
def test_sdk_raises_its_rate_limit_error_on_status_429(server_for: ServerFor, name: str) -> None:
    call, _ = SYNC_CALLS[name]
    with pytest.raises(RATE_LIMIT_ERRORS[name]) as excinfo:
        call(server_for("--speed", "0", "--fault", "status:429"))
    if isinstance(excinfo.value, genai.errors.APIError):
        assert excinfo.value.status == "RESOURCE_EXHAUSTED"


def test_raw_client_sees_the_recorded_boundaries_and_gaps(server_for: ServerFor) -> None:
    interaction = Cassette.load(str(CASSETTES / "gemini_stream.yaml")).interactions[0]
    chunks = interaction.response.chunks
    request = interaction.request
    url = f"{server_for('--speed', '1')}{request.path}?{request.query}"
    got: list[tuple[float, bytes]] = []
    with httpx.Client() as client:
        started = time.perf_counter()
        with client.stream("POST", url, content=request.body) as response:
            got.extend((time.perf_counter() - started, piece) for piece in response.iter_raw())
    assert [piece for _, piece in got] == [chunk.data for chunk in chunks]
    for (at, _), chunk in zip(got, chunks, strict=True):  # never before its recorded moment (precision: bench/)
        assert at >= chunk.at_s - 0.002, (at, chunk.at_s)
