"""The direct path's writes, framed once: uvicorn's bytes for the same schedule."""

from __future__ import annotations

from chunktape.cassette import Chunk, Request, Response
from chunktape.knobs import ReplayPolicy
from chunktape.replay.plan import Plans, build_plan, head_bytes, status_line
from chunktape.schedule import build_schedule

REQUEST = Request("POST", "https://api.example.com/v1/chat", (), b"{}")
SSE = (("content-type", "text/event-stream"), ("transfer-encoding", "chunked"), ("connection", "keep-alive"))


def _schedule(chunks: tuple[Chunk, ...], headers: tuple[tuple[str, str], ...] = SSE, **knobs: object):  # type: ignore[no-untyped-def]
    response = Response(200, headers, 0.01, chunks)
    return build_schedule(REQUEST, response, ReplayPolicy.from_knobs(**knobs))  # type: ignore[arg-type]


def test_the_status_line_is_uvicorns_also_for_a_code_without_a_phrase() -> None:
    assert status_line(200) == b"HTTP/1.1 200 OK\r\n"
    assert status_line(599) == b"HTTP/1.1 599 \r\n"


def test_a_stream_is_the_head_then_each_chunk_framed_then_the_zero_chunk() -> None:
    plan = build_plan(_schedule((Chunk(0.1, b"data: a\n\n"), Chunk(0.2, b"data: b\n\n"))), keep_alive=True)
    assert plan is not None
    assert plan.at_s == (0.01, 0.1, 0.2)
    assert plan.data == (
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n",
        b"9\r\ndata: a\n\n\r\n",
        b"9\r\ndata: b\n\n\r\n0\r\n\r\n",  # the end is due with the last chunk: one write
    )
    assert plan.complete
    assert not plan.close


def test_what_is_due_at_one_moment_is_one_write() -> None:
    plan = build_plan(_schedule((Chunk(0.1, b"a"), Chunk(0.2, b"b"), Chunk(0.3, b"c")), speed="0"), keep_alive=True)
    assert plan is not None
    assert plan.at_s == (0.0,)
    assert plan.data[0].endswith(b"\r\n\r\n1\r\na\r\n1\r\nb\r\n1\r\nc\r\n0\r\n\r\n")


def test_a_cut_closes_without_the_zero_chunk_and_a_client_that_asked_to_close_is_told() -> None:
    cut = build_plan(_schedule((Chunk(0.1, b"a"), Chunk(0.2, b"b")), fault="cut:1"), keep_alive=True)
    assert cut is not None
    assert cut.close
    assert not cut.complete
    assert b"0\r\n\r\n" not in b"".join(cut.data)
    closing = build_plan(_schedule((Chunk(0.1, b"a"),)), keep_alive=False)
    assert closing is not None
    assert b"connection: close\r\n" in closing.data[0]
    assert closing.close


def test_a_true_content_length_is_kept_and_the_body_goes_unframed() -> None:
    headers = (("content-type", "application/json"), ("content-length", "2"))
    plan = build_plan(_schedule((Chunk(0.1, b"{}"),), headers), keep_alive=True)
    assert plan is not None
    assert plan.data[0].endswith(b"content-length: 2\r\n\r\n")
    assert b"transfer-encoding" not in plan.data[0]
    assert plan.data[1:] == (b"{}",)


def test_a_header_uvicorn_would_refuse_leaves_the_answer_to_the_careful_path() -> None:
    assert head_bytes(200, [(b"x-bad", b"a\nb")], keep_alive=True) is None


def test_plans_are_built_once_per_schedule_and_connection_kind() -> None:
    plans, schedule = Plans(), _schedule((Chunk(0.1, b"a"),))
    assert plans.get(schedule, True) is plans.get(schedule, True)
    assert plans.get(schedule, True) is not plans.get(schedule, False)
