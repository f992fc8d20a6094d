"""The README's code examples run as written: a user copies them first.

Every fenced block is claimed by one test below (`test_every_readme_block_is_run_by_a_test`
fails on a new block nobody runs). Shell lines run for real where they can on this machine
(serve, inspect, validate, the demo); `scripts/test.sh` is this suite itself, and `record`
needs a live upstream, so their command lines are parsed by the CLI instead.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import click
import pytest
import yaml

from chunktape.cli import cli
from chunktape.pytest_plugin.config import resolve
from tests.integration.test_virtual_time_plugin import INI, run_quickly
from tests.support.serving import serving

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"^```(\w+)\n(.*?)^```", README, re.DOTALL | re.MULTILINE)
OPENAI_PROMPT = "用中文打个招呼，再提一下 OpenAI。"


def python_block_after(heading: str, index: int = 0) -> str:
    section = README.split(f"## {heading}", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.DOTALL)
    assert len(blocks) > index, f"no python example #{index + 1} under {heading!r}"
    return str(blocks[index])


def block_holding(text: str) -> str:
    found = [body for _, body in BLOCKS if text in body]
    assert len(found) == 1, f"{len(found)} README blocks hold {text!r}"
    return str(found[0])


def commands(block: str) -> list[list[str]]:
    """Each command line of a shell block, as words (comments dropped)."""
    lines = [line.split(" #")[0].strip() for line in block.splitlines()]
    return [shlex.split(line) for line in lines if line and not line.startswith("#")]


# claimed by the tests below: a distinctive piece of each block
CLAIMS = {
    'pip install "chunktape[record]"': "test_the_install_line_names_extras_that_exist",
    "./scripts/demo.sh": "test_the_two_commands_exist_and_the_demo_runs_with_the_readme_arguments",
    "version: 1": "test_the_cassette_example_uses_only_fields_a_real_cassette_has",
    "from chunktape import ReplayTransport": "test_the_in_process_example_streams_the_recorded_chat",
    "chunktape record --upstream": "test_the_record_lines_parse",
    "chunktape serve cassettes/ --port 0": "test_serve_inspect_and_validate_run_as_written",
    "chunktape diff cassettes/gemini_stream.yaml": "test_the_see_diff_import_lines_run_as_written",
    "def test_renders_every_chunk": "test_the_use_it_in_your_tests_example_passes",
    "def chunktape_config": "test_the_chunktape_config_example_sets_every_tests_defaults",
    "def test_reply_survives_chaos": "test_the_chaos_example_passes_every_variant",
    'clock="virtual"': "test_the_readme_virtual_time_example_passes_in_no_wall_time",
}


def test_every_readme_block_is_run_by_a_test() -> None:
    assert BLOCKS
    for language, body in BLOCKS:
        claims = [claim for claim in CLAIMS if claim in body]
        assert len(claims) == 1, f"this README {language} block is run by no test (or by several):\n{body}"
        assert CLAIMS[claims[0]] in globals()


def test_the_install_line_names_extras_that_exist() -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert commands(block_holding('pip install "chunktape[record]"')) == [["pip", "install", "chunktape[record]"]]
    assert any(requirement.startswith("mitmproxy") for requirement in extras["record"])
    assert any(requirement.startswith("httpx2") for requirement in extras["httpx2"])
    assert 'pip install "chunktape[httpx2]"' in README


def test_the_two_commands_exist_and_the_demo_runs_with_the_readme_arguments() -> None:
    block = block_holding("./scripts/demo.sh")
    for command in commands(block):
        assert (ROOT / command[0]).is_file()
    # scripts/demo.sh sets up .venv, then runs scripts/demo.py with its arguments
    assert "exec .venv/bin/python scripts/demo.py" in (ROOT / "scripts" / "demo.sh").read_text()
    shown = re.findall(r"`\./scripts/demo\.sh ([^`]+)`", README)
    assert shown
    for arguments in shown:
        demo = subprocess.run(
            [sys.executable, "scripts/demo.py", *shlex.split(arguments)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        output = demo.stdout + demo.stderr
        if "cut:" in arguments:  # the body ends early: the SDK's own error shows
            assert "the SDK raised httpx2.RemoteProtocolError" in output
        else:
            assert demo.returncode == 0, output
        timeline = re.search(r"\[timeline\] what was played, as a picture: (\S+\.html)", output)
        assert timeline is not None, output  # and the HTML timeline of what it played
        assert "<svg" in Path(timeline.group(1)).read_text(encoding="utf-8")


def test_the_cassette_example_uses_only_fields_a_real_cassette_has() -> None:
    example = yaml.safe_load(re.sub(r"(?m)^\s*- \.\.\.\n", "", block_holding("version: 1")))
    real = yaml.safe_load((ROOT / "cassettes" / "gemini_stream.yaml").read_text(encoding="utf-8"))
    shown, recorded = example["interactions"][0], real["interactions"][0]
    assert set(example) == set(real)
    assert set(shown["request"]) <= set(recorded["request"])
    assert set(shown["response"]) <= set(recorded["response"])
    assert set(shown["response"]["body"]) <= set(recorded["response"]["body"])
    assert shown["request"]["url"] == recorded["request"]["url"]


def test_the_in_process_example_streams_the_recorded_chat(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    namespace: dict[str, object] = {}
    exec(python_block_after("Replay in-process (no sockets)"), namespace)
    client = namespace["client"]
    stream = client.chat.completions.create(  # type: ignore[attr-defined]
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": OPENAI_PROMPT}],
        stream=True,
        stream_options={"include_usage": True},
    )
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    assert "OpenAI" in text


def test_the_in_process_example_streams_gemini_and_claude_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    namespace: dict[str, object] = {}
    exec(python_block_after("Replay in-process (no sockets)"), namespace)
    gemini, claude = namespace["gemini"], namespace["claude"]
    chunks = gemini.models.generate_content_stream(  # type: ignore[attr-defined]
        model="gemini-2.5-flash", contents="用两种语言写三段很短的话，测试流式输出。"
    )
    assert "".join(chunk.text or "" for chunk in chunks).endswith("完毕。")
    with claude.messages.stream(  # type: ignore[attr-defined]
        model="claude-sonnet-4-6",
        max_tokens=256,
        messages=[{"role": "user", "content": "Greet the world in French, then continue in Chinese."}],
    ) as stream:
        assert "".join(stream.text_stream)


def test_the_record_lines_parse() -> None:
    """`record` needs a live upstream; its lines must at least be what the CLI accepts."""
    for command in commands(block_holding("chunktape record --upstream")):
        assert command[:2] == ["chunktape", "record"]
        context = cli.make_context("chunktape", command[1:], resilient_parsing=False)
        with context:
            sub = cli.get_command(context, command[1])
            assert isinstance(sub, click.Command)
            sub.make_context("record", command[2:], parent=context)  # raises on an unknown option


def test_serve_inspect_and_validate_run_as_written(monkeypatch: pytest.MonkeyPatch) -> None:
    block = block_holding("chunktape serve cassettes/ --port 0")
    serve, inspect, validate = commands(block)
    with serving(*serve[2:]) as served:  # the line it prints, as shown
        shown = next(line for line in block.splitlines() if line.startswith("# chunktape: serving"))
        pattern = re.escape(shown.removeprefix("# ")).replace("5", r"\d+").replace("41234", r"\d+")
        assert re.fullmatch(pattern, served.line), served.line
    for command in (inspect, validate):
        ran = subprocess.run(
            [sys.executable, "-m", "chunktape", *command[1:]], cwd=ROOT, capture_output=True, text=True, timeout=120
        )
        assert ran.returncode == 0, ran.stderr


VCRPY_CASSETTE = """interactions:
- request:
    body: '{"model": "gpt-4o-mini"}'
    headers:
      Authorization:
      - Bearer sk-proj-NOTAREALKEYNOTAREALKEY0123
    method: POST
    uri: https://api.openai.com/v1/chat/completions
  response:
    body:
      string: 'data: {"choices": []}

        '
    headers:
      Content-Type:
      - text/event-stream
    status:
      code: 200
      message: OK
version: 1
"""


def test_the_see_diff_import_lines_run_as_written(tmp_path: Path) -> None:
    """Each line runs in a copy of the project, in order (export writes the HAR a later line
    could read); the files a user brings (a vcrpy cassette, a HAR, a re-recording) are made first."""
    block = block_holding("chunktape diff cassettes/gemini_stream.yaml")
    shutil.copytree(ROOT / "cassettes", tmp_path / "cassettes")
    shutil.copy(ROOT / "cassettes" / "gemini_stream.yaml", tmp_path / "rerecorded.yaml")
    (tmp_path / "tests" / "cassettes").mkdir(parents=True)
    (tmp_path / "tests" / "cassettes" / "test_chat.yaml").write_text(VCRPY_CASSETTE)
    subprocess.run(
        [sys.executable, "-m", "chunktape", "export", "har", "cassettes/openai_chat.yaml", "-o", "session.har"],
        cwd=tmp_path, check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    for command in commands(block):
        if command[0] == "pytest":  # the plugin's options: rendered from the vocabulary, checked by parsing
            from chunktape.vocabulary import REPORTS

            assert [arg.split("=")[0] for arg in command[1:]] == [
                f"--chunktape-{word.name.replace('_', '-')}" for word in REPORTS
            ]
            continue
        ran = subprocess.run(
            [sys.executable, "-m", "chunktape", *command[1:]], cwd=tmp_path, capture_output=True, text=True, timeout=120
        )
        assert ran.returncode == 0, (command, ran.stdout, ran.stderr)
    assert "<svg" in (tmp_path / "chaos.html").read_text(encoding="utf-8")
    assert "timing: imported" in (tmp_path / "cassettes" / "chat.yaml").read_text(encoding="utf-8")
    assert "timing: paced" in (tmp_path / "cassettes" / "session.yaml").read_text(encoding="utf-8")
    assert (ROOT / "docs" / "gemini-timeline.png").read_bytes()[:4] == b"\x89PNG"


def test_the_use_it_in_your_tests_example_passes(pytester: pytest.Pytester) -> None:
    (pytester.path / "cassettes").mkdir()
    shutil.copy(ROOT / "cassettes" / "gemini_stream.yaml", pytester.path / "cassettes" / "gemini_stream.yaml")
    pytester.makepyfile(test_readme=python_block_after("Use it in your tests"))
    result = pytester.runpytest_subprocess("-k", "test_renders_every_chunk", "-p", "no:randomly")
    result.assert_outcomes(passed=1, deselected=1)


def test_both_tests_of_the_use_it_in_your_tests_example_pass(pytester: pytest.Pytester) -> None:
    """test_chat's cassette sits where its marker (no path) says: cassettes/<module>/<test>.yaml."""
    cassettes = pytester.path / "cassettes"
    (cassettes / "test_readme").mkdir(parents=True)
    shutil.copy(ROOT / "cassettes" / "gemini_stream.yaml", cassettes / "gemini_stream.yaml")
    shutil.copy(ROOT / "cassettes" / "openai_chat.yaml", cassettes / "test_readme" / "test_chat.yaml")
    pytester.makepyfile(test_readme=python_block_after("Use it in your tests"))
    pytester.runpytest_subprocess("-p", "no:randomly").assert_outcomes(passed=2)


def test_the_chunktape_config_example_sets_every_tests_defaults(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(block_holding("def chunktape_config"))
    pytester.makepyfile(
        test_defaults="""
        def test_defaults(chunktape):
            assert chunktape.upstream == "https://api.openai.com"
            assert chunktape.policy.speed == 0
            assert "user" in chunktape.rules.ignore_json_fields
        """
    )
    (pytester.path / "cassettes" / "test_defaults").mkdir(parents=True)
    shutil.copy(
        ROOT / "cassettes" / "openai_chat.yaml", pytester.path / "cassettes" / "test_defaults" / "test_defaults.yaml"
    )
    pytester.runpytest_subprocess("-p", "no:randomly").assert_outcomes(passed=1)


def test_the_chaos_example_passes_every_variant(pytester: pytest.Pytester) -> None:
    (pytester.path / "cassettes").mkdir()
    shutil.copy(ROOT / "cassettes" / "openai_chat.yaml", pytester.path / "cassettes" / "openai_chat.yaml")
    pytester.makepyfile(test_chat=block_holding("def test_reply_survives_chaos"))
    result = pytester.runpytest_subprocess("-p", "no:randomly", "-v")
    result.assert_outcomes(passed=6)
    result.stdout.fnmatch_lines(["*test_reply_survives_chaos?split=utf8-fault=cut:2? PASSED*"])


def test_the_replay_with_line_is_the_one_a_failure_prints() -> None:
    shown = re.search(r"`(replay with: pytest '([^']+)' ([^`]+))`", README)
    assert shown is not None
    variant = re.search(r"\[(.+)\]", shown.group(2))
    assert variant is not None
    knobs = dict(part.split("=", 1) for part in variant.group(1).split("-"))
    settings = resolve("", [{"speed": 0}, knobs], session_seed=0)  # the marker's speed=0, then the variant
    assert shown.group(3) == " ".join(settings.cli_args())


def test_the_readme_virtual_time_example_passes_in_no_wall_time(pytester: pytest.Pytester) -> None:
    from chunktape import Cassette, Chunk, Interaction, Request, Response

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    example = readme.split("## Virtual time", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    pytester.makeini(INI)
    chunks = (Chunk(1.0, b"data: 1\n\n"), Chunk(21.0, b"data: 2\n\n"), Chunk(21.25, b"data: 3\n\n"))
    response = Response(200, (("content-type", "text/event-stream"),), 0.2, chunks)
    (pytester.path / "cassettes").mkdir()
    Cassette([Interaction(Request("GET", "http://api.test/v1/stream"), response)]).save(
        str(pytester.path / "cassettes" / "stall.yaml")
    )
    pytester.makepyfile(test_readme=example)
    run_quickly(pytester, passed=1)
