"""Results: one table per section, the targets in docs/limits.md, JSON and Markdown."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Target:
    """A limit from docs/limits.md, the measured value, and whether it is met."""

    name: str
    measured: float
    limit: float
    higher_is_better: bool
    unit: str = ""
    note: str = ""

    @property
    def met(self) -> bool:
        if math.isnan(self.measured):
            return False
        return self.measured >= self.limit if self.higher_is_better else self.measured <= self.limit

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "met": self.met}


@dataclass
class Section:
    key: str
    title: str
    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    def add(self, *cells: Any) -> None:
        self.rows.append(list(cells))

    def to_json(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "columns": self.columns,
            "rows": [[_plain(c) for c in row] for row in self.rows],
            "targets": [t.to_json() for t in self.targets],
            "notes": self.notes,
            "data": self.data,
            "seconds": round(self.seconds, 2),
        }


def _plain(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "NO"
    if isinstance(value, float):
        if math.isnan(value):
            return "-"
        if abs(value) >= 100:
            return f"{value:,.0f}"
        if abs(value) >= 10:
            return f"{value:.1f}"
        return f"{value:.2f}"
    return str(value)


def text_table(columns: list[str], rows: list[list[Any]]) -> str:
    cells = [columns, *[[cell(c) for c in row] for row in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]
    lines = []
    for index, row in enumerate(cells):
        lines.append(
            "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True)))
        )
        if index == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown_table(columns: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def target_rows(sections: list[Section]) -> list[list[Any]]:
    rows: list[list[Any]] = []
    for section in sections:
        for t in section.targets:
            sign = ">=" if t.higher_is_better else "<="
            rows.append([t.name, f"{cell(t.measured)}{t.unit}", f"{sign} {cell(t.limit)}{t.unit}", t.met, t.note])
    return rows


TARGET_COLUMNS = ["target", "measured", "limit", "met", "note"]
