"""The terminal view of `chunktape inspect` (chunktape/views/terminal.py), on plain values."""

from __future__ import annotations

from chunktape import Cassette, Interaction, Response
from chunktape.views.terminal import ASCII, Glyphs, render, timeline
from tests.support.builders import sse_cassette, sse_interaction


def test_the_timeline_marks_every_chunk_in_its_column() -> None:
    cassette = sse_cassette(times=[0.1, 0.2, 0.3, 0.4], headers_at_s=0.05)
    rows = timeline(cassette, width=43, glyphs=Glyphs()).splitlines()
    assert rows[0].startswith("timeline: 0 to 400 ms, one column = 10 ms")
    row = rows[1][3:]
    assert row.index("H") == 5
    assert [i for i, char in enumerate(row) if char == "▮"] == [10, 20, 30, 39]
    assert set(row[6:39]) <= {"─", "▮"}


def test_chunks_in_one_column_are_counted() -> None:
    cassette = sse_cassette(times=[0.1, 0.1001, 0.1002, 0.4])
    row = timeline(cassette, width=43, glyphs=ASCII).splitlines()[1]
    assert "3" in row
    assert row.count("|") == 1


def test_a_cut_stream_shows_where_it_was_cut() -> None:
    interaction = sse_interaction(times=[0.1, 0.2, 0.3, 0.4])
    response = interaction.response
    cut = Response(200, response.headers, 0.05, response.chunks[:2], "cut", 0.3)
    text = render(Cassette([Interaction(interaction.request, cut)], path="cut.yaml"), 100)
    assert "✕" in text.splitlines()[5]
    assert "ended cut at 300 ms (the upstream closed mid-body)" in text
