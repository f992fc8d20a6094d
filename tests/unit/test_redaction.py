"""Redaction: the secret names' values and keys of known formats replaced in an interaction,
nothing else touched."""

from __future__ import annotations

import base64
import json

from chunktape import Interaction, Redactor, Request, Response
from chunktape.cassette import Handshake, Message, Session
from chunktape.secret_names import REDACTED
from tests.support.fake_keys import FAKE_KEYS


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


def test_keys_nobody_named_are_redacted_in_place_where_they_sit_and_reported_masked() -> None:
    openai, anthropic, github = FAKE_KEYS["openai-key"], FAKE_KEYS["anthropic-key"], FAKE_KEYS["github-token"]
    body = {
        "api_token": github,
        "messages": [{"role": "user", "content": f"use {openai} please"}],
        "tags": ["a", anthropic],
    }
    request = Request(
        "POST",
        f"https://x.test/v1/chat?token={anthropic}&alt=sse",
        (("X-Custom-Auth", f"Bearer {openai}"), ("content-type", "application/json")),
        json.dumps(body).encode(),
    )
    stored, found = Redactor().redacted_request(request)
    assert stored.url == "https://x.test/v1/chat?token=<redacted:anthropic-key>&alt=sse"
    assert stored.header("x-custom-auth") == "Bearer <redacted:openai-key>"
    assert json.loads(stored.body) == {
        "api_token": "<redacted:github-token>",
        "messages": [{"role": "user", "content": "use <redacted:openai-key> please"}],
        "tags": ["a", "<redacted:anthropic-key>"],
    }
    assert [(key.place, key.kind) for key in found] == [
        ("query token", "anthropic-key"),
        ("header X-Custom-Auth", "openai-key"),
        ("json $.api_token", "github-token"),
        ("json $.messages[0].content", "openai-key"),
        ("json $.tags[1]", "anthropic-key"),
    ]
    shown = " ".join(str(key) for key in found)
    assert not [key for key in (openai, anthropic, github) if key in shown]
    assert "header X-Custom-Auth: openai-key (sk-p… 62 chars)" in shown


def test_a_request_without_keys_keeps_its_exact_bytes() -> None:
    body = b'{"b": 1,   "a": "task-0123456789012345678901234 and a long prompt"}'
    request = Request("POST", "https://x.test/v1?q=1%202", (("x-trace", "abc"),), body)
    assert Redactor().redacted_request(request) == (request, [])


def test_a_base64_image_is_data_not_a_key_and_stays_whole() -> None:
    image = base64.b64encode(bytes(range(256)) * 64 + FAKE_KEYS["google-api-key"].encode() * 3).decode()
    embedded = image[:5000] + " " + FAKE_KEYS["google-api-key"] + image[5000:]  # not a key: inside the data
    body = json.dumps({"image": "data:image/png;base64," + image, "raw": embedded.replace(" ", "")}).encode()
    request = Request("POST", "https://x.test/v1", (), body)
    assert Redactor().redacted_request(request) == (request, [])


def test_a_session_s_client_messages_are_redacted_and_named_by_their_number() -> None:
    key = FAKE_KEYS["huggingface-token"]
    session = Session(
        Request("GET", "wss://x.test/v1/realtime", (), b""),
        Handshake(101, ()),
        (
            Message(0.0, "server", "text", b'{"type":"hello"}'),
            Message(0.1, "client", "text", json.dumps({"type": "auth", "token": key}).encode()),
        ),
        None,
    )
    stored, found = Redactor().redacted_session(session)
    assert key.encode() not in stored.messages[1].data
    assert [(key.place, key.kind) for key in found] == [("message 2 json $.token", "huggingface-token")]
