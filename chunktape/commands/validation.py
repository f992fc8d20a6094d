"""What `chunktape validate` checks in one cassette: its meaning, never its layout.

A cassette passes when it loads, saving it gives back the same cassette (the same model,
hence the same bytes on the wire), its streamed bodies are framed as their format requires,
and no secret is found in it. Comments, another key order, quoting or indentation are layout:
`chunktape fmt` owns that.

A file in chunktape's own layout is checked one item at a time (`file_items`): the item's
document is read and turned into the model, and the model into the document saving would
write; when the two documents are equal, saving and loading again gives the same model. Only
an item whose documents differ (another body encoding, a value written another way) is
loaded back from its saved form and compared as a model. Memory holds the model and one
item's text. Any other file is loaded the careful way and checked as a whole.
"""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, BinaryIO

import yaml

from chunktape.bodies.framing import framing_problems
from chunktape.cassette import Interaction, Session
from chunktape.commands.file_items import FileItem, NotOwnLayout, file_items
from chunktape.persist import loads
from chunktape.persist.schema import Invalid, Item, interaction_from, interaction_node
from chunktape.persist.storage import read_bytes
from chunktape.redaction import Redactor
from chunktape.secrets_scan import body_secrets, mask, mask_secrets, scan_text, secret_values

_STREAM_BODIES = ("base64", "event_stream")  # body kinds whose bytes the file's text does not show


@dataclass
class Report:
    """What validating one cassette found: its counts, framing problems with their lines, and
    the other problems (a change on saving, leaked secrets), each one phrase."""

    interactions: int = 0
    sessions: int = 0
    oldest_recorded_at: datetime | None = None
    """When the cassette was recorded, for its age: its oldest `recorded_at` (None: undated)."""
    framing: list[tuple[int | None, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def validate_file(path: str, redact: Iterable[str] = ()) -> Report:
    """Check the cassette at `path`; CassetteError (with `path:line`) when it does not load."""
    try:
        with open(path, "rb") as handle:
            return _Check(redact).own_layout(handle)
    except (NotOwnLayout, OSError):  # the careful path says what is wrong, if anything
        pass
    raw = read_bytes(path)
    cassette = loads(raw, path)  # the careful path: the whole file as YAML, every problem named
    return _Check(redact).any_layout([*cassette.interactions, *cassette.sessions], raw.decode("utf-8"))


def validate_text(raw: bytes | str, path: str = "<cassette>", redact: Iterable[str] = ()) -> Report:
    """Check a cassette given as its text, as `validate_file` checks a file."""
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    try:
        return _Check(redact).own_layout(io.BytesIO(data))
    except NotOwnLayout:
        pass
    cassette = loads(data, path)
    return _Check(redact).any_layout([*cassette.interactions, *cassette.sessions], data.decode("utf-8"))


class _Check:
    def __init__(self, redact: Iterable[str]) -> None:
        self.redactor = Redactor(redact)
        self.report = Report()
        self.changed: str | None = None
        self.secrets: list[str] = []

    def own_layout(self, handle: BinaryIO) -> Report:
        head, items = file_items(handle)
        self._scan(head.text, head.line)
        for found in items:
            number = self._count(found.item)
            where = f"{number} (line {found.block.line})"
            if self.changed is None and interaction_node(found.item) != found.document:
                self._round_trip(found.item, where, found.index)
            self._scan(found.block.text, found.block.line)
            if _hides_bytes(found):
                seen = {secret for _, secret in secret_values(found.block.text, self.redactor)}
                self._hidden_secrets(found.item, number, seen)
            if isinstance(found.item, Interaction):
                offset = found.block.line - 1
                for index, problem in _framing(found.item, self.report.interactions):
                    line = _body_item_line(found.block.text, [0, "response", "body"], index)
                    self.report.framing.append((line + offset if line else None, problem))
        return self._finish()

    def any_layout(self, items: list[Item], text: str) -> Report:
        for index, item in enumerate(items):
            number = self._count(item)
            if self.changed is None:
                self._round_trip(item, number, index)
        self._scan(text, 1)
        seen = {secret for _, secret in secret_values(text, self.redactor)}
        sessions = interactions = 0
        for item in items:
            if isinstance(item, Session):
                sessions += 1
                self._hidden_secrets(item, f"session #{sessions}", seen)
                continue
            interactions += 1
            self._hidden_secrets(item, f"interaction #{interactions}", seen)
            for index, problem in _framing(item, interactions):
                line = _body_item_line(text, ["interactions", interactions - 1, "response", "body"], index)
                self.report.framing.append((line, problem))
        return self._finish()

    def _count(self, item: Item) -> str:
        if isinstance(item, Session):
            self.report.sessions += 1
            return f"session #{self.report.sessions}"
        self.report.interactions += 1
        oldest = self.report.oldest_recorded_at
        if item.recorded_at is not None and (oldest is None or item.recorded_at < oldest):
            self.report.oldest_recorded_at = item.recorded_at
        return f"interaction #{self.report.interactions}"

    def _round_trip(self, item: Item, where: str, index: int) -> None:
        """Save the item and load it again: the same model, or the first thing that changed."""
        try:
            again = interaction_from(interaction_node(item), ("interactions", index))
        except Invalid as exc:
            self.changed = f"saving it would write {where} so that it no longer loads ({exc.problem})"
            return
        difference = first_difference(item, again)
        if difference is not None:
            self.changed = f"saving it would change {where}: {difference}"

    def _scan(self, text: str, first_line: int) -> None:
        for finding in scan_text(text, self.redactor):
            self.secrets.append(str(dataclasses.replace(finding, line=finding.line + first_line - 1)))

    def _hidden_secrets(self, item: Item, where: str, seen: set[str]) -> None:
        """Keys in bytes the file does not show as text (base64, event-stream messages), less
        those its text shows (`seen`): a key the upstream sent back in a binary body is caught
        here, even split across two chunks."""
        if isinstance(item, Session):
            parts = [(f"message {n} of {where}", message.data) for n, message in enumerate(item.messages, start=1)]
        else:
            parts = [
                (f"the request body of {where}", item.request.body),
                (f"the response body of {where}", item.response.body),
            ]
        for place, data in parts:
            for kind, secret in body_secrets(data, self.redactor):
                if secret not in seen:
                    seen.add(secret)
                    self.secrets.append(f"{kind} in {place} ({mask(secret)})")

    def _finish(self) -> Report:
        if self.changed is not None:
            self.report.problems.append(self.changed)
        if self.secrets:
            shown = _each_kind_first(self.secrets)
            more = f" and {len(self.secrets) - len(shown)} more" if len(self.secrets) > len(shown) else ""
            self.report.problems.append(f"leaked secret: {', '.join(shown)}{more}")
        return self.report


def _each_kind_first(findings: list[str], at_least: int = 5) -> list[str]:
    """The findings to show: the first of each kind (`google-api-key at line 3 ...`), so every
    format found is named, then others up to `at_least`, in their order."""
    kinds: set[str] = set()
    chosen: set[int] = set()
    for number, finding in enumerate(findings):
        kind = finding.split(" at line ")[0].split(" in ")[0]
        if kind not in kinds:
            kinds.add(kind)
            chosen.add(number)
    for number in range(len(findings)):
        if len(chosen) >= at_least:
            break
        chosen.add(number)
    return [finding for number, finding in enumerate(findings) if number in chosen]


def _hides_bytes(found: FileItem) -> bool:
    """Whether the file shows some of this item's bytes only encoded (base64, binary messages)."""
    if isinstance(found.item, Session):
        return True  # binary frames; sessions are small
    document = found.document
    bodies = [document.get("request", {}).get("body"), document.get("response", {}).get("body")]
    return any(isinstance(body, dict) and any(kind in body for kind in _STREAM_BODIES) for body in bodies)


def _framing(interaction: Interaction, number: int) -> list[tuple[int, str]]:
    response = interaction.response
    problems = framing_problems(response.body, response.header("content-type"), cut=response.ended == "cut")
    return [(index, f"interaction #{number}'s response body: {problem}") for index, problem in problems]


def _body_item_line(text: str, steps: list[str | int], item: int) -> int | None:
    """The line of a body's item-th event (a list item, or a line of a literal block)."""
    try:
        node: Any = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError:
        return None
    for step in steps:
        if isinstance(node, yaml.MappingNode):
            node = next((value for key, value in node.value if key.value == step), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(node.value):
            node = node.value[step]
        else:
            return None
        if node is None:
            return None
    body_line: int = node.start_mark.line + 1
    for key, value in node.value if isinstance(node, yaml.MappingNode) else []:
        if isinstance(value, yaml.SequenceNode) and item < len(value.value):
            return int(value.value[item].start_mark.line) + 1
        if key.value == "text" and isinstance(value, yaml.ScalarNode) and value.style == "|":
            return int(value.start_mark.line) + 2 + item
    return body_line


def first_difference(before: object, after: object, where: str = "") -> str | None:
    """The first field that differs, as `response.chunks[3].at_s: 0.1234567 becomes 0.123457`."""
    if before == after:
        return None
    if dataclasses.is_dataclass(before) and type(before) is type(after):
        for one in dataclasses.fields(before):
            found = first_difference(getattr(before, one.name), getattr(after, one.name), f"{where}.{one.name}")
            if found is not None:
                return found
    if isinstance(before, tuple) and isinstance(after, tuple) and len(before) == len(after):
        for index, (one, other) in enumerate(zip(before, after, strict=True)):
            found = first_difference(one, other, f"{where}[{index}]")
            if found is not None:
                return found
    return f"{where.lstrip('.') or 'it'}: {_shown(before)} becomes {_shown(after)}"


def _shown(value: object) -> str:
    text = mask_secrets(repr(value))
    return text if len(text) <= 60 else text[:57] + "..."
