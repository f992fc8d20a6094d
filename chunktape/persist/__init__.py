"""The cassette persister: cassette files to and from the model, in the vcrpy sense.

Four small parts, each with one job, used only through this module:

- `emitter.py` / `reader.py`: the YAML text chunktape writes, and a fast reader for it;
- `yaml_fallback.py`: PyYAML for any other YAML, and the line of a problem;
- `schema.py`: the document (dicts and lists) to and from the model, validated;
- `storage.py`: files: read, replace atomically, append durably.

Redaction happens here, once, as interactions enter a file (`save_cassette`'s `redact`, or
the recorder's writer before it appends): never inside the serializer.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field

from chunktape.cassette import Cassette
from chunktape.errors import CassetteError, CassetteWarning
from chunktape.persist.emitter import emit_document, emit_item
from chunktape.persist.reader import read_document, read_lines
from chunktape.persist.schema import (
    FORMAT_VERSION,
    Invalid,
    Item,
    document_head,
    interaction_from,
    interaction_node,
    interactions_from,
)
from chunktape.persist.storage import read_bytes, replace_file
from chunktape.persist.yaml_fallback import YamlProblem, line_of, parse_yaml
from chunktape.redaction import Redactor

__all__ = [
    "FORMAT_VERSION",
    "FilesystemPersister",
    "Loaded",
    "TornTail",
    "appendable_end",
    "cassette_of",
    "dumps",
    "dumps_items",
    "interaction_text",
    "load_cassette",
    "loads",
    "read_cassette",
    "save_cassette",
    "stream_cassette",
]


@dataclass(frozen=True)
class TornTail:
    """The last interaction of a file, cut off mid-write: where it starts and what is wrong."""

    line: int
    offset: int
    size_bytes: int
    problem: str


@dataclass
class Loaded:
    """What a cassette file holds: its interactions, and a torn last interaction if any."""

    interactions: list[Item] = field(default_factory=list)
    """HTTP interactions and realtime sessions, in file order."""
    torn: TornTail | None = None


def cassette_of(items: Iterable[Item], path: str | None = None) -> Cassette:
    """A cassette holding `items`: HTTP interactions in `interactions`, sessions in `sessions`."""
    cassette = Cassette(path=path)
    for item in items:
        cassette.append(item)
    return cassette


def _items(cassette: Cassette) -> list[Item]:
    return [*cassette.interactions, *cassette.sessions]


def interaction_text(interaction: Item) -> str:
    """One interaction as the YAML item the file holds (already redacted by the caller)."""
    return emit_item(interaction_node(interaction))


def _document_text(interactions: Iterable[Item]) -> str:
    items = "".join(interaction_text(interaction) for interaction in interactions)
    head = emit_document(document_head())
    return f"{head}interactions:\n{items}" if items else f"{head}interactions: []\n"


def dumps(cassette: Cassette, *, redact: Iterable[str] = ()) -> str:
    """The cassette as YAML text, secrets redacted."""
    redactor = Redactor(redact)
    return _document_text(redactor.item(item) for item in _items(cassette))


def dumps_items(items: Iterable[Item], *, redact: Iterable[str] = ()) -> str:
    """HTTP interactions and sessions as YAML text in the order given (a file's own order),
    secrets redacted; `dumps` writes a cassette's HTTP interactions first."""
    redactor = Redactor(redact)
    return _document_text(redactor.item(item) for item in items)


def save_cassette(cassette: Cassette, path: str, *, redact: Iterable[str] = ()) -> None:
    """Write atomically: a crash leaves either the old file or the new one, never half of one."""
    replace_file(path, dumps(cassette, redact=redact))


def _text_of(raw: bytes | str, path: str) -> str:
    if isinstance(raw, str):
        return raw
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise CassetteError(path, line, "is not UTF-8 text; a cassette is a YAML file written by chunktape") from None


def _interactions(text: str, path: str) -> list[Item]:
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


_NOT_BLANK = re.compile(r"\S")
# the start of a top-level sequence item; everything inside one is indented
_ITEM_START = re.compile(r"^- ", re.MULTILINE)
_TOP_LEVEL_LINE = re.compile(r"^[^\s#-].*$", re.MULTILINE)


def _last_item_start(text: str) -> int | None:
    last = None
    for last in _ITEM_START.finditer(text):  # noqa: B007 - the last match is the one wanted
        pass
    if last is None:
        return None
    top = list(_TOP_LEVEL_LINE.finditer(text, 0, last.start()))
    if not top or top[-1].group() != "interactions:":
        return None
    return last.start()


_PAGE = 4096


def read_cassette(raw: bytes | str, path: str = "<cassette>") -> Loaded:
    """Read and validate; a last interaction cut off mid-write (a crash while recording) is
    set aside in `torn` rather than failing the whole file. Other problems raise CassetteError.

    Cut off mid-write means: the last interaction does not load, the rest does, and the file
    ends where a crash leaves one: inside a line (no final line break), or on a page boundary
    (the kernel stops a killed process's write between pages of 4,096 bytes). Interactions
    keep `chunks` last, so one cut short anywhere never reads as valid: its sizes do not add up.
    """
    text = _text_of(raw, path)
    try:
        return Loaded(_interactions(text, path))
    except CassetteError as error:
        start = _last_item_start(text)
        size = len(raw.encode("utf-8") if isinstance(raw, str) else raw)
        if start is None or (text.endswith("\n") and size % _PAGE):
            raise
        try:
            kept = _interactions(text[:start], path)
        except CassetteError:
            raise error from None
        line = text.count("\n", 0, start) + 1
        offset = len(text[:start].encode("utf-8"))
        return Loaded(kept, TornTail(line, offset, size - offset, error.problem))


def loads(raw: bytes | str, path: str = "<cassette>") -> Cassette:
    """A cassette from its text; CassetteError with `path:line` for any problem. A torn last
    interaction is left out with a CassetteWarning that says where."""
    loaded = read_cassette(raw, path)
    if loaded.torn is not None:
        torn = loaded.torn
        warnings.warn(
            CassetteWarning(
                f"{path}:{torn.line}: the last interaction is incomplete, cut off while it was written "
                f"(a recording was interrupted: {torn.problem}); loaded the {len(loaded.interactions)} before it "
                f"and ignored its {torn.size_bytes} bytes. `chunktape record --append` removes them; "
                f"or delete the file from line {torn.line} on"
            ),
            stacklevel=2,
        )
    return cassette_of(loaded.interactions, path=path)


def load_cassette(path: str) -> Cassette:
    """Read and validate a cassette file; any problem raises CassetteError with `path:line`."""
    loaded = stream_cassette(path)
    if loaded is not None:
        return cassette_of(loaded, path=path)
    return loads(read_bytes(path), path)


def stream_cassette(path: str) -> list[Item] | None:
    """The interactions of a file in chunktape's own layout, read one at a time (fast, lean);
    None when the file needs the careful path (another layout, or any problem)."""
    try:
        with open(path, "rb") as handle:
            return _stream_interactions(handle)
    except OSError:
        return None  # the careful path says why


def _stream_interactions(lines: Iterable[bytes]) -> list[Item] | None:
    """The fast path: a file in the layout chunktape writes, one interaction at a time, so
    memory holds the model and one item's text, never the whole file's text or document.
    None for anything else (another layout, any problem): the careful path then reads the
    whole file and reports exactly what is wrong."""
    head: list[str] = []
    item: list[str] | None = None
    interactions: list[Item] = []
    try:
        for raw_line in lines:
            if not raw_line.endswith(b"\n"):
                return None  # no final line break: maybe torn
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
    if interactions and document["interactions"] is not None:
        return None
    try:
        interactions_from({**document, "interactions": []})
    except Invalid:
        return None
    return interactions


def _add_item(lines: list[str], interactions: list[Item]) -> bool:
    document = read_lines(lines)
    if not isinstance(document, list) or len(document) != 1:
        return False
    try:
        interactions.append(interaction_from(document[0], ("interactions", len(interactions))))
    except Invalid:
        return False
    return True


def appendable_end(text: str) -> bool:
    """True when `text` ends inside a block `interactions:` sequence that holds at least one
    item, the last top-level key: a new item can then simply be added at the end."""
    start = _last_item_start(text)
    return text.endswith("\n") and start is not None and _TOP_LEVEL_LINE.search(text, start) is None


class FilesystemPersister:
    """Cassettes as YAML files on disk: what `Cassette.load` and `Cassette.save` use."""

    def load(self, path: str) -> Cassette:
        return load_cassette(path)

    def save(self, cassette: Cassette, path: str, *, redact: Iterable[str] = ()) -> None:
        save_cassette(cassette, path, redact=redact)
