"""Matching: method, path, query without secrets, JSON compared canonically; misses explain."""

from __future__ import annotations

import json

import pytest

from chunktape import Cassette, CassettePlayer, Interaction, MatchRules, NoMatchError, Redactor, Request, Response
from tests.support.builders import sse_interaction
from tests.support.fake_keys import FAKE_KEYS

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


def test_the_closest_recorded_request_is_the_one_that_differs_least_then_the_first_recorded() -> None:
    many = b'{"model":"gpt","messages":[{"role":"user","content":"hi"}],"temperature":1,"top_p":0.5,"n":2}'
    one = b'{"model":"gpt","messages":[{"role":"user","content":"hello"}],"temperature":0,"top_p":1,"n":1}'
    also_one = b'{"model":"gpt","messages":[{"role":"user","content":"howdy"}],"temperature":0,"top_p":1,"n":1}'
    cassette = Cassette([recorded(many), recorded(one), recorded(also_one)], path="c.yaml")
    live = Request(
        "POST", URL, (), b'{"model":"gpt","messages":[{"role":"user","content":"hey"}],"temperature":0,"top_p":1,"n":1}'
    )
    with pytest.raises(NoMatchError) as excinfo:
        CassettePlayer([cassette]).find(live)
    assert excinfo.value.closest == "c.yaml #2: POST /v1/chat/completions"
    listed = [line.split(":")[0].strip() for line in str(excinfo.value).splitlines() if line.startswith("  c.yaml")]
    assert listed == ["c.yaml #2", "c.yaml #3", "c.yaml #1"]


def test_a_cassette_with_redacted_keys_matches_the_live_request_that_carries_them() -> None:
    key, token = FAKE_KEYS["openai-key"], FAKE_KEYS["anthropic-key"]
    live = Request(
        "POST",
        f"{URL}?token={token}",
        (("x-custom-auth", f"Bearer {key}"),),
        json.dumps({"messages": [{"role": "user", "content": f"my key is {key}"}]}).encode(),
    )
    stored = Redactor().request(live)
    assert key.encode() not in stored.body
    rules = MatchRules.build(match_on="method,path,query,body,headers", match_headers=["x-custom-auth"])
    player = CassettePlayer([Cassette([Interaction(stored, Response(200))])], rules=rules)
    assert player.find(live).response.status == 200
    assert rules.key(stored) == rules.key(live)
