"""Renders the parts of the docs that come from the code or from measurements, so they cannot
drift: the knob table (docs/knobs.md), the figures of the last bench run (docs/limits.md, from
bench/RESULTS.md), the layer table (docs/architecture.md, from tests/contract/test_layers.py's
LAYERS) and the option list in the mitmproxy addon's docstring (from its `load`).

.venv/bin/python scripts/make_docs.py         # rewrite them
.venv/bin/python scripts/make_docs.py --check # exit 1 (naming the file) if one is out of date
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # tests.contract.test_layers holds the layer table

from chunktape.vocabulary import markdown_table  # noqa: E402

KNOBS = ROOT / "docs" / "knobs.md"
LIMITS = ROOT / "docs" / "limits.md"
ARCHITECTURE = ROOT / "docs" / "architecture.md"
ADDON = ROOT / "chunktape" / "recorder" / "addon.py"
RESULTS = ROOT / "bench" / "RESULTS.md"
START, END = "<!-- knob table: rendered by scripts/make_docs.py -->", "<!-- end of knob table -->"
FIGURES_START = "<!-- figures: rendered from bench/RESULTS.md by scripts/make_docs.py -->"
FIGURES_END = "<!-- end of figures -->"
LAYERS_START = "<!-- layer table: rendered from LAYERS in tests/contract/test_layers.py by scripts/make_docs.py -->"
LAYERS_END = "<!-- end of layer table -->"
OPTIONS_START = "Options (declared in `load`, listed by scripts/make_docs.py):\n\n"
OPTIONS_END = "\n\nmitmproxy's own"


def between(current: str, start: str, end: str, body: str) -> str:
    before, found, rest = current.partition(start)
    if not found:
        raise SystemExit(f"make_docs: {start!r} is missing")
    _, _, after = rest.partition(end)
    return f"{before}{start}{body}{end}{after}"


def knob_table(current: str) -> str:
    return between(current, START, END, f"\n{markdown_table()}\n")


def figures(current: str) -> str:
    """The targets table of the last full bench run, with its date and machine."""
    results = RESULTS.read_text(encoding="utf-8")
    facts = [line for line in results.splitlines() if line.startswith(("- date:", "- machine:", "- Python"))]
    table = results.split("## Targets", 1)[1].split("\n\n", 2)[1]
    intro = "From the last full run (`bench/RESULTS.md`; its method and every section are there):"
    return between(current, FIGURES_START, FIGURES_END, f"\n{intro}\n\n" + "\n".join(facts) + f"\n\n{table}\n")


def layer_table(current: str) -> str:
    from tests.contract.test_layers import LAYER_JOBS, LAYERS

    rows = ["| # | layer | modules | job |", "|---|---|---|---|"]
    for number, (name, patterns) in enumerate(LAYERS):
        shown = ", ".join(f"`{pattern.removeprefix('chunktape.')}`" for pattern in patterns)
        rows.append(f"| {number} | {name} | {shown} | {LAYER_JOBS[name]} |")
    return between(current, LAYERS_START, LAYERS_END, "\n" + "\n".join(rows) + "\n")


def addon_options(current: str) -> str:
    from chunktape.recorder.addon import ChunktapeRecorder

    declared: list[tuple[str, type, object, str]] = []

    class Loader:
        def add_option(self, name: str, typespec: type, default: object, help: str) -> None:
            declared.append((name, typespec, default, help))

    ChunktapeRecorder.load(ChunktapeRecorder.__new__(ChunktapeRecorder), Loader())
    lines = [
        f"- `{name}` ({typespec.__name__}, default `{default!r}`): {text}" for name, typespec, default, text in declared
    ]
    return between(current, OPTIONS_START, OPTIONS_END, "\n".join(lines))


RENDERED: dict[Path, Callable[[str], str]] = {
    KNOBS: knob_table,
    LIMITS: figures,
    ARCHITECTURE: layer_table,
    ADDON: addon_options,
}


def main() -> int:
    stale = []
    for path, render in RENDERED.items():
        current = path.read_text(encoding="utf-8")
        wanted = render(current)
        if wanted == current:
            continue
        stale.append(str(path.relative_to(ROOT)))
        if "--check" not in sys.argv:
            path.write_text(wanted, encoding="utf-8")
    if "--check" in sys.argv and stale:
        print(f"out of date: {', '.join(stale)}; run scripts/make_docs.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
