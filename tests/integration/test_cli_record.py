"""`chunktape record` as users and scripts run it: the CLI contract in SPEC (ready line, exit
codes, `-- COMMAND` in both modes, signals) and the crash guarantee."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from chunktape import Cassette, load_cassette, save_cassette
from tests.support.builders import GEMINI_URL, sse_interaction
from tests.support.fakes.upstream import FakeUpstream
from tests.support.fakes.wire import EXCHANGES, body
from tests.support.recorder_helpers import chunktape_record, read_line, record_env, stop
from tests.support.recorder_upstreams import server_tls

ANTHROPIC = EXCHANGES["anthropic_messages"]
GEMINI = EXCHANGES["gemini_stream"]
OPENAI = EXCHANGES["openai_chat"]
READY = re.compile(r"^chunktape: recording to (\S+) on (http://127\.0\.0\.1:\d+)\n$")

# A program that cannot be reconfigured: it only honours HTTPS_PROXY and SSL_CERT_FILE.
FORWARD_CLIENT = """
import sys, httpx
with httpx.Client(trust_env=True) as client:
    response = client.post(sys.argv[1], json={"max_tokens": 64})
sys.stdout.write(response.text)
sys.exit(7 if response.status_code == 200 else 1)
"""
# A program that takes its base URL from the environment (reverse mode).
REVERSE_CLIENT = """
import os, sys, httpx
response = httpx.post(os.environ["CHUNKTAPE_BASE_URL"] + sys.argv[1], json={})
sys.exit(int(sys.argv[2]) if response.status_code == 200 else 1)
"""


# A command that ends itself (status 5) when told to stop.
PATIENT_COMMAND = """
import signal, sys, time
def bye(signum, frame):
    sys.exit(5)
signal.signal(signal.SIGINT, bye)
signal.signal(signal.SIGTERM, bye)
print("waiting", flush=True)
time.sleep(60)
"""


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeUpstream]:
    with FakeUpstream(speed=0, overrides={"gemini_stream": {"speed": 1}}) as server:
        yield server


def run(*args: str, confdir: Path, timeout_s: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "chunktape", "record", *args],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        env=record_env(confdir),
        stdin=subprocess.DEVNULL,
    )


# ------------------------------------------------------------------ the contract


def test_help_shows_an_example(tmp_path: Path) -> None:
    result = run("--help", confdir=tmp_path)
    assert result.returncode == 0
    assert "Example:" in result.stdout
    assert "chunktape record --upstream" in result.stdout


def test_once_listening_it_prints_exactly_one_line_ending_with_the_url(upstream: FakeUpstream, tmp_path: Path) -> None:
    cassette = tmp_path / "cassettes" / "x.yaml"
    with chunktape_record(cassette, "--upstream", upstream.base_url, confdir=tmp_path) as running:
        match = READY.match(running.first_line)  # read while running: the line was flushed
        assert match
        assert match.group(1) == str(cassette)
        assert httpx.post(running.url + OPENAI.path, json={}).status_code == 200
        assert stop(running.process) == 0
        assert running.process.stdout is not None
        assert running.process.stdout.read() == ""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--upstream", "ftp://example.com"), "bad --upstream URL"),
        (("--upstream", "https://api.openai.com/v1"), "a path is not supported"),
        (("--upstream", "http://127.0.0.1:1", "--cassette", "/proc/no/such/dir/x.yaml"), "cannot write the cassette"),
    ],
    ids=["bad-scheme", "path", "unwritable"],
)
def test_bad_input_is_one_line_and_exit_2(args: tuple[str, ...], message: str, tmp_path: Path) -> None:
    if "--cassette" not in args:
        args = (*args, "--cassette", str(tmp_path / "x.yaml"))
    result = run(*args, confdir=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1
    assert message in result.stderr


def test_a_port_in_use_is_bad_input(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run(
            "--upstream", "http://127.0.0.1:1", "--cassette", str(tmp_path / "x.yaml"), "--port", str(port),
            confdir=tmp_path,
        )  # fmt: skip
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr


def test_a_command_that_does_not_exist_is_bad_input(upstream: FakeUpstream, tmp_path: Path) -> None:
    result = run(
        "--upstream", upstream.base_url, "--cassette", str(tmp_path / "x.yaml"), "--", "no-such-command-chunktape",
        confdir=tmp_path,
    )  # fmt: skip
    assert result.returncode == 2
    assert "cannot run 'no-such-command-chunktape'" in result.stderr


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_ends_recording_cleanly_with_every_finished_interaction_written(
    sig: signal.Signals, upstream: FakeUpstream, tmp_path: Path
) -> None:
    cassette = tmp_path / "x.yaml"
    with chunktape_record(cassette, "--upstream", upstream.base_url, confdir=tmp_path) as running:
        for _ in range(2):
            httpx.post(running.url + OPENAI.path, json={})
        httpx.post(running.url + "/v1/models/gemini-2.5-flash:generateContent", json={})
        with httpx.Client() as client, client.stream("POST", running.url + GEMINI.path, json={}) as in_flight:
            arriving = in_flight.iter_raw()  # held: dropping it would close the connection
            next(arriving)
            assert stop(running.process, sig) == 0
        assert running.process.stderr is not None
        errors = running.process.stderr.read()
        assert "3 interactions written" in errors
        assert "not recorded, the recorder stopped before the end" in errors
        assert "Traceback" not in errors
    assert [i.response.ended for i in load_cassette(str(cassette)).interactions] == ["complete"] * 3


def test_append_keeps_earlier_interactions_each_dated_when_its_request_was_sent(
    upstream: FakeUpstream, tmp_path: Path
) -> None:
    cassette = tmp_path / "x.yaml"
    sent = []
    for extra in ((), ("--append",)):
        with chunktape_record(cassette, "--upstream", upstream.base_url, *extra, confdir=tmp_path) as running:
            sent.append(datetime.now(UTC).replace(microsecond=0))
            httpx.post(running.url + OPENAI.path, json={})
            sent.append(datetime.now(UTC))
    first, second = load_cassette(str(cassette)).interactions
    assert first.recorded_at is not None
    assert second.recorded_at is not None
    assert sent[0] <= first.recorded_at <= sent[1] <= sent[2] <= second.recorded_at <= sent[3]


# ------------------------------------------------------------------ -- COMMAND


@pytest.mark.parametrize("status", [0, 3])
def test_reverse_mode_runs_the_command_with_the_base_url_and_exits_with_its_status(
    status: int, upstream: FakeUpstream, tmp_path: Path
) -> None:
    cassette = tmp_path / "x.yaml"
    command = (sys.executable, "-c", REVERSE_CLIENT, OPENAI.path, str(status))
    result = run("--upstream", upstream.base_url, "--cassette", str(cassette), "--", *command, confdir=tmp_path)
    assert result.returncode == status, result.stderr
    assert READY.match(result.stdout.splitlines(keepends=True)[0])
    [interaction] = load_cassette(str(cassette)).interactions
    assert interaction.request.url == upstream.base_url + OPENAI.path
    assert interaction.response.body == body(OPENAI)


def test_forward_mode_records_https_from_a_program_that_only_honours_the_environment(tmp_path: Path) -> None:
    cassette = tmp_path / "forward.yaml"
    with FakeUpstream(speed=0, tls=server_tls(tmp_path)) as tls_upstream:
        url = tls_upstream.url(ANTHROPIC)
        command = (sys.executable, "-c", FORWARD_CLIENT, url)
        result = run("--cassette", str(cassette), "--ssl-insecure", "--", *command, confdir=tmp_path / "mitmproxy")
    assert result.returncode == 7, result.stderr
    assert result.stdout.splitlines()[0].startswith("chunktape: recording to ")
    assert body(ANTHROPIC).decode("utf-8") in result.stdout  # what the program printed
    [interaction] = load_cassette(str(cassette)).interactions
    assert interaction.request.url == url
    assert interaction.request.body == b'{"max_tokens":64}'
    assert interaction.response.body == body(ANTHROPIC)
    assert (tmp_path / "mitmproxy" / "mitmproxy-ca-cert.pem").exists()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_reaches_the_command_and_record_exits_with_its_status(
    sig: signal.Signals, upstream: FakeUpstream, tmp_path: Path
) -> None:
    command = (sys.executable, "-c", PATIENT_COMMAND)
    with chunktape_record(
        tmp_path / "x.yaml", "--upstream", upstream.base_url, confdir=tmp_path, command=command
    ) as running:
        read_line(running.process, r"^waiting")
        assert stop(running.process, sig) == 5


# ------------------------------------------------------------------ crash


def test_sigkill_mid_stream_leaves_a_valid_cassette_with_every_finished_interaction(
    upstream: FakeUpstream, tmp_path: Path
) -> None:
    cassette = tmp_path / "x.yaml"
    with chunktape_record(cassette, "--upstream", upstream.base_url, confdir=tmp_path) as running:
        finished = httpx.post(running.url + OPENAI.path, json={"n": 1})  # streamed: on disk before it ends
        assert finished.content == body(OPENAI)
        with httpx.Client() as client, client.stream("POST", running.url + GEMINI.path, json={"n": 2}) as live:
            arriving = live.iter_raw()  # held: dropping it would close the connection
            assert next(arriving) == GEMINI.chunks[0][1]
            running.process.kill()
            running.process.wait(10)
    [kept] = load_cassette(str(cassette)).interactions
    assert kept.request.body == b'{"n":1}'
    assert kept.response.body == body(OPENAI)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_while_record_is_still_starting_stops_it_and_leaves_the_cassette_alone(
    sig: signal.Signals, tmp_path: Path
) -> None:
    """Started as a background job (SIGINT ignored, as a shell does), signalled while it reads
    the cassette it will append to: it stops before listening, exit 0, the file untouched."""
    cassette = tmp_path / "big.yaml"
    save_cassette(Cassette([sse_interaction(url=f"{GEMINI_URL}&n={n}") for n in range(4000)]), str(cassette))
    assert cassette.stat().st_size > 1_000_000  # big enough for record to say it reads it
    before = cassette.read_bytes()
    process = subprocess.Popen(
        [sys.executable, "-m", "chunktape", "record", "--upstream", "http://127.0.0.1:9", "--cassette", str(cassette),
         "--append", "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
        env=record_env(tmp_path), preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )  # fmt: skip
    try:
        assert process.stderr is not None
        line = process.stderr.readline()  # the first thing it says: what it reads before listening
        assert "to append to it" in line, line
        process.send_signal(sig)
        assert process.wait(30) == 0
        out, err = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    assert "recording to" not in out  # it never listened
    assert "stopped before recording started" in err
    assert "Traceback" not in err
    assert cassette.read_bytes() == before
