"""`chunktape serve` keeps its CLI contract: the URL line, clean shutdown, exit codes."""

from __future__ import annotations

import os
import re
import signal
import socket
import time
from pathlib import Path

import httpx
import pytest

from tests.support.builders import sse_cassette
from tests.support.serving import chunktape, invoke, serving, start, stop

CASSETTES = Path(__file__).resolve().parents[2] / "cassettes"
PATH = "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
BODY = {"contents": [{"parts": [{"text": "hi"}], "role": "user"}]}


@pytest.fixture
def cassette_file(tmp_path: Path) -> str:
    return sse_cassette().save(str(tmp_path / "gemini.yaml"))


def test_prints_one_line_ending_with_the_base_url(cassette_file: str) -> None:
    with serving(cassette_file) as served:
        assert re.fullmatch(r"chunktape: serving 1 interaction on http://127\.0\.0\.1:\d+", served.line)
        assert httpx.post(served.base_url + PATH, json=BODY).status_code == 200


def test_a_directory_serves_every_cassette_in_it() -> None:
    with serving(str(CASSETTES), "--speed", "0") as served:
        count = len(list(CASSETTES.glob("*.yaml")))  # one interaction each
        assert served.line.startswith(f"chunktape: serving {count} interactions on http://127.0.0.1:")


def test_an_explicit_port_is_used(cassette_file: str) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with serving(cassette_file, "--port", str(port)) as served:
        assert served.base_url == f"http://127.0.0.1:{port}"


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_ends_it_cleanly_with_exit_0(cassette_file: str, sig: int) -> None:
    served = start(cassette_file)
    try:
        assert stop(served, sig) == 0
        assert "Traceback" not in served.stderr()
    finally:
        served.errors.close()


def test_a_cut_stream_logs_nothing_alarming(cassette_file: str) -> None:
    with serving(cassette_file, "--speed", "0", "--fault", "disconnect:1") as served:
        with pytest.raises(httpx.RemoteProtocolError):
            httpx.post(served.base_url + PATH, json=BODY)
        time.sleep(0.1)
        assert "ASGI" not in served.stderr()
        assert "Traceback" not in served.stderr()


def test_a_miss_is_a_404_and_a_message_on_stderr(cassette_file: str) -> None:
    with serving(cassette_file, "--speed", "0") as served:
        response = httpx.post(served.base_url + "/v1beta/models/other:generateContent", json=BODY)
        assert response.status_code == 404
        assert response.json()["chunktape"] == "no match"
        deadline = time.monotonic() + 5
        while "no recorded interaction matches" not in served.stderr() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert "no recorded interaction matches POST /v1beta/models/other:generateContent" in served.stderr()


def test_match_on_and_ignore_loosen_matching(cassette_file: str) -> None:
    other_body = {"contents": [{"parts": [{"text": "something else"}], "role": "user"}]}
    with serving(cassette_file, "--speed", "0", "--match-on", "method,path") as served:
        assert httpx.post(served.base_url + PATH, json=other_body).status_code == 200
    with serving(cassette_file, "--speed", "0", "--ignore", "contents") as served:
        assert httpx.post(served.base_url + PATH, json={"contents": []}).status_code == 200


def test_the_knobs_are_echoed_on_stderr_to_repeat_a_run(cassette_file: str) -> None:
    with serving(cassette_file, "--split", "random:1-8", "--seed", "7") as served:
        deadline = time.monotonic() + 5
        while "seed=7" not in served.stderr() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert "split=random:1-8" in served.stderr()
        assert "seed=7" in served.stderr()


# ---------------------------------------------------------------- bad input: one line, exit 2


def _one_error_line(result_stderr: str) -> str:
    lines = result_stderr.strip().splitlines()
    assert len(lines) == 1, result_stderr
    return lines[0]


def _write(path: Path, text: str) -> str:
    path.write_text(text, encoding="utf-8")
    return str(path)


def _good_text() -> str:
    from chunktape.persist import dumps

    return dumps(sse_cassette())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("version: 1\ninteractions: [\n  - broken", r"bad\.yaml:\d+: invalid YAML"),
        ("version: 7\ninteractions: []\n", r"bad\.yaml:1: unknown cassette version 7"),
        ("version: 1\n", r"bad\.yaml:1: missing field 'interactions'"),
        (
            "version: 1\ninteractions:\n- request: {method: GET, url: 'http://x/'}\n",
            r"bad\.yaml:3: missing field 'response'",
        ),
    ],
    ids=["malformed-yaml", "unknown-version", "no-interactions", "no-response"],
)
def test_a_bad_cassette_is_one_line_with_file_and_line_and_exit_2(tmp_path: Path, text: str, expected: str) -> None:
    result = invoke("serve", _write(tmp_path / "bad.yaml", text), "--port", "0")
    assert result.exit_code == 2
    assert re.search(expected, _one_error_line(result.stderr))
    assert result.stdout == ""


def test_one_bad_cassette_among_good_ones_stops_the_start(tmp_path: Path) -> None:
    _write(tmp_path / "a_good.yaml", _good_text())
    _write(tmp_path / "b_bad.yaml", _good_text().replace("size_bytes: 52", "size_bytes: 5200"))
    result = invoke("serve", str(tmp_path), "--port", "0")
    assert result.exit_code == 2
    assert re.search(r"b_bad\.yaml:\d+: chunks cover more bytes", _one_error_line(result.stderr))


def test_a_directory_with_no_cassettes_is_exit_2(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a cassette")
    result = invoke("serve", str(tmp_path), "--port", "0")
    assert result.exit_code == 2
    assert "no *.yaml or *.yml cassettes" in _one_error_line(result.stderr)


def test_a_missing_file_is_exit_2(tmp_path: Path) -> None:
    result = invoke("serve", str(tmp_path / "nope.yaml"), "--port", "0")
    assert result.exit_code == 2
    assert "nope.yaml: no such cassette file" in _one_error_line(result.stderr)


def test_a_file_that_is_not_text_is_exit_2(tmp_path: Path) -> None:
    (tmp_path / "binary.yaml").write_bytes(b"version: 1\n\xff\xfe\x00junk")
    result = invoke("serve", str(tmp_path / "binary.yaml"), "--port", "0")
    assert result.exit_code == 2
    assert "binary.yaml:2: is not UTF-8 text" in _one_error_line(result.stderr)


def test_an_unreadable_file_is_exit_2(tmp_path: Path) -> None:
    # root reads any file whatever its mode, so unreadable here means a symlink loop
    looping = tmp_path / "locked.yaml"
    os.symlink(looping, looping)
    result = invoke("serve", str(looping), "--port", "0")
    assert result.exit_code == 2
    assert "locked.yaml: cannot read the cassette (Too many levels of symbolic links)" in _one_error_line(result.stderr)


@pytest.mark.parametrize(
    ("knob", "message"),
    [
        (("--split", "halves"), "unknown split 'halves'"),
        (("--delay", "first:soon"), "bad delay duration 'soon'"),
        (("--fault", "status:200"), "must be at least 400"),
        (("--speed", "-1"), "bad speed '-1'"),
        (("--match-on", "colour"), "unknown match field 'colour'"),
    ],
)
def test_a_bad_knob_is_one_line_and_exit_2(cassette_file: str, knob: tuple[str, str], message: str) -> None:
    result = invoke("serve", cassette_file, *knob, "--port", "0")
    assert result.exit_code == 2
    assert message in _one_error_line(result.stderr)


def test_a_port_in_use_is_exit_2(cassette_file: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        result = invoke("serve", cassette_file, "--port", str(taken.getsockname()[1]))
    assert result.exit_code == 2
    assert "cannot listen on 127.0.0.1" in _one_error_line(result.stderr)


def test_no_path_is_a_usage_error() -> None:
    result = invoke("serve")
    assert result.exit_code == 2
    assert "Missing argument 'PATH...'" in result.stderr


def test_help_shows_an_example() -> None:
    result = chunktape("serve", "--help")
    assert result.returncode == 0
    assert "Example:" in result.stdout
    assert "chunktape serve cassettes/" in result.stdout
    for option in ("--host", "--port", "--speed", "--split", "--delay", "--fault", "--seed", "--match-on", "--ignore"):
        assert option in result.stdout


def test_the_old_spelling_of_a_cut_still_works_and_says_the_new_one(cassette_file: str) -> None:
    with serving(cassette_file, "--speed", "0", "--fault", "disconnect:1") as served:
        with pytest.raises(httpx.RemoteProtocolError):
            httpx.post(served.base_url + PATH, json=BODY)
        assert "chunktape: note: fault disconnect:N is now spelled cut:N" in served.stderr()
    with serving(cassette_file, "--speed", "0", "--fault", "cut:1") as served:
        with pytest.raises(httpx.RemoteProtocolError):
            httpx.post(served.base_url + PATH, json=BODY)
        assert "note:" not in served.stderr()
