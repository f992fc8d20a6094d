"""JSON values compared field by field, for people: `a.b[0].c: OLD -> NEW`, added, removed."""

from __future__ import annotations

import json
from typing import Any


def normalized(text: str, ignored: frozenset[str]) -> Any:
    """JSON as its value (ignored fields left out), anything else as the text itself."""
    try:
        return without(json.loads(text), ignored)
    except ValueError:
        return text


def without(value: Any, ignored: frozenset[str]) -> Any:
    if isinstance(value, dict):
        return {k: without(v, ignored) for k, v in value.items() if k.lower() not in ignored}
    if isinstance(value, list):
        return [without(item, ignored) for item in value]
    return value


def value_differences(old: Any, new: Any, path: str = "") -> list[str]:
    """Field-level differences between two JSON values: `a.b[0].c: OLD -> NEW`, added, removed."""
    if isinstance(old, dict) and isinstance(new, dict):
        lines = []
        for key in sorted(set(old) | set(new)):
            where = f"{path}.{key}" if path else str(key)
            if key not in new:
                lines.append(f"field removed: {where}")
            elif key not in old:
                lines.append(f"field added: {where} = {clip(as_json(new[key]))}")
            else:
                lines += value_differences(old[key], new[key], where)
        return lines
    if isinstance(old, list) and isinstance(new, list):
        lines = []
        for index in range(max(len(old), len(new))):
            where = f"{path}[{index}]"
            if index >= len(new):
                lines.append(f"field removed: {where}")
            elif index >= len(old):
                lines.append(f"field added: {where} = {clip(as_json(new[index]))}")
            else:
                lines += value_differences(old[index], new[index], where)
        return lines
    if old == new and type(old) is type(new):
        return []
    return [f"field changed: {path or '(value)'}: {clip(as_json(old))} -> {clip(as_json(new))}"]


def as_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def as_text(value: Any) -> str:
    return value if isinstance(value, str) else as_json(value)


def clip(text: str, limit: int = 160) -> str:
    text = text.replace("\r", "\\r").replace("\n", "\\n")
    return text if len(text) <= limit else text[:limit] + f"… ({len(text) - limit} more characters)"
