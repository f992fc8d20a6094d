"""The addon loaded into plain mitmproxy: `mitmdump -s chunktape/recorder/addon.py --set chunktape_...`."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from chunktape import ReplayTransport, load_cassette
from tests.support.fakes.upstream import FakeUpstream
from tests.support.fakes.wire import EXCHANGES, body
from tests.support.recorder_helpers import ADDON, MITMDUMP, Running, mitmdump_record, timed_raw
from tests.support.recorder_upstreams import H2Upstream, server_tls

GEMINI = EXCHANGES["gemini_stream"]


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeUpstream]:
    with FakeUpstream(speed=2) as server:
        yield server


@pytest.fixture(scope="module")
def cassette(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mitmdump") / "mitmdump.yaml"


@pytest.fixture(scope="module")
def mitmdump(upstream: FakeUpstream, cassette: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    confdir = tmp_path_factory.mktemp("mitmproxy")
    with mitmdump_record(cassette, upstream.base_url, "chunktape_redact=x-tenant", confdir=confdir) as running:
        yield running


def test_streams_through_mitmdump_with_the_upstream_chunk_boundaries(mitmdump: Running, cassette: Path) -> None:
    with httpx.Client() as client:
        _, chunks = timed_raw(
            client, "POST", mitmdump.url + GEMINI.path, json=GEMINI.request_json, headers={"x-tenant": "SECRET-T"}
        )
    assert [data for _, data in chunks] == [data for _, data in GEMINI.chunks]
    assert chunks[0][0] < chunks[-1][0] - 0.1  # not buffered
    [interaction] = load_cassette(str(cassette)).interactions
    assert [chunk.data for chunk in interaction.response.chunks] == [data for _, data in GEMINI.chunks]
    assert interaction.request.header("x-tenant") == "<redacted>"
    assert b"SECRET-T" not in cassette.read_bytes()
    with httpx.Client(transport=ReplayTransport(str(cassette), speed=0)) as replay:
        assert replay.post("http://replay.test" + GEMINI.path, json=GEMINI.request_json).content == body(GEMINI)


def test_mitmdump_without_a_cassette_option_refuses_to_start(upstream: FakeUpstream, tmp_path: Path) -> None:
    result = subprocess.run(
        [str(MITMDUMP), "-s", str(ADDON), "--mode", f"reverse:{upstream.base_url}", "--listen-host", "127.0.0.1",
         "--listen-port", "0", "--set", f"confdir={tmp_path}"],
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert result.returncode != 0
    assert "chunktape_cassette" in result.stdout + result.stderr


def test_mitmdump_records_an_http2_only_upstream_in_reverse_mode(tmp_path: Path) -> None:
    openai = EXCHANGES["openai_chat"]
    cassette = tmp_path / "h2.yaml"
    with (
        H2Upstream(openai, speed=0, tls=server_tls(tmp_path, alpn=("h2",))) as upstream,
        mitmdump_record(cassette, upstream.base_url, "ssl_insecure=true", confdir=tmp_path / "conf") as running,
    ):
        assert httpx.post(running.url + openai.path, json={}).content == body(openai)
    [interaction] = load_cassette(str(cassette)).interactions
    assert interaction.response.http_version == "HTTP/2.0"
    assert interaction.response.body == body(openai)
