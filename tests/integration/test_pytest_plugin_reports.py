"""The plugin's reports: `--chunktape-report=DIR` (an HTML page per failed chunktape test, its
path in the failure report, opened in a real Chromium) and `--chunktape-report-unused`."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.integration.test_pytest_plugin import INI, OPENAI_ASK, SDKS, project
from tests.support.browser import chromium_browser

pytest_plugins = ["pytester"]
_ = SDKS  # imported so pytester's in-process runs reuse the SDK modules
ROOT = Path(__file__).resolve().parents[2]

FAILING = """
import pytest
from ask import ask, in_process


@pytest.mark.chunktape("openai_chat.yaml", speed=0, split="utf8", seed=7)
def test_reply_is_wrong(chunktape):
    assert ask(in_process(chunktape)) == "not what was recorded"


@pytest.mark.chunktape("openai_chat.yaml", speed=0)
def test_a_request_misses(chunktape):
    client = in_process(chunktape)
    client.chat.completions.create(model="gpt-4o-mini", stream=True, messages=[{"role": "user", "content": "其他"}])
"""


def test_a_failed_test_gets_a_page_named_in_its_report(pytester: pytest.Pytester) -> None:
    project(pytester, "openai_chat")
    pytester.makepyfile(ask=OPENAI_ASK, test_fail=FAILING)
    result = pytester.runpytest("--chunktape-report=reports")
    result.assert_outcomes(failed=2)
    pages = sorted((pytester.path / "reports").glob("*.html"))
    assert len(pages) == 2
    output = result.stdout.str()
    for page in pages:
        assert f"report: {Path('reports') / page.name}" in output
    wrong = next(page for page in pages if "reply_is_wrong" in page.name)
    missed = next(page for page in pages if "misses" in page.name)
    with chromium_browser() as browser:
        view = browser.new_page()
        errors: list[str] = []
        view.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
        view.goto(wrong.resolve().as_uri())
        assert "split=utf8" in view.inner_text("body")
        assert "seed=7" in view.inner_text("body")
        assert view.locator("rect.chunk").count() > 0
        assert view.locator("rect.step").count() > view.locator("rect.chunk").count()  # utf8 cuts more
        assert "你好" in view.inner_text("table.events")
        view.goto(missed.resolve().as_uri())
        text = view.inner_text("body")
        assert "request missed:" in text
        assert "no recorded interaction matches POST /v1/chat/completions" in text
        assert "其他" in text  # the miss diff, with the live body
        assert errors == []


def test_no_page_without_the_option(pytester: pytest.Pytester) -> None:
    project(pytester, "openai_chat")
    pytester.makepyfile(ask=OPENAI_ASK, test_fail=FAILING)
    result = pytester.runpytest()
    result.assert_outcomes(failed=2)
    assert "report: " not in result.stdout.str()


USES_ONE = """
import pytest
from ask import ask, in_process


@pytest.mark.chunktape("openai_chat.yaml", speed=0)
def test_chat(chunktape):
    assert ask(in_process(chunktape)).startswith("你好")


@pytest.mark.chunktape("two.yaml", speed=0)
def test_first_of_two(chunktape):
    assert ask(in_process(chunktape)).startswith("你好")
"""


def two_interactions(path: Path) -> None:
    """openai_chat.yaml's interaction twice, the second for another prompt."""
    text = (ROOT / "cassettes" / "openai_chat.yaml").read_text(encoding="utf-8")
    head, items = text.split("interactions:\n", 1)
    second = items.replace("用中文打个招呼，再提一下 OpenAI。", "第二个问题")
    path.write_text(f"{head}interactions:\n{items}{second}", encoding="utf-8")


@pytest.mark.parametrize("workers", [None, "2"])
def test_report_unused_lists_files_and_interactions_no_test_used(
    pytester: pytest.Pytester, workers: str | None
) -> None:
    project(pytester, "openai_chat", "gemini_stream")
    two_interactions(pytester.path / "cassettes" / "two.yaml")
    (pytester.path / "cassettes" / "vcrpy_style.yaml").write_text(  # pytest-recording's: not ours to report
        "interactions:\n- request: {uri: 'http://x.test/', method: GET, body: null, headers: {}}\n"
        "  response: {status: {code: 200, message: OK}, headers: {}, body: {string: ''}}\nversion: 1\n"
    )
    pytester.makepyfile(ask=OPENAI_ASK, test_use=USES_ONE)
    args = ["--chunktape-report-unused", *(["-n", workers] if workers else [])]
    result = pytester.runpytest_subprocess(*args)
    result.assert_outcomes(passed=2)
    output = result.stdout.str()
    section = output.split("chunktape: unused cassettes and interactions", 1)[1]
    lines = [line for line in section.splitlines() if line.startswith("unused")]
    assert lines == [
        f"unused cassette: {Path('cassettes') / 'gemini_stream.yaml'}",
        f"unused interactions in {Path('cassettes') / 'two.yaml'}: #2 (of 2)",
    ]


def test_report_unused_says_so_when_everything_was_used(pytester: pytest.Pytester) -> None:
    project(pytester, "openai_chat")
    pytester.makepyfile(ask=OPENAI_ASK, test_use=USES_ONE.split('@pytest.mark.chunktape("two.yaml"')[0])
    result = pytester.runpytest("--chunktape-report-unused")
    result.assert_outcomes(passed=1)
    assert "every cassette and interaction was used" in result.stdout.str()


def test_the_options_are_in_pytest_help(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI)
    result = pytester.runpytest("--help")
    text = re.sub(r"\s+", " ", result.stdout.str())
    assert "--chunktape-report=DIR" in text
    assert "--chunktape-report-unused" in text


def test_a_report_page_stays_proportional_to_its_cassette_under_a_one_byte_split(pytester: pytest.Pytester) -> None:
    """split=bytes:1 sends thousands of steps for a 4 KB cassette: the page draws them as a
    bounded number of marks (as many as the recorded chunks, or 64) and says so."""
    project(pytester, "openai_chat")
    pytester.makepyfile(
        ask=OPENAI_ASK,
        test_fail="""
import pytest
from ask import ask, in_process


@pytest.mark.chunktape("openai_chat.yaml", speed=0, split="bytes:1")
def test_reply_is_wrong(chunktape):
    assert ask(in_process(chunktape)) == "not what was recorded"
""",
    )
    result = pytester.runpytest("--chunktape-report=reports")
    result.assert_outcomes(failed=1)
    [page] = (pytester.path / "reports").glob("*.html")
    cassette = pytester.path / "cassettes" / "openai_chat.yaml"
    text = page.read_text(encoding="utf-8")
    assert page.stat().st_size <= 16 * cassette.stat().st_size  # was 180x (833 KB for a 4.7 KB cassette)
    drawn = re.search(r"([\d,]+) steps drawn as (\d+) marks", text)
    assert drawn is not None
    assert int(drawn.group(1).replace(",", "")) > 1000
    assert text.count('class="step"') == int(drawn.group(2)) <= 64
    assert text.count('class="utf8-cut"') <= 64
