"""Zero code changes: an app that builds its own SDK clients records and replays under the
pytest plugin, with nothing but `@pytest.mark.chunktape("app.yaml")` on its test.

The fakes stand in for the providers; the test environment's proxy variables point at a
dead port, so the fakes are reachable only through chunktape's recorder (which sets its
own proxy variables for the test). The replay runs with the fakes stopped.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from chunktape import load_cassette
from chunktape.errors import KnobError
from chunktape.pytest_plugin.config import resolve
from chunktape.pytest_plugin.environment import (
    SDK_VARIABLES,
    SdkVariable,
    base_url_changes,
    changed_environment,
    parse_variables,
)
from tests.support.fakes.upstream import FakeUpstream
from tests.support.fakes.wire import EXCHANGES

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[2]

OPENAI, ANTHROPIC, GEMINI = EXCHANGES["openai_chat"], EXCHANGES["anthropic_messages"], EXCHANGES["gemini_stream"]
DEAD_PROXY = "http://127.0.0.1:9"  # the discard port: nothing listens, so a direct request fails

APP = f"""
import anthropic
import openai
from google import genai


def stream_all():
    \"\"\"The app's own code: every client built here, with no base URL.\"\"\"
    texts = []
    chat = openai.OpenAI().chat.completions.create(
        model={OPENAI.request_json["model"]!r},
        messages={OPENAI.request_json["messages"]!r},
        stream=True,
        stream_options={OPENAI.request_json["stream_options"]!r},
    )
    texts.append("".join(c.choices[0].delta.content or "" for c in chat if c.choices))
    with anthropic.Anthropic().messages.stream(
        model={ANTHROPIC.request_json["model"]!r},
        max_tokens={ANTHROPIC.request_json["max_tokens"]!r},
        messages={ANTHROPIC.request_json["messages"]!r},
    ) as stream:
        texts.append("".join(stream.text_stream))
    client = genai.Client(api_key="gemini-test-key")
    gemini = client.models.generate_content_stream(
        model="gemini-2.5-flash", contents={GEMINI.request_json["contents"][0]["parts"][0]["text"]!r}
    )
    texts.append("".join(chunk.text or "" for chunk in gemini))
    return texts
"""

TEST_APP = f"""
import pytest

from app import stream_all


@pytest.mark.chunktape("app.yaml")
def test_the_app_streams_from_three_providers():
    assert stream_all() == {[OPENAI.text, ANTHROPIC.text, GEMINI.text]!r}


def test_without_chunktape_the_environment_is_untouched():
    import os
    assert os.environ.get("OPENAI_BASE_URL", "").endswith("/v1")
"""

# Which variables differ from the session's start while each test runs, and after its
# teardown (the chunktape fixture's included).
CONFTEST = """
import json
import os
import shutil

import pytest

BEFORE = dict(os.environ)


def changed():
    names = set(BEFORE) | set(os.environ)
    return sorted(k for k in names if BEFORE.get(k) != os.environ.get(k) and k != "PYTEST_CURRENT_TEST")


def note(item, when):
    with open("env-changes.jsonl", "a") as out:
        out.write(json.dumps({"test": item.name, "when": when, "changed": changed()}) + "\\n")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    note(item, "during")
    return (yield)


@pytest.hookimpl(wrapper=True, trylast=True)
def pytest_runtest_teardown(item, nextitem):
    result = yield
    note(item, "after")
    return result
"""


@pytest.fixture
def provider_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeUpstream]:
    """The fakes, named by the SDKs' own variables (as a gateway would be), reachable only
    through a proxy: the configured one is dead."""
    with FakeUpstream(speed=0) as upstream:
        monkeypatch.setenv("OPENAI_BASE_URL", upstream.base_url + "/v1")
        monkeypatch.setenv("ANTHROPIC_BASE_URL", upstream.base_url)
        monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", upstream.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-secret")
        monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-not-secret")
        for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
            monkeypatch.setenv(name, DEAD_PROXY)
        for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy", "SSL_CERT_FILE"):
            monkeypatch.delenv(name, raising=False)
        yield upstream


def _environment_changes(pytester: pytest.Pytester) -> dict[tuple[str, str], list[str]]:
    """(test name, "during" or "after") -> the variables that differed from the session's start."""
    path = pytester.path / "env-changes.jsonl"
    notes = [json.loads(line) for line in path.read_text().splitlines()]
    path.unlink()
    return {(note["test"], note["when"]): note["changed"] for note in notes}


APP_TEST, PLAIN_TEST = (
    "test_the_app_streams_from_three_providers",
    "test_without_chunktape_the_environment_is_untouched",
)
PROXY_AND_CA = [
    "CURL_CA_BUNDLE", "HTTPS_PROXY", "HTTP_PROXY", "NODE_EXTRA_CA_CERTS", "NODE_USE_ENV_PROXY",
    "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "http_proxy", "https_proxy",
]  # fmt: skip
SDK_AND_BYPASS = ["ANTHROPIC_BASE_URL", "GOOGLE_GEMINI_BASE_URL", "NO_PROXY", "OPENAI_BASE_URL", "no_proxy"]


def test_an_app_that_builds_its_own_clients_records_and_replays_with_only_the_marker(
    pytester: pytest.Pytester, provider_environment: FakeUpstream
) -> None:
    pytester.makeini("[pytest]\naddopts = -p no:cacheprovider -p no:randomly\n")
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(app=APP, test_app=TEST_APP)
    upstream = provider_environment

    recorded = pytester.runpytest_subprocess("--chunktape-record-mode=once", timeout=120)
    recorded.assert_outcomes(passed=2)
    assert len(upstream.requests) == 3  # each provider once, through the recorder
    cassette = load_cassette(str(pytester.path / "cassettes" / "app.yaml"))
    urls = [interaction.request.url for interaction in cassette.interactions]
    assert len(urls) == 3
    assert all(url.startswith(upstream.base_url + "/") for url in urls), urls
    assert _environment_changes(pytester) == {
        (APP_TEST, "during"): PROXY_AND_CA,  # recording: everything through the forward proxy
        (APP_TEST, "after"): [],
        (PLAIN_TEST, "during"): [],
        (PLAIN_TEST, "after"): [],
    }

    upstream.stop()
    replayed = pytester.runpytest_subprocess(timeout=120)
    replayed.assert_outcomes(passed=2)
    assert len(upstream.requests) == 3  # nothing more reached the (stopped) fakes
    assert _environment_changes(pytester) == {
        (APP_TEST, "during"): SDK_AND_BYPASS,  # replaying: the SDKs at the replay server, off the proxy
        (APP_TEST, "after"): [],
        (PLAIN_TEST, "during"): [],
        (PLAIN_TEST, "after"): [],
    }


def test_env_false_leaves_the_sdk_variables_alone(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "https://gateway.example/openai/v1")
    pytester.makeini("[pytest]\naddopts = -p no:cacheprovider\nchunktape_env_vars = MISTRAL_BASE_URL=/v1\n")
    pytester.makepyfile(
        test_env="""
        import os
        import pytest

        @pytest.mark.chunktape("c.yaml")
        def test_pointed(chunktape):
            assert os.environ["OPENAI_BASE_URL"] == chunktape.base_url + "/openai/v1"
            assert os.environ["ANTHROPIC_BASE_URL"] == chunktape.base_url
            assert os.environ["MISTRAL_BASE_URL"] == chunktape.base_url + "/v1"

        @pytest.mark.chunktape("c.yaml", env=False)
        def test_not_pointed(chunktape):
            assert os.environ["OPENAI_BASE_URL"] == "https://gateway.example/openai/v1"
            assert "MISTRAL_BASE_URL" not in os.environ
        """
    )
    (pytester.path / "cassettes").mkdir()
    (pytester.path / "cassettes" / "c.yaml").write_text("version: 1\ninteractions: []\n")
    result = pytester.runpytest()
    result.assert_outcomes(passed=2)
    assert os.environ["OPENAI_BASE_URL"] == "https://gateway.example/openai/v1"
    assert "MISTRAL_BASE_URL" not in os.environ


# ---------------------------------------------------------------- the pure parts


def test_each_variable_keeps_its_own_path_under_chunktape() -> None:
    changes = base_url_changes("http://127.0.0.1:5/_chunktape/ab", SDK_VARIABLES, {})
    assert changes == {
        "OPENAI_BASE_URL": "http://127.0.0.1:5/_chunktape/ab/v1",
        "ANTHROPIC_BASE_URL": "http://127.0.0.1:5/_chunktape/ab",
        "GOOGLE_GEMINI_BASE_URL": "http://127.0.0.1:5/_chunktape/ab",
    }
    gateway = base_url_changes("http://h:1", SDK_VARIABLES, {"OPENAI_BASE_URL": "https://gw.example/oa/v2/"})
    assert gateway["OPENAI_BASE_URL"] == "http://h:1/oa/v2"


def test_a_configured_proxy_is_bypassed_for_chunktape_only() -> None:
    environ = {"HTTPS_PROXY": "http://corp:3128", "NO_PROXY": "internal.example"}
    changes = base_url_changes("http://127.0.0.1:5", (), environ)
    assert changes == {"NO_PROXY": "internal.example,127.0.0.1", "no_proxy": "127.0.0.1"}
    assert base_url_changes("http://127.0.0.1:5", (), {}) == {}  # no proxy: nothing to bypass


def test_the_environment_is_put_back_even_when_the_test_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHUNKTAPE_T_KEPT", "old")
    monkeypatch.delenv("CHUNKTAPE_T_NEW", raising=False)
    seen: list[tuple[str | None, str | None]] = []

    def failing_test() -> None:
        with changed_environment({"CHUNKTAPE_T_KEPT": None, "CHUNKTAPE_T_NEW": "x"}):
            seen.append((os.environ.get("CHUNKTAPE_T_KEPT"), os.environ.get("CHUNKTAPE_T_NEW")))
            raise RuntimeError

    with pytest.raises(RuntimeError):
        failing_test()
    assert seen == [(None, "x")]
    assert os.environ["CHUNKTAPE_T_KEPT"] == "old"
    assert "CHUNKTAPE_T_NEW" not in os.environ


def test_extra_variables_are_read_from_ini_lines() -> None:
    assert parse_variables(["MISTRAL_BASE_URL=/v1", "COHERE_BASE_URL  GROQ_BASE_URL=/openai/v1"]) == (
        SdkVariable("MISTRAL_BASE_URL", "/v1"),
        SdkVariable("COHERE_BASE_URL"),
        SdkVariable("GROQ_BASE_URL", "/openai/v1"),
    )
    with pytest.raises(KnobError, match=r"chunktape_env_vars: bad entry 'MISTRAL_BASE_URL=v1'; write NAME"):
        parse_variables(["MISTRAL_BASE_URL=v1"])


# A client built at import time: it read its base URL before any test began.
EARLY_APP = """
import openai

CLIENT = openai.OpenAI(api_key="sk-test-not-secret", max_retries=0)
ASYNC_CLIENT = openai.AsyncOpenAI(api_key="sk-test-not-secret", max_retries=0)


async def ask_async(prompt):
    stream = await ASYNC_CLIENT.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": prompt}],
        stream=True,
        stream_options={"include_usage": True},
    )
    return "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])


def ask(prompt):
    stream = CLIENT.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": prompt}],
        stream=True,
        stream_options={"include_usage": True},
    )
    return "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
"""

EARLY_TEST = f"""
import httpx
import httpx2
import pytest

from early_app import ask, ask_async

ORIGINAL = (httpx.HTTPTransport.handle_request, httpx2.HTTPTransport.handle_request,
            httpx2.AsyncHTTPTransport.handle_async_request)


@pytest.mark.chunktape("openai_chat.yaml")
def test_the_environment_cannot_reach_a_client_built_at_import_time():
    with pytest.raises(Exception):  # it goes to api.openai.com, which the sandbox cannot reach
        ask({OPENAI.request_json["messages"][0]["content"]!r})


@pytest.mark.chunktape("openai_chat.yaml")
def test_the_escape_hatch_reaches_it(chunktape_route_httpx):
    assert ask({OPENAI.request_json["messages"][0]["content"]!r}) == {OPENAI.text!r}


@pytest.mark.chunktape("openai_chat.yaml")
def test_the_escape_hatch_reaches_an_async_client_too(chunktape_route_httpx):
    import asyncio

    assert asyncio.run(ask_async({OPENAI.request_json["messages"][0]["content"]!r})) == {OPENAI.text!r}


def test_the_transports_are_put_back_after_the_test():
    assert (httpx.HTTPTransport.handle_request, httpx2.HTTPTransport.handle_request,
            httpx2.AsyncHTTPTransport.handle_async_request) == ORIGINAL
"""


def test_a_client_built_before_the_test_is_reached_only_by_the_escape_hatch(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("OPENAI_BASE_URL", "HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTPS_PROXY", DEAD_PROXY)  # api.openai.com stays out of reach, quickly
    pytester.makeini("[pytest]\naddopts = -p no:cacheprovider -p no:randomly\n")
    (pytester.path / "cassettes").mkdir()
    shutil.copy(ROOT / "cassettes" / "openai_chat.yaml", pytester.path / "cassettes" / "openai_chat.yaml")
    pytester.makepyfile(early_app=EARLY_APP, test_early=EARLY_TEST)
    result = pytester.runpytest_subprocess(timeout=120)
    result.assert_outcomes(passed=4)


RECORDING_EARLY_TEST = f"""
import pytest

from early_app import ask


@pytest.mark.chunktape("early.yaml")
def test_records_and_replays_the_module_client(chunktape_route_httpx):
    assert ask({OPENAI.request_json["messages"][0]["content"]!r}) == {OPENAI.text!r}
"""


def test_the_escape_hatch_records_a_client_built_before_the_test_too(
    pytester: pytest.Pytester, provider_environment: FakeUpstream
) -> None:
    pytester.makeini("[pytest]\naddopts = -p no:cacheprovider -p no:randomly\n")
    pytester.makepyfile(early_app=EARLY_APP, test_early=RECORDING_EARLY_TEST)
    pytester.runpytest_subprocess("--chunktape-record-mode=once", timeout=120).assert_outcomes(passed=1)
    [interaction] = load_cassette(str(pytester.path / "cassettes" / "early.yaml")).interactions
    assert interaction.request.url == provider_environment.url(OPENAI)  # through the forward recorder
    provider_environment.stop()
    pytester.runpytest_subprocess(timeout=120).assert_outcomes(passed=1)
    assert len(provider_environment.requests) == 1


@pytest.mark.parametrize(("value", "expected"), [(True, True), (False, False), ("false", False), (" On ", True)])
def test_env_is_a_yes_or_no_setting(value: object, expected: bool) -> None:
    assert resolve("c.yaml", [{"env": value}], session_seed=1).env is expected


def test_a_bad_env_value_says_how_to_write_it() -> None:
    with pytest.raises(KnobError, match=r"bad env 'maybe': use True or False \(in ini: true or false\)"):
        resolve("c.yaml", [{"env": "maybe"}], session_seed=1)


def test_env_can_be_turned_off_for_every_test_in_ini(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ANTHROPIC_BASE_URL", raising=False)
    pytester.makeini("[pytest]\naddopts = -p no:cacheprovider\nchunktape_env = false\n")
    pytester.makepyfile(
        test_off="""
        import os
        import pytest

        @pytest.mark.chunktape("c.yaml")
        def test_left_alone(chunktape):
            assert "ANTHROPIC_BASE_URL" not in os.environ

        @pytest.mark.chunktape("c.yaml", env=True)
        def test_the_marker_wins(chunktape):
            assert os.environ["ANTHROPIC_BASE_URL"] == chunktape.base_url
        """
    )
    (pytester.path / "cassettes").mkdir()
    (pytester.path / "cassettes" / "c.yaml").write_text("version: 1\ninteractions: []\n")
    pytester.runpytest().assert_outcomes(passed=2)


def test_a_bad_ini_variable_stops_the_run_with_one_line(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nchunktape_env_vars = MISTRAL_BASE_URL=v1\n")
    pytester.makepyfile(test_x="def test_x():\n    pass\n")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*chunktape: chunktape_env_vars: bad entry 'MISTRAL_BASE_URL=v1'; write NAME*"])


SUBPROCESS_TOOL = f"""
from openai import OpenAI

stream = OpenAI(max_retries=0).chat.completions.create(
    model={OPENAI.request_json["model"]!r},
    messages={OPENAI.request_json["messages"]!r},
    stream=True,
    stream_options={OPENAI.request_json["stream_options"]!r},
)
print("".join(c.choices[0].delta.content or "" for c in stream if c.choices), end="")
"""

SUBPROCESS_TEST = f"""
import subprocess
import sys

import pytest


@pytest.mark.chunktape("tool.yaml")
def test_a_subprocess_of_the_test_records_and_replays():
    done = subprocess.run([sys.executable, "tool.py"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout == {OPENAI.text!r}
"""


def test_a_subprocess_started_by_the_test_inherits_the_environment(
    pytester: pytest.Pytester, provider_environment: FakeUpstream
) -> None:
    pytester.makeini("[pytest]\naddopts = -p no:cacheprovider -p no:randomly\n")
    pytester.makepyfile(tool=SUBPROCESS_TOOL, test_tool=SUBPROCESS_TEST)
    pytester.runpytest_subprocess("--chunktape-record-mode=once", timeout=120).assert_outcomes(passed=1)
    [interaction] = load_cassette(str(pytester.path / "cassettes" / "tool.yaml")).interactions
    assert interaction.request.url == provider_environment.url(OPENAI)
    provider_environment.stop()
    pytester.runpytest_subprocess(timeout=120).assert_outcomes(passed=1)
    assert len(provider_environment.requests) == 1
