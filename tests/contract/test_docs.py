"""docs/ is the users' contract: the parts rendered from code are current, the links resolve,
and nothing in the repository points at a document outside it."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_what_the_docs_render_from_code_and_measurements_is_current() -> None:
    """The knob table, docs/limits.md's figures (bench/RESULTS.md), docs/architecture.md's layer
    table (LAYERS) and the addon's option list (its `load`)."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "make_docs.py"), "--check"], check=False, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


def test_every_relative_link_in_the_readme_and_docs_resolves() -> None:
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\(([^)#\s]+)", page.read_text(encoding="utf-8")):
            if "://" not in target:
                assert (page.parent / target).exists(), f"{page.name} links to missing {target}"


def test_nothing_points_at_a_document_outside_the_repository() -> None:
    outside = re.compile(r"\.\./shared|SPEC\.md|\bthe spec\b", re.IGNORECASE)
    places = [ROOT / "README.md", *(ROOT / "docs").rglob("*.md"), *(ROOT / "chunktape").rglob("*.py"),
              *(ROOT / "bench").rglob("*.py"), *(ROOT / "scripts").rglob("*")]  # fmt: skip
    found = [
        str(path.relative_to(ROOT))
        for path in places
        if path.is_file() and outside.search(path.read_text(errors="replace"))
    ]
    assert found == []


def test_each_rendered_part_replaces_a_stale_copy_of_itself() -> None:
    """The --check above fails on a stale page: each renderer rewrites a hand-edited copy."""
    spec = importlib.util.spec_from_file_location("make_docs", ROOT / "scripts" / "make_docs.py")
    assert spec is not None
    assert spec.loader is not None
    make_docs = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_docs)
    for path, render in make_docs.RENDERED.items():
        current = path.read_text(encoding="utf-8")
        assert render(current) == current, f"{path.name} is out of date: run scripts/make_docs.py"
        stale = current.replace("|---|", "|---|\n| a row | added | by | hand |", 1) if "|---|" in current else None
        if stale is None:  # the addon's option list is a bullet list
            stale = current.replace("- `chunktape_keep_preflights`", "- `chunktape_forgotten`", 1)
        assert stale != current
        assert render(stale) == current, f"{path.name}: a hand edit inside the rendered part survives"
