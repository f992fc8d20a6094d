"""The checked fields every cassette item is made of: where a problem is, and what it says.

Shared by the HTTP interaction schema (schema.py) and the realtime session schema
(session_schema.py). Pure: plain dicts and lists in, model values or `Invalid` out.
"""

from __future__ import annotations

import math
import re
from typing import Any

from chunktape.cassette import Headers

Where = tuple[str | int, ...]


def _headers_node(headers: Headers) -> dict[str, Any]:
    node: dict[str, Any] = {}
    for name, value in headers:
        if name in node:
            previous = node[name]
            node[name] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            node[name] = value
    return node


def _seconds(value: float) -> float:
    return round(float(value), 6)


class Invalid(Exception):
    """A document that is not a valid cassette: `where` is the key path, `problem` says what and how to fix it."""

    def __init__(self, where: Where, problem: str) -> None:
        super().__init__(problem)
        self.where = where
        self.problem = problem


def _field(node: Any, key: str, where: Where, kind: type | tuple[type, ...], what: str) -> Any:
    if key not in node:
        raise Invalid(where, f"missing field '{key}' ({what})")
    value = node[key]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise Invalid((*where, key), f"field '{key}' must be {what}, not {_describe(value)}")
    return value


def _describe(value: Any) -> str:
    if value is None:
        return "empty"
    return f"{type(value).__name__} {value!r}"[:80]


def _check_keys(node: dict[str, Any], allowed: tuple[str, ...], where: Where) -> None:
    for key in node:
        if key not in allowed:
            raise Invalid((*where, key), f"unknown field {key!r}; expected one of {', '.join(allowed)}")


# what every emitter can put on the wire: a token name; a value of tab, visible ASCII and latin-1
_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_HEADER_VALUE = re.compile(r"[\t\x20-\x7e\x80-\xff]*")


def _headers_from(node: dict[str, Any], where: Where) -> Headers:
    if "headers" not in node or node["headers"] is None:
        return ()
    value = node["headers"]
    if not isinstance(value, dict):
        raise Invalid((*where, "headers"), f"field 'headers' must be a mapping of name: value, not {_describe(value)}")
    pairs: list[tuple[str, str]] = []
    for name, item in value.items():
        values = item if isinstance(item, list) else [item]
        for one in values:
            if not isinstance(name, str) or not isinstance(one, str):
                raise Invalid(
                    (*where, "headers", str(name)),
                    f"header {name!r} must have a text value (quote numbers), not {_describe(one)}",
                )
            if not _HEADER_NAME.fullmatch(name):
                raise Invalid((*where, "headers", name), f"header name {name!r} is not a valid HTTP header name")
            if not _HEADER_VALUE.fullmatch(one):  # the value itself is not quoted: it may be a secret
                raise Invalid(
                    (*where, "headers", name),
                    f"header {name!r} holds a line break, a control character or one beyond U+00FF; "
                    "HTTP cannot send it",
                )
            pairs.append((name, one))
    return tuple(pairs)


def _seconds_field(node: dict[str, Any], key: str, where: Where) -> float:
    value = _field(node, key, where, (int, float), "a number of seconds")
    try:
        seconds = float(value)
    except OverflowError:  # an int too large for a float
        seconds = math.inf
    if not math.isfinite(seconds) or seconds < 0:
        raise Invalid((*where, key), f"field '{key}' must be a finite time >= 0 in seconds, not {_describe(value)}")
    return seconds
