"""Renders the parts of docs/ that come from the code (the knob table), so they cannot drift.

.venv/bin/python scripts/make_docs.py         # rewrite docs/knobs.md
.venv/bin/python scripts/make_docs.py --check # exit 1 if docs/knobs.md is out of date
"""

from __future__ import annotations

import sys
from pathlib import Path

from chunktape.vocabulary import markdown_table

ROOT = Path(__file__).resolve().parent.parent
KNOBS = ROOT / "docs" / "knobs.md"
START, END = "<!-- knob table: rendered by scripts/make_docs.py -->", "<!-- end of knob table -->"


def rendered(current: str) -> str:
    before, _, rest = current.partition(START)
    _, _, after = rest.partition(END)
    return f"{before}{START}\n{markdown_table()}\n{END}{after}"


def main() -> int:
    current = KNOBS.read_text(encoding="utf-8")
    wanted = rendered(current)
    if "--check" in sys.argv:
        return 0 if wanted == current else 1
    KNOBS.write_text(wanted, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
