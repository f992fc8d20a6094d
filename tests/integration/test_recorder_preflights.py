"""Recording a browser's traffic in reverse mode: its CORS preflights reach the backend and
come back, but stay out of the cassette unless asked (--keep-preflights)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from chunktape import load_cassette
from tests.support.fakes.upstream import FakeUpstream
from tests.support.fakes.wire import EXCHANGES
from tests.support.recorder_helpers import chunktape_record

GEMINI = EXCHANGES["gemini_stream"]
PREFLIGHT = {
    "Origin": "http://localhost:5173",
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "content-type",
}


@pytest.mark.parametrize(("args", "kept"), [((), ["POST"]), (("--keep-preflights",), ["OPTIONS", "POST"])])
def test_a_preflight_passes_through_and_is_recorded_only_when_asked(
    tmp_path: Path, args: tuple[str, ...], kept: list[str]
) -> None:
    cassette = tmp_path / "browser.yaml"
    with (
        FakeUpstream(speed=0) as upstream,
        chunktape_record(cassette, "--upstream", upstream.base_url, *args, confdir=tmp_path / "mitmproxy") as running,
    ):
        preflight = httpx.request("OPTIONS", running.url + GEMINI.path, headers=PREFLIGHT, timeout=30)
        assert [request.method for request in upstream.requests] == ["OPTIONS"]  # it reached the backend
        assert preflight.status_code == 404  # and its answer came back (the fake knows no OPTIONS)
        with httpx.stream("POST", running.url + GEMINI.path, json=GEMINI.request_json, timeout=30) as response:
            response.read()
    assert [i.request.method for i in load_cassette(str(cassette)).interactions] == kept
