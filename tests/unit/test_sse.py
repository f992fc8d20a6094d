"""SSE framing on raw bytes: where events end, whatever the line endings."""

from __future__ import annotations

from chunktape.sse import event_ends, looks_like_sse, split_events


def test_events_end_at_a_blank_line_of_any_line_ending() -> None:
    body = b"data: 1\n\ndata: 2\r\n\r\ndata: 3\r\rdata: 4"
    assert event_ends(body) == [9, 20, 29]
    assert split_events(body) == [b"data: 1\n\n", b"data: 2\r\n\r\n", b"data: 3\r\r", b"data: 4"]


def test_a_cr_at_the_very_end_counts_as_a_line_end() -> None:
    assert event_ends(b"data: 1\r\r") == [9]


def test_blank_lines_in_a_row_each_end_an_event() -> None:
    assert event_ends(b"\n\n\n") == [1, 2, 3]


def test_the_content_type_says_sse() -> None:
    assert looks_like_sse("text/event-stream; charset=utf-8")
    assert not looks_like_sse("application/json")
    assert not looks_like_sse(None)
