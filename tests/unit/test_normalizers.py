"""Normalizers: volatile values inside strings become placeholders on both sides before matching."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chunktape import Cassette, CassettePlayer, Interaction, MatchRules, NoMatchError, Request, Response
from chunktape.errors import KnobError
from chunktape.normalizers import ID_PREFIXES, Normalizers

URL = "https://api.openai.com/v1/chat/completions"
ALL = Normalizers.parse(["uuid", "timestamp", "epoch", "id"])


def tool_result(text: str) -> bytes:
    """An agent's next LLM request: the tool's answer quoted in a message, deep inside the body."""
    return json.dumps({"model": "gpt", "messages": [{"role": "tool", "content": [{"text": text}]}]}).encode()


def player_for(text: str, *normalize: str) -> CassettePlayer:
    interaction = Interaction(Request("POST", URL, (), tool_result(text)), Response(200))
    return CassettePlayer([Cassette([interaction])], rules=MatchRules.build(normalize=list(normalize)))


def test_a_tool_result_with_a_fresh_uuid_and_time_matches_under_uuid_and_timestamp() -> None:
    recorded = "made 3f1c2a9e-0b7d-4c55-9a11-2b3c4d5e6f70 at 2026-12-06T07:51:21.507171+00:00 for you"
    player = player_for(recorded, "uuid", "timestamp")
    live = f"made {uuid.uuid4()} at 2027-01-02T03:04:05Z for you"
    assert player.find(Request("POST", URL, (), tool_result(live))).response.status == 200


def test_the_rest_of_the_string_still_has_to_match() -> None:
    player = player_for("made 3f1c2a9e-0b7d-4c55-9a11-2b3c4d5e6f70 for you", "uuid")
    with pytest.raises(NoMatchError, match="for them"):
        player.find(Request("POST", URL, (), tool_result(f"made {uuid.uuid4()} for them")))


def test_a_miss_diff_shows_placeholders_never_the_raw_values() -> None:
    player = player_for("id 3f1c2a9e-0b7d-4c55-9a11-2b3c4d5e6f70 at Sun, 06 Dec 2026 07:51:21 GMT", "uuid", "timestamp")
    live_id = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
    with pytest.raises(NoMatchError) as caught:
        player.find(Request("POST", URL + f"?trace={live_id}", (), tool_result(f"ID {live_id} at 2026-01-01T00:00Z")))
    message = str(caught.value)
    assert ("<uuid>" in message, "<timestamp>" in message) == (True, True)
    assert [raw for raw in (live_id, "3f1c2a9e", "07:51:21", "2026-01-01T00:00Z") if raw in message] == []


def test_query_values_are_normalized() -> None:
    interaction = Interaction(Request("GET", URL + "?since=1733471481&q=x"), Response(200))
    player = CassettePlayer([Cassette([interaction])], rules=MatchRules.build(normalize="epoch"))
    assert player.find(Request("GET", URL + "?since=1765000000&q=x"))


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("uuid", "a 3F1C2A9E-0B7D-4C55-9A11-2B3C4D5E6F70 b", "a <uuid> b"),
        ("uuid", "3f1c2a9e0b7d4c559a112b3c4d5e6f70", "3f1c2a9e0b7d4c559a112b3c4d5e6f70"),
        ("timestamp", "at 2026-12-06T07:51:21.507171+00:00.", "at <timestamp>."),
        ("timestamp", "2026-12-06T07:51:21Z, 2026-12-06 07:51", "<timestamp>, <timestamp>"),
        ("timestamp", "Date: Sun, 06 Dec 2026 07:51:21 GMT", "Date: <timestamp>"),
        ("timestamp", "on 2026-12-06 only", "on 2026-12-06 only"),
        ("epoch", "t=1733471481 ms=1733471481507 n=12345678901", "t=<epoch> ms=<epoch> n=12345678901"),
        ("id", "call_a1B2c3D4e5 toolu_01ABCDEFGH chatcmpl-Zx9y8W7v6u", "<id> <id> <id>"),
        ("id", "resp_abc msg_0123456789 dry_run_abcdefghij", "resp_abc <id> dry_run_abcdefghij"),
        ("re:order-\\d+", "order-7731 shipped", "<re> shipped"),
    ],
)
def test_each_normalizer_replaces_what_it_names_and_nothing_else(name: str, text: str, expected: str) -> None:
    assert Normalizers.parse([name]).text(text) == expected


def test_epoch_also_replaces_whole_numbers_of_unix_time_in_json() -> None:
    value = {"created": 1733471481, "n": 3, "flag": True, "s": ["1733471481507"]}
    assert Normalizers.parse("epoch").json(value) == {"created": "<epoch>", "n": 3, "flag": True, "s": ["<epoch>"]}


def test_keys_are_never_normalized() -> None:
    key = "3f1c2a9e-0b7d-4c55-9a11-2b3c4d5e6f70"
    assert Normalizers.parse("uuid").json({key: key}) == {key: "<uuid>"}


@pytest.mark.parametrize(
    ("spec", "says"),
    [("uuids", "unknown normalize 'uuids'"), ("re:(", "does not compile"), ("re:x*", "matches the empty string")],
)
def test_a_bad_normalizer_is_one_clear_knob_error(spec: str, says: str) -> None:
    with pytest.raises(KnobError, match=says):
        MatchRules.build(normalize=[spec])


def test_a_string_of_names_is_split_but_a_lone_pattern_is_kept_whole() -> None:
    assert Normalizers.parse("uuid, timestamp epoch").names == ("uuid", "timestamp", "epoch")
    assert Normalizers.parse("re:a, b").names == ("re:a, b",)


# -- properties --------------------------------------------------------------------

_filler = st.text(alphabet=st.sampled_from(" ,;:=()[]{}\"'/\n"), min_size=1, max_size=12)
"""What separates values in the wild: never a letter, digit or dot glued to one (that would make it
another token)."""
_moments = st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC))


KINDS = ("uuid", "iso", "http", "epoch", "epoch_ms", "id")


@st.composite
def volatile(draw: st.DrawFn, kind: str | None = None) -> str:
    """One volatile value of a built-in kind (any, unless named), spelled as it is in the wild."""
    kind = kind or draw(st.sampled_from(KINDS))
    if kind == "uuid":
        text = str(uuid.UUID(int=draw(st.integers(0, 2**128 - 1))))
        return text.upper() if draw(st.booleans()) else text
    moment = draw(_moments)
    if kind == "iso":
        offset = draw(st.sampled_from(["Z", "+00:00", "-05:30", "+0200", ""]))
        fraction = draw(st.sampled_from(["", ".5", ".507171"]))
        return moment.strftime("%Y-%m-%dT%H:%M:%S") + fraction + offset
    if kind == "http":
        return moment.strftime("%a, %d %b %Y %H:%M:%S GMT")
    if kind in ("epoch", "epoch_ms"):
        seconds = draw(st.integers(1_000_000_000, 9_999_999_999))
        return str(seconds) if kind == "epoch" else str(seconds * 1000 + draw(st.integers(0, 999)))
    tail = draw(st.text(alphabet="abcdefghijkXYZ0123456789_-", min_size=8, max_size=30))
    return draw(st.sampled_from(ID_PREFIXES)) + tail


@given(st.lists(st.tuples(_filler, st.sampled_from(KINDS)), max_size=4), _filler, st.data())
def test_two_strings_that_differ_only_in_volatile_values_normalize_the_same(
    pieces: list[tuple[str, str]], end: str, data: st.DataObject
) -> None:
    old = [data.draw(volatile(kind)) for _, kind in pieces]
    fresh = [data.draw(volatile(kind)) for _, kind in pieces]
    recorded = "".join(f"{text}{value}" for (text, _), value in zip(pieces, old, strict=True)) + end
    live = "".join(f"{text}{value}" for (text, _), value in zip(pieces, fresh, strict=True)) + end
    assert ALL.text(recorded) == ALL.text(live)
    for value in [*old, *fresh]:
        assert value not in ALL.text(recorded) + ALL.text(live)


@given(st.text(max_size=60), st.lists(volatile(), max_size=3))
def test_normalizing_twice_changes_nothing_more(text: str, values: list[str]) -> None:
    once = ALL.text(text + " ".join(values))
    assert ALL.text(once) == once


@given(st.text(alphabet=st.characters(categories=["L", "Zs"], exclude_characters="0123456789"), max_size=80))
def test_text_without_digits_or_id_prefixes_is_left_alone(text: str) -> None:
    if any(prefix in text for prefix in ID_PREFIXES):
        return
    assert ALL.text(text) == text


def test_a_day_later_is_still_a_timestamp() -> None:
    moment = datetime(2026, 12, 6, 7, 51, 21, tzinfo=UTC)
    texts = [(moment + timedelta(days=1)).isoformat(), moment.isoformat()]
    assert {Normalizers.parse("timestamp").text(text) for text in texts} == {"<timestamp>"}
