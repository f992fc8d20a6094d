"""Loading a cassette file one interaction at a time: fast and lean for the layout chunktape
writes, and exactly as strict as the careful path (a differential test holds them to it).

Memory holds the model and one item's text, never the whole file's text or document. Any
text this path is not sure of gets None, and the careful path (`text.items_of`) then reads
the whole file and says exactly what is wrong.
"""

from __future__ import annotations

from collections.abc import Iterable

from chunktape.persist.reader import read_lines
from chunktape.persist.schema import Invalid, Item, interaction_from, interactions_from


def stream_cassette(path: str) -> list[Item] | None:
    """The interactions of a file in chunktape's own layout, read one at a time (fast, lean);
    None when the file needs the careful path (another layout, or any problem)."""
    try:
        with open(path, "rb") as handle:
            return stream_items(handle)
    except OSError:
        return None  # the careful path says why


def stream_items(lines: Iterable[bytes]) -> list[Item] | None:
    """The items of the text in `lines` (each with its line break), or None.

    The text splits at lines starting `- ` into a head and items. That reads as PyYAML
    reads the whole only when the head is a mapping whose last key is `interactions:` with
    nothing after it (then the items are its block sequence), or, with no items at all,
    when `interactions` holds an empty list or nothing."""
    head: list[str] = []
    item: list[str] | None = None
    interactions: list[Item] = []
    try:
        for raw_line in lines:
            if not raw_line.endswith(b"\n"):
                return None  # no final line break: the careful path decides
            line = raw_line[:-1].decode("utf-8")
            if line.startswith("- "):
                if item is not None and not _add_item(item, interactions):
                    return None
                item = [line]
            elif item is None:
                head.append(line)
            else:
                item.append(line)
    except UnicodeDecodeError:
        return None
    if item is not None and not _add_item(item, interactions):
        return None
    document = read_lines(head)
    if not isinstance(document, dict) or "interactions" not in document:
        return None
    if item is not None:
        if document["interactions"] is not None or _last_key_line(head) != "interactions:":
            return None
    elif document["interactions"] not in (None, []):
        return None
    try:
        interactions_from({**document, "interactions": []})
    except Invalid:
        return None
    return interactions


def _last_key_line(head: list[str]) -> str | None:
    """The head's last line that is neither blank nor a comment."""
    for line in reversed(head):
        stripped = line.strip(" ")
        if stripped and not stripped.startswith("#"):
            return line
    return None


def _add_item(lines: list[str], interactions: list[Item]) -> bool:
    document = read_lines(lines)
    if not isinstance(document, list) or len(document) != 1:
        return False
    try:
        interactions.append(interaction_from(document[0], ("interactions", len(interactions))))
    except Invalid:
        return False
    return True
