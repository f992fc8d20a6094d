"""The live request `chunktape drift` sends (chunktape/recorder/fetch.py): redacted keys filled
from the environment, only where the recording had one; aimed at --upstream. Plain values."""

from __future__ import annotations

import pytest

from chunktape import Request
from chunktape.errors import ChunktapeError
from chunktape.recorder.fetch import HeaderSource, LiveError, live_request

ENV = {
    "OPENAI_API_KEY": "sk-openai-live",
    "ANTHROPIC_API_KEY": "sk-ant-live",
    "GOOGLE_API_KEY": "google-live",
    "MY_TOKEN": "tok-live",
}


def request(url: str = "https://api.openai.com/v1/chat/completions", *headers: tuple[str, str]) -> Request:
    return Request("POST", url, (("content-type", "application/json"), *headers), b"{}")


def test_each_providers_redacted_header_is_filled_from_its_own_variable() -> None:
    recorded = request(
        "https://x.test/v1",
        ("Authorization", "<redacted>"),
        ("x-api-key", "<redacted>"),
        ("x-goog-api-key", "<redacted>"),
    )
    live = live_request(recorded, None, ENV)
    assert live.header("authorization") == "Bearer sk-openai-live"
    assert live.header("x-api-key") == "sk-ant-live"
    assert live.header("x-goog-api-key") == "google-live"


def test_no_key_goes_where_the_recording_had_none() -> None:
    live = live_request(request(), None, ENV)
    assert live.headers == (("content-type", "application/json"),)


def test_gemini_prefers_gemini_api_key_and_fills_a_redacted_query_key() -> None:
    recorded = request("https://g.test/v1/models/m:streamGenerateContent?alt=sse&key=%3Credacted%3E")
    live = live_request(recorded, None, {**ENV, "GEMINI_API_KEY": "gemini-live"})
    assert live.url == "https://g.test/v1/models/m:streamGenerateContent?alt=sse&key=gemini-live"


def test_header_from_env_replaces_the_recorded_header_and_adds_new_ones() -> None:
    recorded = request("https://x.test/v1", ("authorization", "<redacted>"))
    sources = [HeaderSource.parse("Authorization=env:MY_TOKEN"), HeaderSource.parse("x-extra=env:MY_TOKEN")]
    live = live_request(recorded, None, {"MY_TOKEN": "tok-live"}, sources)
    assert [(name.lower(), value) for name, value in live.headers] == [
        ("content-type", "application/json"),
        ("authorization", "tok-live"),
        ("x-extra", "tok-live"),
    ]


def test_upstream_takes_the_place_of_the_recorded_host_keeping_path_and_query() -> None:
    recorded = request("https://api.openai.com/v1/chat/completions?stream=1", ("host", "api.openai.com"))
    live = live_request(recorded, "http://127.0.0.1:9999", ENV)
    assert live.url == "http://127.0.0.1:9999/v1/chat/completions?stream=1"
    assert live.header("host") is None
    assert (
        live_request(recorded, "https://gw.test/openai", ENV).url
        == "https://gw.test/openai/v1/chat/completions?stream=1"
    )


def test_a_redacted_header_with_no_variable_set_names_the_variable_never_a_value() -> None:
    recorded = request("https://x.test/v1", ("x-api-key", "<redacted>"))
    with pytest.raises(LiveError) as caught:
        live_request(recorded, None, {"OPENAI_API_KEY": "sk-openai-live"}, shown="POST /v1")
    assert str(caught.value) == (
        "POST /v1: the recorded request sent x-api-key, which the cassette holds redacted; "
        "set ANTHROPIC_API_KEY, or pass --header x-api-key=env:VAR"
    )


def test_an_unknown_redacted_header_asks_for_header_from_env() -> None:
    recorded = request("https://x.test/v1", ("x-tenant-token", "<redacted>"))
    with pytest.raises(LiveError, match="pass --header x-tenant-token=env:VAR"):
        live_request(recorded, None, ENV)


@pytest.mark.parametrize("spec", ["x-api-key=sk-literal", "x-api-key", "=env:X", "x-api-key=env:"])
def test_header_needs_a_variable_not_a_value(spec: str) -> None:
    with pytest.raises(ChunktapeError, match="write NAME=env:VAR") as caught:
        HeaderSource.parse(spec)
    assert "sk-literal" not in str(caught.value)
