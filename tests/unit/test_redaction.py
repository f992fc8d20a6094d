"""Redaction: the secret names' values replaced in an interaction, nothing else touched."""

from __future__ import annotations

from chunktape import Interaction, Redactor, Request, Response
from chunktape.secret_names import REDACTED


def test_secret_headers_query_parameters_and_named_json_fields_are_redacted() -> None:
    request = Request(
        "POST",
        "https://x.test/v1?key=AIzaSECRET&alt=sse",
        (("x-goog-api-key", "AIzaSECRET"), ("content-type", "application/json"), ("X-Session", "s1")),
        b'{"user_token":"t0ps3cret","text":"hi"}',
    )
    response = Response(200, (("set-cookie", "id=1"), ("content-type", "text/event-stream")))
    redacted = Redactor(["x-session", "user_token"]).interaction(Interaction(request, response))
    assert redacted.request.url == f"https://x.test/v1?key={REDACTED}&alt=sse"
    assert dict(redacted.request.headers) == {
        "x-goog-api-key": REDACTED,
        "content-type": "application/json",
        "X-Session": REDACTED,
    }
    assert redacted.request.body == b'{"user_token":"<redacted>","text":"hi"}'
    assert dict(redacted.response.headers)["set-cookie"] == REDACTED


def test_an_interaction_without_secrets_comes_back_equal() -> None:
    interaction = Interaction(Request("GET", "https://x.test/a?b=c", (("accept", "*/*"),), b"{}"), Response(200))
    assert Redactor().interaction(interaction) == interaction
