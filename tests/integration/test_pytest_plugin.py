"""The pytest plugin, exercised as users write tests: small test files run by pytester.

Plain `pytester.runpytest` runs in process (fast); runs that need a fresh interpreter
(xdist workers, the mitmproxy recorder, pytest-recording's patching) use
`runpytest_subprocess`.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import anthropic
import google.genai
import httpx2
import openai
import pytest

from chunktape import load_cassette, save_cassette
from chunktape.pytest_plugin import StreamClock, observe
from chunktape.pytest_plugin.config import RecordMode, default_cassette_name, knob_id
from tests.support import punctuality
from tests.support.fakes.upstream import FakeUpstream

pytest_plugins = ["pytester"]

# Imported here so pytester's in-process runs reuse them: it drops modules a run imported.
SDKS = (anthropic, google.genai, httpx2, openai)
ROOT = Path(__file__).resolve().parents[2]
INI = """
[pytest]
asyncio_default_fixture_loop_scope = function
addopts = -p no:cacheprovider
"""

OPENAI_ASK = """
import httpx2
from openai import OpenAI

PROMPT = "用中文打个招呼，再提一下 OpenAI。"
REPLY = "你好！这是 OpenAI 的流式回答。"


def ask(client):
    stream = client.chat.completions.create(
        model="gpt-4o-mini",
        stream=True,
        messages=[{"role": "user", "content": PROMPT}],
        stream_options={"include_usage": True},
    )
    return "".join(c.choices[0].delta.content or "" for c in stream if c.choices)


def in_process(chunktape):
    http = httpx2.Client(transport=chunktape.transport())
    return OpenAI(api_key="sk-test", base_url="http://api.openai.test/v1", http_client=http, max_retries=0)
"""


# trio is installed (for the virtual-time tests), so anyio would also run every
# @pytest.mark.anyio test on trio; these projects are about asyncio, as users mostly write
ASYNCIO_ONLY = """
import pytest


@pytest.fixture
def anyio_backend():
    return "asyncio"
"""


def project(pytester: pytest.Pytester, *cassettes: str, **placed: str) -> None:
    """An ini, the named example cassettes under cassettes/, and `placed` ones at chosen paths."""
    pytester.makeini(INI)
    pytester.makeconftest(ASYNCIO_ONLY)
    for name in cassettes:
        target = pytester.path / "cassettes" / f"{name}.yaml"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / "cassettes" / f"{name}.yaml", target)
    for relative, name in placed.items():
        target = pytester.path / "cassettes" / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / "cassettes" / f"{name}.yaml", target)


# ---------------------------------------------------------------- real SDKs, both emitters


def test_google_genai_sdk_streams_from_the_replay_server(pytester: pytest.Pytester) -> None:
    project(pytester, "gemini_stream", "gemini_generate")
    pytester.makepyfile(
        test_gemini="""
        import pytest
        from google import genai
        from google.genai import types

        MOUNTS = []


        def client(base_url):
            return genai.Client(api_key="test-key", http_options=types.HttpOptions(base_url=base_url, api_version="v1"))


        @pytest.mark.chunktape("gemini_stream.yaml", speed=0)
        def test_stream(chunktape):
            MOUNTS.append(chunktape.base_url)
            gemini = client(chunktape.base_url)  # keep it: the SDK closes its HTTP client when collected
            seen = chunktape.observe(
                gemini.models.generate_content_stream(model="gemini-2.5-flash", contents="用两种语言写三段很短的话，测试流式输出。")
            )
            text = "".join(chunk.text or "" for chunk in seen)
            assert text.startswith("这里是第一段") and "🚀" in text and text.endswith("完毕。")
            assert len(seen.chunks) == 6 and seen.error is None


        @pytest.mark.chunktape("gemini_generate.yaml", speed=0)
        def test_generate_gets_its_own_mount(chunktape):
            MOUNTS.append(chunktape.base_url)
            gemini = client(chunktape.base_url)
            answer = gemini.models.generate_content(model="gemini-2.5-flash", contents="用一句话回答，然后换成英文。")
            assert answer.text
            same_server, other_mount = MOUNTS[0].rsplit("/", 1)[0], MOUNTS[0]
            assert chunktape.base_url.startswith(same_server) and chunktape.base_url != other_mount
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=2)


def test_openai_sdk_replays_through_the_in_process_transport_at_the_recorded_rhythm(
    pytester: pytest.Pytester,
) -> None:
    project(pytester, "openai_chat")
    pytester.makepyfile(ask=OPENAI_ASK)
    pytester.makepyfile(
        test_openai="""
        import pytest
        from ask import PROMPT, REPLY, in_process


        @pytest.mark.chunktape("openai_chat.yaml")
        def test_chat(chunktape):
            client = in_process(chunktape)
            clock = chunktape.clock()
            stream = client.chat.completions.create(
                model="gpt-4o-mini", stream=True, messages=[{"role": "user", "content": PROMPT}],
                stream_options={"include_usage": True},
            )
            text = "".join(c.choices[0].delta.content or "" for c in clock.observe(stream) if c.choices)
            assert text == REPLY
            assert 0.35 <= clock.time_to_first_chunk_s < 2.0
            assert len(clock.gaps_s) == len(clock.chunks) - 1
            assert chunktape.record_mode == "none" and not chunktape.recording
            assert chunktape.policy.speed == 1
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)


# ---------------------------------------------------------------- chaos


def test_chaos_marker_runs_every_combination_on_one_cassette_and_reports_the_seed(
    pytester: pytest.Pytester,
) -> None:
    project(pytester, **{"test_chaos/test_reply_survives.yaml": "openai_chat"})
    pytester.makepyfile(ask=OPENAI_ASK)
    pytester.makepyfile(
        test_chaos="""
        import pytest
        from ask import REPLY, ask, in_process


        @pytest.mark.chunktape(speed=0)
        @pytest.mark.chunktape_chaos(split=["recorded", "utf8", "random:1-9"], fault=[None, "disconnect:3"])
        def test_reply_survives(chunktape):
            assert chunktape.cassette_path.endswith("test_chaos/test_reply_survives.yaml")
            assert ask(in_process(chunktape)) == REPLY
        """
    )
    result = pytester.runpytest("-v", "--chunktape-seed=random")
    result.assert_outcomes(passed=3, failed=3)
    output = result.stdout.str()
    seed = re.search(r"chunktape: record mode none, seed (\d+) \(random; repeat with --chunktape-seed=\1\)", output)
    assert seed is not None, output
    result.stdout.fnmatch_lines(["*test_reply_survives?split=random:1-9-fault=none? PASSED*"])
    assert (
        "replay with: pytest 'test_chaos.py::test_reply_survives[split=utf8-fault=disconnect:3]' "
        f"--chunktape-seed={seed.group(1)} --chunktape-speed=0 --chunktape-split=utf8 --chunktape-fault=disconnect:3"
    ) in output
    assert "fault=none]' --chunktape" not in output  # passing variants get no report


def test_the_failure_report_line_repeats_the_failing_variant(pytester: pytest.Pytester) -> None:
    project(pytester, **{"test_again/test_reply.yaml": "openai_chat"})
    pytester.makepyfile(ask=OPENAI_ASK)
    pytester.makepyfile(
        test_again="""
        import pytest
        from ask import REPLY, ask, in_process


        @pytest.mark.chunktape(speed=0)
        @pytest.mark.chunktape_chaos(split=["random:1-5"], seed=[11, 12])
        def test_reply(chunktape):
            ask(in_process(chunktape))
            assert chunktape.policy.seed != 12, "pretend seed 12 uncovers a bug"
        """
    )
    first = pytester.runpytest()
    first.assert_outcomes(passed=1, failed=1)
    line = next(line for line in first.outlines if line.startswith("replay with: pytest "))
    again = pytester.runpytest(*line.removeprefix("replay with: pytest ").replace("'", "").split())
    again.assert_outcomes(failed=1)
    again.stdout.fnmatch_lines(["*pretend seed 12 uncovers a bug*"])


# ---------------------------------------------------------------- misses and mistakes


def test_an_unmatched_request_fails_with_the_closest_match_diff(pytester: pytest.Pytester) -> None:
    project(pytester, "openai_chat")
    pytester.makepyfile(ask=OPENAI_ASK)
    pytester.makepyfile(
        test_miss="""
        import pytest
        from ask import in_process


        def ask_other(chunktape):
            return in_process(chunktape).chat.completions.create(
                model="gpt-4o-mini", stream=True, messages=[{"role": "user", "content": "something else"}],
                stream_options={"include_usage": True},
            )


        @pytest.mark.chunktape("openai_chat.yaml", speed=0)
        def test_miss(chunktape):
            ask_other(chunktape)


        @pytest.mark.chunktape("openai_chat.yaml", speed=0)
        def test_miss_swallowed_by_the_code_under_test(chunktape):
            try:
                ask_other(chunktape)
            except Exception:
                pass
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=2)  # the swallowing test fails itself: no teardown error
    result.stdout.fnmatch_lines(
        [
            "*no recorded interaction matches POST /v1/chat/completions*closest recorded requests:",
            "*openai_chat.yaml #1: POST /v1/chat/completions",
            "*body differs:",
            '*-   "content": "用中文打个招呼，再提一下 OpenAI。",',
            '*+   "content": "something else",',
        ]
    )
    result.stdout.no_fnmatch_line("*ERROR at teardown of test_miss_swallowed_by_the_code_under_test*")
    result.stdout.fnmatch_lines(["chunktape: the test passed, but made requests its cassette does not hold:"])


def test_a_missing_cassette_in_record_mode_none_fails_and_says_how_to_record(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI)
    pytester.makepyfile(
        test_missing="""
        def test_nothing_recorded_yet(chunktape):
            pass
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "chunktape: */cassettes/test_missing/test_nothing_recorded_yet.yaml: no such cassette and record mode"
            " is none; record it with --chunktape-record-mode=once*"
        ]
    )


def test_recording_without_an_upstream_is_a_clear_error(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI)
    pytester.makepyfile(
        test_no_upstream="""
        import pytest

        @pytest.mark.chunktape(env=False)  # with env on, it records through a forward proxy instead
        def test_record(chunktape):
            pass
        """
    )
    result = pytester.runpytest("--chunktape-record-mode=all")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*record mode all needs to record, but no upstream is set; add upstream=*"])


def test_bad_arguments_are_reported_where_they_are_written(pytester: pytest.Pytester) -> None:
    project(pytester, "openai_chat")
    pytester.makepyfile(
        test_typos="""
        import pytest


        @pytest.mark.chunktape("openai_chat.yaml", sped=0)
        def test_typo(chunktape):
            pass


        @pytest.mark.chunktape("openai_chat.yaml", split="bytes:0")
        def test_bad_knob(chunktape):
            pass
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(
        ["chunktape: test_typos.py:*: @pytest.mark.chunktape(sped=0): unknown argument; did you mean speed?"]
    )
    result.stdout.fnmatch_lines(
        [
            "chunktape: test_typos.py:*: @pytest.mark.chunktape(split='bytes:0'): bad split; 0 must be at least 1, as in bytes:16"
        ]
    )
    usage = pytester.runpytest("--chunktape-fault=explode")
    assert usage.ret == pytest.ExitCode.USAGE_ERROR
    usage.stderr.fnmatch_lines(
        ["ERROR: chunktape: --chunktape-fault=explode: unknown fault; use cut:N, stall:N:DUR, *"]
    )


# ---------------------------------------------------------------- configuration


def test_the_command_line_beats_markers_which_beat_the_config_fixture_which_beats_ini(
    pytester: pytest.Pytester,
) -> None:
    project(pytester, "openai_chat")
    pytester.makeini(INI + "chunktape_speed = 0\nchunktape_split = bytes:5\nchunktape_fault = truncate\n")
    pytester.makeconftest(
        """
        import pytest


        @pytest.fixture
        def chunktape_config():
            return {"split": "whole", "delay": "first:10ms", "ignore": ["user"]}
        """
    )
    pytester.makepyfile(
        test_layers="""
        import pytest


        @pytest.mark.chunktape("openai_chat.yaml", split="utf8")
        def test_layers(chunktape):
            policy = chunktape.policy
            assert policy.speed == 0                    # ini
            assert policy.delay.first_s == 0.01         # chunktape_config fixture
            assert str(policy.split) == "utf8"          # marker over fixture and ini
            assert policy.fault is None                 # command line over ini
            assert policy.seed == 5                     # command line
            assert "user" in chunktape.rules.ignore_json_fields
        """
    )
    result = pytester.runpytest("--chunktape-fault=none", "--chunktape-seed=5")
    result.assert_outcomes(passed=1)


def test_parametrized_tests_get_safe_names_and_chaos_variants_share_one_cassette(pytester: pytest.Pytester) -> None:
    project(
        pytester,
        **{
            "test_names/test_prompt[hi-there].yaml": "openai_chat",
            "test_names/TestSuite.test_prompt[7].yaml": "openai_chat",
            "test_names/test_by_hand.yaml": "openai_chat",
        },
    )
    pytester.makepyfile(
        test_names="""
        import pytest


        @pytest.mark.parametrize("prompt", ["hi/there"])
        @pytest.mark.chunktape_chaos(split=["recorded", "sse"])
        def test_prompt(chunktape, prompt):
            assert chunktape.cassette_path.endswith("test_names/test_prompt[hi-there].yaml")


        @pytest.mark.parametrize("chunktape_knobs", [{"split": "utf8", "fault": "truncate"}])
        def test_by_hand(chunktape):
            assert chunktape.cassette_path.endswith("test_names/test_by_hand.yaml")
            assert str(chunktape.policy.fault) == "truncate"


        class TestSuite:
            @pytest.mark.parametrize("prompt", [7])
            def test_prompt(self, chunktape, prompt):
                assert chunktape.cassette_path.endswith("test_names/TestSuite.test_prompt[7].yaml")
        """
    )
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(
        ["*test_prompt?hi/there-split=sse? PASSED*", "*test_by_hand?split=utf8-fault=truncate? PASSED*"]
    )


def test_the_cassette_dir_ini_option_is_relative_to_the_ini_file(pytester: pytest.Pytester) -> None:
    project(pytester)
    pytester.makeini(INI + "chunktape_cassette_dir = tapes\n")
    target = pytester.path / "tapes" / "test_dir" / "test_here.yaml"
    target.parent.mkdir(parents=True)
    shutil.copy(ROOT / "cassettes" / "openai_chat.yaml", target)
    pytester.mkpydir("sub")
    (pytester.path / "sub" / "test_dir.py").write_text(
        "def test_here(chunktape):\n    assert chunktape.cassette_path == " + repr(str(target)) + "\n"
    )
    pytester.runpytest().assert_outcomes(passed=1)


def test_markers_are_registered_with_help(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI)
    result = pytester.runpytest("--markers")
    result.stdout.fnmatch_lines(
        [
            "@pytest.mark.chunktape(*paths, speed, split, delay, fault, seed, upstream, match_on,*",
            "@pytest.mark.chunktape_chaos(**knobs): run the test once per combination*",
        ]
    )


# ---------------------------------------------------------------- async, xdist


def test_async_tests_with_pytest_asyncio_and_anyio(pytester: pytest.Pytester) -> None:
    project(pytester, "anthropic_messages", "gemini_stream")
    pytester.makepyfile(
        test_async="""
        import httpx2
        import pytest
        from anthropic import AsyncAnthropic


        @pytest.mark.asyncio
        @pytest.mark.chunktape("anthropic_messages.yaml", speed=0, split="utf8")
        async def test_anthropic_with_pytest_asyncio(chunktape):
            http = httpx2.AsyncClient(transport=chunktape.async_transport())
            client = AsyncAnthropic(api_key="sk-ant-test", base_url="http://api.anthropic.test", http_client=http, max_retries=0)
            stream = await client.messages.create(
                model="claude-sonnet-4-6", max_tokens=256, stream=True,
                messages=[{"role": "user", "content": "Greet the world in French, then continue in Chinese."}],
            )
            kinds = [event.type async for event in chunktape.observe(stream)]
            assert kinds[0] == "message_start" and kinds[-1] == "message_stop"


        @pytest.mark.anyio
        @pytest.mark.chunktape("gemini_stream.yaml", speed=0)
        async def test_raw_sse_with_anyio_over_the_server(chunktape):
            body = {"contents": [{"parts": [{"text": "用两种语言写三段很短的话，测试流式输出。"}], "role": "user"}]}
            async with httpx2.AsyncClient(base_url=chunktape.base_url) as client:
                path = "/v1/models/gemini-2.5-flash:streamGenerateContent"
                async with client.stream("POST", path, params={"alt": "sse"}, json=body) as response:
                    clock = chunktape.observe(response.aiter_bytes())
                    data = b"".join(await clock.adrain())
            assert response.status_code == 200
            assert "完毕".encode() in data and clock.time_to_first_chunk_s is not None
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=2)


def test_xdist_workers_each_run_their_own_replay_server(pytester: pytest.Pytester) -> None:
    project(pytester, "gemini_generate")
    pytester.makepyfile(
        test_parallel="""
        import os
        import httpx2
        import pytest

        BODY = {"contents": [{"parts": [{"text": "用一句话回答，然后换成英文。"}], "role": "user"}]}


        @pytest.mark.parametrize("n", range(8))
        @pytest.mark.chunktape("gemini_generate.yaml", speed=0)
        def test_generate(chunktape, n):
            reply = httpx2.post(chunktape.base_url + "/v1/models/gemini-2.5-flash:generateContent", json=BODY)
            assert reply.status_code == 200
            port = chunktape.base_url.split(":")[2].split("/")[0]
            with open(f"seen-{os.environ['PYTEST_XDIST_WORKER']}-{port}-{chunktape.policy.seed}", "w"):
                pass
        """
    )
    result = pytester.runpytest_subprocess("-n", "2", "--chunktape-seed=random")
    result.assert_outcomes(passed=8)
    seen = sorted(path.name.split("-") for path in pytester.path.glob("seen-*"))
    assert {worker for _, worker, _, _ in seen} == {"gw0", "gw1"}
    assert len({port for _, _, port, _ in seen}) == 2, seen
    seed = re.search(r"chunktape: record mode none, seed (\d+) \(random", result.stdout.str())
    assert seed is not None
    assert {seed_used for _, _, _, seed_used in seen} == {seed.group(1)}  # one seed per run, shared by workers


# ---------------------------------------------------------------- recording


def test_once_records_from_the_upstream_then_replays_without_it(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI)
    pytester.makeconftest(ASYNCIO_ONLY)
    pytester.makepyfile(ask=OPENAI_ASK)
    upstream = FakeUpstream(speed=0).start()
    try:
        pytester.makepyfile(
            test_rec=f"""
            import httpx2
            import pytest
            from openai import AsyncOpenAI, OpenAI
            from ask import PROMPT, REPLY, ask, in_process

            pytestmark = pytest.mark.chunktape(upstream={upstream.base_url!r}, speed=0)


            def test_through_base_url(chunktape):
                client = OpenAI(api_key="sk-live-secret", base_url=chunktape.base_url + "/v1", max_retries=0)
                assert ask(client) == REPLY
                print("RECORDING" if chunktape.recording else "REPLAYING")


            def test_through_transport(chunktape):
                assert ask(in_process(chunktape)) == REPLY


            @pytest.mark.anyio
            async def test_through_async_transport(chunktape):
                http = httpx2.AsyncClient(transport=chunktape.async_transport())
                client = AsyncOpenAI(api_key="sk-test", base_url="http://api.openai.test/v1", http_client=http, max_retries=0)
                stream = await client.chat.completions.create(
                    model="gpt-4o-mini", stream=True, messages=[{{"role": "user", "content": PROMPT}}],
                    stream_options={{"include_usage": True}},
                )
                assert "".join([c.choices[0].delta.content or "" async for c in stream if c.choices]) == REPLY
            """
        )
        first = pytester.runpytest_subprocess("--chunktape-record-mode=once", "-s")
        first.assert_outcomes(passed=3)
        first.stdout.fnmatch_lines(["*RECORDING*"])
        assert len(upstream.requests) == 3
    finally:
        upstream.stop()
    recorded = pytester.path / "cassettes" / "test_rec" / "test_through_base_url.yaml"
    assert recorded.is_file()
    assert (recorded.parent / "test_through_transport.yaml").is_file()
    assert "sk-live-secret" not in recorded.read_text()
    [interaction] = load_cassette(str(recorded)).interactions
    assert interaction.recorded_at is not None  # the plugin records through the recorder, which dates it
    assert abs(datetime.now(UTC) - interaction.recorded_at) < timedelta(minutes=10)

    second = pytester.runpytest_subprocess("--chunktape-record-mode=once", "-s")
    second.assert_outcomes(passed=3)
    second.stdout.fnmatch_lines(["*REPLAYING*"])


def test_new_episodes_replays_what_matches_and_records_the_rest(pytester: pytest.Pytester) -> None:
    project(pytester, **{"test_more/test_more.yaml": "openai_chat"})
    pytester.makepyfile(ask=OPENAI_ASK)
    cassette = pytester.path / "cassettes" / "test_more" / "test_more.yaml"
    before = cassette.read_text()
    upstream = FakeUpstream(speed=0).start()
    try:
        pytester.makepyfile(
            test_more=f"""
            import pytest
            from openai import OpenAI
            from ask import REPLY, ask


            @pytest.mark.chunktape(upstream={upstream.base_url!r}, speed=0)
            def test_more(chunktape):
                client = OpenAI(api_key="sk-test", base_url=chunktape.base_url + "/v1", max_retries=0)
                assert ask(client) == REPLY
                answer = client.responses.create(model="gpt-4.1-mini", input="Say hello to the world, half in Chinese.", stream=True)
                assert [event.type for event in answer][-1] == "response.completed"
            """
        )
        result = pytester.runpytest_subprocess("--chunktape-record-mode=new_episodes")
        result.assert_outcomes(passed=1)
        assert [request.path_only for request in upstream.requests] == ["/v1/responses"]
    finally:
        upstream.stop()
    after = cassette.read_text()
    old, new = load_cassette(str(cassette)).interactions
    assert (old.recorded_at, new.recorded_at is not None) == (None, True)  # the new one is dated, the old kept as is
    assert "/v1/responses" in after
    assert before.split("- request:")[1].split("\n")[:5] == after.split("- request:")[1].split("\n")[:5]


# ---------------------------------------------------------------- living beside pytest-recording


def test_pytest_recording_and_chunktape_work_side_by_side(pytester: pytest.Pytester) -> None:
    project(pytester, "gemini_generate")
    upstream = FakeUpstream(speed=0).start()
    try:
        pytester.makepyfile(
            test_both=f"""
            import httpx
            import pytest

            BODY = {{"contents": [{{"parts": [{{"text": "用一句话回答，然后换成英文。"}}], "role": "user"}}]}}
            PATH = "/v1/models/gemini-2.5-flash:generateContent"


            @pytest.mark.vcr
            def test_with_vcr():
                reply = httpx.post({upstream.base_url!r} + PATH, json=BODY)
                assert reply.status_code == 200


            @pytest.mark.chunktape("gemini_generate.yaml", speed=0)
            def test_with_chunktape(chunktape):
                with httpx.Client(transport=chunktape.transport()) as client:
                    reply = client.post("https://generativelanguage.googleapis.com" + PATH, json=BODY)
                assert reply.status_code == 200 and chunktape.record_mode == "none"
            """
        )
        result = pytester.runpytest_subprocess("--record-mode=once")
        result.assert_outcomes(passed=2)
        assert (pytester.path / "cassettes" / "test_both" / "test_with_vcr.yaml").is_file()
        assert len(upstream.requests) == 1
    finally:
        upstream.stop()
    help_text = pytester.runpytest_subprocess("--help").stdout.str()
    for option in ("--record-mode", "--block-network", "--disable-recording", "--chunktape-record-mode"):
        assert option in help_text
    for knob in ("speed", "split", "delay", "fault", "seed"):
        assert f"--chunktape-{knob}=" in help_text


# ---------------------------------------------------------------- helpers as plain code


def test_default_cassette_names_are_safe_file_names() -> None:
    assert default_cassette_name("test_x") == "test_x.yaml"
    assert default_cassette_name("test_x", "TestA") == "TestA.test_x.yaml"
    params = {"prompt": 'a/b:c "d"', "client": object(), "chunktape_knobs": {"split": "utf8"}}
    indices = {"prompt": 0, "client": 2, "chunktape_knobs": 1}
    name = default_cassette_name("test_x", None, params, indices, shared=["chunktape_knobs"])
    assert name == "test_x[a-b-c-d-client2].yaml"
    long = default_cassette_name("test_" + "x" * 400)
    assert len(long.encode()) <= 210
    assert long.endswith(".yaml")


def test_chaos_ids_read_like_the_command_line() -> None:
    assert knob_id({"split": "utf8", "fault": "disconnect:2"}) == "split=utf8-fault=disconnect:2"
    assert knob_id({"fault": None}) == "fault=none"


def test_stream_clock_records_arrivals_and_gaps() -> None:
    def slow() -> object:
        for piece in ("a", "b", "c"):
            time.sleep(0.02)
            yield piece

    clock = observe(slow())
    assert clock.drain() == ["a", "b", "c"]
    assert clock.time_to_first_chunk_s is not None
    assert clock.time_to_first_chunk_s >= 0.015
    assert len(clock.gaps_s) == 2
    assert all(gap >= 0.015 for gap in clock.gaps_s)
    assert clock.total_s is not None
    assert clock.error is None


def test_stream_clock_keeps_the_error_that_ended_the_stream() -> None:
    def broken() -> object:
        yield b"x"
        raise ConnectionError("cut")

    clock = StreamClock()
    with pytest.raises(ConnectionError):
        for _ in clock.observe(broken()):
            pass
    assert clock.chunks == [b"x"]
    assert isinstance(clock.error, ConnectionError)


# ---------------------------------------------------------------- punctual from the first test

PUNCTUAL_TESTS = """
import json
import sys
from urllib.parse import urlsplit

import pytest

from tests.support.punctuality import head_lateness_s


@pytest.mark.parametrize("n", range(4))
@pytest.mark.chunktape("punctual.yaml")
def test_replay(chunktape, n):
    before = set(sys.modules)
    parts = urlsplit(chunktape.base_url)
    late = head_lateness_s(parts.port, parts.path)
    with open("late.jsonl", "a") as out:
        out.write(json.dumps({"late_s": late, "imported": sorted(set(sys.modules) - before)}) + "\\n")
"""


def test_the_first_test_of_a_session_is_replayed_as_punctually_as_later_ones(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The session's server is started and warm before the first test body runs: reading
    base_url and the first request import nothing, and the first head is as punctual as the
    later ones (best of 3 sessions, so one hiccup of a busy machine cannot fail it)."""
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    pytester.makeini(INI)
    (pytester.path / "cassettes").mkdir()
    save_cassette(punctuality.CASSETTE, str(pytester.path / "cassettes" / "punctual.yaml"))
    pytester.makepyfile(test_punctual=PUNCTUAL_TESTS)
    sessions = []
    for _ in range(3):
        (pytester.path / "late.jsonl").unlink(missing_ok=True)
        pytester.runpytest_subprocess("-p", "no:randomly").assert_outcomes(passed=4)
        runs = [json.loads(line) for line in (pytester.path / "late.jsonl").read_text().splitlines()]
        assert [run["imported"] for run in runs] == [[]] * 4
        late = [run["late_s"] for run in runs]
        sessions.append([round(s * 1000, 2) for s in late])
        if punctuality.first_is_punctual(late):
            return
    pytest.fail(f"the first test's response was late in every session (ms, first test first): {sessions}")


def test_pytest_help_shows_every_chunktape_option_and_ini_setting_legibly(pytester: pytest.Pytester) -> None:
    from chunktape.vocabulary import KNOBS, MATCHING, RECORD_MODE

    pytester.makeini(INI)
    help_text = pytester.runpytest_subprocess("--help").stdout.str()
    flat = "".join(help_text.split())  # argparse re-wraps; compare the words, not the line breaks
    for knob in KNOBS:
        assert f"--chunktape-{knob.name}={knob.metavar}" in help_text
        assert "".join(knob.option_help().split()) in flat
        assert f"chunktape_{knob.name}" in help_text
        assert "".join(knob.ini_help().split()) in flat
    for setting in (*MATCHING, RECORD_MODE):
        assert f"chunktape_{setting.name}" in help_text
    assert "--chunktape-record-mode" in help_text
    assert "chunktape_cassette_dir" in help_text
    assert "Default 1 =" not in flat  # the old garbled "Default 1 = recorded rhythm (default)..."
    assert "DefaultRe-chunk" not in flat


def test_clocks_time_from_the_request_however_early_the_test_makes_them(pytester: pytest.Pytester) -> None:
    project(pytester, "openai_chat")
    pytester.makepyfile(ask=OPENAI_ASK)
    pytester.makepyfile(
        test_clock="""
        import pytest
        from ask import PROMPT, REPLY, in_process


        def create(client):
            return client.chat.completions.create(
                model="gpt-4o-mini", stream=True, messages=[{"role": "user", "content": PROMPT}],
                stream_options={"include_usage": True},
            )


        @pytest.mark.chunktape("openai_chat.yaml", speed=0)
        def test_early_clock(chunktape):
            client = in_process(chunktape)
            clock = chunktape.clock()  # made long before the request
            list(clock.observe(create(client)))
            assert clock.started_s == chunktape.player.requested_at[-1] > clock.created_s
            assert clock.time_to_first_chunk_s == clock.arrivals_s[0]


        @pytest.mark.chunktape("openai_chat.yaml", speed=0)
        def test_observe_after_the_sdk_returned(chunktape):
            stream = create(in_process(chunktape))  # the request went out already
            seen = chunktape.observe(stream)
            list(seen)
            assert seen.started_s == chunktape.player.requested_at[-1] < seen.created_s
        """
    )
    pytester.runpytest().assert_outcomes(passed=2)


def test_a_miss_is_reported_once_at_the_tests_own_line_in_both_modes(pytester: pytest.Pytester) -> None:
    project(pytester, "openai_chat")
    pytester.makepyfile(
        test_once="""
        import httpx2
        import pytest

        ASK = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "not recorded"}]}


        @pytest.mark.chunktape("openai_chat.yaml", speed=0)
        def test_server_mode(chunktape):
            with httpx2.Client(base_url=chunktape.base_url) as client:
                response = client.post("/v1/chat/completions", json=ASK)
            response.raise_for_status()


        @pytest.mark.chunktape("openai_chat.yaml", speed=0)
        def test_in_process(chunktape):
            with httpx2.Client(transport=chunktape.transport(), base_url="https://api.openai.com") as client:
                client.post("/v1/chat/completions", json=ASK)
        """
    )
    result = pytester.runpytest("--tb=long")
    result.assert_outcomes(failed=2)
    out = result.stdout.str()
    # once per test in the failure reports (pytest's summary may repeat a failure's first line: on CI
    # it is never cut to the terminal's width, so it is left out of the count)
    reports = out.split("short test summary info")[0]
    assert reports.count("no recorded interaction matches POST /v1/chat/completions") == 2
    result.stdout.fnmatch_lines(["chunktape: test_once.py:11: no recorded interaction matches POST*"])
    result.stdout.fnmatch_lines(["*(and then the test failed with HTTPStatusError: Client error '404 Not Found'*"])
    result.stdout.fnmatch_lines(["chunktape: test_once.py:17: no recorded interaction matches POST*"])
    assert "Captured log" not in out  # no WARNING copy of the diff
    assert "chunktape/replay" not in out  # none of chunktape's own source lines
    assert out.count("replay with: pytest") == 2


@pytest.mark.parametrize(
    ("mode", "exists", "records", "replays"),
    [
        ("none", True, False, True),
        ("once", True, False, True),
        ("once", False, True, False),
        ("new_episodes", True, True, True),
        ("new_episodes", False, True, False),
        ("all", True, True, False),
        ("all", False, True, False),
    ],
)
def test_record_modes_decide_what_a_test_does_with_the_network(
    mode: str, exists: bool, records: bool, replays: bool
) -> None:
    record_mode = RecordMode(mode)
    assert record_mode == mode  # still compares equal to its vcrpy spelling
    assert record_mode.records(exists) is records
    assert record_mode.replays(exists) is replays
    assert record_mode.appends is (mode == "new_episodes")


def test_replaying_never_starts_a_recorder_nor_rewrites_the_cassette(pytester: pytest.Pytester) -> None:
    project(pytester, "openai_chat")
    before = (pytester.path / "cassettes" / "openai_chat.yaml").read_bytes()
    pytester.makepyfile(
        test_replay_only="""
        import httpx2
        import pytest


        @pytest.mark.chunktape("openai_chat.yaml", speed=0)
        def test_reads_everything(chunktape):
            assert chunktape.base_url == chunktape.base_url and "/_chunktape/" in chunktape.base_url
            assert not chunktape.recording and chunktape._recorder is None
            with httpx2.Client(base_url=chunktape.base_url) as client:
                assert client.get("/v1/not-recorded").status_code == 404
            assert chunktape._recorder is None
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)  # the miss fails it, and nothing was recorded
    assert "interactions written" not in result.stdout.str() + result.stderr.str()
    assert (pytester.path / "cassettes" / "openai_chat.yaml").read_bytes() == before
