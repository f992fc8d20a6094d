"""Secrets, in every place a key can appear, never reach disk, logs or error messages.

Recorded through the real recorder (`chunktape record`, reverse mode): headers
x-goog-api-key, Authorization, x-api-key, api-key, Cookie and a user-named one; a response's
Set-Cookie; `?key=`; a JSON request body field named with --redact-header. The cassette is
grepped for each live value; `record`'s and `serve`'s stdout and stderr are too, including on
a miss; so are NoMatchError and CassetteError messages.

Response bodies are the exception by design: they are stored byte-exact (redacting would
change the bytes a test replays), so a key the upstream sends back, even split across two
chunks, does reach the cassette. The protection is to say so, never to hide it: `record`
warns (masked) when it writes one, and `chunktape validate` fails the cassette (exit 1)
wherever the key sits: split across chunk boundaries, or inside a body stored as base64.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import subprocess
import sys
import time
import warnings
from pathlib import Path

import httpx
import pytest

from chunktape import (
    Cassette,
    CassetteError,
    CassettePlayer,
    Interaction,
    MatchRules,
    NoMatchError,
    ReplayPolicy,
    ReplayTransport,
    Request,
    Response,
    load_cassette,
)
from chunktape.persist import dumps, loads
from chunktape.recorder.addon import ChunktapeRecorder
from tests.support.fake_keys import FAKE_KEYS
from tests.support.fakes.upstream import FakeUpstream
from tests.support.fakes.wire import EXCHANGES, WireExchange
from tests.support.recorder_helpers import chunktape_record, record_env, stop
from tests.support.serving import invoke, serving

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from mitmproxy import flow as mitm_flow
    from mitmproxy.test import taddons, tflow

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[2]
GEMINI = EXCHANGES["gemini_stream"]
# fake keys, put together at run time so that no repository scanner flags this file
GOOGLE_KEY = "AI" + "zaSyLIVEkey0123456789abcdefghijklmnopq"
OPENAI_KEY = "sk-" + "proj-LIVEkey0123456789abcdefghijkl"
ANTHROPIC_KEY = "sk-" + "ant-api03-LIVEkey0123456789abcdefgh"
LIVE = {
    "x-goog-api-key": GOOGLE_KEY,
    "authorization": "Bearer " + OPENAI_KEY,
    "x-api-key": ANTHROPIC_KEY,
    "api-key": "azure-LIVE-key-0123456789",
    "cookie": "session=LIVE-cookie-0123456789; theme=dark",
    "x-tenant-token": "LIVE-tenant-0123456789",  # a user-named secret header
}
QUERY_KEY = "LIVE-query-key-0123456789"
BODY_FIELD_KEY = "LIVE-body-field-0123456789"
SET_COOKIE = "LIVE-set-cookie-0123456789"
REQUEST_SECRETS = [*LIVE.values(), GOOGLE_KEY, OPENAI_KEY, ANTHROPIC_KEY, QUERY_KEY, BODY_FIELD_KEY, SET_COOKIE]
# what the upstream sends back in its bodies: a key cut in two by a chunk boundary
ECHOED_KEY = "AI" + "zaSyECHOEDkey0123456789abcdefghijklmn"
BINARY_ECHOED_KEY = "sk-" + "ECHOEDbinary0123456789abcdefghij"


def echoing() -> WireExchange:
    """An SSE stream whose text holds a key, split across its 2nd and 3rd chunks, and whose
    response sets a cookie."""
    half = len(ECHOED_KEY) // 2
    return WireExchange(
        name="openai_echo",
        method="POST",
        path="/v1/echo",
        request_json={},
        status=200,
        headers=(("content-type", "text/event-stream"), ("set-cookie", f"sid={SET_COOKIE}; HttpOnly")),
        chunks=(
            (0.01, b'data: {"text":"your key is '),
            (0.01, ECHOED_KEY[:half].encode()),
            (0.01, ECHOED_KEY[half:].encode() + b'"}\n\n'),
        ),
        text="",
        streamed=True,
    )


def binary_echoing() -> WireExchange:
    """A body that is not UTF-8 (stored as base64), holding a key split across two chunks."""
    half = len(BINARY_ECHOED_KEY) // 2
    return WireExchange(
        name="openai_blob",
        method="GET",
        path="/v1/blob",
        request_json={},
        status=200,
        headers=(("content-type", "application/octet-stream"),),
        chunks=(
            (0.01, b"\xff\xfe\x00" + BINARY_ECHOED_KEY[:half].encode()),
            (0.01, BINARY_ECHOED_KEY[half:].encode() + b"\x00\xff"),
        ),
        text="",
        streamed=True,
    )


def absent(text: str | bytes, secrets: list[str], where: str) -> None:
    data = text.encode() if isinstance(text, str) else text
    leaked = [secret for secret in secrets if secret.encode() in data]
    assert not leaked, f"{where} holds {leaked}"


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """Records every kind of secret once; yields the cassette and everything record printed."""
    directory = tmp_path_factory.mktemp("secrets")
    cassette = directory / "secrets.yaml"
    cut = dataclasses.replace(echoing(), name="openai_cut", path="/v1/cut")
    exchanges = {GEMINI.name: GEMINI, "openai_echo": echoing(), "openai_blob": binary_echoing(), "openai_cut": cut}
    with FakeUpstream(exchanges, speed=0, overrides={"openai_cut": {"cut_after": 1}}) as upstream:
        args = ("--upstream", upstream.base_url, "--redact-header", "x-tenant-token", "--redact-header", "api_token")
        with chunktape_record(cassette, *args, confdir=directory) as running:
            with httpx.Client(base_url=running.url, timeout=30) as client:
                client.post(
                    GEMINI.path + f"&key={QUERY_KEY}",
                    json={"contents": [], "api_token": BODY_FIELD_KEY, "nested": [{"api_token": BODY_FIELD_KEY}]},
                    headers=LIVE,
                )
                client.post("/v1/echo", json={}, headers=LIVE)
                client.get("/v1/blob", headers=LIVE)
                with pytest.raises(httpx.HTTPError):  # cut after its first chunk: logged as a cut
                    client.post(f"/v1/cut?key={QUERY_KEY}", json={}, headers=LIVE)
                # the upstream's 404 quotes the URL, key and all: an echo in a response body
                client.get(f"/v1/unknown?key={QUERY_KEY}", headers=LIVE)
            assert stop(running.process) == 0  # every finished exchange is written by now
            assert running.process.stderr is not None
            assert running.process.stdout is not None
            printed = running.first_line + running.process.stdout.read() + running.process.stderr.read()
    return cassette, printed


def test_no_request_secret_reaches_the_cassette(recording: tuple[Path, str]) -> None:
    cassette, _ = recording
    interactions = load_cassette(str(cassette)).interactions
    assert len(interactions) == 5
    assert QUERY_KEY.encode() in interactions[4].response.body  # the upstream's own words: kept, see below
    text = cassette.read_text(encoding="utf-8")
    before_the_404_body = text[: text.rindex("\n    body:\n")]  # its request, its headers, all the rest
    assert before_the_404_body.count("\n  request:\n") == 5  # each item: `- recorded_at: ...` then its request
    absent(before_the_404_body, REQUEST_SECRETS, "the cassette")
    first = interactions[0].request
    for name in LIVE:
        assert first.header(name) == "<redacted>"
    assert "key=<redacted>" in first.url
    assert b'"api_token":"<redacted>"' in first.body
    assert interactions[1].response.header("set-cookie") == "<redacted>"


def test_no_secret_reaches_what_record_prints(recording: tuple[Path, str]) -> None:
    _, printed = recording
    absent(printed, [*REQUEST_SECRETS, ECHOED_KEY, BINARY_ECHOED_KEY], "record's output")
    assert "key=<redacted>" in printed  # the URLs are there, redacted
    assert "cut" in printed


def test_a_key_in_a_response_body_is_kept_byte_exact_and_record_warns_masked(recording: tuple[Path, str]) -> None:
    cassette, printed = recording
    echoed = load_cassette(str(cassette)).interactions[1].response
    assert [chunk.data for chunk in echoed.chunks][1:] == [
        ECHOED_KEY[: len(ECHOED_KEY) // 2].encode(),
        ECHOED_KEY[len(ECHOED_KEY) // 2 :].encode() + b'"}\n\n',
    ]
    assert "the response body of POST" in printed
    assert "looks like a secret: google-api-key (AIza… 39 chars)" in printed
    assert "looks like a secret: openai-key (sk-E… 35 chars)" in printed  # the binary one
    assert "looks like a secret: query parameter key= value (LIVE… 25 chars)" in printed  # the 404's echo


def test_validate_fails_a_cassette_holding_a_key_split_across_chunks_or_in_base64(
    recording: tuple[Path, str],
) -> None:
    cassette, _ = recording
    text = cassette.read_text(encoding="utf-8")
    assert ECHOED_KEY in text  # the SSE body is stored as text: the key reads whole
    assert BINARY_ECHOED_KEY not in text  # the binary body is base64: only the bytes show it
    result = invoke("validate", str(cassette))
    assert result.exit_code == 1
    [line] = result.output.splitlines()
    assert line.startswith(f"FAIL {cassette}: leaked secret: ")
    assert "google-api-key at line" in line
    assert "openai-key in the response body of interaction #3 (sk-E… 35 chars)" in line
    assert "query parameter key= not redacted at line" in line  # the 404's echo
    absent(line, [ECHOED_KEY, BINARY_ECHOED_KEY, QUERY_KEY], "validate's output")


def test_serve_never_prints_or_answers_a_live_key_on_a_miss_or_a_hit(recording: tuple[Path, str]) -> None:
    cassette, _ = recording
    with serving(str(cassette), "--speed", "0") as served, httpx.Client(base_url=served.base_url) as client:
        hit = client.post(
            GEMINI.path + f"&key={QUERY_KEY}", json={"contents": [], "api_token": "x", "nested": [{"api_token": "y"}]},
            headers=LIVE,
        )  # fmt: skip
        assert hit.status_code == 404  # api_token is not ignored by serve (no --redact-header there)
        miss = client.post(
            f"/v1/other?key={QUERY_KEY}&api_key={QUERY_KEY}",
            json={"prompt": f"my key is {GOOGLE_KEY} and {OPENAI_KEY}"},
            headers=LIVE,
        )
        assert miss.status_code == 404
        absent(hit.text + miss.text, REQUEST_SECRETS, "the 404 bodies")
        for _ in range(100):  # the log lines land a moment after the answers
            if served.stderr().count("no recorded interaction matches") >= 2:
                break
            time.sleep(0.02)
        logged = served.line + served.stderr()
    assert logged.count("no recorded interaction matches") >= 2
    absent(logged, REQUEST_SECRETS, "serve's output")
    assert "key=<redacted>" in logged


def test_no_match_error_text_never_shows_a_live_key(recording: tuple[Path, str]) -> None:
    cassette, _ = recording
    rules = MatchRules.build(
        match_on="method,path,query,body,headers", match_headers=["x-goog-api-key", "authorization"]
    )
    player = CassettePlayer([load_cassette(str(cassette))], ReplayPolicy(speed=0), rules)
    transport = ReplayTransport(str(cassette), player=player)
    with httpx.Client(transport=transport) as client, pytest.raises(NoMatchError) as excinfo:
        client.post(
            f"http://replay.test{GEMINI.path}&key={QUERY_KEY}",
            json={"contents": [], "prompt": f"use {GOOGLE_KEY}, {ANTHROPIC_KEY}, Bearer {OPENAI_KEY}"},
            headers=LIVE,
        )
    error = excinfo.value
    absent(str(error) + str(error.closest) + "".join(error.differences), REQUEST_SECRETS, "NoMatchError")
    assert "header x-goog-api-key differs from the recorded one" in str(error)
    assert "<redacted:google-api-key>" in str(error)  # the body diff still shows where the key was


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("x-goog-api-key: <redacted>", f"x-goog-api-key: [[{GOOGLE_KEY}]]"),
        ("method: POST", f"method: [{OPENAI_KEY}]"),
        ("version: 1", f"version: {ANTHROPIC_KEY}"),
        ("interactions:", f"interactions:\n  Bearer {OPENAI_KEY}:"),
    ],
    ids=["header-nested-list", "method-list", "version", "unknown-field"],
)
def test_cassette_error_text_never_shows_a_live_key(recording: tuple[Path, str], old: str, new: str) -> None:
    cassette, _ = recording
    text = cassette.read_text(encoding="utf-8")
    assert old in text
    with pytest.raises(CassetteError) as excinfo:
        loads(text.replace(old, new, 1), "leaky.yaml")
    message = str(excinfo.value)
    assert message.startswith("leaky.yaml:")
    absent(message, REQUEST_SECRETS, "the CassetteError")


@pytest.mark.asyncio
async def test_an_exchange_that_got_no_response_is_logged_with_its_url_redacted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    addon = ChunktapeRecorder()
    with taddons.context(addon) as tctx, caplog.at_level(logging.INFO, logger="chunktape"):
        tctx.configure(addon, chunktape_cassette=str(tmp_path / "c.yaml"), chunktape_redact="x-tenant-token")
        flow = tflow.tflow()
        flow.request.url = f"https://api.test/v1/x?key={QUERY_KEY}&x-tenant-token={LIVE['x-tenant-token']}"
        flow.request.headers["authorization"] = LIVE["authorization"]
        addon.request(flow)
        flow.error = mitm_flow.Error(f"connection refused while sending Bearer {OPENAI_KEY}")
        await addon.error(flow)
        addon.done()
    assert (
        "could not reach the upstream https://api.test:443 (connection refused); "
        "GET https://api.test/v1/x?key=<redacted>&x-tenant-token=<redacted> was not recorded"
    ) in caplog.text
    absent(caplog.text, REQUEST_SECRETS, "the recorder's log")


def test_record_with_a_live_key_in_its_arguments_does_not_echo_it_on_bad_input(tmp_path: Path) -> None:
    """A bad --upstream with credentials in it is refused without repeating them."""
    result = subprocess.run(
        [sys.executable, "-m", "chunktape", "record", "--upstream", f"https://user:{GOOGLE_KEY}@api.test",
         "--cassette", str(tmp_path / "c.yaml")],
        capture_output=True, text=True, timeout=60, env=record_env(tmp_path), stdin=subprocess.DEVNULL, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    absent(result.stdout + result.stderr, [GOOGLE_KEY], "record's error")


# ---------------------------------------------------------------- reprs and pytest tracebacks

MISSING_TEST = """
import httpx2
import pytest

KEY, TOKEN_SHAPED, HEADERS = {query_key!r}, {google_key!r}, {headers!r}
URL = "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse&key=" + KEY


@pytest.mark.chunktape("gemini_stream.yaml", speed=0, redact=["x-tenant-token"])
def test_asks_what_the_cassette_lacks(chunktape):
    request = {{"contents": [{{"parts": [{{"text": "use " + TOKEN_SHAPED}}]}}]}}
    if {server}:
        with httpx2.Client(base_url=chunktape.base_url) as client:
            client.post(URL, json=request, headers=HEADERS).raise_for_status()
    else:
        transport = chunktape.transport()
        with httpx2.Client(transport=transport, base_url="https://generativelanguage.googleapis.com") as client:
            client.post(URL, json=request, headers=HEADERS)
"""


@pytest.mark.parametrize("traceback", [("--tb=long",), ("--tb=long", "--showlocals")], ids=["long", "showlocals"])
@pytest.mark.parametrize("mode", ["server", "in_process"])
def test_a_miss_in_a_pytest_traceback_never_shows_a_live_key(
    pytester: pytest.Pytester, mode: str, traceback: tuple[str, ...]
) -> None:
    cassettes = pytester.path / "cassettes"
    cassettes.mkdir()
    (cassettes / "gemini_stream.yaml").write_bytes((ROOT / "cassettes" / "gemini_stream.yaml").read_bytes())
    source = MISSING_TEST.format(query_key=QUERY_KEY, google_key=GOOGLE_KEY, headers=LIVE, server=mode == "server")
    pytester.makepyfile(test_leaky=source)
    result = pytester.runpytest_subprocess("-p", "no:randomly", "-p", "no:cacheprovider", *traceback)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*no recorded interaction matches POST /v1beta/models/*key=<redacted>*"])
    absent(result.stdout.str() + result.stderr.str(), REQUEST_SECRETS, f"pytest's {' '.join(traceback)} report")


def test_the_reprs_of_requests_interactions_and_misses_mask_secrets(caplog: pytest.LogCaptureFixture) -> None:
    """What tracebacks, --showlocals and log records print of a request: never a key."""
    request = Request(
        "POST",
        f"https://generativelanguage.googleapis.com/v1beta/m:stream?alt=sse&key={QUERY_KEY}&k={GOOGLE_KEY}",
        tuple(LIVE.items()),
        b'{"api_token": "' + BODY_FIELD_KEY.encode() + b'"}',
    )
    response = Response(200, (("set-cookie", f"sid={SET_COOKIE}"),))
    interaction = Interaction(request, response)
    player = CassettePlayer([Cassette([interaction])], ReplayPolicy(speed=0))
    with pytest.raises(NoMatchError) as excinfo:
        player.find(dataclasses.replace(request, method="GET"))
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("chunktape.test").warning("answering %r for %r", interaction, request)
    shown = [
        repr(request),
        repr(interaction),
        str(interaction),
        repr(excinfo.value),
        repr(excinfo.value.args),
        caplog.text,
    ]
    absent("\n".join(shown), REQUEST_SECRETS, "a repr")
    assert "alt=sse&key=<redacted>" in repr(request)
    assert "x-goog-api-key" in repr(request)
    assert request == dataclasses.replace(request)  # the dataclass equality is kept


# ---------------------------------------------------------------- keys nobody named, by their format

EIGHT_KEYS_TEST = """
import httpx2
import pytest

KEYS = {keys!r}


@pytest.mark.chunktape(upstream={upstream!r}, speed=0)
def test_asks_with_keys_everywhere(chunktape):
    headers = {{"X-Custom-Auth": "Bearer " + KEYS["openai-key"], "X-Trace": "ctx=" + KEYS["github-token"]}}
    params = {{"token": KEYS["anthropic-key"], "aws": KEYS["aws-access-key"]}}
    body = {{
        "model": "gpt-4o-mini",
        "stream": True,
        "api_token": KEYS["google-api-key"],
        "messages": [{{"role": "user", "content": "my slack token is " + KEYS["slack-token"] + ", mind it"}}],
        "tags": ["billing", KEYS["stripe-key"], {{"hub": KEYS["huggingface-token"]}}],
    }}
    with httpx2.Client(base_url=chunktape.base_url) as client:
        response = client.post("/v1/chat/completions", params=params, json=body, headers=headers)
    assert response.status_code == 200
"""


def test_a_recording_through_the_plugin_keeps_no_key_of_eight_formats_warns_and_replays(
    pytester: pytest.Pytester,
) -> None:
    """Keys in an unnamed header, query values and JSON fields (a list, a sentence) never reach
    the cassette; each one is a one-line CassetteWarning naming the test, the place and the
    format, masked; the next run, with the same keys, replays from the redacted cassette."""
    keys = FAKE_KEYS
    with FakeUpstream(speed=0) as upstream:
        pytester.makepyfile(test_keys=EIGHT_KEYS_TEST.format(keys=keys, upstream=upstream.base_url))
        result = pytester.runpytest_subprocess("-p", "no:randomly", "--chunktape-record-mode=once")
        result.assert_outcomes(passed=1)
        assert len(upstream.requests) == 1
    cassette = pytester.path / "cassettes" / "test_keys" / "test_asks_with_keys_everywhere.yaml"
    text = cassette.read_text(encoding="utf-8")
    absent(text, list(keys.values()), "the cassette")
    for kind in keys:
        assert f"<redacted:{kind}>" in text, kind
    assert "my slack token is <redacted:slack-token>, mind it" in text  # the sentence around it is kept
    printed = result.stdout.str() + result.stderr.str()
    absent(printed, list(keys.values()), "pytest's output")
    prefix = "test_keys.py::test_asks_with_keys_everywhere: redacted a key nobody named: POST /v1/chat/completions, "
    warned = {
        line.split(prefix)[1].split(":")[0]
        for line in printed.splitlines()
        if prefix in line and "CassetteWarning" in line
    }
    assert warned == {
        "header X-Custom-Auth", "header X-Trace", "query token", "query aws", "json $.api_token",
        "json $.messages[0].content", "json $.tags[1]", "json $.tags[2].hub",
    }  # fmt: skip
    slack = f"json $.messages[0].content: slack-token (xoxb… {len(keys['slack-token'])} chars)"
    assert f"CassetteWarning: {prefix}{slack}, stored as <redacted:slack-token>\n" in printed

    again = pytester.runpytest_subprocess("-p", "no:randomly")  # replays: the live keys match the redacted ones
    again.assert_outcomes(passed=1)


def test_validate_names_each_format_in_a_cassette_that_holds_keys_of_eight_providers(tmp_path: Path) -> None:
    body = json.dumps({"notes": [f"{kind}: {key}" for kind, key in FAKE_KEYS.items()]}).encode()
    interaction = Interaction(Request("POST", "https://api.test/v1/x", (), body), Response(200))
    path = tmp_path / "leaky.yaml"
    text = dumps(Cassette([interaction]))
    for kind, key in FAKE_KEYS.items():  # put back: a cassette as a hand edit or another tool could leave it
        text = text.replace(f"<redacted:{kind}>", key)
    path.write_text(text, encoding="utf-8")
    result = invoke("validate", str(path))
    assert result.exit_code == 1
    [line] = result.output.splitlines()
    for kind, key in FAKE_KEYS.items():
        assert f"{kind} at line " in line or f"{kind} in the request body" in line, kind
        assert key not in line
