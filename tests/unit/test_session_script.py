"""The realtime replay script: causal anchors, knobs, and client-message matching, as plain values."""

from __future__ import annotations

import asyncio
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from chunktape import Cassette, CassettePlayer, Close, Handshake, Message, ReplayPolicy, Request, Session
from chunktape.knobs import Delay, Fault, Split
from chunktape.replay.server import ReplayServer
from chunktape.session_script import (
    FAULT_CLOSE_CODE,
    TRUNCATE_CLOSE_CODE,
    build_script,
    message_differences,
    split_message,
)

SESSION = Session(
    Request("GET", "ws://h/v1/realtime?model=m"),
    Handshake(101, (), 0.01),
    (
        Message(0.05, "server", "text", b'{"type":"session.created"}'),
        Message(1.0, "client", "text", b'{"type":"response.create"}'),
        Message(1.2, "server", "text", b'{"type":"a"}'),
        Message(1.5, "server", "binary", b'{"type":"b"}'),
    ),
    Close(1.6, "server", 1011, "boom"),
)


def test_server_messages_wait_on_the_client_message_they_followed() -> None:
    script = build_script(SESSION, ReplayPolicy())
    assert [(beat.after_client, round(beat.wait_s, 6)) for beat in script.beats] == [(0, 0.04), (1, 0.2), (1, 0.5)]
    assert (script.ending.kind, script.ending.code, script.ending.reason) == ("close", 1011, "boom")
    assert round(script.ending.wait_s, 6) == 0.6


def test_speed_scales_and_speed_0_waits_for_nothing() -> None:
    assert [beat.wait_s for beat in build_script(SESSION, ReplayPolicy(speed=2)).beats][1] == pytest.approx(0.1)
    assert all(beat.wait_s == 0 for beat in build_script(SESSION, ReplayPolicy(speed=0)).beats)


def test_delay_and_stall_add_waiting_before_their_messages() -> None:
    policy = ReplayPolicy(delay=Delay.parse("first:300ms"), fault=Fault.parse("stall:1:2s"))
    extras = [beat.extra_s for beat in build_script(SESSION, policy).beats]
    assert extras == [pytest.approx(0.3), pytest.approx(2.0), 0.0]


def test_cut_closes_with_a_server_error_after_n_server_messages() -> None:
    script = build_script(SESSION, ReplayPolicy(fault=Fault.parse("cut:2")))
    assert len(script.beats) == 2
    assert script.ending.code == FAULT_CLOSE_CODE
    assert "cut:2" in script.ending.reason


def test_a_dropped_connection_and_a_client_close_are_kept() -> None:
    dropped = Session(SESSION.request, SESSION.handshake, SESSION.messages, Close(1.6, "server", None))
    assert build_script(dropped, ReplayPolicy()).ending.kind == "drop"
    by_client = Session(SESSION.request, SESSION.handshake, SESSION.messages, Close(1.6, "client", 1000))
    assert build_script(by_client, ReplayPolicy()).ending.kind == "await_client"


def test_client_json_is_compared_canonically_without_volatile_fields() -> None:
    recorded = ("text", b'{"type": "response.create", "event_id": "evt_1", "response": {"a": 1}}')
    assert (
        message_differences(recorded, ("text", b'{"response":{"a":1},"type":"response.create","event_id":"x"}')) == []
    )
    assert message_differences(recorded, ("text", b'{"type":"response.create","response":{"a":2}}')) == [
        "JSON differs: $.response.a is 2, recorded 1"
    ]
    assert message_differences(recorded, ("binary", recorded[1])) == ["frame binary != recorded text"]
    assert message_differences(("binary", b"\x00"), ("binary", b"\x01")) == ["bytes differ (1 bytes, recorded 1)"]


def test_a_recorded_drop_replays_as_a_dropped_connection() -> None:
    dropped = Session(SESSION.request, SESSION.handshake, SESSION.messages, Close(1.6, "server", None))

    async def run(url: str) -> int | None:
        async with connect(url, open_timeout=10) as websocket:
            await asyncio.wait_for(websocket.recv(), 10)
            await websocket.send('{"type":"response.create"}')
            received = [await asyncio.wait_for(websocket.recv(), 10) for _ in range(2)]
            assert received == ['{"type":"a"}', b'{"type":"b"}']
            with pytest.raises(ConnectionClosed) as caught:
                await asyncio.wait_for(websocket.recv(), 10)
            return caught.value.rcvd.code if caught.value.rcvd else None

    with ReplayServer(CassettePlayer([Cassette(sessions=[dropped])], ReplayPolicy(speed=0))) as server:
        assert asyncio.run(run(server.ws_url + "/v1/realtime?model=m")) is None  # no close frame: 1006


# -- split and truncate on session messages ---------------------------------------------


def test_split_bytes_fragments_each_server_message_and_the_fragments_join_to_it() -> None:
    beats = build_script(SESSION, ReplayPolicy(split=Split.parse("bytes:5"))).beats
    first = beats[0]
    assert [len(piece) for piece in first.frames] == [5, 5, 5, 5, 5, 1]
    assert all(b"".join(beat.frames) == beat.data for beat in beats)


def test_split_random_is_seeded_and_never_loses_a_byte() -> None:
    policy = ReplayPolicy(split=Split.parse("random:1-4"), seed=7)
    one, two = build_script(SESSION, policy).beats, build_script(SESSION, policy).beats
    assert [beat.frames for beat in one] == [beat.frames for beat in two]
    assert all(b"".join(beat.frames) == beat.data and all(1 <= len(p) <= 4 for p in beat.frames) for beat in one)


def test_split_utf8_cuts_inside_every_multibyte_character() -> None:
    data = "aé你".encode()
    assert split_message(data, Split.parse("utf8"), random.Random(0)) == (b"a\xc3", b"\xa9\xe4", b"\xbd\xa0")


def test_recorded_whole_and_events_keep_one_frame_per_message() -> None:
    for split in ("recorded", "whole", "events"):
        assert all(
            beat.frames == (beat.data,) for beat in build_script(SESSION, ReplayPolicy(split=Split.parse(split))).beats
        )
    assert split_message(b"", Split.parse("bytes:2"), random.Random(0)) == (b"",)


def test_truncate_leaves_out_the_last_server_message_and_closes_normally_when_it_was_due() -> None:
    script = build_script(SESSION, ReplayPolicy(fault=Fault.parse("truncate")))
    assert [beat.data for beat in script.beats] == [b'{"type":"session.created"}', b'{"type":"a"}']
    assert (script.ending.kind, script.ending.code) == ("close", TRUNCATE_CLOSE_CODE)
    assert (script.ending.after_client, round(script.ending.wait_s, 6)) == (1, 0.5)
    assert "truncate" in script.ending.reason


@given(
    data=st.binary(max_size=200) | st.text(max_size=80).map(str.encode),
    split=st.sampled_from(["recorded", "whole", "events", "utf8", "bytes:1", "bytes:3", "random:1-5", "random:2-9"]),
    seed=st.integers(0, 1000),
)
def test_split_message_fragments_always_join_to_the_message_and_none_is_empty(
    data: bytes, split: str, seed: int
) -> None:
    fragments = split_message(data, Split.parse(split), random.Random(seed))
    assert b"".join(fragments) == data
    assert all(fragments) or fragments == (b"",)
