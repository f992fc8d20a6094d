"""Realtime sessions end to end with the official clients: recorded through the real recorder in
front of the protocol-exact fakes, then replayed by the replay server with the upstream stopped.

OpenAI's `client.realtime.connect` reaches plain ws://; google-genai's Live client insists on
wss:// once an API key is set, so it records through the recorder's TLS (trusting mitmproxy's
CA) and replays over the server's local TLS mode (trusting its CA), both via SSL_CERT_FILE.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from google import genai
from google.genai import errors as genai_errors
from google.genai import types
from openai import AsyncOpenAI
from websockets.exceptions import ConnectionClosedError, ConnectionClosedOK

from chunktape import Cassette, CassettePlayer, ReplayPolicy, Session, load_cassette, save_cassette
from chunktape.knobs import Fault, Split
from chunktape.recorder import Recorder
from chunktape.replay.local_tls import local_tls
from chunktape.replay.server import ReplayServer
from tests.support.fakes.realtime import (
    FAIL_CLOSE_REASON,
    GEMINI_PARTS,
    OPENAI_DELTAS,
    PCM,
    FakeRealtime,
    gemini,
    openai,
)

pytestmark = pytest.mark.timeout(120)
WAIT_S = 20.0
"""The bound on every wait for a message: far beyond any gap, so only a hang trips it."""


@dataclass
class Seen:
    """What a client saw: each message's kind and when, from the moment its question was sent."""

    kinds: list[str]
    gaps_s: list[float]
    text: str
    audio: bytes
    usage: Any = None


def _wait_for_sessions(path: Path, count: int) -> list[Session]:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        if path.exists():
            sessions = load_cassette(str(path)).sessions
            if len(sessions) >= count:
                return sessions
        time.sleep(0.02)
    raise AssertionError(f"{path} did not get {count} sessions within {WAIT_S} s")


def assert_causal_gaps(gaps_s: list[float], session: Session, answers_from: int) -> None:
    """Each server message from `answers_from` on, timed by the client from its last message,
    against the recorded gap from that message: never early (the server cannot send before it
    received the message, and waits the recorded gap after), and within a generous bound."""
    asked_at = session.client_messages()[-1].at_s
    answers = session.server_messages()[answers_from:]
    assert len(answers) == len(gaps_s)
    for gap, message in zip(gaps_s, answers, strict=True):
        recorded = message.at_s - asked_at
        if recorded > 0:  # sent before the last client message in the recording: no promise to check
            assert gap >= recorded - 0.002, (gap, recorded)
        assert gap <= max(recorded, 0) + 2.0, (gap, recorded)  # generous: precise figures in bench/


# -- OpenAI Realtime ------------------------------------------------------------------


async def openai_turn(ws_base: str, prompt: str = "こんにちは") -> Seen:
    client = AsyncOpenAI(api_key="sk-test-realtime", websocket_base_url=ws_base + "/v1")
    kinds: list[str] = []
    gaps: list[float] = []
    text, audio = "", b""
    async with client.realtime.connect(model="gpt-realtime") as connection:
        created = await asyncio.wait_for(connection.recv(), WAIT_S)
        kinds.append(created.type)
        await connection.session.update(session={"type": "realtime", "output_modalities": ["text", "audio"]})
        updated = await asyncio.wait_for(connection.recv(), WAIT_S)
        kinds.append(updated.type)
        await connection.conversation.item.create(
            item={"type": "message", "role": "user", "content": [{"type": "input_text", "text": prompt}]}
        )
        asked = time.perf_counter()  # before sending: the server cannot have it any earlier
        await connection.response.create()
        while True:
            event = await asyncio.wait_for(connection.recv(), WAIT_S)
            kinds.append(event.type)
            gaps.append(time.perf_counter() - asked)
            if event.type == "response.output_text.delta":
                text += event.delta
            elif event.type == "response.output_audio.delta":
                audio += base64.b64decode(event.delta)
            elif event.type == "response.done":
                return Seen(kinds, gaps, text, audio, event.response.usage)


@pytest.fixture(scope="module")
def openai_recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Seen]:
    cassette = tmp_path_factory.mktemp("realtime") / "openai.yaml"
    with FakeRealtime(openai) as upstream, Recorder(str(cassette), upstream=upstream.base_url) as recorder:
        seen = asyncio.run(openai_turn("ws" + recorder.base_url.removeprefix("http")))
        _wait_for_sessions(cassette, 1)
    return cassette, seen


def test_openai_recording_passes_through_unchanged(openai_recorded: tuple[Path, Seen]) -> None:
    _, seen = openai_recorded
    assert seen.text == "".join(OPENAI_DELTAS)
    assert seen.audio == PCM
    assert seen.kinds[:2] == ["session.created", "session.updated"]
    assert seen.kinds[-1] == "response.done"


def test_openai_session_is_stored_readably_with_secrets_redacted(openai_recorded: tuple[Path, Seen]) -> None:
    cassette, _ = openai_recorded
    text = cassette.read_text(encoding="utf-8")
    assert "sk-test-realtime" not in text
    assert "こんにちは" in text  # CJK as text, not escaped
    assert "type: response.output_audio.delta" in text
    (session,) = load_cassette(str(cassette)).sessions
    assert session.request.path == "/v1/realtime"
    assert session.request.url.startswith("ws://127.0.0.1:")
    assert {message.frame for message in session.messages} == {"text"}
    assert session.close is not None
    assert session.close.by == "client"


def _replay(cassette: Path, policy: ReplayPolicy | None = None, tls_dir: Path | None = None) -> ReplayServer:
    player = CassettePlayer([load_cassette(str(cassette))], policy or ReplayPolicy())
    return ReplayServer(player, tls=local_tls(str(tls_dir)) if tls_dir else None)


def test_openai_replay_gives_the_same_events_causally_timed(openai_recorded: tuple[Path, Seen]) -> None:
    cassette, recorded = openai_recorded
    with _replay(cassette) as server:
        replayed = asyncio.run(openai_turn(server.ws_url))
    assert replayed.kinds == recorded.kinds
    assert replayed.text == recorded.text
    assert replayed.audio == recorded.audio
    assert replayed.usage == recorded.usage
    assert_causal_gaps(replayed.gaps_s, load_cassette(str(cassette)).sessions[0], answers_from=2)


def test_openai_replay_at_speed_0_answers_without_waiting(openai_recorded: tuple[Path, Seen], tmp_path: Path) -> None:
    cassette, recorded = openai_recorded
    (session,) = load_cassette(str(cassette)).sessions
    asked_at = session.client_messages()[-1].at_s
    slow = dataclasses.replace(  # the answer now comes 30 s after the question: no test waits that long
        session,
        messages=tuple(dataclasses.replace(m, at_s=m.at_s + 30) if m.at_s > asked_at else m for m in session.messages),
        close=dataclasses.replace(session.close, at_s=session.close.at_s + 30) if session.close else None,
    )
    path = tmp_path / "slow.yaml"
    save_cassette(Cassette(sessions=[slow]), str(path))
    with _replay(path, ReplayPolicy(speed=0)) as server:
        replayed = asyncio.run(openai_turn(server.ws_url))
    assert replayed.kinds == recorded.kinds
    assert replayed.gaps_s[-1] < 15


def test_openai_cut_2_raises_the_sdks_connection_closed_error(openai_recorded: tuple[Path, Seen]) -> None:
    cassette, _ = openai_recorded
    policy = ReplayPolicy(speed=0, fault=Fault.parse("cut:2"))
    with _replay(cassette, policy) as server, pytest.raises(ConnectionClosedError) as caught:
        asyncio.run(openai_turn(server.ws_url))
    assert caught.value.rcvd is not None
    assert caught.value.rcvd.code == 1011
    assert "cut:2" in caught.value.rcvd.reason


@pytest.mark.parametrize("split", ["bytes:7", "utf8"])
def test_openai_sdk_reassembles_messages_sent_in_continuation_frames(
    openai_recorded: tuple[Path, Seen], split: str
) -> None:
    cassette, recorded = openai_recorded
    with _replay(cassette, ReplayPolicy(speed=0, split=Split.parse(split))) as server:
        replayed = asyncio.run(openai_turn(server.ws_url))
    assert (replayed.kinds, replayed.text, replayed.audio) == (recorded.kinds, recorded.text, recorded.audio)


def test_openai_truncate_closes_normally_before_response_done(openai_recorded: tuple[Path, Seen]) -> None:
    cassette, _ = openai_recorded
    policy = ReplayPolicy(speed=0, fault=Fault.parse("truncate"))
    # the SDK's own end of a session, not an error
    with _replay(cassette, policy) as server, pytest.raises(ConnectionClosedOK) as caught:
        asyncio.run(openai_turn(server.ws_url))
    assert caught.value.rcvd is not None
    assert caught.value.rcvd.code == 1000
    assert "truncate" in caught.value.rcvd.reason


def test_openai_mid_turn_close_replays_with_its_code_and_reason(tmp_path: Path) -> None:
    cassette = tmp_path / "openai-fail.yaml"
    with FakeRealtime(openai) as upstream, Recorder(str(cassette), upstream=upstream.base_url) as recorder:
        with pytest.raises(ConnectionClosedError) as live:
            asyncio.run(openai_turn("ws" + recorder.base_url.removeprefix("http"), prompt="please fail"))
        (session,) = _wait_for_sessions(cassette, 1)
    assert live.value.rcvd is not None
    assert (live.value.rcvd.code, live.value.rcvd.reason) == (1011, FAIL_CLOSE_REASON)
    assert session.close is not None
    assert (session.close.by, session.close.code, session.close.reason) == ("server", 1011, FAIL_CLOSE_REASON)
    with _replay(cassette) as server, pytest.raises(ConnectionClosedError) as replayed:
        asyncio.run(openai_turn(server.ws_url, prompt="please fail"))
    assert replayed.value.rcvd is not None
    assert (replayed.value.rcvd.code, replayed.value.rcvd.reason) == (1011, FAIL_CLOSE_REASON)


def test_a_handshake_miss_is_a_404_naming_the_closest_session(openai_recorded: tuple[Path, Seen]) -> None:
    import httpx

    cassette, _ = openai_recorded
    with _replay(cassette) as server:
        answer = httpx.get(
            server.base_url + "/v1/other?model=gpt-realtime",
            headers={
                "connection": "Upgrade",
                "upgrade": "websocket",
                "sec-websocket-version": "13",
                "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
            },
            timeout=WAIT_S,
        )
    assert answer.status_code == 404
    error = answer.json()["error"]
    assert "/v1/realtime" in error["closest"]
    assert any("path" in difference for difference in error["differences"])


def test_a_client_message_off_the_recording_closes_with_1008_naming_it(openai_recorded: tuple[Path, Seen]) -> None:
    cassette, _ = openai_recorded
    with _replay(cassette) as server, pytest.raises(ConnectionClosedError) as caught:
        asyncio.run(openai_turn(server.ws_url, prompt="something never recorded"))
    assert caught.value.rcvd is not None
    assert caught.value.rcvd.code == 1008
    assert "client message #2" in caught.value.rcvd.reason


# -- Gemini Live ----------------------------------------------------------------------


async def gemini_turn(base_url: str, prompt: str = "你好") -> Seen:
    client = genai.Client(
        api_key="AIzaSyTestTestTestTestTestTestTestTest00", http_options=types.HttpOptions(base_url=base_url)
    )
    config = types.LiveConnectConfig(response_modalities=[types.Modality.AUDIO])
    kinds: list[str] = []
    gaps: list[float] = []
    text, audio = "", b""
    async with client.aio.live.connect(model="gemini-live-test", config=config) as session:
        turn = types.Content(role="user", parts=[types.Part(text=prompt)])
        asked = time.perf_counter()
        await session.send_client_content(turns=turn, turn_complete=True)
        receiving = session.receive()
        while True:
            try:
                message = await asyncio.wait_for(anext(receiving), WAIT_S)
            except StopAsyncIteration:
                break
            gaps.append(time.perf_counter() - asked)
            content = message.server_content
            assert content is not None
            if content.model_turn is not None and content.model_turn.parts:
                part = content.model_turn.parts[0]
                if part.text:
                    kinds.append("text")
                    text += part.text
                elif part.inline_data is not None and part.inline_data.data:
                    kinds.append("audio")
                    audio += part.inline_data.data
            elif content.generation_complete:
                kinds.append("generationComplete")
            elif content.turn_complete:
                kinds.append("turnComplete")
                return Seen(kinds, gaps, text, audio, message.usage_metadata)
    return Seen(kinds, gaps, text, audio)


@pytest.fixture(scope="module")
def gemini_recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Seen, Path]:
    directory = tmp_path_factory.mktemp("realtime-gemini")
    cassette = directory / "gemini.yaml"
    with (
        pytest.MonkeyPatch.context() as env,
        FakeRealtime(gemini) as upstream,
        Recorder(str(cassette), upstream=upstream.base_url) as recorder,
    ):
        assert recorder.tls_ca_path is not None
        env.setenv("SSL_CERT_FILE", recorder.tls_ca_path)  # trust the recorder for this test only
        seen = asyncio.run(gemini_turn(recorder.base_url.replace("http://", "https://")))
        _wait_for_sessions(cassette, 1)
    return cassette, seen, directory / "tls"


def test_gemini_recording_passes_through_and_keeps_binary_json_frames(gemini_recorded: tuple[Path, Seen, Path]) -> None:
    cassette, seen, _ = gemini_recorded
    assert seen.text == "".join(GEMINI_PARTS)
    assert seen.audio == PCM
    assert seen.kinds[-2:] == ["generationComplete", "turnComplete"]
    (session,) = load_cassette(str(cassette)).sessions
    server = session.server_messages()
    assert {message.frame for message in server} == {"binary"}
    assert {message.frame for message in session.client_messages()} == {"text"}
    text = cassette.read_text(encoding="utf-8")
    assert "setupComplete: {}" in text  # binary frames of JSON, stored as structure
    assert "你好！" in text
    assert "AIzaSyTest" not in text


def test_gemini_replay_over_local_tls_gives_the_same_turn(
    gemini_recorded: tuple[Path, Seen, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    cassette, recorded, tls_dir = gemini_recorded
    with _replay(cassette, tls_dir=tls_dir) as server:
        assert server.base_url.startswith("https://")
        monkeypatch.setenv("SSL_CERT_FILE", str(tls_dir / "ca.pem"))
        replayed = asyncio.run(gemini_turn(server.base_url))
    assert replayed.kinds == recorded.kinds
    assert replayed.text == recorded.text
    assert replayed.audio == recorded.audio
    assert replayed.usage == recorded.usage
    assert_causal_gaps(replayed.gaps_s, load_cassette(str(cassette)).sessions[0], answers_from=1)


def test_gemini_cut_2_raises_the_sdks_own_error(
    gemini_recorded: tuple[Path, Seen, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    cassette, _, tls_dir = gemini_recorded
    with _replay(cassette, ReplayPolicy(speed=0, fault=Fault.parse("cut:2")), tls_dir=tls_dir) as server:
        monkeypatch.setenv("SSL_CERT_FILE", str(tls_dir / "ca.pem"))
        with pytest.raises(genai_errors.APIError) as caught:
            asyncio.run(gemini_turn(server.base_url))
    assert caught.value.code == 1011
    assert "cut:2" in str(caught.value)


def test_gemini_sdk_reassembles_binary_messages_sent_in_continuation_frames_over_tls(
    gemini_recorded: tuple[Path, Seen, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    cassette, recorded, tls_dir = gemini_recorded
    with _replay(cassette, ReplayPolicy(speed=0, split=Split.parse("bytes:7")), tls_dir=tls_dir) as server:
        monkeypatch.setenv("SSL_CERT_FILE", str(tls_dir / "ca.pem"))
        replayed = asyncio.run(gemini_turn(server.base_url))
    assert (replayed.kinds, replayed.text, replayed.audio) == (recorded.kinds, recorded.text, recorded.audio)


def test_gemini_truncate_ends_the_turn_before_turn_complete_with_a_normal_close(
    gemini_recorded: tuple[Path, Seen, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    cassette, _, tls_dir = gemini_recorded
    with _replay(cassette, ReplayPolicy(speed=0, fault=Fault.parse("truncate")), tls_dir=tls_dir) as server:
        monkeypatch.setenv("SSL_CERT_FILE", str(tls_dir / "ca.pem"))
        with pytest.raises(genai_errors.APIError) as caught:  # google-genai raises on any close mid-receive
            asyncio.run(gemini_turn(server.base_url))
    assert caught.value.code == 1000
    assert "truncate" in str(caught.value)


def test_an_in_memory_cassette_of_sessions_needs_no_file() -> None:
    assert Cassette(sessions=[]).sessions == []


def test_gemini_mid_turn_1011_is_recorded_and_replayed_with_its_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cassette = tmp_path / "gemini-fail.yaml"
    with FakeRealtime(gemini) as upstream, Recorder(str(cassette), upstream=upstream.base_url) as recorder:
        assert recorder.tls_ca_path is not None
        monkeypatch.setenv("SSL_CERT_FILE", recorder.tls_ca_path)
        with pytest.raises(genai_errors.APIError) as live:
            asyncio.run(gemini_turn(recorder.base_url.replace("http://", "https://"), prompt="please fail"))
        (session,) = _wait_for_sessions(cassette, 1)
    assert session.close is not None
    assert (session.close.by, session.close.code, session.close.reason) == ("server", 1011, FAIL_CLOSE_REASON)
    with _replay(cassette, tls_dir=tmp_path / "tls") as server:
        monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "tls" / "ca.pem"))
        with pytest.raises(genai_errors.APIError) as replayed:
            asyncio.run(gemini_turn(server.base_url, prompt="please fail"))
    assert replayed.value.code == live.value.code == 1011
    assert FAIL_CLOSE_REASON in str(replayed.value)
