"""The ways providers write one JSON value, each reproducible exactly by `json.dumps`."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from chunktape.errors import BodyFormatError

JSON_STYLES: dict[str, Callable[[Any], str]] = {
    "compact": lambda v: json.dumps(v, ensure_ascii=False, separators=(",", ":")),
    "compact_ascii": lambda v: json.dumps(v, separators=(",", ":")),
    "spaced": lambda v: json.dumps(v, ensure_ascii=False),
    "spaced_ascii": lambda v: json.dumps(v),
    "indent2": lambda v: json.dumps(v, ensure_ascii=False, indent=2),
    "indent2_ascii": lambda v: json.dumps(v, indent=2),
}


def style_of(value: Any, text: str, first: str | None = None) -> str | None:
    """The first style that writes `value` as exactly `text` (trying `first` first), or None."""
    order = [first, *JSON_STYLES] if first is not None and first in JSON_STYLES else list(JSON_STYLES)
    # only indented styles write a raw line break; only _ascii ones never write non-ASCII
    multiline, ascii_only = "\n" in text, text.isascii()
    for style in order:
        if style.startswith("indent") != multiline or (style.endswith("_ascii") and not ascii_only):
            continue
        dump = JSON_STYLES[style]
        try:
            if dump(value) == text:
                return style
        except ValueError:  # NaN and friends have no exact spelling here
            return None
    return None


def dump(value: Any, style: object, field: str) -> str:
    """`value` written in `style`; BodyFormatError naming `field` when either is unusable."""
    writer = JSON_STYLES.get(style) if isinstance(style, str) else None
    if writer is None:
        raise BodyFormatError(f"unknown json_style {style!r}; expected one of {', '.join(JSON_STYLES)}")
    try:
        return writer(value)
    except (TypeError, ValueError) as exc:
        raise BodyFormatError(f"{field} cannot be written as JSON ({exc})") from None


def exact_json(text: str) -> tuple[Any, str] | None:
    """(value, style) when `text` is one JSON value in a known style, else None."""
    stripped = text.strip()
    if not stripped or stripped[0] not in "{[":
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    if not yaml_safe(value):
        return None
    style = style_of(value, text)
    return None if style is None else (value, style)


def yaml_safe(value: Any) -> bool:
    """False when `value` holds an escaped lone surrogate (\\ud800): valid JSON, but no YAML
    reader takes it back, so such a value is kept as text."""
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
