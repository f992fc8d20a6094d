"""A JSON array streamed element by element, as Gemini's REST `streamGenerateContent` sends it
without `alt=sse`: `[{...}\\n,\\r\\n{...}\\n]`, each element pretty-printed.

In the cassette each element is a list item: its value (written back in `json_style`) or, when
no style reproduces it, its exact text as a string. What comes before the first element, between
elements and after the last is recorded as `open`, `separator` and `close`, so a stream cut
mid-element keeps its tail in `close`.
"""

from __future__ import annotations

import itertools
import json
from collections import Counter
from typing import Any

from chunktape.bodies.json_styles import dump, style_of, yaml_safe
from chunktape.errors import BodyFormatError

OPTIONS = ("open", "separator", "close")
_WHITESPACE = " \t\n\r"
_DECODER = json.JSONDecoder()


def element_spans(text: str) -> list[tuple[int, int, Any]]:
    """(start, end, value) of each complete element, in order; empty unless `text` is an array."""
    start = len(text) - len(text.lstrip(_WHITESPACE))
    if not text.startswith("[", start):
        return []
    spans: list[tuple[int, int, Any]] = []
    position = start + 1
    while True:
        at = _skip(text, position)
        if spans:
            if not text.startswith(",", at):
                break
            at = _skip(text, at + 1)
        if at >= len(text) or text[at] == "]":
            break
        try:
            value, end = _DECODER.raw_decode(text, at)
        except (ValueError, RecursionError):
            break
        spans.append((at, end, value))
        position = end
    return spans


def _skip(text: str, position: int) -> int:
    while position < len(text) and text[position] in _WHITESPACE:
        position += 1
    return position


def encode(text: str) -> dict[str, Any] | None:
    """{"json_array": [...], ...} that decodes back to `text`, or None if it is no such stream
    (or its separators differ)."""
    spans = element_spans(text)
    if not spans:
        return None
    separators = {text[end:next_start] for (_, end, _), (next_start, _, _) in itertools.pairwise(spans)}
    if len(separators) > 1:
        return None
    styles: list[str | None] = []
    last: str | None = None
    for start, end, value in spans:  # elements share a style: try the last one found first
        structured = not isinstance(value, str) and yaml_safe(value)
        found = style_of(value, text[start:end], last) if structured else None
        styles.append(found)
        last = found or last
    common = Counter(style for style in styles if style is not None).most_common(1)
    style = common[0][0] if common else "compact"
    items = [
        value if item_style == style else text[start:end]
        for (start, end, value), item_style in zip(spans, styles, strict=True)
    ]
    node: dict[str, Any] = {"json_array": items}
    if style != "compact":
        node["json_style"] = style
    opening, separator, closing = text[: spans[0][0]], separators.pop() if separators else ",", text[spans[-1][1] :]
    for name, value, default in (("open", opening, "["), ("separator", separator, ","), ("close", closing, "]")):
        if value != default:
            node[name] = value
    return node  # exact by construction: every item is its own text, or a value its style writes as that text


def decode(node: dict[str, Any], items: object) -> str:
    if not isinstance(items, list):
        raise BodyFormatError("body.json_array must be a list, one item per array element")
    texts: dict[str, str] = {}
    for name, default in (("open", "["), ("separator", ","), ("close", "]")):
        value = node.get(name, default)
        if not isinstance(value, str):
            raise BodyFormatError(f"body.{name} must be a string")
        texts[name] = value
    style = node.get("json_style", "compact")
    parts = [
        item if isinstance(item, str) else dump(item, style, f"body.json_array[{index}]")
        for index, item in enumerate(items)
    ]
    return texts["open"] + texts["separator"].join(parts) + texts["close"]
