"""Matching: method, path, query without secrets, JSON compared canonically; misses explain."""

from __future__ import annotations

import pytest

from chunktape import Cassette, CassettePlayer, Interaction, MatchRules, NoMatchError, Request, Response
from tests.support.builders import sse_interaction

URL = "https://api.openai.com/v1/chat/completions"


def recorded(body: bytes, url: str = URL, status: int = 200) -> Interaction:
    return Interaction(Request("POST", url, (("content-type", "application/json"),), body), Response(status))


def test_json_bodies_match_regardless_of_key_order_and_spacing() -> None:
    player = CassettePlayer([Cassette([recorded(b'{"model":"gpt","stream":true}')])])
    live = Request("POST", "http://127.0.0.1:9/v1/chat/completions", (), b'{ "stream": true, "model": "gpt" }')
    assert player.find(live).response.status == 200


def test_secret_query_parameters_are_ignored() -> None:
    player = CassettePlayer([Cassette([recorded(b"{}", url=URL + "?alt=sse&key=%3Credacted%3E")])])
    assert player.find(Request("POST", "http://h/v1/chat/completions?key=AIzaLIVE&alt=sse", (), b"{}"))
    with pytest.raises(NoMatchError, match="query"):
        player.find(Request("POST", "http://h/v1/chat/completions?alt=json&key=AIzaLIVE", (), b"{}"))


def test_volatile_fields_can_be_ignored() -> None:
    rules = MatchRules.build(ignore=["request_id"])
    player = CassettePlayer([Cassette([recorded(b'{"q":1,"meta":{"request_id":"a"}}')])], rules=rules)
    assert player.find(Request("POST", URL, (), b'{"q":1,"meta":{"request_id":"zzz"}}'))


def test_match_on_can_drop_the_body() -> None:
    player = CassettePlayer([Cassette([recorded(b'{"q":1}')])], rules=MatchRules.build(match_on=["method", "path"]))
    assert player.find(Request("POST", URL, (), b'{"q":2}'))


def test_identical_requests_replay_in_recorded_order_then_repeat_the_last() -> None:
    player = CassettePlayer([Cassette([recorded(b"{}", status=201), recorded(b"{}", status=202)])])
    live = Request("POST", URL, (), b"{}")
    assert [player.find(live).response.status for _ in range(3)] == [201, 202, 202]


def test_without_repeats_an_exhausted_request_fails() -> None:
    player = CassettePlayer([Cassette([recorded(b"{}")])], allow_repeats=False)
    live = Request("POST", URL, (), b"{}")
    player.find(live)
    with pytest.raises(NoMatchError, match="already answered"):
        player.find(live)


def test_a_miss_names_the_closest_request_and_diffs_the_body_without_leaking_keys() -> None:
    cassette = Cassette([sse_interaction(request_body=b'{"contents":[{"parts":[{"text":"hello"}]}]}')], path="c.yaml")
    player = CassettePlayer([cassette])
    live = Request(
        "POST",
        "http://127.0.0.1:1/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse&key=AIzaLIVESECRET",
        (("x-goog-api-key", "AIzaLIVESECRET"),),
        b'{"contents":[{"parts":[{"text":"goodbye"}]}]}',
    )
    with pytest.raises(NoMatchError) as excinfo:
        player.find(live)
    message = str(excinfo.value)
    assert "c.yaml #1" in message
    assert '-     "text": "hello"' in message
    assert '+     "text": "goodbye"' in message
    assert "AIzaLIVESECRET" not in message


def test_unknown_match_field_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown match field"):
        MatchRules.build(match_on=["method", "colour"])


def test_the_match_key_is_equal_exactly_when_requests_match() -> None:
    """`chunktape diff` pairs interactions by `MatchRules.key`: it must agree with matching."""
    from chunktape.cassette import Request
    from chunktape.matching import MatchRules

    rules = MatchRules.build(ignore=["user"])
    base = Request("POST", "https://x/v1/chat?key=secret1&a=1", body=b'{"model": "m", "user": "u1"}')
    same = Request("post", "https://x/v1/chat?a=1&key=secret2", body=b'{"user": "u2", "model": "m"}')
    other = Request("POST", "https://x/v1/chat?a=2", body=b'{"model": "m"}')
    assert rules.key(base) == rules.key(same)
    assert not rules.differences(base, same)
    assert rules.key(base) != rules.key(other)
    assert rules.differences(base, other)
