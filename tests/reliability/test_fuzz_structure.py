"""The fast reader reads exactly what the careful (PyYAML) path reads: a structural differential.

Mutants of the bundled cassettes and of large generated ones, by lines and nesting: lines
deleted, doubled, swapped, moved, re-indented, joined, retyped (a value replaced by one of
another type), comments and document markers put in, the final line break taken away. For
each, the careful path (PyYAML, then the schema) decides; the fast paths must agree:

- `read_document` (the whole text, fast) gives PyYAML's very document, or gives up (None);
- `stream_items` (a file, one interaction at a time) gives the careful path's very items, or
  gives up; it never reads what the careful path refuses;
- so `items_of` (what every command uses: the fast document, else PyYAML's, then the
  schema) reads what the careful path reads.

3,000 mutants in the normal run (a few seconds); ten times the profile's examples in
`--hypothesis-profile=fuzz` (200,000), from a fresh seed that a failure prints.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import settings

from chunktape.persist import dumps
from chunktape.persist.reader import read_document
from chunktape.persist.schema import Invalid, interactions_from
from chunktape.persist.streaming import stream_items
from chunktape.persist.yaml_fallback import YamlProblem, parse_yaml
from tests.support.builders import sse_interaction

ROOT = Path(__file__).resolve().parents[2]
BUNDLED = [path.read_text(encoding="utf-8") for path in sorted((ROOT / "cassettes").glob("*.yaml"))]


def _generated(count: int) -> str:
    from chunktape import Cassette

    items = [sse_interaction(body=f"data: {n} 第{n}段\n\n".encode() * 3, offsets=[4, 9]) for n in range(count)]
    return dumps(Cassette(items))


LARGE = [_generated(12)]
VALUES = [
    "42", "'42'", '"42"', "[]", "{}", "[1]", "{a: 1}", "null", "~", "", "true", "yes", "1.5", ".nan", "-.inf",
    "0x1F", "1e3", "2024-01-01", "|", "|-", ">", "'x'", '"x\\n"', "x: y", "- x", "&a 1", "*a", "!!str 1", "#",
]  # fmt: skip
INSERTS = ["", "# a comment", "---", "...", "interactions:", "interactions: []", "version: 1", "- ", "-", "  - x"]


def _value_split(line: str) -> int | None:
    at = line.find(": ")
    if at >= 0:
        return at + 2
    stripped = line.lstrip(" ")
    if stripped.startswith("- "):
        return len(line) - len(stripped) + 2
    return None


def mutate(text: str, rng: random.Random) -> str:
    """One to three structural edits of `text`."""
    lines = text.split("\n")
    for _ in range(rng.randint(1, 3)):
        if not lines:
            lines = [""]
        i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
        operation = rng.randrange(11)
        if operation == 0:
            del lines[i]
        elif operation == 1:
            lines.insert(i, lines[i])
        elif operation == 2:
            lines[i], lines[j] = lines[j], lines[i]
        elif operation == 3:
            lines[i], lines[min(i + 1, len(lines) - 1)] = lines[min(i + 1, len(lines) - 1)], lines[i]
        elif operation == 4:
            lines.insert(j, lines.pop(i))
        elif operation == 5:
            lines[i] = " " * rng.choice([1, 2, 4]) + lines[i]
        elif operation == 6:
            lines[i] = lines[i][rng.choice([1, 2]) :] if lines[i].startswith(" ") else lines[i]
        elif operation == 7:
            at = _value_split(lines[i])
            if at is not None:
                lines[i] = lines[i][:at] + rng.choice(VALUES)
        elif operation == 8:
            lines.insert(i, " " * rng.choice([0, 0, 2, 4]) + rng.choice(INSERTS))
        elif operation == 9 and i + 1 < len(lines):
            lines[i : i + 2] = [lines[i] + " " + lines[i + 1].lstrip(" ")]
        elif operation == 10:
            lines[-1:] = [lines[-1]] if lines[-1] else []  # no final line break
    return "\n".join(lines)


_UNREAD = object()


def careful(text: str) -> tuple[Any, str, Any]:
    """(PyYAML's document, "items", [...]) or (its document or _UNREAD, "refused", problem):
    PyYAML and the schema, never the fast reader."""
    try:
        document = parse_yaml(text)
    except YamlProblem as exc:
        return _UNREAD, "refused", exc.problem
    try:
        return document, "items", interactions_from(document)
    except Invalid as exc:
        return document, "refused", exc.problem


def divergence(text: str) -> str | None:
    """What a fast path read differently from the careful one, or None."""
    document, outcome, value = careful(text)
    fast = read_document(text)
    if fast is not None and (document is _UNREAD or repr(fast) != repr(document)):
        pyyaml = value if document is _UNREAD else repr(document)
        return f"read_document read {fast!r:.300} where PyYAML gave {pyyaml:.300}"
    streamed = stream_items(line.encode() for line in text.splitlines(keepends=True))
    if streamed is not None and (outcome != "items" or streamed != value):
        return f"stream_items read {len(streamed)} items where the careful path gave {outcome}: {str(value)[:200]}"
    return None


def mutants(count: int, seed: int, seeds: list[str]) -> list[str]:
    rng = random.Random(seed)
    return [mutate(rng.choice(seeds), rng) for _ in range(count)]


def _run(count: int, seeds: list[str], seed: int, check: Callable[[str], str | None] = divergence) -> None:
    found = []
    for text in mutants(count, seed, seeds):
        problem = check(text)
        if problem is not None:
            found.append((len(text), problem, text))
    found.sort(key=lambda entry: entry[0])
    shown = "\n\n".join(f"{problem}\n--- mutant ---\n{text}" for _, problem, text in found[:3])
    assert not found, f"{len(found)} of {count} mutants (seed {seed}) diverge; the smallest:\n{shown}"


def _fuzzing() -> bool:
    return settings.default.max_examples > 1000


def _count(normal: int) -> int:
    return settings.default.max_examples * 10 if _fuzzing() else normal


def _seed() -> int:
    return random.SystemRandom().randrange(2**32) if _fuzzing() else 0


def test_structural_mutants_of_the_bundled_cassettes_read_the_same_both_ways() -> None:
    _run(_count(3_000), BUNDLED, _seed())


def test_structural_mutants_of_a_large_generated_cassette_read_the_same_both_ways() -> None:
    _run(_count(100) // 10, LARGE, _seed())


def test_the_mutants_reach_both_outcomes_so_the_differential_means_something() -> None:
    outcomes = [careful(text)[1] for text in mutants(500, 1, BUNDLED)]
    assert 0.1 < outcomes.count("items") / len(outcomes) < 0.9


def test_the_divergences_the_issue_names_are_gone() -> None:
    """`interactions: 42` at the top, and `version:` swapped with `interactions:`."""
    text = BUNDLED[0]
    assert divergence(text.replace("interactions:\n", "interactions: 42\n", 1)) is None
    head, rest = text.split("\n", 2)[:2], text.split("\n", 2)[2]
    assert divergence(f"{head[1]}\n{head[0]}\n{rest}") is None
    assert divergence("version: 1\ninteractions: 42\n") is None
