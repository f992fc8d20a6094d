"""Real clients of the non-SSE stream formats, recorded through the real recorder and
replayed through the replay server and (where the client takes an httpx transport) the
in-process transport: as recorded, cut inside characters and prelude bytes, one byte per
chunk, and one event per chunk."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import ollama
import pytest
import yaml

from chunktape import AsyncReplayTransport, CassettePlayer, ReplayPolicy, ReplayTransport, load_cassette
from chunktape.recorder import Recorder
from chunktape.replay.server import ReplayServer
from tests.support.fakes.formats import FORMAT_EXCHANGES
from tests.support.fakes.upstream import FakeUpstream
from tests.support.fakes.wire import body
from tests.support.format_calls import CALLS, TAKES_A_TRANSPORT

NAMES = sorted(CALLS)
SPLITS = ["recorded", "utf8", "bytes:1", "events"]


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every client once through the recorder in front of the provider-exact fakes."""
    cassette = tmp_path_factory.mktemp("formats") / "formats.yaml"
    with (
        FakeUpstream(FORMAT_EXCHANGES, speed=0) as upstream,
        Recorder(str(cassette), upstream=upstream.base_url) as recorder,
    ):
        for name in NAMES:
            call, expected = CALLS[name]
            assert call(recorder.base_url, None) == expected, name
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and (not cassette.exists() or len(load_cassette(str(cassette))) < len(NAMES)):
            time.sleep(0.02)
    return cassette


def test_every_format_records_byte_exact_and_reads_as_events(recorded: Path) -> None:
    by_path = {interaction.request.path: interaction for interaction in load_cassette(str(recorded)).interactions}
    for name in NAMES:
        exchange = FORMAT_EXCHANGES[name]
        assert by_path[urlsplit(exchange.path).path].response.body == body(exchange), name
    text = recorded.read_text(encoding="utf-8")
    bodies = {
        item["request"]["url"].rsplit("/", 1)[-1]: item["response"]["body"]
        for item in yaml.safe_load(text)["interactions"]
    }
    gemini = bodies["gemini-2.5-flash:streamGenerateContent"]
    assert gemini["separator"] == "\n,\r\n"  # Gemini's elements as YAML, not one escaped string
    assert gemini["json_array"][0]["candidates"][0]["content"]["parts"][0]["text"] == "这里是第一段"
    converse = bodies["converse-stream"]["event_stream"]
    assert converse[1]["headers"][":event-type"] == "contentBlockDelta"
    assert converse[1]["json"]["delta"] == {"text": "Hello"}
    invoke = bodies["invoke-with-response-stream"]["event_stream"]
    assert invoke[2]["bytes_json_style"] == "compact"  # Bedrock chunks decoded
    assert invoke[2]["json"]["bytes"]["type"] == "content_block_delta"
    ndjson_lines = [line.strip() for line in text.splitlines() if line.strip().startswith('{"model":"llama3.2"')]
    assert len(ndjson_lines) == 5  # NDJSON stays a literal block, one line per object
    assert "AWS4-HMAC-SHA256" not in text  # the SigV4 signature is redacted with the Authorization header


@pytest.fixture(scope="module")
def servers(recorded: Path) -> Iterator[dict[str, str]]:
    cassette = load_cassette(str(recorded))
    started = {
        split: ReplayServer(CassettePlayer([cassette], ReplayPolicy.from_knobs(speed=0, split=split)))
        for split in SPLITS
    }
    for server in started.values():
        server.start()
    try:
        yield {split: server.base_url for split, server in started.items()}
    finally:
        for server in started.values():
            server.stop()


@pytest.mark.parametrize("split", SPLITS)
@pytest.mark.parametrize("name", NAMES)
def test_the_client_gets_the_recorded_text_from_the_replay_server(
    name: str, split: str, servers: dict[str, str]
) -> None:
    call, expected = CALLS[name]
    assert call(servers[split], None) == expected


@pytest.mark.parametrize("split", SPLITS)
@pytest.mark.parametrize("name", TAKES_A_TRANSPORT)
def test_the_client_gets_the_recorded_text_through_the_transport(name: str, split: str, recorded: Path) -> None:
    call, expected = CALLS[name]
    assert call("http://replay.test", ReplayTransport(str(recorded), speed=0, split=split)) == expected


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
@pytest.mark.parametrize("split", ["bytes:1", "events"])
async def test_the_async_ollama_client_streams_through_the_async_transport(split: str, recorded: Path) -> None:
    request = FORMAT_EXCHANGES["ollama_chat"].request_json
    client = ollama.AsyncClient(
        host="http://replay.test", transport=AsyncReplayTransport(str(recorded), speed=0, split=split)
    )
    stream = await client.chat(model=request["model"], messages=request["messages"], stream=True)
    parts = [part async for part in stream]
    assert "".join(part.message.content or "" for part in parts) == FORMAT_EXCHANGES["ollama_chat"].text
    assert parts[-1].done
