"""The `Recorder` Python API: lifecycle, forward mode with its CA, HTTP/2 and brotli upstreams, append."""

from __future__ import annotations

import dataclasses
import os
import ssl
import time
from pathlib import Path

import httpx
import pytest

from chunktape import Interaction, RecordingError, ReplayTransport, load_cassette
from chunktape.recorder import Recorder
from tests.support.fakes.upstream import FakeUpstream
from tests.support.fakes.wire import EXCHANGES, body
from tests.support.recorder_helpers import timed_raw
from tests.support.recorder_upstreams import H2Upstream, ScriptedUpstream, brotli_exchange, server_tls

OPENAI = EXCHANGES["openai_chat"]
ANTHROPIC = EXCHANGES["anthropic_messages"]


def test_stop_leaves_every_finished_interaction_on_disk_and_frees_the_port(tmp_path: Path) -> None:
    cassette = tmp_path / "c.yaml"
    with FakeUpstream(speed=0) as upstream:
        recorder = Recorder(str(cassette), upstream=upstream.base_url)
        recorder.start()
        try:
            assert recorder.base_url.startswith("http://127.0.0.1:")
            assert recorder.ca_cert_path is None  # reverse mode needs no CA
            for _ in range(3):
                httpx.post(recorder.base_url + "/v1/models/gemini-2.5-flash:generateContent", json={})
        finally:
            recorder.stop()
        recorder.stop()  # idempotent
    assert len(load_cassette(str(cassette))) == 3
    with pytest.raises(RecordingError, match="not running"):
        _ = recorder.base_url


def test_append_adds_after_the_interactions_already_recorded(tmp_path: Path) -> None:
    cassette = tmp_path / "c.yaml"
    with FakeUpstream(speed=0) as upstream:
        with Recorder(str(cassette), upstream=upstream.base_url) as recorder:
            httpx.post(recorder.base_url + OPENAI.path, json={"first": True})
        with Recorder(str(cassette), upstream=upstream.base_url, append=True) as recorder:
            httpx.post(recorder.base_url + OPENAI.path, json={"second": True})
    assert [i.request.body for i in load_cassette(str(cassette)).interactions] == [
        b'{"first":true}',
        b'{"second":true}',
    ]


def test_a_recorder_that_cannot_write_its_cassette_says_why(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    recorder = Recorder(str(blocker / "c.yaml"), upstream="http://127.0.0.1:9")
    with pytest.raises(RecordingError, match="cannot write the cassette"):
        recorder.start()


def test_a_bad_upstream_is_refused_before_anything_starts(tmp_path: Path) -> None:
    with pytest.raises(RecordingError, match="bad --upstream URL"):
        Recorder(str(tmp_path / "c.yaml"), upstream="generativelanguage.googleapis.com")


def test_forward_mode_records_https_through_the_proxy_with_its_own_ca(tmp_path: Path) -> None:
    cassette = tmp_path / "forward.yaml"
    with (
        FakeUpstream(speed=0, tls=server_tls(tmp_path)) as upstream,
        Recorder(str(cassette), ssl_insecure=True) as recorder,
    ):
        ca = recorder.ca_cert_path
        assert ca is not None
        assert os.path.exists(ca)
        assert not ca.startswith(os.path.expanduser("~/.mitmproxy"))
        trust = ssl.create_default_context(cafile=ca)
        with httpx.Client(proxy=recorder.proxy_url, verify=trust) as client:
            _, chunks = timed_raw(client, "POST", upstream.url(ANTHROPIC), json=ANTHROPIC.request_json)
    assert b"".join(data for _, data in chunks) == body(ANTHROPIC)
    [interaction] = load_cassette(str(cassette)).interactions
    assert interaction.request.url == upstream.url(ANTHROPIC)
    assert interaction.response.body == body(ANTHROPIC)
    assert not os.path.exists(ca)  # the recorder's private mitmproxy directory is gone


def test_an_http2_only_tls_upstream_is_recorded_in_reverse_mode(tmp_path: Path) -> None:
    cassette = tmp_path / "h2.yaml"
    with (
        H2Upstream(OPENAI, speed=2, tls=server_tls(tmp_path, alpn=("h2",))) as upstream,
        Recorder(str(cassette), upstream=upstream.base_url, ssl_insecure=True) as recorder,
        httpx.Client() as client,
    ):
        _, chunks = timed_raw(client, "POST", recorder.base_url + OPENAI.path, json=OPENAI.request_json)
    assert upstream.requests[0].http_version == "HTTP/2.0"
    assert [data for _, data in chunks] == [data for _, data in OPENAI.chunks]  # DATA frames kept apart
    [interaction] = load_cassette(str(cassette)).interactions
    assert interaction.response.http_version == "HTTP/2.0"
    assert [chunk.data for chunk in interaction.response.chunks] == [data for _, data in OPENAI.chunks]
    assert interaction.response.header("alt-svc") == 'h3=":443"; ma=86400'  # as the upstream sent it
    with httpx.Client(transport=ReplayTransport(str(cassette), speed=0)) as replay:
        assert replay.post("http://replay.test" + OPENAI.path, json=OPENAI.request_json).content == body(OPENAI)


def test_an_http2_stream_reset_is_recorded_as_a_cut(tmp_path: Path) -> None:
    cassette = tmp_path / "h2cut.yaml"
    with (
        H2Upstream(OPENAI, tls=server_tls(tmp_path, alpn=("h2",))) as upstream,
        Recorder(str(cassette), upstream=upstream.base_url, ssl_insecure=True) as recorder,
        httpx.Client() as client,
    ):
        upstream.speed, upstream.cut_after = 4, 2
        with pytest.raises(httpx.RemoteProtocolError):
            timed_raw(client, "POST", recorder.base_url + OPENAI.path, json={})
    [interaction] = load_cassette(str(cassette)).interactions
    assert interaction.response.ended == "cut"
    assert [chunk.data for chunk in interaction.response.chunks] == [data for _, data in OPENAI.chunks[:2]]


def test_a_brotli_stream_is_stored_decoded_chunk_by_chunk(tmp_path: Path) -> None:
    cassette = tmp_path / "br.yaml"
    compressed = brotli_exchange(ANTHROPIC)
    with (
        ScriptedUpstream(compressed, speed=0) as upstream,
        Recorder(str(cassette), upstream=upstream.base_url) as recorder,
        httpx.Client() as client,
    ):
        live = client.post(recorder.base_url + ANTHROPIC.path, json={})
    assert live.headers["content-encoding"] == "br"
    assert live.content == body(ANTHROPIC)
    [interaction] = load_cassette(str(cassette)).interactions
    assert interaction.response.header("content-encoding") is None
    assert [chunk.data for chunk in interaction.response.chunks] == [data for _, data in ANTHROPIC.chunks]
    with httpx.Client(transport=ReplayTransport(str(cassette), speed=0)) as replay:
        assert replay.post("http://replay.test" + ANTHROPIC.path, json={}).text == live.text


def read_until(client: httpx.Client, url: str, marker: bytes | None, reads: int = 10_000) -> bytes:
    """Stream a POST and hang up as soon as `marker` arrived (or after `reads` pieces)."""
    got = b""
    with client.stream("POST", url, json={}) as live:
        for n, piece in enumerate(live.iter_raw()):
            got += piece
            if (marker is not None and marker in got) or n + 1 >= reads:
                break
    return got


def wait_for_interaction(cassette: Path) -> Interaction:
    """The one interaction, once the recorder has written it (event: the file holds it)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if cassette.exists() and len(load_cassette(str(cassette))) == 1:
            return load_cassette(str(cassette)).interactions[0]
        time.sleep(0.02)
    raise AssertionError("the recorder wrote nothing within 30 s")


def test_a_client_that_hangs_up_right_after_done_leaves_a_complete_recording(tmp_path: Path) -> None:
    """The OpenAI SDK closes its connection right after `data: [DONE]`; the upstream's end
    marker comes 3 s later here, so the client is gone before it: still complete."""
    cassette = tmp_path / "done.yaml"
    with (
        ScriptedUpstream(OPENAI, speed=0) as upstream,
        Recorder(str(cassette), upstream=upstream.base_url) as recorder,
        httpx.Client() as client,
    ):
        upstream.end_delay_s = 3.0
        got = read_until(client, recorder.base_url + OPENAI.path, b"data: [DONE]\n\n")
        interaction = wait_for_interaction(cassette)
    assert got == body(OPENAI)
    assert interaction.response.ended == "complete"
    assert interaction.response.body == body(OPENAI)


def test_a_client_that_hangs_up_mid_stream_still_leaves_a_cut_recording(tmp_path: Path) -> None:
    cassette = tmp_path / "mid.yaml"
    first, *rest = OPENAI.chunks
    slow_after_first = dataclasses.replace(OPENAI, chunks=((0.0, first[1]), *((5.0, data) for _, data in rest)))
    with (
        ScriptedUpstream(slow_after_first, speed=1) as upstream,
        Recorder(str(cassette), upstream=upstream.base_url) as recorder,
        httpx.Client() as client,
    ):
        got = read_until(client, recorder.base_url + OPENAI.path, None, reads=1)  # the rest is seconds away
        interaction = wait_for_interaction(cassette)
    assert interaction.response.ended == "cut"
    assert got.startswith(interaction.response.body) or interaction.response.body.startswith(got)
