"""The schedule: what the client receives and when, for every knob. Pure values, no clock."""

from __future__ import annotations

import json

import pytest

from chunktape import ReplayPolicy, build_schedule
from tests.support.builders import SSE_BODY, sse_interaction

INTERACTION = sse_interaction(times=[0.1, 0.14, 0.2, 0.5])
REQUEST, RESPONSE = INTERACTION.request, INTERACTION.response


def schedule(**knobs: object) -> object:
    return build_schedule(REQUEST, RESPONSE, ReplayPolicy.from_knobs(**knobs))  # type: ignore[arg-type]


def test_speed_1_keeps_recorded_boundaries_and_times() -> None:
    plan = build_schedule(REQUEST, RESPONSE, ReplayPolicy())
    assert [s.data for s in plan.steps] == [c.data for c in RESPONSE.chunks]
    assert [s.at_s for s in plan.steps] == [0.1, 0.14, 0.2, 0.5]
    assert plan.headers_at_s == 0.05
    assert plan.ending == "complete"


def test_speed_2_halves_every_time_and_speed_0_waits_for_nothing() -> None:
    assert [s.at_s for s in schedule(speed=2).steps] == [0.05, 0.07, 0.1, 0.25]  # type: ignore[attr-defined]
    fast = schedule(speed=0)
    assert {s.at_s for s in fast.steps} == {0.0}  # type: ignore[attr-defined]
    assert fast.headers_at_s == 0.0  # type: ignore[attr-defined]


def test_split_bytes_sends_pieces_no_earlier_than_their_last_byte_was_recorded() -> None:
    plan = schedule(split="bytes:10")
    assert all(len(s.data) == 10 for s in plan.steps[:-1])  # type: ignore[attr-defined]
    assert plan.body == SSE_BODY  # type: ignore[attr-defined]
    ends, total = [], 0
    for chunk in RESPONSE.chunks:
        total += len(chunk.data)
        ends.append((total, chunk.at_s))
    position = 0
    for step in plan.steps:  # type: ignore[attr-defined]
        position += len(step.data)
        due = next(at for end, at in ends if end >= position)
        assert step.at_s == due


def test_split_utf8_cuts_inside_every_multibyte_character() -> None:
    plan = schedule(split="utf8")
    pieces = [s.data for s in plan.steps]  # type: ignore[attr-defined]
    assert b"".join(pieces) == SSE_BODY
    boundaries, position = set(), 0
    for piece in pieces:
        position += len(piece)
        boundaries.add(position)
    text = SSE_BODY.decode("utf-8")
    start = 0
    multibyte = 0
    for char in text:
        size = len(char.encode("utf-8"))
        if size > 1:
            multibyte += 1
            assert any(start < b < start + size for b in boundaries), f"{char!r} was not cut"
        start += size
    assert multibyte >= 10


def test_split_sse_gives_one_event_per_chunk() -> None:
    plan = schedule(split="sse")
    assert [s.data for s in plan.steps] == [e + b"\r\n\r\n" for e in SSE_BODY.split(b"\r\n\r\n")[:-1]]  # type: ignore[attr-defined]


def test_split_whole_is_one_chunk_at_the_last_arrival() -> None:
    plan = schedule(split="whole")
    assert [(s.at_s, s.data) for s in plan.steps] == [(0.5, SSE_BODY)]  # type: ignore[attr-defined]


def test_split_random_is_reproducible_from_the_seed_and_varies_with_it() -> None:
    one = [len(s.data) for s in schedule(split="random:1-9", seed=7).steps]  # type: ignore[attr-defined]
    again = [len(s.data) for s in schedule(split="random:1-9", seed=7).steps]  # type: ignore[attr-defined]
    other = [len(s.data) for s in schedule(split="random:1-9", seed=8).steps]  # type: ignore[attr-defined]
    assert one == again
    assert one != other
    assert all(1 <= n <= 9 for n in one[:-1])


def test_delay_first_shifts_head_and_body() -> None:
    plan = schedule(delay=["first:300ms"])
    assert plan.headers_at_s == pytest.approx(0.35)  # type: ignore[attr-defined]
    assert [s.at_s for s in plan.steps] == pytest.approx([0.4, 0.44, 0.5, 0.8])  # type: ignore[attr-defined]


def test_delay_chunk_adds_to_every_gap_even_at_speed_0() -> None:
    plan = schedule(speed=0, delay=["chunk:10ms"])
    assert [s.at_s for s in plan.steps] == pytest.approx([0.01, 0.02, 0.03, 0.04])  # type: ignore[attr-defined]


def test_jitter_never_reorders_and_stays_within_bounds() -> None:
    plan = schedule(delay=["jitter:50ms"], seed=3)
    times = [s.at_s for s in plan.steps]  # type: ignore[attr-defined]
    assert times == sorted(times)
    for got, recorded in zip(times, [0.1, 0.14, 0.2, 0.5], strict=True):
        assert recorded <= got <= recorded + 4 * 0.05


def test_fault_disconnect_keeps_n_chunks_then_drops_the_connection() -> None:
    plan = schedule(fault="disconnect:2")
    assert len(plan.steps) == 2  # type: ignore[attr-defined]
    assert plan.ending == "cut"  # type: ignore[attr-defined]
    assert plan.end_at_s == 0.2  # type: ignore[attr-defined]


def test_fault_stall_holds_after_n_chunks() -> None:
    plan = schedule(fault="stall:1:2s")
    assert [s.at_s for s in plan.steps] == pytest.approx([0.1, 2.14, 2.2, 2.5])  # type: ignore[attr-defined]


def test_fault_status_429_answers_the_provider_shaped_error_with_retry_after() -> None:
    plan = schedule(fault="status:429")
    assert plan.status == 429  # type: ignore[attr-defined]
    headers = dict(plan.headers)  # type: ignore[attr-defined]
    assert headers["retry-after"] == "1"
    error = json.loads(plan.body)  # type: ignore[attr-defined]
    assert error["error"]["status"] == "RESOURCE_EXHAUSTED"
    assert int(headers["content-length"]) == len(plan.body)  # type: ignore[attr-defined]


def test_fault_truncate_cuts_the_last_chunk_short_and_ends_cleanly() -> None:
    plan = schedule(fault="truncate")
    assert plan.body == SSE_BODY[: len(SSE_BODY) - len(RESPONSE.chunks[-1].data) + len(RESPONSE.chunks[-1].data) // 2]  # type: ignore[attr-defined]
    assert plan.ending == "complete"  # type: ignore[attr-defined]


def test_a_recorded_cut_replays_as_a_cut() -> None:
    from dataclasses import replace

    plan = build_schedule(REQUEST, replace(RESPONSE, ended="cut"), ReplayPolicy())
    assert plan.ending == "cut"
    assert plan.body == SSE_BODY
