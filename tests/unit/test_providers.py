"""Which provider a request is for, and the error body that provider really sends."""

from __future__ import annotations

import json

import pytest

from chunktape.cassette import Request
from chunktape.providers import error_response, provider_of


@pytest.mark.parametrize(
    ("url", "provider"),
    [
        ("https://generativelanguage.googleapis.com/v1beta/models/m:streamGenerateContent?alt=sse", "gemini"),
        ("http://127.0.0.1:1/v1/models/m:streamGenerateContent", "gemini"),
        ("https://api.anthropic.com/v1/messages", "anthropic"),
        ("https://api.openai.com/v1/chat/completions", "openai"),
        ("http://127.0.0.1:1/v1/responses", "openai"),
        ("http://127.0.0.1:1/api/chat", "ollama"),
        ("https://example.test/anything", "generic"),
    ],
)
def test_the_provider_is_read_from_host_and_path(url: str, provider: str) -> None:
    assert provider_of(Request("POST", url)) == provider


def test_gemini_429_is_resource_exhausted_with_a_retry_after() -> None:
    request = Request("POST", "https://generativelanguage.googleapis.com/v1beta/models/m:generateContent")
    headers, body = error_response(request, 429)
    assert json.loads(body)["error"]["status"] == "RESOURCE_EXHAUSTED"
    assert dict(headers)["retry-after"] == "1"


def test_openai_and_anthropic_errors_have_their_own_shapes() -> None:
    _, openai_body = error_response(Request("POST", "https://api.openai.com/v1/chat/completions"), 500)
    assert set(json.loads(openai_body)["error"]) == {"message", "type", "param", "code"}
    _, anthropic_body = error_response(Request("POST", "https://api.anthropic.com/v1/messages"), 529)
    parsed = json.loads(anthropic_body)
    assert parsed["type"] == "error"
    assert parsed["error"]["type"] == "overloaded_error"
