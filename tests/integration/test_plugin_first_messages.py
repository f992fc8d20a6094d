"""The first messages a user meets, each one line that says where the mistake was written
and what to write instead: knob values from a marker, the ini file, the command line or a
chaos marker, and a miss through `base_url` whose diff is shown once."""

from __future__ import annotations

import shutil
from pathlib import Path

import google.genai
import pytest

# imported here so pytester's in-process runs reuse it: it drops modules a run imported
SDKS = (google.genai,)
pytest_plugins = ["pytester"]
ROOT = Path(__file__).resolve().parents[2]
INI = "[pytest]\nasyncio_default_fixture_loop_scope = function\naddopts = -p no:cacheprovider -p no:randomly\n"
A_TEST = """import pytest


@pytest.mark.chunktape("gemini_stream.yaml", speed=0)
def test_chat(chunktape):
    pass
"""


def project(pytester: pytest.Pytester, ini: str = INI) -> None:
    pytester.makeini(ini)
    (pytester.path / "cassettes").mkdir()
    shutil.copy(ROOT / "cassettes" / "gemini_stream.yaml", pytester.path / "cassettes" / "gemini_stream.yaml")


def test_a_marker_knob_error_names_the_test_line_and_the_marker_and_suggests(pytester: pytest.Pytester) -> None:
    project(pytester)
    pytester.makepyfile(test_chat=A_TEST.replace("speed=0", "speed=0, split='utf-8'"))
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["chunktape: test_chat.py:4: @pytest.mark.chunktape(split='utf-8'): unknown split; did you mean utf8?"]
    )


def test_an_ini_knob_error_names_the_ini_file_and_the_line_as_written(pytester: pytest.Pytester) -> None:
    project(pytester, INI + "chunktape_split = utf-8\n")
    pytester.makepyfile(test_chat=A_TEST)
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert (
        result.stderr.lines[0]
        == "ERROR: chunktape: tox.ini: chunktape_split = utf-8: unknown split; did you mean utf8?"
    )


def test_a_command_line_knob_error_names_the_option_as_written(pytester: pytest.Pytester) -> None:
    project(pytester)
    pytester.makepyfile(test_chat=A_TEST)
    result = pytester.runpytest("--chunktape-delay=first:1s", "--chunktape-delay=frist:2s")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert (
        result.stderr.lines[0] == "ERROR: chunktape: --chunktape-delay=frist:2s: unknown delay; did you mean first:2s?"
    )


def test_a_bad_chaos_value_is_one_line_naming_the_test_and_the_value_as_written(pytester: pytest.Pytester) -> None:
    project(pytester)
    pytester.makepyfile(
        test_chaos="""import pytest


@pytest.mark.chunktape("gemini_stream.yaml", speed=0)
@pytest.mark.chunktape_chaos(split=["recorded", "bytes:0"])
def test_chat(chunktape):
    pass
"""
    )
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.INTERRUPTED
    errors = result.stdout.str().split("ERROR collecting test_chaos.py")[1].split("short test summary info")[0]
    assert errors.strip("_= \n").splitlines() == [
        "test_chaos.py:4: @pytest.mark.chunktape_chaos(split='bytes:0'): bad split; 0 must be at least 1, as in bytes:16"
    ]
    assert "Traceback" not in result.stdout.str()
    assert "pluggy/_" not in result.stdout.str()  # none of its frames


def test_a_miss_through_base_url_shows_its_diff_once_though_the_sdk_quotes_the_404(pytester: pytest.Pytester) -> None:
    project(pytester)
    pytester.makepyfile(
        test_miss="""import pytest
from google import genai
from google.genai import types


@pytest.mark.chunktape("gemini_stream.yaml", speed=0)
def test_asks_something_else(chunktape):
    client = genai.Client(api_key="fake", http_options=types.HttpOptions(base_url=chunktape.base_url))
    for _ in client.models.generate_content_stream(model="gemini-2.5-flash", contents="something else"):
        pass
"""
    )
    # -rN: no short summary, whose line repeats the failure's message in full when CI=true
    # (pytest cuts it to the terminal's width only when CI is unset); the report is what counts
    result = pytester.runpytest("-rN")
    result.assert_outcomes(failed=1)
    output = result.stdout.str()
    assert output.count('"text": "something else"') == 1
    assert output.count("no recorded interaction matches") == 1
    result.stdout.fnmatch_lines(["(the client raised ClientError for the 404 that answered it)"])
