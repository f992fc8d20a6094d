"""The plugin and time: `max_age` fails or warns on an old cassette (marker, ini, command line),
and `--chunktape-drift` reports per test what a fake upstream's newer version changed."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from chunktape import Cassette, save_cassette
from tests.support.fakes.drifting import VERSIONS, exchange, recorded
from tests.support.fakes.upstream import FakeUpstream

pytest_plugins = ["pytester"]

INI = "[pytest]\nasyncio_default_fixture_loop_scope = function\naddopts = -p no:cacheprovider\n"
OLD = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)


def project(pytester: pytest.Pytester, marker: str, *, when: datetime | None, ini: str = "") -> None:
    pytester.makeini(INI + ini)
    interaction = dataclasses.replace(recorded("v1"), recorded_at=when)
    save_cassette(Cassette([interaction]), str(pytester.path / "cassettes" / "chat.yaml"))
    pytester.makepyfile(
        test_chat=f"""
import pytest

@pytest.mark.chunktape("chat.yaml"{marker})
def test_chat(chunktape):
    assert chunktape.player is not None
"""
    )


def days_ago(days: int) -> datetime:
    return (datetime.now(UTC) - timedelta(days=days)).replace(microsecond=0)


def test_a_cassette_older_than_max_age_fails_its_test_in_one_line_saying_when_the_limit_and_the_fix(
    pytester: pytest.Pytester,
) -> None:
    project(pytester, ', max_age="30d"', when=OLD)
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    line = next(line for line in result.outlines if "older than max_age" in line)
    assert "cassettes/chat.yaml: recorded 2026-01-05T09:30:00Z, " in line
    assert "older than max_age 30d; re-record it: pytest test_chat.py::test_chat --chunktape-record-mode=all" in line
    assert "Traceback" not in result.stdout.str()


def test_a_cassette_younger_than_max_age_passes_quietly(pytester: pytest.Pytester) -> None:
    project(pytester, ', max_age="2w"', when=days_ago(3))
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, warnings=0)


def test_max_age_action_warn_passes_with_the_same_line_as_a_warning(pytester: pytest.Pytester) -> None:
    project(pytester, ', max_age="12h", max_age_action="warn"', when=days_ago(2))
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, warnings=1)
    result.stdout.fnmatch_lines(["*CassetteAgeWarning: *chat.yaml: recorded *, 2d ago, older than max_age 12h*"])


def test_ini_sets_max_age_for_every_test_and_the_command_line_overrides_it(pytester: pytest.Pytester) -> None:
    project(pytester, "", when=days_ago(40), ini="chunktape_max_age = 30d\n")
    pytester.runpytest().assert_outcomes(errors=1)
    pytester.runpytest("--chunktape-max-age-action=warn").assert_outcomes(passed=1, warnings=1)
    pytester.runpytest("--chunktape-max-age=none").assert_outcomes(passed=1, warnings=0)


def test_a_cassette_without_recorded_at_only_warns_that_its_age_is_unknown(pytester: pytest.Pytester) -> None:
    project(pytester, ', max_age="30d"', when=None)
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, warnings=1)
    result.stdout.fnmatch_lines(["*no interaction says when it was recorded (recorded_at)*re-record it to date it*"])


def test_a_bad_max_age_is_a_usage_error_with_the_fix(pytester: pytest.Pytester) -> None:
    project(pytester, "", when=OLD)
    result = pytester.runpytest("--chunktape-max-age=30 days")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*bad max_age '30 days': write it like 30d, 12h or 2w (or none)*"])


# ------------------------------------------------------------------ --chunktape-drift


@pytest.fixture(scope="module")
def upstreams() -> Iterator[dict[str, FakeUpstream]]:
    servers = {version: FakeUpstream([exchange(version)]).start() for version in VERSIONS}
    try:
        yield servers
    finally:
        for server in servers.values():
            server.stop()


def test_chunktape_drift_reports_each_tests_drift_in_the_summary_and_a_report_page_without_failing(
    pytester: pytest.Pytester, upstreams: dict[str, FakeUpstream], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-drift-plugin-0123456789abcdef")
    pytester.makeini(INI)
    save_cassette(Cassette([recorded("v1")]), str(pytester.path / "cassettes" / "chat.yaml"))
    pytester.makepyfile(
        test_chat=f"""
import pytest

@pytest.mark.chunktape("chat.yaml", upstream="{upstreams["drifted"].base_url}")
def test_drifted(chunktape):
    pass

@pytest.mark.chunktape("chat.yaml", upstream="{upstreams["words"].base_url}")
def test_words_only(chunktape):
    pass

@pytest.mark.chunktape("chat.yaml")
def test_no_upstream(chunktape):
    pass
"""
    )
    result = pytester.runpytest("--chunktape-drift", f"--chunktape-report={pytester.path / 'reports'}")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(
        [
            "*chunktape: drift*",
            "test_chat.py::test_drifted: 6 findings (2 breaking, 3 notable, 1 timing)",
            "  POST /v1/chat/completions: breaking field removed: choices[].finish_reason*",
            "*report: *drift-test_chat.py_test_drifted.html",
            "test_chat.py::test_words_only: no drift",
            "test_chat.py::test_no_upstream: not checked: the test has no upstream= to compare with",
        ]
    )
    assert upstreams["drifted"].requests[-1].header("authorization") == "Bearer sk-drift-plugin-0123456789abcdef"
    assert "sk-drift-plugin" not in result.stdout.str()
    page = pytester.path / "reports" / "drift-test_chat.py_test_drifted.html"
    assert "<code>event:ping</code>" in page.read_text(encoding="utf-8")


def test_without_the_option_no_request_reaches_the_upstream(
    pytester: pytest.Pytester, upstreams: dict[str, FakeUpstream]
) -> None:
    pytester.makeini(INI)
    save_cassette(Cassette([recorded("v1")]), str(pytester.path / "cassettes" / "chat.yaml"))
    server = upstreams["v1"]
    pytester.makepyfile(
        test_chat=f"""
import pytest

@pytest.mark.chunktape("chat.yaml", upstream="{server.base_url}")
def test_replay(chunktape):
    pass
"""
    )
    before = len(server.requests)
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    assert len(server.requests) == before
    assert "chunktape: drift" not in result.stdout.str()
