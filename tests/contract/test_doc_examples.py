"""Every code block in the README, CONTRIBUTING.md and docs/ runs as written, the way a
reader would run it: each page gets a fresh project folder of its own (no repository files
in it but the bundled cassettes the text says to copy), its blocks run in reading order
there with this repository's environment on PATH, a pytest block with pytest, a shell block
with bash, a Python block with python. An example that needs a step the text does not give
fails here. How a page marks a block that is not run as is: tests/support/doc_blocks.py.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.support.doc_blocks import Block, Copy, DocsError, console_commands, missing_lines, steps

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").glob("*.md"))]
MAX_SKIPPED = 28  # blocks that cannot run here, kept few (agents.md 6, drift.md 5 and load-testing.md 5 await runnable examples; realtime tls=True 1):
# of the repository (2 + 1 in CONTRIBUTING), recording from a live provider (README 1, realtime 1,
# no-code-changes 1), npm and Node (1), a user's own app backend and front end (streaming-ui 2)
TIMEOUT_S = 180
_NEAR = 800  # the text that gives a step is this close before it


def _environment() -> dict[str, str]:
    """A user's shell with chunktape installed: this repository's .venv first on PATH, no keys,
    no base-URL or proxy variables leaking in from the test run."""
    keep = {
        name: value
        for name, value in os.environ.items()
        if not re.search(r"_API_KEY$|_BASE_URL$|PROXY$|^SSL_CERT_FILE$|^PYTEST_|^PYTHONPATH$|^COV_", name, re.I)
    }
    keep["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{keep.get('PATH', '')}"
    return keep


def _run(argv: list[str], project: Path, block: Block) -> str:
    """Run one block's command in its own process group, so a timeout stops all it started."""
    child = subprocess.Popen(
        argv,
        cwd=project,
        env=_environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = child.communicate(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)
        output, _ = child.communicate()
        raise AssertionError(
            f"{block.where}: `{' '.join(argv)}` still running after {TIMEOUT_S} s:\n{output[-3000:]}"
        ) from None
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGKILL)  # anything it left running in the background
    assert child.returncode == 0, f"{block.where}: `{' '.join(argv)}` exited {child.returncode}:\n{output[-3000:]}"
    return output


def _until(block: Block, project: Path) -> str:
    """Run a command that serves until stopped: it must print the line the page says, then it is stopped."""
    wanted = re.compile(block.argument)
    child = subprocess.Popen(
        ["bash", "-e", "-c", block.body],
        cwd=project,
        env=_environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    assert child.stdout is not None
    seen: list[str] = []
    deadline = time.monotonic() + TIMEOUT_S
    try:
        for line in child.stdout:  # the line arrives, or the command ends and the loop with it
            seen.append(line)
            if wanted.search(line) or time.monotonic() > deadline:
                break
    finally:
        os.killpg(child.pid, signal.SIGTERM)
        child.wait(timeout=30)
    output = "".join(seen)
    assert wanted.search(output), f"{block.where}: never printed {block.argument!r}:\n{output[-3000:]}"
    return output


def _synopsis(block: Block) -> None:
    for line in block.body.splitlines():
        if line.startswith("chunktape "):
            command = line.split()[:3] if line.split()[1] in ("import", "export") else line.split()[:2]
        shown = subprocess.run(
            [sys.executable, "-m", "chunktape", *command[1:], "--help"], capture_output=True, text=True, check=True
        ).stdout
        unknown = [flag for flag in re.findall(r"--[\w-]+", line) if flag not in shown]
        assert unknown == [], f"{block.where}: {' '.join(command)} has no {', '.join(unknown)}"


def _near(name: str, text: str) -> bool:
    return name in text[-_NEAR:]


def run_page(page: Path, project: Path) -> None:
    output = ""
    for step in steps(page, ROOT if page.is_relative_to(ROOT) else page.parent):
        if isinstance(step, Copy):
            where = f"{step.page}:{step.line}"
            assert _near(Path(step.source).name, step.before), f"{where}: the text never says to copy {step.source}"
            target = project / step.destination
            target.mkdir(parents=True, exist_ok=True)
            shutil.copy(ROOT / step.source, target)
            continue
        block = step
        if block.directive == "skip":
            continue
        if block.directive == "file":
            assert _near(Path(block.argument).name, block.before), (
                f"{block.where}: the text never names {block.argument}"
            )
            (project / block.argument).parent.mkdir(parents=True, exist_ok=True)
            (project / block.argument).write_text(block.body, encoding="utf-8")
            if Path(block.argument).name.startswith("test_") and re.search(r"(?m)^(async )?def test_", block.body):
                output = _run(["pytest", "-q", "-p", "no:cacheprovider", block.argument], project, block)
        elif block.directive == "excerpt":
            yaml.safe_load(re.sub(r"(?m)^\s*- \.\.\.\n", "", block.body))
        elif block.directive == "synopsis":
            _synopsis(block)
        elif block.directive == "output":
            missing = missing_lines(block.body.splitlines(), output)
            assert missing == [], f"{block.where}: the command before never printed {missing}:\n{output[-3000:]}"
        elif block.directive == "until":
            output = _until(block, project)
        elif block.language == "python" and re.search(r"(?m)^(async )?def test_", block.body):
            test_file = project / f"test_{re.sub(r'\W', '_', Path(block.page).stem)}_{block.line}.py"
            test_file.write_text(block.body, encoding="utf-8")
            output = _run(["pytest", "-q", "-p", "no:cacheprovider", test_file.name], project, block)
        elif block.language == "python":
            script = project / f"example_{block.line}.py"
            script.write_text(block.body, encoding="utf-8")
            output = _run(["python", script.name], project, block)
        elif block.language in ("bash", "sh", "shell"):
            output = _run(["bash", "-e", "-c", block.body], project, block)
        elif block.language == "console":
            for command, expected in console_commands(block.body):
                output = _run(["bash", "-e", "-c", command], project, block)
                missing = missing_lines(expected, output)
                assert missing == [], f"{block.where}: `{command}` never printed {missing}:\n{output[-3000:]}"
        else:
            raise DocsError(f"{block.where}: a {block.language or 'plain'} block no test runs; mark it (doc_blocks.py)")


@pytest.mark.parametrize("page", PAGES, ids=[str(page.relative_to(ROOT)) for page in PAGES])
def test_every_code_block_of_the_page_runs_as_written_in_a_fresh_project(page: Path, tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    run_page(page, project)


def test_few_blocks_are_left_unrun_and_each_says_why() -> None:
    skipped = [
        step for page in PAGES for step in steps(page, ROOT) if isinstance(step, Block) and step.directive == "skip"
    ]
    assert all(block.argument for block in skipped), [block.where for block in skipped if not block.argument]
    assert len(skipped) <= MAX_SKIPPED, [block.where for block in skipped]


def test_the_runner_fails_an_example_that_needs_a_step_the_text_does_not_give(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    page = docs / "page.md"
    page.write_text("Run it:\n\n```python\nprint(os.getcwd())\n```\n", encoding="utf-8")  # no `import os`
    with pytest.raises(AssertionError, match="NameError"):
        run_page(page, _project(tmp_path / "a"))
    page.write_text("Save it:\n\n<!-- doc-test: file app.py -->\n```python\nx = 1\n```\n", encoding="utf-8")
    with pytest.raises(AssertionError, match=r"never names app\.py"):
        run_page(page, _project(tmp_path / "b"))
    page.write_text("```yaml\na: 1\n```\n", encoding="utf-8")
    with pytest.raises(DocsError, match="no test runs"):
        run_page(page, _project(tmp_path / "c"))
    page.write_text("```console\n$ echo two; echo one\none\ntwo\n```\n", encoding="utf-8")  # the wrong order
    with pytest.raises(AssertionError, match="never printed"):
        run_page(page, _project(tmp_path / "d"))
    page.write_text(
        "```python\ndef test_reads_its_cassette():\n    assert open('cassettes/gemini_stream.yaml').read()\n```\n",
        encoding="utf-8",
    )  # a pytest block relying on a cassette nothing puts there
    with pytest.raises(AssertionError, match="exited 1"):
        run_page(page, _project(tmp_path / "e"))


def _project(path: Path) -> Path:
    path.mkdir(parents=True)
    return path
