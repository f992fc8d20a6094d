"""The pytest plugin serves realtime sessions: `chunktape.ws_url` recorded, a missing session
forwarded to the recorder in new_episodes, then all replayed with the upstream gone; and
`tls=True` for clients that insist on wss://."""

from __future__ import annotations

import pytest

from chunktape import load_cassette
from tests.integration.test_pytest_plugin import ASYNCIO_ONLY, INI
from tests.support.fakes.realtime import FakeRealtime, gemini, openai

pytest_plugins = ["pytester"]
pytestmark = pytest.mark.timeout(300)  # pytest subprocesses with the recorder: slow on a loaded machine

EPISODES_FILE = """
import asyncio

import pytest
from openai import AsyncOpenAI

pytestmark = pytest.mark.chunktape("realtime.yaml", upstream={upstream!r})
REPLY = "こんにちは、リアルタイムです。"


async def turn(ws_url, model):
    client = AsyncOpenAI(api_key="sk-live-secret", websocket_base_url=ws_url + "/v1")
    text = ""
    async with client.realtime.connect(model=model) as connection:
        await asyncio.wait_for(connection.recv(), 20)
        await connection.response.create()
        while True:
            event = await asyncio.wait_for(connection.recv(), 20)
            if event.type == "response.output_text.delta":
                text += event.delta
            if event.type == "response.done":
                return text


def test_1_one_session(chunktape):
    assert asyncio.run(turn(chunktape.ws_url, "gpt-realtime")) == REPLY
    print("RECORDING" if chunktape.player is None else "REPLAYING", "test_1")


def test_2_that_session_and_another(chunktape):
    for model in ("gpt-realtime", "gpt-realtime-mini"):
        assert asyncio.run(turn(chunktape.ws_url, model)) == REPLY
    print("RECORDING" if chunktape.player is None else "REPLAYING", "test_2")
"""


def test_new_episodes_records_a_missing_session_through_the_recorder_then_all_replay_with_the_upstream_gone(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeini(INI)
    pytester.makeconftest(ASYNCIO_ONLY)
    recorded = pytester.path / "cassettes" / "realtime.yaml"
    with FakeRealtime(openai) as upstream:
        pytester.makepyfile(test_episodes=EPISODES_FILE.format(upstream=upstream.base_url))
        # test_1 finds no cassette and records; test_2 replays that session and records the other
        first = pytester.runpytest_subprocess("--chunktape-record-mode=new_episodes", "-s", "-p", "no:randomly")
        first.assert_outcomes(passed=2)
        first.stdout.fnmatch_lines(["*RECORDING test_1*", "*REPLAYING test_2*"])
    sessions = load_cassette(str(recorded)).sessions
    assert [session.request.query for session in sessions] == ["model=gpt-realtime", "model=gpt-realtime-mini"]
    assert sessions[1].close is not None
    assert sessions[1].close.by == "client"
    assert len(sessions[1].server_messages()) == 7  # session.created, then the turn's 6 events
    assert "sk-live-secret" not in recorded.read_text(encoding="utf-8")
    # the upstream is gone: every session now replays from the cassette
    last = pytester.runpytest_subprocess("--chunktape-record-mode=none", "-s", "-p", "no:randomly")
    last.assert_outcomes(passed=2)
    last.stdout.fnmatch_lines(["*REPLAYING test_1*", "*REPLAYING test_2*"])


LIVE_FILE = """
import asyncio
import os

import pytest
from google import genai
from google.genai import types

pytestmark = pytest.mark.chunktape("live.yaml", upstream={upstream!r}, tls=True)


async def turn():
    client = genai.Client(api_key="AIzaSyTestTestTestTestTestTestTestTest00")  # base URL from the environment
    config = types.LiveConnectConfig(response_modalities=[types.Modality.AUDIO])
    text = ""
    async with client.aio.live.connect(model="gemini-live-test", config=config) as session:
        turn = types.Content(role="user", parts=[types.Part(text="你好")])
        await session.send_client_content(turns=turn, turn_complete=True)
        async for message in session.receive():
            model_turn = message.server_content.model_turn if message.server_content else None
            text += "".join(part.text or "" for part in (model_turn.parts or [])) if model_turn else ""
    return text


def check(chunktape):
    assert chunktape.ws_url.startswith("wss://127.0.0.1:")
    assert os.environ["SSL_CERT_FILE"] == chunktape.ca_cert_path
    assert asyncio.run(asyncio.wait_for(turn(), 20)) == "你好！这是实时会话的回答。"


def test_1_records_over_the_recorders_tls(chunktape):
    assert chunktape.player is None
    check(chunktape)


def test_2_replays_over_the_plugins_tls_server(chunktape):
    assert chunktape.player is not None
    check(chunktape)
"""


def test_tls_true_gives_a_live_client_wss_with_its_ca_trusted_through_ssl_cert_file(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI)
    pytester.makeconftest(ASYNCIO_ONLY)
    with FakeRealtime(gemini) as upstream:
        pytester.makepyfile(test_live=LIVE_FILE.format(upstream=upstream.base_url))
        result = pytester.runpytest_subprocess("--chunktape-record-mode=once", "-p", "no:randomly")
    result.assert_outcomes(passed=2)
    (session,) = load_cassette(str(pytester.path / "cassettes" / "live.yaml")).sessions
    assert session.request.path.endswith(".BidiGenerateContent")
