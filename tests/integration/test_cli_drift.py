"""`chunktape drift`: recorded requests against a local fake upstream in several versions (a
provider drifting over time), compared by structure and timing; `--against`, `--rerecord`,
`--json`, `--html`; keys from the environment, never shown; bad input is one line, exit 2."""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from chunktape import Cassette
from chunktape.persist import load_cassette, save_cassette
from tests.support.fakes.drifting import VERSIONS, exchange, recorded
from tests.support.fakes.upstream import FakeUpstream
from tests.support.serving import invoke

KEY = "sk-drift-test-0123456789abcdefghijklmnop"
TITLE = "POST /v1/chat/completions"


@pytest.fixture(scope="module")
def upstreams() -> Iterator[dict[str, FakeUpstream]]:
    """One fake upstream per version of the provider."""
    servers = {version: FakeUpstream([exchange(version)]).start() for version in VERSIONS}
    try:
        yield servers
    finally:
        for server in servers.values():
            server.stop()


@pytest.fixture
def cassette(tmp_path: Path) -> str:
    path = str(tmp_path / "chat.yaml")
    save_cassette(Cassette([recorded("v1")]), path)
    return path


@pytest.fixture(autouse=True)
def openai_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)


def drift(*args: str) -> tuple[int, str, str]:
    result = invoke("drift", *args)
    return result.exit_code, result.stdout, result.stderr


def test_only_words_ids_and_timestamps_changed_is_no_drift_and_exit_0(
    upstreams: dict[str, FakeUpstream], cassette: str
) -> None:
    code, out, _ = drift(cassette, "--upstream", upstreams["words"].base_url)
    assert code == 0
    assert out.splitlines() == [f"{TITLE}: no drift", "1 request compared: no drift"]


def test_the_key_comes_from_the_environment_and_goes_only_where_the_recording_had_one(
    upstreams: dict[str, FakeUpstream], cassette: str
) -> None:
    server = upstreams["words"]
    before = len(server.requests)
    _code, out, err = drift(cassette, "--upstream", server.base_url, "--json")
    sent = server.requests[before]
    assert sent.header("authorization") == f"Bearer {KEY}"
    assert sent.json() == {"model": "gpt-4o-mini", "stream": True, "messages": [{"role": "user", "content": "Say hi"}]}
    assert KEY not in out + err


def test_a_drifted_provider_is_reported_finding_by_finding_with_path_and_severity_and_exit_1(
    upstreams: dict[str, FakeUpstream], cassette: str
) -> None:
    code, out, _ = drift(cassette, "--upstream", upstreams["drifted"].base_url)
    assert code == 1
    lines = out.splitlines()
    assert lines[0] == f"{TITLE}: 6 findings"
    assert "  breaking field removed: choices[].finish_reason (event chat.completion.chunk): null|string -> -" in lines
    assert "  notable  field added: choices[].stop_reason (event chat.completion.chunk): - -> null|string" in lines
    assert "  breaking type changed: created (event chat.completion.chunk): number -> string" in lines
    assert "  notable  field added: choices[].delta.reasoning (event chat.completion.chunk): - -> string" in lines
    assert "  notable  event kind added: event:ping: absent -> present" in lines
    ttft = next(line for line in lines if "ttft" in line)
    assert re.fullmatch(r"  timing   slower: ttft 150 ms -> \d+ ms \([\d.]+x\)", ttft)
    assert lines[-1] == "1 request compared: 6 findings (2 breaking, 3 notable, 1 timing)"


def test_the_json_report_lists_each_finding_and_the_exit_code_does_not_depend_on_the_format(
    upstreams: dict[str, FakeUpstream], cassette: str
) -> None:
    code, out, _ = drift(cassette, "--upstream", upstreams["drifted"].base_url, "--json")
    assert code == 1
    report = json.loads(out)
    [interaction] = report["interactions"]
    assert interaction["request"] == TITLE
    found = {(f["severity"], f["kind"], f["path"]) for f in interaction["findings"]}
    assert found == {
        ("breaking", "field_removed", "choices[].finish_reason"),
        ("notable", "field_added", "choices[].stop_reason"),
        ("breaking", "type_changed", "created"),
        ("notable", "field_added", "choices[].delta.reasoning"),
        ("notable", "event_kind_added", "event:ping"),
        ("timing", "slower", "ttft"),
    }
    ttft = next(f for f in interaction["findings"] if f["path"] == "ttft")
    assert ttft["ratio"] >= 2.5


def test_only_an_added_field_passes_by_default_and_fails_with_fail_on_notable(
    upstreams: dict[str, FakeUpstream], cassette: str
) -> None:
    url = upstreams["added_field"].base_url
    code, out, _ = drift(cassette, "--upstream", url)
    assert code == 0
    assert "  notable  field added: service_tier (event chat.completion.chunk): - -> string" in out.splitlines()
    code, _, _ = drift(cassette, "--upstream", url, "--fail-on", "notable")
    assert code == 1


def test_the_html_report_holds_the_findings_and_both_timelines(
    upstreams: dict[str, FakeUpstream], cassette: str, tmp_path: Path
) -> None:
    page = tmp_path / "drift.html"
    code, _, _ = drift(cassette, "--upstream", upstreams["drifted"].base_url, "--html", str(page))
    assert code == 1
    text = page.read_text(encoding="utf-8")
    assert text.count('<tr class="finding">') == 6
    assert "<code>choices[].finish_reason</code>" in text
    assert text.count('<svg class="timeline"') == 1
    assert 'class="lane chunk-lane"' in text
    assert 'class="lane step-lane"' in text
    assert ">live</text>" in text
    assert KEY not in text


def test_rerecord_writes_the_live_answers_beside_the_old_cassette_for_diff(
    upstreams: dict[str, FakeUpstream], cassette: str
) -> None:
    code, _, err = drift(cassette, "--upstream", upstreams["added_field"].base_url, "--rerecord")
    assert code == 0
    live_path = cassette.removesuffix(".yaml") + ".live.yaml"
    assert f"wrote the live answers to {live_path}" in err
    live = load_cassette(live_path).interactions[0]
    assert b'"service_tier":"default"' in live.response.body
    assert live.request == recorded("v1").request  # the recorded request, key still redacted
    assert live.recorded_at is not None
    assert KEY not in Path(live_path).read_text(encoding="utf-8")
    result = invoke("diff", cassette, live_path)
    assert result.exit_code == 1
    assert any("field added: service_tier" in line for line in result.output.splitlines())


def test_against_compares_two_cassettes_without_the_network(tmp_path: Path, cassette: str) -> None:
    newer = str(tmp_path / "new.yaml")
    save_cassette(Cassette([recorded("drifted")]), newer)
    code, out, _ = drift(cassette, "--against", newer, "--json")
    assert code == 1
    [interaction] = json.loads(out)["interactions"]
    assert {f["path"] for f in interaction["findings"]} >= {"choices[].finish_reason", "event:ping", "ttft"}
    same = str(tmp_path / "same.yaml")
    save_cassette(Cassette([recorded("words")]), same)
    assert drift(cassette, "--against", same)[0] == 0


def test_against_notes_interactions_only_one_side_has(tmp_path: Path, cassette: str) -> None:
    empty = str(tmp_path / "empty.yaml")
    save_cassette(Cassette([]), empty)
    code, out, _ = drift(cassette, "--against", empty)
    assert code == 0
    assert "  note: only in OLD (#1): not compared" in out.splitlines()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_an_unreachable_upstream_is_one_line_naming_the_request_and_exit_2(cassette: str) -> None:
    code, out, err = drift(cassette, "--upstream", f"http://127.0.0.1:{_closed_port()}")
    assert code == 2
    [line] = err.splitlines()
    assert line.startswith(f"chunktape: error: {TITLE}: the upstream 127.0.0.1:")
    assert "did not answer" in line
    assert "Traceback" not in out + err


def test_an_upstream_failing_partway_keeps_what_was_compared(
    upstreams: dict[str, FakeUpstream], tmp_path: Path
) -> None:
    one = str(tmp_path / "a.yaml")
    save_cassette(Cassette([recorded("v1", upstreams["words"].base_url)]), one)
    two = str(tmp_path / "b.yaml")
    save_cassette(Cassette([recorded("v1", f"http://127.0.0.1:{_closed_port()}")]), two)
    code, out, err = drift(one, two, "--json")  # each request to its own recorded URL
    assert code == 2
    report = json.loads(out)
    assert [one["request"] for one in report["interactions"]] == [f"{one}: {TITLE}"]
    assert report["error"].startswith(f"{two}: {TITLE}: the upstream")
    assert err.count("\n") == 1


def test_a_missing_key_says_which_variable_to_set(
    upstreams: dict[str, FakeUpstream], cassette: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY")
    code, _, err = drift(cassette, "--upstream", upstreams["words"].base_url)
    assert code == 2
    assert err.splitlines() == [
        f"chunktape: error: {TITLE}: the recorded request sent authorization, which the cassette holds redacted; "
        "set OPENAI_API_KEY, or pass --header authorization=env:VAR"
    ]


def test_header_from_env_fills_a_header_the_recording_redacted(
    upstreams: dict[str, FakeUpstream], cassette: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY")
    monkeypatch.setenv("MY_GATEWAY_TOKEN", "Bearer gw-secret-token-000111222333")
    server = upstreams["words"]
    before = len(server.requests)
    code, out, err = drift(cassette, "--upstream", server.base_url, "--header", "authorization=env:MY_GATEWAY_TOKEN")
    assert code == 0
    assert server.requests[before].header("authorization") == "Bearer gw-secret-token-000111222333"
    assert "gw-secret" not in out + err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.yaml"], "missing.yaml"),
        (["{cassette}", "--timing-tolerance", "fast"], "--timing-tolerance: bad timing tolerance 'fast'"),
        (["{cassette}", "--header", "x-api-key=sk-literal"], "write NAME=env:VAR"),
        (["{cassette}", "--upstream", "ftp://example"], "is not an http(s) URL"),
        (["{cassette}", "{cassette}", "--against", "{cassette}"], "--against compares one cassette"),
        (["{cassette}", "--against", "nowhere.yaml"], "nowhere.yaml"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(cassette: str, args: list[str], message: str) -> None:
    code, _out, err = drift(*(arg.format(cassette=cassette) for arg in args))
    assert code == 2
    [line] = err.splitlines()
    assert line.startswith("chunktape: error: ")
    assert message in line
    assert "sk-literal" not in line
