"""EventSource semantics on the replay server: a GET with Accept: text/event-stream streams,
`id:`/`retry:` are kept, and a reconnection with Last-Event-ID after a cut resumes after that
id (or from the start, with resume=start)."""

from __future__ import annotations

import httpx
import pytest

from chunktape import CassettePlayer, ReplayPolicy, Request
from chunktape.errors import KnobError
from chunktape.knobs import parse_resume
from chunktape.replay.eventsource import event_ids, events_after
from chunktape.replay.server import ReplayServer
from tests.support.chat import FIRST_TOKEN_AT_S, GAP_S, HEADERS_AT_S, STREAM_PATH, chat_cassette, events

SSE = {"Accept": "text/event-stream", "Cache-Control": "no-cache"}


def _read_until_cut(url: str, headers: dict[str, str]) -> bytes:
    """What a client got before the connection dropped (or the whole body, if it did not)."""
    received = bytearray()
    with httpx.stream("GET", url, headers=headers) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        try:
            for piece in response.iter_raw():
                received += piece
        except httpx.RemoteProtocolError:
            pass
    return bytes(received)


def test_event_ids_read_the_id_field_as_a_browser_does() -> None:
    body = b"id: 1\ndata: a\n\ndata: b\n\nid:2\r\ndata: c\r\n\r\nid: x\0y\ndata: d\n\n"
    assert [event_id for _, event_id in event_ids(body)] == ["1", None, "2", None]


def test_events_after_an_id_keep_their_recorded_gaps() -> None:
    response = chat_cassette().interactions[1].response
    resumed = events_after(response, "2")
    assert resumed.body == b"".join(events()[2:])
    assert resumed.chunks[0].at_s == pytest.approx(HEADERS_AT_S + GAP_S)
    assert resumed.chunks[1].at_s - resumed.chunks[0].at_s == pytest.approx(GAP_S)
    assert events_after(response, "no such id") == response


def test_a_get_for_an_event_stream_streams_with_id_and_retry_kept() -> None:
    with ReplayServer(CassettePlayer([chat_cassette()])) as server:
        body = _read_until_cut(server.base_url + STREAM_PATH, SSE)
    assert body == b"".join(events())
    assert body.startswith(b"retry: 200\nid: 1\n")


def test_a_reconnection_after_a_cut_gets_the_events_after_its_last_event_id() -> None:
    policy = ReplayPolicy.from_knobs(fault="cut:2", speed=0)
    with ReplayServer(CassettePlayer([chat_cassette()], policy)) as server:
        first = _read_until_cut(server.base_url + STREAM_PATH, SSE)
        assert first == b"".join(events()[:2])
        rest = _read_until_cut(server.base_url + STREAM_PATH, {**SSE, "Last-Event-ID": "2"})
    assert rest == b"".join(events()[2:])  # whole, not cut again: the fault struck the first connection


def test_resume_start_replays_the_whole_stream_to_a_reconnection() -> None:
    policy = ReplayPolicy.from_knobs(fault="cut:2", speed=0, resume="start")
    with ReplayServer(CassettePlayer([chat_cassette()], policy)) as server:
        assert _read_until_cut(server.base_url + STREAM_PATH, SSE) == b"".join(events()[:2])
        again = _read_until_cut(server.base_url + STREAM_PATH, {**SSE, "Last-Event-ID": "2"})
    assert again == b"".join(events())


def test_a_resumed_stream_waits_the_recorded_gap_not_the_first_token_time() -> None:
    player = CassettePlayer([chat_cassette()])

    request = Request("GET", "http://x" + STREAM_PATH, (("last-event-id", "3"),))
    schedule = player.play(request)
    assert schedule.steps[0].at_s == pytest.approx(HEADERS_AT_S + GAP_S)
    assert schedule.steps[0].at_s < FIRST_TOKEN_AT_S


def test_resume_is_a_knob_with_one_clear_line_for_a_bad_value() -> None:
    assert parse_resume(None) == "last-event-id"
    assert parse_resume("START") == "start"
    assert ReplayPolicy.from_knobs(resume="start").describe().endswith("resume=start")
    assert "resume" not in ReplayPolicy().describe()
    with pytest.raises(KnobError, match=r"use last-event-id .* or start"):
        parse_resume("middle")


def test_an_eventsource_that_saw_no_id_is_answered_from_the_start_without_the_cut() -> None:
    policy = ReplayPolicy.from_knobs(fault="cut:1", split="bytes:5", speed=0)
    with ReplayServer(CassettePlayer([chat_cassette()], policy)) as server:
        first = _read_until_cut(server.base_url + STREAM_PATH, SSE)
        assert first == b"".join(events())[:5]  # no complete event: no id to come back with
        again = _read_until_cut(server.base_url + STREAM_PATH, SSE)
    assert again == b"".join(events())


def test_a_repeated_post_stream_is_still_cut_again_as_an_sdk_retry_expects() -> None:
    policy = ReplayPolicy.from_knobs(fault="cut:2", speed=0)
    player = CassettePlayer([chat_cassette()], policy)
    request = chat_cassette().interactions[0].request
    assert player.play(request).ending == "cut"
    assert player.play(request).ending == "cut"
