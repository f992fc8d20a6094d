"""The lean loader reads only what the careful path reads (the structural differential in
tests/reliability/test_fuzz_structure.py holds it to that at scale); here, its head rules."""

from __future__ import annotations

from pathlib import Path

from chunktape import Cassette, Chunk, Interaction, Request, Response
from chunktape.persist import dumps
from chunktape.persist.streaming import stream_cassette, stream_items


def lines(text: str) -> list[bytes]:
    return [line.encode() for line in text.splitlines(keepends=True)]


TEXT = dumps(Cassette([Interaction(Request("GET", "https://x.test/"), Response(200, (), 0.0, (Chunk(0.1, b"hi"),)))]))


def test_a_file_in_chunktapes_layout_streams_item_by_item(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(TEXT, encoding="utf-8")
    streamed = stream_cassette(str(path))
    assert streamed is not None
    assert [i.request.url for i in streamed] == ["https://x.test/"]


def test_interactions_that_are_not_a_list_are_left_to_the_careful_path() -> None:
    assert stream_items(lines("version: 1\ninteractions: 42\n")) is None
    assert stream_items(lines(TEXT.replace("interactions:\n", "interactions: 42\n"))) is None


def test_items_after_another_key_than_a_bare_interactions_are_left_to_the_careful_path() -> None:
    swapped = TEXT.replace("version: 1\ninteractions:\n", "interactions:\nversion: 1\n")
    assert stream_items(lines(swapped)) is None


def test_an_empty_cassette_streams_as_empty_either_way() -> None:
    assert stream_items(lines("version: 1\ninteractions: []\n")) == []
    assert stream_items(lines("version: 1\ninteractions:\n")) == []


def test_text_without_a_final_line_break_is_left_to_the_careful_path() -> None:
    assert stream_items(lines(TEXT.rstrip("\n"))) is None
