"""The fenced code blocks of a Markdown page, and how the docs test runs each one.

A block runs as its language says: `python` holding `def test_` with pytest, other
`python` with python, `bash` with bash, `console` as the `$ ` lines it shows (the lines
after each are output the run must print, in order, digits free). Anything else, or a
block that must not run as is, says so in an HTML comment on the line before it:

    <!-- doc-test: file PATH -->        the block is a file the text tells you to save as PATH
    <!-- doc-test: until REGEX -->      a command that runs until stopped: it must print REGEX
    <!-- doc-test: output -->           what the block before printed: its lines, in order
    <!-- doc-test: synopsis -->         `chunktape CMD [--flag]...`: every flag is CMD's
    <!-- doc-test: excerpt -->          part of a cassette file: it must parse as YAML
    <!-- doc-test: skip REASON -->      not run (a live key, a browser...): kept few

A comment on its own, not before a block, copies a bundled cassette into the project:

    <!-- doc-test: copy cassettes/NAME.yaml to DIR/ -->

and the text before it must name the file, so the step is one the reader is given.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

_FENCE = re.compile(r"^\s*```(\w*)\s*$")  # inside a list item too
_DIRECTIVE = re.compile(r"^\s*<!-- doc-test: (\w+)\s*(.*?)\s*-->\s*$")
KINDS = ("file", "until", "output", "synopsis", "excerpt", "skip")


@dataclass(frozen=True)
class Block:
    page: str
    line: int
    language: str
    body: str
    directive: str = ""
    """The kind named in the comment before the block ("" when the language says it all)."""
    argument: str = ""
    before: str = ""
    """The page's text before the block, for checks that the text gives the step."""

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line}"


@dataclass(frozen=True)
class Copy:
    page: str
    line: int
    source: str
    destination: str
    before: str


class DocsError(AssertionError):
    """A page's block or comment the docs test cannot read."""


def steps(path: Path, root: Path) -> list[Block | Copy]:
    """The page's blocks and copy steps, in reading order."""
    name = str(path.relative_to(root))
    lines = path.read_text(encoding="utf-8").splitlines()
    found: list[Block | Copy] = []
    prose = ["" if _DIRECTIVE.match(line) else line for line in lines]  # what the reader sees
    index = 0
    while index < len(lines):
        line = lines[index]
        directive = _DIRECTIVE.match(line)
        fence = _FENCE.match(line)
        if directive and directive[1] == "copy":
            copied = re.fullmatch(r"(cassettes/\S+) to (\S+)", directive[2])
            if copied is None:
                raise DocsError(f"{name}:{index + 1}: write <!-- doc-test: copy cassettes/NAME to DIR/ -->")
            found.append(Copy(name, index + 1, copied[1], copied[2], "\n".join(prose[:index])))
        elif directive and directive[1] not in KINDS:
            raise DocsError(f"{name}:{index + 1}: unknown doc-test kind {directive[1]!r}; use one of {KINDS}")
        elif directive and not (index + 1 < len(lines) and _FENCE.match(lines[index + 1])):
            raise DocsError(f"{name}:{index + 1}: a doc-test {directive[1]} comment must sit right before its block")
        elif fence:
            end = next((at for at in range(index + 1, len(lines)) if lines[at].strip() == "```"), None)
            if end is None:
                raise DocsError(f"{name}:{index + 1}: a code block that never closes")
            previous = _DIRECTIVE.match(lines[index - 1]) if index else None
            kind, argument = (previous[1], previous[2]) if previous else ("", "")
            body = textwrap.dedent("\n".join(lines[index + 1 : end])) + "\n"
            found.append(Block(name, index + 1, fence[1], body, kind, argument, "\n".join(prose[:index])))
            index = end
        index += 1
    return found


def console_commands(body: str) -> list[tuple[str, list[str]]]:
    """A console block's `$ ` commands, each with the output lines shown after it."""
    shown: list[tuple[str, list[str]]] = []
    for line in body.splitlines():
        if line.startswith("$ "):
            shown.append((line[2:], []))
        elif shown and line.strip():
            shown[-1][1].append(line)
        elif line.strip():
            raise DocsError(f"console block: output before any `$ ` command: {line!r}")
    return shown


def missing_lines(expected: list[str], output: str) -> list[str]:
    """The expected lines the output does not print, in order (any run of digits matches any
    other, a `...` line matches any lines)."""
    at = 0
    printed = output.splitlines()
    missing: list[str] = []
    for line in expected:
        if line.strip() in ("...", "…"):
            continue
        pattern = re.compile(r"\s*" + r"\d+".join(re.escape(part) for part in re.split(r"\d+", line.strip())) + r"\s*")
        found = next((index for index in range(at, len(printed)) if pattern.fullmatch(printed[index])), None)
        if found is None:
            missing.append(line)
        else:
            at = found + 1
    return missing
