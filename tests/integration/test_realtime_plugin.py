"""The pytest plugin serves realtime sessions: `chunktape.ws_url`, recorded once, a missing
session forwarded to the recorder in new_episodes, then all replayed with the upstream gone."""

from __future__ import annotations

import pytest

from chunktape import load_cassette
from tests.integration.test_pytest_plugin import ASYNCIO_ONLY, INI
from tests.support.fakes.realtime import FakeRealtime, openai

pytest_plugins = ["pytester"]

EPISODES_FILE = """
import asyncio

import pytest
from openai import AsyncOpenAI

pytestmark = pytest.mark.chunktape(upstream={upstream!r})
MODELS = {models!r}


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


def test_realtime(chunktape):
    for model in MODELS:
        assert asyncio.run(turn(chunktape.ws_url, model)) == "こんにちは、リアルタイムです。"
    print("RECORDING" if chunktape.player is None else "REPLAYING")
"""


def test_a_session_records_once_new_episodes_records_a_missing_one_then_both_replay_with_the_upstream_gone(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeini(INI)
    pytester.makeconftest(ASYNCIO_ONLY)
    recorded = pytester.path / "cassettes" / "test_episodes" / "test_realtime.yaml"
    with FakeRealtime(openai) as upstream:
        pytester.makepyfile(test_episodes=EPISODES_FILE.format(upstream=upstream.base_url, models=["gpt-realtime"]))
        first = pytester.runpytest_subprocess("--chunktape-record-mode=once", "-s")
        first.assert_outcomes(passed=1)
        first.stdout.fnmatch_lines(["*RECORDING*"])
        assert len(load_cassette(str(recorded)).sessions) == 1
        assert "sk-live-secret" not in recorded.read_text(encoding="utf-8")
        both = ["gpt-realtime", "gpt-realtime-mini"]
        pytester.makepyfile(test_episodes=EPISODES_FILE.format(upstream=upstream.base_url, models=both))
        pytester.runpytest_subprocess("--chunktape-record-mode=new_episodes").assert_outcomes(passed=1)
    sessions = load_cassette(str(recorded)).sessions
    assert [session.request.query for session in sessions] == ["model=gpt-realtime", "model=gpt-realtime-mini"]
    assert sessions[1].close is not None
    assert sessions[1].close.by == "client"
    assert len(sessions[1].server_messages()) == 7  # session.created, then the turn's 6 events
    # the upstream is gone: both sessions now replay from the cassette
    last = pytester.runpytest_subprocess("--chunktape-record-mode=none", "-s")
    last.assert_outcomes(passed=1)
    last.stdout.fnmatch_lines(["*REPLAYING*"])
