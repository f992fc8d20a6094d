"""The official SDKs, given an httpx2 client with the replay transport, yield the recorded
text from the example cassettes, under chaos too, and raise their own errors on faults."""

from __future__ import annotations

import time
from pathlib import Path

import httpx2
import pytest
from google import genai

from chunktape import AsyncReplayTransport, ReplayTransport
from tests.support.sdk_calls import CUT_ERRORS, RATE_LIMIT_ERRORS, SYNC_CALLS, gemini_stream_async

CASSETTES = Path(__file__).resolve().parents[2] / "cassettes"
BASE_URL = "http://replay.test"
NAMES = sorted(SYNC_CALLS)


def client_for(name: str, **knobs: object) -> httpx2.Client:
    return httpx2.Client(transport=ReplayTransport(str(CASSETTES / f"{name}.yaml"), **knobs))  # type: ignore[arg-type]


@pytest.mark.parametrize("split", ["recorded", "utf8", "bytes:1"])
@pytest.mark.parametrize("name", NAMES)
def test_sdk_yields_the_recorded_text(name: str, split: str) -> None:
    call, expected = SYNC_CALLS[name]
    assert call(BASE_URL, client_for(name, speed=0, split=split)) == expected


@pytest.mark.parametrize("name", ["gemini_stream", "anthropic_messages"])
def test_sdk_at_speed_1_takes_the_recorded_time(name: str, quiet_gc: None) -> None:
    call, expected = SYNC_CALLS[name]
    started = time.perf_counter()
    assert call(BASE_URL, client_for(name, speed=1)) == expected
    elapsed = time.perf_counter() - started
    assert 0.6 <= elapsed < 3.0  # both examples last about 0.7 s


@pytest.mark.parametrize("name", [n for n in NAMES if n != "gemini_generate"])
def test_sdk_raises_its_own_error_when_the_stream_is_cut(name: str) -> None:
    call, _ = SYNC_CALLS[name]
    with pytest.raises(CUT_ERRORS[name]):
        call(BASE_URL, client_for(name, speed=0, fault="disconnect:2"))


@pytest.mark.parametrize("name", NAMES)
def test_sdk_raises_its_rate_limit_error_on_status_429(name: str) -> None:
    call, _ = SYNC_CALLS[name]
    with pytest.raises(RATE_LIMIT_ERRORS[name]) as excinfo:
        call(BASE_URL, client_for(name, speed=0, fault="status:429"))
    if isinstance(excinfo.value, genai.errors.APIError):
        assert excinfo.value.status == "RESOURCE_EXHAUSTED"


@pytest.mark.anyio
@pytest.mark.parametrize("split", ["recorded", "utf8"])
async def test_async_gemini_sdk_streams_through_the_async_transport(split: str) -> None:
    transport = AsyncReplayTransport(str(CASSETTES / "gemini_stream.yaml"), speed=0, split=split)
    async with httpx2.AsyncClient(transport=transport) as client:
        assert await gemini_stream_async(BASE_URL, client) == SYNC_CALLS["gemini_stream"][1]


@pytest.mark.anyio
async def test_async_gemini_sdk_raises_on_a_cut_stream() -> None:
    transport = AsyncReplayTransport(str(CASSETTES / "gemini_stream.yaml"), speed=0, fault="disconnect:2")
    async with httpx2.AsyncClient(transport=transport) as client:
        with pytest.raises(httpx2.RemoteProtocolError):
            await gemini_stream_async(BASE_URL, client)


def test_gemini_sdk_sees_the_first_text_only_after_the_slow_first_token(quiet_gc: None) -> None:
    client = client_for("gemini_stream", speed=1)
    started = time.perf_counter()
    stream = genai.Client(
        api_key="k", http_options=genai.types.HttpOptions(base_url=BASE_URL, httpx_client=client)
    ).models.generate_content_stream(model="gemini-2.5-flash", contents="用两种语言写三段很短的话，测试流式输出。")
    first = next(iter(stream))
    assert first.text == "这里是第一段"
    assert time.perf_counter() - started >= 0.37  # recorded: first event complete at 0.402 s


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
