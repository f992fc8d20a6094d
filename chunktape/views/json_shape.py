"""The shape of JSON values, not their content: which field paths exist and what types they
hold (`choices[].delta.content: string`), so two streams can be compared by structure while
their words, ids and timestamps differ.

A path names object keys with dots and any array element with `[]`, so every element of a
list shares one path. Shapes of many values (all events of one kind) merge by union. Pure.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

Shape = dict[str, set[str]]
"""Field path -> the JSON types seen there (object, array, string, number, boolean, null)."""

ROOT = "(event)"
"""The path of the value itself."""


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"  # JSON has one number type: 1 and 1.5 are not a change
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def shape_of(values: Iterable[Any]) -> Shape:
    """The merged shape of `values`."""
    shape: Shape = {}
    for value in values:
        _walk(value, ROOT, shape)
    return shape


def _walk(value: Any, path: str, shape: Shape) -> None:
    shape.setdefault(path, set()).add(json_type(value))
    if isinstance(value, dict):
        for key, item in value.items():
            _walk(item, _child(path, str(key)), shape)
    elif isinstance(value, list):
        for item in value:
            _walk(item, _element(path), shape)


def _child(path: str, key: str) -> str:
    return key if path == ROOT else f"{path}.{key}"


def _element(path: str) -> str:
    return "[]" if path == ROOT else f"{path}[]"


@dataclass(frozen=True)
class ShapeChange:
    """One structural difference at `path`: `field_added`, `field_removed` or `type_changed`."""

    change: str
    path: str
    recorded: str
    live: str


def shape_changes(recorded: Shape, live: Shape) -> list[ShapeChange]:
    """Fields added, removed and changed in type, sorted by path; only the topmost of a
    removed or added subtree, and nothing under a field whose type changed. `null` beside
    another type is a nullable field, not a change."""
    changes: list[ShapeChange] = []
    reported: list[str] = []
    for path in sorted(set(recorded) | set(live), key=_path_order):
        if any(_under(path, parent) for parent in reported):
            continue
        before, after = recorded.get(path), live.get(path)
        if after is None and before is not None:
            changes.append(ShapeChange("field_removed", path, _types(before), "-"))
            reported.append(path)
        elif before is None and after is not None:
            changes.append(ShapeChange("field_added", path, "-", _types(after)))
            reported.append(path)
        elif before is not None and after is not None:
            solid_before, solid_after = before - {"null"}, after - {"null"}
            if solid_before and solid_after and solid_before != solid_after:
                changes.append(ShapeChange("type_changed", path, _types(before), _types(after)))
                reported.append(path)
    return changes


def _types(types: set[str]) -> str:
    return "|".join(sorted(types))


def _path_order(path: str) -> tuple[int, str]:
    return (0, "") if path == ROOT else (path.count(".") + path.count("[]"), path)


def _under(path: str, parent: str) -> bool:
    if parent == ROOT:
        return path != ROOT
    return path.startswith(parent) and path[len(parent) : len(parent) + 1] in (".", "[")
