"""A cassette's text to and from the model, strictly: any problem is `path:line: what is wrong`.

The fast reader (`reader.py`) takes the layout chunktape writes; anything else goes to PyYAML
(`yaml_fallback.py`), which also words every YAML error. Either way `schema.py` checks the
document. Text has no recording marker, so nothing here is ever set aside as torn: that
exception belongs to files, and `journal.py` decides it.

Redaction happens here, once, as interactions become text (`dumps`'s `redact`, or the
recorder's writer before it appends): never inside the YAML writer.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from chunktape.cassette import Cassette
from chunktape.errors import CassetteError
from chunktape.persist.reader import read_document
from chunktape.persist.schema import Invalid, Item, document_head, interaction_node, interactions_from
from chunktape.persist.yaml_fallback import YamlProblem, line_of, parse_yaml
from chunktape.persist.yaml_writer import emit_document, emit_item
from chunktape.redaction import Redactor

HEAD = "version: 1\ninteractions:\n"
"""The text before a cassette's first item, as chunktape writes it."""


def cassette_of(items: Iterable[Item], path: str | None = None) -> Cassette:
    """A cassette holding `items`: HTTP interactions in `interactions`, sessions in `sessions`."""
    cassette = Cassette(path=path)
    for item in items:
        cassette.append(item)
    return cassette


def interaction_text(interaction: Item) -> str:
    """One interaction as the YAML item the file holds (already redacted by the caller)."""
    return emit_item(interaction_node(interaction))


def _document_text(interactions: Iterable[Item]) -> str:
    items = "".join(interaction_text(interaction) for interaction in interactions)
    head = emit_document(document_head())
    return f"{head}interactions:\n{items}" if items else f"{head}interactions: []\n"


def dumps(cassette: Cassette, *, redact: Iterable[str] = ()) -> str:
    """The cassette as YAML text, secrets redacted."""
    items: list[Item] = [*cassette.interactions, *cassette.sessions]
    return dumps_items(items, redact=redact)


def dumps_items(items: Iterable[Item], *, redact: Iterable[str] = ()) -> str:
    """HTTP interactions and sessions as YAML text in the order given (a file's own order),
    secrets redacted; `dumps` writes a cassette's HTTP interactions first."""
    redactor = Redactor(redact)
    return _document_text(redactor.item(item) for item in items)


def text_of(raw: bytes | str, path: str) -> str:
    """`raw` as text; CassetteError with the line of the first byte that is not UTF-8."""
    if isinstance(raw, str):
        return raw
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise CassetteError(path, line, "is not UTF-8 text; a cassette is a YAML file written by chunktape") from None


_NOT_BLANK = re.compile(r"\S")


def items_of(raw: bytes | str, path: str = "<cassette>") -> list[Item]:
    """The HTTP interactions and sessions `raw` holds, in file order; CassetteError with
    `path:line` for any problem, anywhere in the text."""
    text = text_of(raw, path)
    if _NOT_BLANK.search(text) is None:
        raise CassetteError(path, 1, "is empty; a cassette starts with 'version: 1'")
    document = read_document(text)
    if document is None:
        try:
            document = parse_yaml(text)
        except YamlProblem as exc:
            raise CassetteError(path, exc.line, exc.problem) from None
    try:
        return interactions_from(document)
    except Invalid as exc:
        raise CassetteError(path, line_of(text, exc.where), exc.problem) from None


def loads(raw: bytes | str, path: str = "<cassette>") -> Cassette:
    """A cassette from its text; CassetteError with `path:line` for any problem."""
    return cassette_of(items_of(raw, path), path=path)


_ITEM_START = re.compile(r"^- ", re.MULTILINE)  # a top-level sequence item; all inside one is indented
_TOP_LEVEL_LINE = re.compile(r"^[^\s#-].*$", re.MULTILINE)


def appendable_end(text: str) -> bool:
    """True when `text` ends inside a block `interactions:` sequence that holds at least one
    item, the last top-level key: a new item can then simply be added at the end."""
    if not text.endswith("\n"):
        return False
    last = None
    for last in _ITEM_START.finditer(text):  # noqa: B007 - the last match is the one wanted
        pass
    if last is None:
        return False
    top = list(_TOP_LEVEL_LINE.finditer(text, 0, last.start()))
    return bool(top) and top[-1].group() == "interactions:" and _TOP_LEVEL_LINE.search(text, last.start()) is None
