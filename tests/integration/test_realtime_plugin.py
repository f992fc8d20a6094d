"""The pytest plugin serves realtime sessions: `chunktape.ws_url`, recorded once, then replayed."""

from __future__ import annotations

import pytest

from tests.integration.test_pytest_plugin import ASYNCIO_ONLY, INI
from tests.support.fakes.realtime import FakeRealtime, openai

pytest_plugins = ["pytester"]

TEST_FILE = """
import asyncio

import pytest
from openai import AsyncOpenAI

pytestmark = pytest.mark.chunktape(upstream={upstream!r})


async def turn(ws_url):
    client = AsyncOpenAI(api_key="sk-live-secret", websocket_base_url=ws_url + "/v1")
    text = ""
    async with client.realtime.connect(model="gpt-realtime") as connection:
        await asyncio.wait_for(connection.recv(), 20)
        await connection.conversation.item.create(
            item={{"type": "message", "role": "user", "content": [{{"type": "input_text", "text": "hi"}}]}}
        )
        await connection.response.create()
        while True:
            event = await asyncio.wait_for(connection.recv(), 20)
            if event.type == "response.output_text.delta":
                text += event.delta
            if event.type == "response.done":
                return text


def test_realtime(chunktape):
    assert asyncio.run(turn(chunktape.ws_url)) == "こんにちは、リアルタイムです。"
    print("RECORDING" if chunktape.recording else "REPLAYING")
"""


def test_a_realtime_session_records_once_then_replays_with_the_upstream_gone(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI)
    pytester.makeconftest(ASYNCIO_ONLY)
    with FakeRealtime(openai) as upstream:
        pytester.makepyfile(test_live=TEST_FILE.format(upstream=upstream.base_url))
        first = pytester.runpytest_subprocess("--chunktape-record-mode=once", "-s")
        first.assert_outcomes(passed=1)
        first.stdout.fnmatch_lines(["*RECORDING*"])
    recorded = pytester.path / "cassettes" / "test_live" / "test_realtime.yaml"
    text = recorded.read_text(encoding="utf-8")
    assert "- session:" in text
    assert "sk-live-secret" not in text
    second = pytester.runpytest_subprocess("--chunktape-record-mode=none", "-s")
    second.assert_outcomes(passed=1)
    second.stdout.fnmatch_lines(["*REPLAYING*"])
