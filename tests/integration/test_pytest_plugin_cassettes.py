"""Several cassettes per test, and normalizers on the marker and in ini, as users write them."""

from __future__ import annotations

import shutil
from pathlib import Path

import anthropic
import httpx2
import openai
import pytest

from tests.support.fakes.upstream import FakeUpstream

pytest_plugins = ["pytester"]

SDKS = (anthropic, httpx2, openai)  # imported here so pytester's in-process runs reuse them
ROOT = Path(__file__).resolve().parents[2]
INI = """
[pytest]
asyncio_default_fixture_loop_scope = function
addopts = -p no:cacheprovider
"""
ASK = """
import anthropic
import httpx2
import openai

PROMPT = "用中文打个招呼，再提一下 OpenAI。"


def ask_openai(base_url=None, transport=None):
    http = httpx2.Client(transport=transport) if transport else None
    client = openai.OpenAI(api_key="sk-test", base_url=base_url or "http://api.openai.test/v1", http_client=http, max_retries=0)
    stream = client.chat.completions.create(
        model="gpt-4o-mini", stream=True, messages=[{"role": "user", "content": PROMPT}],
        stream_options={"include_usage": True},
    )
    return "".join(c.choices[0].delta.content or "" for c in stream if c.choices)


def ask_anthropic(base_url=None, transport=None, content=None):
    http = httpx2.Client(transport=transport) if transport else None
    client = anthropic.Anthropic(api_key="sk-ant-test", base_url=base_url or "http://api.anthropic.test", http_client=http, max_retries=0)
    with client.messages.stream(
        model="claude-sonnet-4-6", max_tokens=256,
        messages=[{"role": "user", "content": content or "Greet the world in French, then continue in Chinese."}],
    ) as stream:
        return "".join(stream.text_stream)
"""


def project(pytester: pytest.Pytester, **placed: str) -> None:
    pytester.makeini(INI)
    pytester.makepyfile(ask=ASK)
    for relative, name in placed.items():
        target = pytester.path / "cassettes" / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / "cassettes" / f"{name}.yaml", target)


def test_two_cassettes_are_served_together_at_one_base_url_and_in_process(pytester: pytest.Pytester) -> None:
    project(pytester, **{"llm.yaml": "openai_chat", "other.yaml": "anthropic_messages"})
    pytester.makepyfile(
        test_two="""
        import pytest
        from ask import ask_anthropic, ask_openai

        @pytest.mark.chunktape("llm.yaml", "other.yaml", speed=0)
        def test_base_url(chunktape):
            assert "你好" in ask_openai(chunktape.base_url + "/v1")
            assert ask_anthropic(chunktape.base_url)

        @pytest.mark.chunktape("llm.yaml", "other.yaml", speed=0)
        def test_in_process(chunktape):
            assert "你好" in ask_openai(transport=chunktape.transport())
            assert ask_anthropic(transport=chunktape.transport())
        """
    )
    pytester.runpytest().assert_outcomes(passed=2)


def test_a_miss_searches_every_cassette_of_the_test(pytester: pytest.Pytester) -> None:
    project(pytester, **{"llm.yaml": "openai_chat", "other.yaml": "anthropic_messages"})
    pytester.makepyfile(
        test_miss="""
        import pytest
        from ask import ask_anthropic

        @pytest.mark.chunktape("llm.yaml", "other.yaml", speed=0)
        def test_miss(chunktape):
            ask_anthropic(chunktape.base_url, content="something else")
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*no recorded interaction matches POST /v1/messages in */llm.yaml, */other.yaml;*"])
    result.stdout.fnmatch_lines(["*other.yaml #1: POST /v1/messages*"])


def test_a_missing_second_cassette_is_named_and_never_recorded(pytester: pytest.Pytester) -> None:
    project(pytester, **{"llm.yaml": "openai_chat"})
    pytester.makepyfile(
        test_missing="""
        import pytest

        @pytest.mark.chunktape("llm.yaml", "mcp.yaml", upstream="http://127.0.0.1:9", record_mode="once")
        def test_it(chunktape):
            pass
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*/mcp.yaml: no such cassette; only the first path of @pytest.mark.chunktape*"])


def test_new_episodes_records_into_the_first_path_named(pytester: pytest.Pytester) -> None:
    project(pytester, **{"llm.yaml": "openai_chat", "other.yaml": "anthropic_messages"})
    other_before = (pytester.path / "cassettes" / "other.yaml").read_bytes()
    upstream = FakeUpstream(speed=0).start()
    try:
        pytester.makepyfile(
            test_more=f"""
            import pytest
            from openai import OpenAI
            from ask import ask_anthropic, ask_openai

            @pytest.mark.chunktape("llm.yaml", "other.yaml", upstream={upstream.base_url!r}, speed=0)
            def test_more(chunktape):
                assert ask_openai(chunktape.base_url + "/v1")
                assert ask_anthropic(chunktape.base_url)
                client = OpenAI(api_key="sk-test", base_url=chunktape.base_url + "/v1", max_retries=0)
                answer = client.responses.create(model="gpt-4.1-mini", input="Say hello to the world, half in Chinese.", stream=True)
                assert [event.type for event in answer][-1] == "response.completed"
            """
        )
        result = pytester.runpytest("--chunktape-record-mode=new_episodes")
        result.assert_outcomes(passed=1)
        assert [request.path_only for request in upstream.requests] == ["/v1/responses"]
    finally:
        upstream.stop()
    assert "/v1/responses" in (pytester.path / "cassettes" / "llm.yaml").read_text()
    assert (pytester.path / "cassettes" / "other.yaml").read_bytes() == other_before


def test_normalize_on_the_marker_and_in_ini(pytester: pytest.Pytester) -> None:
    """The recorded prompt holds a uuid and a time; the live one others: normalized, they match."""
    project(pytester, **{"llm.yaml": "openai_chat"})
    cassette = pytester.path / "cassettes" / "llm.yaml"
    recorded = "用中文打个招呼，再提一下 OpenAI。"
    stamped = f"{recorded} 3f1c2a9e-0b7d-4c55-9a11-2b3c4d5e6f70 2026-12-06T07:51:21.507171+00:00"
    cassette.write_text(cassette.read_text(encoding="utf-8").replace(recorded, stamped), encoding="utf-8")
    body = """
        import uuid, datetime
        import pytest
        import ask

        {marker}
        def test_live_values(chunktape):
            ask.PROMPT = f"用中文打个招呼，再提一下 OpenAI。 {{uuid.uuid4()}} {{datetime.datetime.now(datetime.UTC).isoformat()}}"
            assert "你好" in ask.ask_openai(chunktape.base_url + "/v1")
        """
    pytester.makepyfile(
        test_marker=body.format(marker='@pytest.mark.chunktape("llm.yaml", speed=0, normalize=["uuid", "timestamp"])')
    )
    pytester.makepyfile(test_plain=body.format(marker='@pytest.mark.chunktape("llm.yaml", speed=0)'))
    pytester.runpytest("test_marker.py").assert_outcomes(passed=1)
    pytester.runpytest("test_plain.py").assert_outcomes(failed=1)
    pytester.makeini(INI + "chunktape_normalize = uuid timestamp\n")
    pytester.runpytest("test_plain.py").assert_outcomes(passed=1)
