"""`chunktape import vcr|har` and `export har`, on files the real tools write in this run:
vcrpy 9 recording a local fake upstream through httpx (YAML and JSON serializers, text and
binary bodies), and mitmproxy's `hardump`. The imports replay to the official SDKs."""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import vcr

from chunktape import Cassette
from chunktape.persist import load_cassette, save_cassette
from tests.support import sdk_calls
from tests.support.fakes.upstream import FakeUpstream
from tests.support.fakes.wire import EXCHANGES, body
from tests.support.recorder_helpers import MITMDUMP, read_line, stop
from tests.support.serving import invoke, serving

OPENAI = EXCHANGES["openai_chat"]
GEMINI = EXCHANGES["gemini_stream"]
LIVE_KEY = "sk-proj-LIVEKEYLIVEKEYLIVEKEY0123456789"


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeUpstream]:
    with FakeUpstream(speed=0) as server:
        yield server


def vcr_record(upstream: FakeUpstream, cassette: Path, serializer: str, *, gzip: bool = False) -> None:
    """vcrpy records one OpenAI chat stream through httpx, the way a pytest-recording user's test does."""
    recorder = vcr.VCR(serializer=serializer, decode_compressed_response=False, record_mode="once")
    upstream.gzip = gzip
    try:
        with recorder.use_cassette(str(cassette)), httpx.Client() as client:
            response = client.post(
                upstream.base_url + OPENAI.path,
                json=OPENAI.request_json,
                headers={"authorization": f"Bearer {LIVE_KEY}"},
            )
            assert response.content == body(OPENAI)
    finally:
        upstream.gzip = False


def import_file(kind: str, source: Path, out: Path, *extra: str) -> str:
    result = invoke("import", kind, str(source), "-o", str(out), *extra)
    assert result.exit_code == 0, result.output
    return result.output


def replayed_openai_text(cassette: Path) -> str:
    with serving(str(cassette), "--port", "0") as served:
        return sdk_calls.openai_chat(served.base_url)


@pytest.mark.parametrize(("serializer", "gzip"), [("yaml", False), ("json", False), ("yaml", True)])
def test_a_vcrpy_cassette_imports_and_replays_to_the_openai_sdk(
    upstream: FakeUpstream, tmp_path: Path, serializer: str, gzip: bool
) -> None:
    source = tmp_path / f"vcr.{serializer}"
    vcr_record(upstream, source, serializer, gzip=gzip)
    raw = source.read_text()
    assert LIVE_KEY in raw  # vcrpy kept it; the import must not
    if gzip:
        assert "!!binary" in raw  # the other body encoding: bytes
    out = tmp_path / "imported.yaml"
    output = import_file("vcr", source, out)
    assert "warning: redacted request header authorization in 1 interaction" in output
    assert LIVE_KEY not in out.read_text()
    [interaction] = load_cassette(str(out)).interactions
    response = interaction.response
    assert response.timing == "imported"
    assert response.body == body(OPENAI)
    assert len(response.chunks) == 1
    assert response.header("content-encoding") is None
    assert replayed_openai_text(out) == sdk_calls.openai_chat(upstream.base_url)


def test_a_key_left_in_a_body_is_warned_about_masked(tmp_path: Path) -> None:
    source = tmp_path / "vcr.yaml"
    source.write_text(
        "interactions:\n- request:\n    body: null\n    headers: {}\n    method: GET\n    uri: https://x.test/config\n"
        f'  response:\n    body:\n      string: \'{{"token": "{LIVE_KEY}"}}\'\n'
        "    headers: {}\n    status: {code: 200, message: OK}\nversion: 1\n"
    )
    out = tmp_path / "out.yaml"
    output = import_file("vcr", source, out)
    assert "openai-key at line" in output
    assert "edit it out before you commit" in output
    assert LIVE_KEY not in output  # the warning masks it


def test_a_vcr_import_is_dated_by_the_responses_date_header_else_by_the_import(tmp_path: Path) -> None:
    source = tmp_path / "vcr.yaml"
    item = (
        "- request:\n    body: null\n    headers: {{}}\n    method: GET\n    uri: https://x.test/{name}\n"
        "  response:\n    body:\n      string: ok\n    headers: {headers}\n    status: {{code: 200, message: OK}}\n"
    )
    source.write_text(
        "interactions:\n"
        + item.format(name="dated", headers="{Date: ['Tue, 14 Oct 2025 09:21:09 GMT']}")
        + item.format(name="undated", headers="{}")
        + "version: 1\n"
    )
    out = tmp_path / "out.yaml"
    before = datetime.now(UTC).replace(microsecond=0)
    import_file("vcr", source, out)
    after = datetime.now(UTC)
    dated, undated = load_cassette(str(out)).interactions
    assert dated.recorded_at == datetime(2025, 10, 14, 9, 21, 9, tzinfo=UTC)
    assert undated.recorded_at is not None
    assert before <= undated.recorded_at <= after
    assert "recorded_at: '2025-10-14T09:21:09Z'" in out.read_text()


def test_a_har_import_is_dated_by_each_entrys_started_date_time(tmp_path: Path) -> None:
    entry = {
        "startedDateTime": "2026-03-01T10:15:30.123+01:00",
        "request": {"method": "GET", "url": "https://x.test/a", "headers": []},
        "response": {"status": 200, "headers": [], "content": {"text": "ok"}},
        "timings": {"send": 1, "wait": 20, "receive": 5},
    }
    source = tmp_path / "one.har"
    source.write_text(json.dumps({"log": {"version": "1.2", "entries": [entry]}}))
    out = tmp_path / "out.yaml"
    import_file("har", source, out)
    [interaction] = load_cassette(str(out)).interactions
    assert interaction.recorded_at == datetime(2026, 3, 1, 9, 15, 30, tzinfo=UTC)


def test_pace_spaces_an_imported_stream_per_event(upstream: FakeUpstream, tmp_path: Path) -> None:
    source = tmp_path / "vcr.yaml"
    vcr_record(upstream, source, "yaml")
    out = tmp_path / "paced.yaml"
    import_file("vcr", source, out, "--pace", "sse:40ms")
    [interaction] = load_cassette(str(out)).interactions
    response = interaction.response
    assert response.timing == "paced"
    events = body(OPENAI).count(b"\n\n")
    assert len(response.chunks) == events
    assert [round(chunk.at_s, 3) for chunk in response.chunks] == [round(0.04 * n, 3) for n in range(1, events + 1)]
    shown = invoke("inspect", str(out), "--width", "120").output
    assert "timing: paced" in shown


@pytest.fixture
def hardump(upstream: FakeUpstream, tmp_path: Path) -> Path:
    """mitmdump in reverse mode in front of the fake upstream, `--set hardump=...`: a Gemini
    stream goes through it, and the HAR is written when it shuts down."""
    har = tmp_path / "dump.har"
    argv = [
        str(MITMDUMP), "--mode", f"reverse:{upstream.base_url}", "--listen-host", "127.0.0.1", "--listen-port", "0",
        "--set", f"confdir={tmp_path / 'conf'}", "--set", f"hardump={har}",
    ]  # fmt: skip
    process = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True
    )
    try:
        line = read_line(process, r"listening at")
        port = re.search(r"listening at \S*?:(\d+)", line)
        assert port, line
        response = httpx.post(
            f"http://127.0.0.1:{port.group(1)}{GEMINI.path}",
            json=GEMINI.request_json,
            headers={"x-goog-api-key": "AIzaSyLIVEKEYLIVEKEYLIVEKEYLIVEKEY012345"},
        )
        assert response.content == body(GEMINI)
    finally:
        stop(process)
        assert process.stdout is not None
        process.stdout.close()
    assert har.exists()
    return har


def test_a_mitmproxy_hardump_imports_with_its_timings_and_replays_to_the_gemini_sdk(
    hardump: Path, upstream: FakeUpstream, tmp_path: Path
) -> None:
    entry = json.loads(hardump.read_text())["log"]["entries"][0]
    out = tmp_path / "from-har.yaml"
    output = import_file("har", hardump, out)
    assert "warning: redacted request header x-goog-api-key in 1 interaction" in output
    assert "AIzaSyLIVEKEY" not in out.read_text()
    [interaction] = load_cassette(str(out)).interactions
    response = interaction.response
    assert response.timing == "imported"
    assert response.body == body(GEMINI)
    timings = entry["timings"]
    wait_s = (max(timings["send"], 0) + max(timings["wait"], 0)) / 1000
    assert response.headers_at_s == pytest.approx(wait_s, abs=1e-6)
    assert response.end_s >= response.headers_at_s
    assert "timing: imported" in invoke("inspect", str(out), "--width", "120").output
    with serving(str(out), "--port", "0") as served:
        assert sdk_calls.gemini_stream(served.base_url) == sdk_calls.gemini_stream(upstream.base_url)


def test_export_har_round_trips_through_import_har(tmp_path: Path) -> None:
    source = Path(__file__).resolve().parents[2] / "cassettes" / "gemini_stream.yaml"
    har = tmp_path / "gemini.har"
    result = invoke("export", "har", str(source), "-o", str(har))
    assert result.exit_code == 0, result.output
    document = json.loads(har.read_text())
    assert document["log"]["version"] == "1.2"
    [entry] = document["log"]["entries"]
    assert entry["timings"]["wait"] == 31
    assert entry["time"] == 689
    back = tmp_path / "back.yaml"
    import_file("har", har, back)
    [original] = load_cassette(str(source)).interactions
    [imported] = load_cassette(str(back)).interactions
    assert imported.request == original.request
    assert imported.response.body == original.response.body
    assert imported.response.status == original.response.status
    assert imported.response.headers == original.response.headers
    assert imported.response.headers_at_s == original.response.headers_at_s
    assert imported.response.end_s == original.response.end_s
    # undated: not the export's made-up startedDateTime (2000), but the response's own Date header
    assert original.recorded_at is None
    assert original.response.header("date") == "Tue, 14 Oct 2025 09:21:07 GMT"
    assert imported.recorded_at == datetime(2025, 10, 14, 9, 21, 7, tzinfo=UTC)


def test_a_dated_cassette_exports_its_recorded_at_and_imports_it_back(tmp_path: Path) -> None:
    source = Path(__file__).resolve().parents[2] / "cassettes" / "gemini_stream.yaml"
    [original] = load_cassette(str(source)).interactions
    dated = tmp_path / "dated.yaml"
    when = datetime(2026, 2, 3, 4, 5, 6, tzinfo=UTC)
    save_cassette(Cassette([dataclasses.replace(original, recorded_at=when)]), str(dated))
    har = tmp_path / "dated.har"
    assert invoke("export", "har", str(dated), "-o", str(har)).exit_code == 0
    assert json.loads(har.read_text())["log"]["entries"][0]["startedDateTime"] == "2026-02-03T04:05:06Z"
    back = tmp_path / "back.yaml"
    import_file("har", har, back)
    assert load_cassette(str(back)).interactions[0].recorded_at == when


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["import", "vcr", "missing.yaml", "-o", "x.yaml"], "missing.yaml: cannot read it"),
        (["import", "har", "{bad}", "-o", "x.yaml"], "cannot read it"),
        (
            [
                "import",
                "vcr",
                str(Path(__file__).resolve().parents[2] / "cassettes" / "gemini_stream.yaml"),
                "-o",
                "x.yaml",
            ],
            "version 1 is not",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: list[str], expected: str, tmp_path: Path) -> None:
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    assert len(result.output.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "command", [["import"], ["import", "vcr"], ["import", "har"], ["export"], ["export", "har"], ["diff"]]
)
def test_every_new_command_help_has_an_example(command: list[str]) -> None:
    result = invoke(*command, "--help")
    assert result.exit_code == 0
    assert "Example:" in result.output


def test_playwright_replays_an_exported_har(tmp_path: Path) -> None:
    """A real HAR consumer reads the export: Chromium, routed from the HAR by Playwright, shows
    the exported stream's text for a page load (no network: the HAR answers)."""
    from chunktape import Cassette, Interaction, Request, Response
    from chunktape.cassette import Chunk
    from chunktape.persist import save_cassette
    from tests.support.browser import chromium_browser

    text = "data: 你好，HAR\n\n".encode()
    response = Response(200, (("content-type", "text/plain; charset=utf-8"),), 0.02, (Chunk(0.05, text),))
    cassette = tmp_path / "page.yaml"
    save_cassette(
        Cassette([Interaction(Request("GET", "https://stream.example.test/events"), response)]), str(cassette)
    )
    har = tmp_path / "page.har"
    assert invoke("export", "har", str(cassette), "-o", str(har)).exit_code == 0
    with chromium_browser() as browser:
        context = browser.new_context()
        context.route_from_har(str(har), not_found="abort")
        page = context.new_page()
        page.goto("https://stream.example.test/events")
        assert "你好，HAR" in page.inner_text("body")
        context.close()
