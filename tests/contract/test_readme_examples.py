"""The README is a front door: at most 150 lines, linking every docs page (or docs/README.md
does), its install line naming extras that exist, its two development commands working as
shown. Every code block of it and of docs/ runs as written in tests/contract/test_doc_examples.py;
what is checked here is what a code block cannot show.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

from chunktape.pytest_plugin.config import resolve

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
PLUGIN_GUIDE = (ROOT / "docs" / "pytest-plugin.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"^```(\w+)\n(.*?)^```", README, re.DOTALL | re.MULTILINE)
MAX_LINES = 150


def block_holding(text: str) -> str:
    found = [body for _, body in BLOCKS if text in body]
    assert len(found) == 1, f"{len(found)} README blocks hold {text!r}"
    return str(found[0])


def commands(block: str) -> list[list[str]]:
    """Each command line of a shell block, as words (comments dropped)."""
    lines = [line.split(" #")[0].strip() for line in block.splitlines()]
    return [shlex.split(line) for line in lines if line and not line.startswith("#")]


def test_the_readme_is_a_front_door_of_at_most_150_lines() -> None:
    assert len(README.splitlines()) <= MAX_LINES


def test_every_docs_page_is_linked_from_the_readme_or_the_docs_index() -> None:
    index = (ROOT / "docs" / "README.md").read_text(encoding="utf-8")
    linked = set(re.findall(r"\]\(docs/([\w.-]+\.md)", README)) | set(re.findall(r"\]\(([\w.-]+\.md)", index))
    pages = {page.name for page in (ROOT / "docs").glob("*.md")} - {"README.md"}
    assert sorted(pages - linked) == []


def test_the_install_line_names_extras_that_exist() -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert commands(block_holding('pip install "chunktape[record]"')) == [["pip", "install", "chunktape[record]"]]
    assert any(requirement.startswith("mitmproxy") for requirement in extras["record"])


def test_the_two_commands_exist_and_the_demo_runs_with_the_readme_arguments() -> None:
    block = block_holding("./scripts/demo.sh")
    assert [command[0] for command in commands(block)] == ["./scripts/demo.sh", "./scripts/test.sh"]  # exactly two
    for command in commands(block):
        assert (ROOT / command[0]).is_file()
    # scripts/demo.sh sets up .venv, then runs scripts/demo.py with its arguments
    assert "exec .venv/bin/python scripts/demo.py" in (ROOT / "scripts" / "demo.sh").read_text()
    shown = re.findall(r"`\./scripts/demo\.sh ([^`]+)`", README)
    assert shown
    for arguments in shown:
        demo = subprocess.run(
            [sys.executable, "scripts/demo.py", *shlex.split(arguments)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        output = demo.stdout + demo.stderr
        if "cut:" in arguments:  # the body ends early: the SDK's own error shows
            assert "the SDK raised httpx2.RemoteProtocolError" in output
        else:
            assert demo.returncode == 0, output
        timeline = re.search(r"\[timeline\] what was played, as a picture: (\S+\.html)", output)
        assert timeline is not None, output  # and the HTML timeline of what it played
        assert "<svg" in Path(timeline.group(1)).read_text(encoding="utf-8")


def test_the_replay_with_line_is_the_one_a_failure_prints() -> None:
    shown = re.search(r"`(replay with: pytest '([^']+)' ([^`]+))`", PLUGIN_GUIDE)
    assert shown is not None
    variant = re.search(r"\[(.+)\]", shown.group(2))
    assert variant is not None
    knobs = dict(part.split("=", 1) for part in variant.group(1).split("-"))
    settings = resolve("", [{"speed": 0}, knobs], session_seed=0)  # the marker's speed=0, then the variant
    assert shown.group(3) == " ".join(settings.cli_args())
