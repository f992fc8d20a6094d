"""A cassette file read one top-level item at a time: blocks that add up to the file whatever
the read size, exact line numbers, and anything not in chunktape's layout handed back."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chunktape import load_cassette
from chunktape.commands import file_items as module
from chunktape.commands.file_items import NotOwnLayout, blocks, file_items
from chunktape.persist import dumps
from tests.support.builders import sse_cassette

CASSETTES = Path(__file__).resolve().parents[2] / "cassettes"
lines = st.lists(st.sampled_from(["- a: 1", "  b: 2", "-x", "c:", "", "  - d", "- ", "é- e"]), max_size=12)


@given(
    head=st.lists(st.sampled_from(["version: 1", "# c", "x: -", ""]), max_size=3), body=lines, size=st.integers(1, 9)
)
def test_blocks_add_up_to_the_file_and_each_item_starts_a_block_whatever_the_read_size(
    head: list[str], body: list[str], size: int
) -> None:
    text = "".join(line + "\n" for line in ["interactions:", *head, *body])
    module._READ_BYTES, saved = size, module._READ_BYTES
    try:
        found = list(blocks(io.BytesIO(text.encode())))
    finally:
        module._READ_BYTES = saved
    assert "".join(block.text for block in found) == text
    assert all(block.text.startswith("- ") for block in found[1:])
    assert all("\n- " not in block.text[:-1] for block in found)
    for block in found:
        assert text.split("\n")[block.line - 1 : block.line - 1 + len(block.lines)] == block.lines


@pytest.mark.parametrize(
    "data",
    [b"version: 1\ninteractions: []", b"version: 1\ninteractions:\n- a: \xff\n", b"- request: {}\n", b""],
    ids=["no-final-line-break", "not-utf8", "a-list-at-the-top", "empty"],
)
def test_what_is_not_chunktapes_layout_is_handed_back(data: bytes) -> None:
    with pytest.raises(NotOwnLayout):
        _read_all(data)


def _read_all(data: bytes) -> None:
    _, items = file_items(io.BytesIO(data))
    list(items)


def test_each_item_comes_with_its_document_line_and_model() -> None:
    path = CASSETTES / "gemini_stream.yaml"
    text = path.read_text(encoding="utf-8")
    with path.open("rb") as handle:
        head, items = file_items(handle)
        found = list(items)
    assert head.text == "version: 1\ninteractions:\n"
    assert [item.item for item in found] == load_cassette(str(path)).interactions
    assert text.splitlines()[found[0].block.line - 1] == "- request:"
    assert found[0].document["response"]["status"] == 200


@pytest.mark.parametrize(
    "head",
    ["version: 2\ninteractions:\n", "interactions:\n", "version: 1\ninteractions: []\n"],
    ids=["unknown-version", "no-version", "items-after-a-list"],
)
def test_a_head_that_does_not_hold_items_is_handed_back_before_any_item_is_read(head: str) -> None:
    item = dumps(sse_cassette()).split("interactions:\n", 1)[1]
    _, items = file_items(io.BytesIO((head + item).encode()))
    with pytest.raises(NotOwnLayout):
        next(items)


def test_interactions_that_are_not_a_list_are_handed_back() -> None:
    _, items = file_items(io.BytesIO(b"version: 1\ninteractions: 42\n"))
    with pytest.raises(NotOwnLayout):
        list(items)


def test_an_item_that_does_not_load_is_handed_back() -> None:
    text = dumps(sse_cassette()).replace("size_bytes: 52", "size_bytes: 0")
    _, items = file_items(io.BytesIO(text.encode()))
    with pytest.raises(NotOwnLayout):
        list(items)
