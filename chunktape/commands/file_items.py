"""A cassette file read one top-level item at a time, each with its lines, its first line
number and its YAML document, so a check of a 10 MB cassette never holds the file's text or
its whole document.

This reads only the layout chunktape writes (and close cousins: other key orders, comments
on their own lines). Anything else raises `NotOwnLayout`, and the caller reads the file the
careful way (`loads`: the whole file as YAML), which also says exactly what is wrong with a broken one.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from chunktape.persist.reader import read_lines
from chunktape.persist.schema import Invalid, Item, interaction_from, interactions_from


class NotOwnLayout(Exception):
    """The file is not in chunktape's own layout, or something in it is wrong."""


@dataclass(frozen=True)
class Block:
    """Consecutive lines of a file: the head (before the first item), or one top-level item."""

    line: int
    """1-based number of its first line."""
    text: str
    """Its lines, each ending with a line feed."""

    @property
    def lines(self) -> list[str]:
        return self.text[:-1].split("\n") if self.text else []


@dataclass(frozen=True)
class FileItem:
    """One item of the `interactions:` list: its lines, its document, and what it means."""

    block: Block
    index: int
    document: dict[str, Any]
    item: Item


_READ_BYTES = 1 << 22
_ITEM_START = b"\n- "


def blocks(handle: BinaryIO) -> Iterator[Block]:
    """The head, then each top-level `- ` item, read a few megabytes at a time; NotOwnLayout for
    text that is not UTF-8 or a file whose last line has no line break (it may be torn)."""
    pending = b""
    line = 1
    searched = 0  # where in `pending` a new item start may begin
    while True:
        data = handle.read(_READ_BYTES)
        pending += data
        start = 0
        if line == 1 and pending.startswith(b"- "):
            raise NotOwnLayout  # a list at the top: not a cassette, the careful path says so
        found = pending.find(_ITEM_START, max(searched - 2, 0))
        while found >= 0:
            block = _block(line, pending[start : found + 1])
            yield block
            line += block.text.count("\n")
            start = found + 1
            found = pending.find(_ITEM_START, start)
        pending = pending[start:]
        searched = len(pending)
        if not data:
            if not pending.endswith(b"\n"):
                raise NotOwnLayout
            yield _block(line, pending)
            return


def _block(line: int, data: bytes) -> Block:
    try:
        return Block(line, data.decode("utf-8"))
    except UnicodeDecodeError:
        raise NotOwnLayout from None


def file_items(handle: BinaryIO) -> tuple[Block, Iterator[FileItem]]:
    """The head of a file in chunktape's layout, and its items, read as they are iterated. The
    head is read first, so an unknown version is never read as interactions."""
    found = blocks(handle)
    head = next(found)
    document = read_lines(head.lines)
    if not isinstance(document, dict) or "interactions" not in document:
        raise NotOwnLayout
    return head, _items(found, document)


def _items(found: Iterator[Block], head: dict[str, Any]) -> Iterator[FileItem]:
    index = 0
    for block in found:
        if index == 0:
            _check_head(head, has_items=True)
        parsed = read_lines(block.lines)
        if not isinstance(parsed, list) or len(parsed) != 1 or not isinstance(parsed[0], dict):
            raise NotOwnLayout
        try:
            item = interaction_from(parsed[0], ("interactions", index))
        except Invalid:
            raise NotOwnLayout from None
        yield FileItem(block, index, parsed[0], item)
        index += 1
    if index == 0:
        _check_head(head, has_items=False)


def _check_head(document: dict[str, Any], *, has_items: bool) -> None:
    if has_items and (document["interactions"] is not None or list(document)[-1] != "interactions"):
        raise NotOwnLayout  # items belong to an `interactions:` that is the head's last line
    try:
        interactions_from({**document, "interactions": []} if has_items else document)
    except Invalid:
        raise NotOwnLayout from None
