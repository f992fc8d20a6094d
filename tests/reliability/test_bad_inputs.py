"""Bad input never crashes chunktape: every surface that reads a cassette (loading,
`chunktape validate`, `chunktape serve`, `chunktape record --append`, the pytest plugin)
answers each file of tests/bad_inputs with one line naming the file and the line, exits 2
where it is a command, shows no traceback, and writes nothing. Plus a 50 MB cassette, which
loads, validates, serves and replays within generous time and memory bounds.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from chunktape import CassetteError, load_cassette
from tests.support.bad_inputs import CASES, DIRECTORY, BadInput, copy_corpus, snapshot, write_big_cassette
from tests.support.recorder_helpers import record_env
from tests.support.serving import chunktape, invoke, launch, ready, stop

pytest_plugins = ["pytester"]

EVERY_CASE = (*CASES, DIRECTORY)
SERVE_IN_A_REAL_PROCESS = ("binary.yaml", "alias_bomb.yaml", DIRECTORY.name)
RECORD_APPEND_TO = ("malformed_yaml.yaml", "chunks_backwards.yaml")
INI = "[pytest]\naddopts = -p no:cacheprovider\nasyncio_default_fixture_loop_scope = function\n"
BIG_BYTES = 50_000_000
BIG_TIME_LIMIT_S = 30.0
BIG_RSS_LIMIT_MB = 1024  # measured: ~520 MB for `validate` (the text, the objects, and a dump to compare)


def case_id(case: BadInput) -> str:
    return case.name.removesuffix(".yaml")


def where(path: Path, case: BadInput) -> str:
    """What the error line starts with: `path:line: `, or `path: ` when no line applies."""
    return f"{path}:{case.line}: " if case.line is not None else f"{path}: "


def no_traceback(text: str) -> None:
    assert "Traceback" not in text
    assert 'File "' not in text


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    directory = copy_corpus(tmp_path_factory.mktemp("corpus") / "bad")
    before = snapshot(directory)
    yield directory
    assert snapshot(directory) == before, "refusing a bad input wrote to the cassette directory"


@pytest.fixture
def unchanged(corpus: Path) -> Iterator[Path]:
    """The corpus, checked after the test: no file added, none changed, no temp file left."""
    before = snapshot(corpus)
    yield corpus
    assert snapshot(corpus) == before


# ---------------------------------------------------------------- every case, every surface


@pytest.mark.parametrize("case", EVERY_CASE, ids=case_id)
def test_loading_fails_with_one_line_naming_the_file_and_line(unchanged: Path, case: BadInput) -> None:
    path = unchanged / case.name
    with pytest.raises(CassetteError) as excinfo:
        load_cassette(str(path))
    message = str(excinfo.value)
    assert message.startswith(where(path, case))
    assert case.message in message
    assert "\n" not in message


@pytest.mark.parametrize("case", EVERY_CASE, ids=case_id)
def test_validate_fails_with_exit_2_and_one_line(unchanged: Path, case: BadInput) -> None:
    path = unchanged / case.name
    result = invoke("validate", str(path))
    assert result.exit_code == 2
    assert isinstance(result.exception, SystemExit)  # not a crash that click caught
    [line] = result.output.splitlines()
    assert line.startswith("FAIL " + where(path, case))
    assert case.message in line


@pytest.mark.parametrize("case", EVERY_CASE, ids=case_id)
def test_serve_refuses_to_start_with_exit_2_and_one_line(unchanged: Path, case: BadInput) -> None:
    path = unchanged / case.name
    with pytest.raises(CassetteError):  # else serve would start, and serve until stopped
        load_cassette(str(path))
    result = invoke("serve", str(path), "--port", "0")
    assert result.exit_code == 2
    assert isinstance(result.exception, SystemExit)
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith("chunktape: error: " + where(path, case))
    assert case.message in line


def test_validate_in_a_real_process_reports_every_file_and_goes_on(unchanged: Path) -> None:
    result = chunktape("validate", str(unchanged))
    assert result.returncode == 2
    assert result.stderr == ""
    no_traceback(result.stdout)
    lines = result.stdout.splitlines()
    assert len(lines) == len(CASES)  # the empty directory inside holds no cassette: nothing to say
    for line, case in zip(lines, sorted(CASES, key=lambda c: c.name), strict=True):
        assert line.startswith("FAIL " + where(unchanged / case.name, case))
        assert case.message in line


@pytest.mark.parametrize("name", SERVE_IN_A_REAL_PROCESS)
def test_serve_in_a_real_process_exits_2_without_a_traceback(unchanged: Path, name: str) -> None:
    case = next(case for case in EVERY_CASE if case.name == name)
    served = launch(str(unchanged / name))
    try:
        assert served.process.wait(30) == 2
        assert served.process.stdout is not None
        assert served.process.stdout.read() == ""
        [line] = served.stderr().splitlines()
        assert line.startswith("chunktape: error: " + where(unchanged / name, case))
        no_traceback(served.stderr())
    finally:
        stop(served)
        served.errors.close()


@pytest.mark.parametrize("name", RECORD_APPEND_TO)
def test_record_append_refuses_a_bad_cassette_and_leaves_it_as_it_was(
    unchanged: Path, name: str, tmp_path: Path
) -> None:
    case = next(case for case in CASES if case.name == name)
    result = subprocess.run(
        [sys.executable, "-m", "chunktape", "record", "--upstream", "http://127.0.0.1:9",
         "--cassette", str(unchanged / name), "--append"],
        capture_output=True, text=True, timeout=60, env=record_env(tmp_path), stdin=subprocess.DEVNULL, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith("chunktape: error: " + where(unchanged / name, case))
    no_traceback(result.stderr)


def test_the_pytest_plugin_fails_each_test_with_one_line_and_no_traceback(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI)
    cassettes = copy_corpus(pytester.path / "cassettes" / "bad")
    before = snapshot(pytester.path / "cassettes")
    params = ",\n    ".join(
        f'pytest.param({case.name!r}, marks=pytest.mark.chunktape("bad/{case.name}"))' for case in EVERY_CASE
    )
    pytester.makepyfile(
        test_bad=f"""
import pytest

@pytest.mark.parametrize("name", [
    {params}
])
def test_replays(chunktape, name):
    raise AssertionError("never reached: the cassette is bad")
"""
    )
    result = pytester.runpytest()
    result.assert_outcomes(errors=len(EVERY_CASE))
    output = result.stdout.str()
    no_traceback(output)
    assert "never reached" not in output
    lines = output.splitlines()
    for case in EVERY_CASE:
        expected = "chunktape: " + where(cassettes / case.name, case)
        found = [line for line in lines if expected in line]
        assert found, f"no line starting {expected!r}"
        assert case.message in found[0]
    assert snapshot(pytester.path / "cassettes") == before


# ---------------------------------------------------------------- 50 MB


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    path = tmp_path_factory.mktemp("big") / "big.yaml"
    count = write_big_cassette(path, BIG_BYTES)
    assert path.stat().st_size >= BIG_BYTES
    return path, count


def run_measured(*args: str) -> tuple[int, str, float, float]:
    """`chunktape ARGS` in a child process: exit code, stdout, seconds taken, peak RSS in MB."""
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "chunktape", *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert process.stdout is not None
    output = process.stdout.read()  # to the end: the child has exited or is about to
    _, status, usage = os.wait4(process.pid, 0)  # this child's own peak RSS, not all children's
    process.returncode = os.waitstatus_to_exitcode(status)
    process.stdout.close()
    return process.returncode, output, time.monotonic() - started, usage.ru_maxrss / 1024


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        line = next(line for line in status if line.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


def test_a_50_mb_cassette_loads_in_bounded_time(big: tuple[Path, int]) -> None:
    path, count = big
    started = time.monotonic()
    cassette = load_cassette(str(path))
    assert time.monotonic() - started < BIG_TIME_LIMIT_S
    assert len(cassette) == count
    assert all(len(i.response.body) >= 1_000_000 for i in cassette.interactions)


def test_a_50_mb_cassette_validates_in_bounded_time_and_memory(big: tuple[Path, int]) -> None:
    path, count = big
    code, output, seconds, peak_mb = run_measured("validate", str(path))
    assert code == 0, output
    assert output == f"ok {path} ({count} interactions)\n"
    assert seconds < BIG_TIME_LIMIT_S
    assert peak_mb < BIG_RSS_LIMIT_MB


def test_a_50_mb_cassette_is_served_whole(big: tuple[Path, int]) -> None:
    path, count = big
    started = time.monotonic()
    served = ready(launch(str(path), "--speed", "0"))
    try:
        assert time.monotonic() - started < BIG_TIME_LIMIT_S
        assert served.line.startswith(f"chunktape: serving {count} interactions on ")
        last = count - 1
        response = httpx.post(served.base_url + f"/v1/stream?n={last}", content=b'{"n":%d}' % last, timeout=30)
        assert response.status_code == 200
        assert response.content == load_cassette(str(path)).interactions[last].response.body
        assert rss_mb(served.process.pid) < BIG_RSS_LIMIT_MB
    finally:
        stop(served)
        served.errors.close()


def test_a_50_mb_cassette_replays_through_the_pytest_plugin(pytester: pytest.Pytester, big: tuple[Path, int]) -> None:
    path, count = big
    pytester.makeini(INI)
    pytester.makepyfile(
        test_big=f"""
import httpx, pytest

@pytest.mark.chunktape({str(path)!r}, speed=0)
def test_last(chunktape):
    with httpx.Client(transport=chunktape.transport()) as client:
        response = client.post("http://api.test/v1/stream?n={count - 1}", content=b'{{"n":{count - 1}}}')
    assert response.status_code == 200 and len(response.content) >= 1_000_000
"""
    )
    pytester.runpytest().assert_outcomes(passed=1)


def test_a_50_mb_cassette_broken_on_its_last_line_fails_there(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    write_big_cassette(path, BIG_BYTES, broken_at_end=True)
    lines = path.read_bytes().count(b"\n")
    started = time.monotonic()
    with pytest.raises(CassetteError) as excinfo:
        load_cassette(str(path))
    assert time.monotonic() - started < BIG_TIME_LIMIT_S
    assert str(excinfo.value) == f"{path}:{lines}: field 'at_s' must be a number of seconds, not str 'soon'"
    assert os.listdir(tmp_path) == ["broken.yaml"]
