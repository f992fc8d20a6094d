"""`chunktape fmt [--check] PATH...`: cassettes in the one layout chunktape writes.

In the convention of `ruff format`: `--check` lists the files it would change and exits 1 (0
when all are in the layout); without it, it rewrites them in place, keeping each file's
mode. Formatting never changes what a cassette holds: a file whose saved form would load to
anything else (a value written more precisely than a cassette keeps it) is refused, and so is
one that does not load (one line, exit 2); the other files are still done.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable

import click

from chunktape.commands.common import EXIT_BAD_INPUT, EXIT_CHECK_FAILED, EXIT_OK
from chunktape.commands.paths import cassette_paths
from chunktape.commands.validation import first_difference
from chunktape.errors import CassetteError
from chunktape.persist import FORMAT_VERSION, interaction_text, read_cassette
from chunktape.persist.schema import Item
from chunktape.persist.storage import read_bytes, replace_file


def canonical_text(items: Iterable[Item]) -> str:
    """A cassette's items, in the order given, as chunktape writes them (nothing redacted:
    formatting changes layout only)."""
    body = "".join(interaction_text(item) for item in items)
    head = f"version: {FORMAT_VERSION}\n"
    return f"{head}interactions:\n{body}" if body else f"{head}interactions: []\n"


def formatted(raw: bytes, path: str) -> str:
    """The file's text in the canonical layout; CassetteError when it does not load, or when
    the canonical layout would load to anything else."""
    loaded = read_cassette(raw, path)
    if loaded.torn is not None:
        torn = loaded.torn
        raise CassetteError(
            path,
            torn.line,
            f"the last interaction is incomplete ({torn.problem}); fmt would lose it: fix it by hand, or let "
            "`chunktape record --append` set it aside",
        )
    text = canonical_text(loaded.interactions)
    try:
        again = read_cassette(text, path).interactions
    except CassetteError as exc:
        raise CassetteError(
            path, None, f"formatting would write something that does not load ({exc.problem})"
        ) from None
    for number, (before, after) in enumerate(zip(loaded.interactions, again, strict=True), start=1):
        difference = first_difference(before, after)
        if difference is not None:
            raise CassetteError(
                path,
                None,
                f"formatting would change item #{number} ({difference}); write that value as a cassette keeps it",
            )
    return text


@click.command(name="fmt")
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@click.option("--check", is_flag=True, help="Change nothing: list the files that would change, exit 1 if any.")
def fmt_command(paths: tuple[str, ...], check: bool) -> None:
    """Rewrite cassettes in the layout chunktape writes (comments, key order, quoting, indents).

    PATH is a cassette file or a directory of them (*.yaml, *.yml). What a cassette holds
    never changes, only how it is written; `chunktape validate` checks what it holds.

    \b
    Example:
      chunktape fmt --check cassettes/
      chunktape fmt cassettes/chat.yaml
    """
    changed: list[str] = []
    unchanged = 0
    bad = False
    for path in _paths(paths):
        if path is None:
            bad = True
            continue
        try:
            raw = read_bytes(path)
            text = formatted(raw, path)
            if text.encode("utf-8") == raw:
                unchanged += 1
                continue
            if check:
                click.echo(f"Would reformat: {path}")
            else:
                mode = os.stat(path).st_mode & 0o7777
                replace_file(path, text)
                os.chmod(path, mode)
            changed.append(path)
        except CassetteError as exc:
            click.echo(f"chunktape: error: {exc}", err=True)
            bad = True
    click.echo(_summary(len(changed), unchanged, check))
    if bad:
        sys.exit(EXIT_BAD_INPUT)
    sys.exit(EXIT_CHECK_FAILED if check and changed else EXIT_OK)


def _paths(arguments: tuple[str, ...]) -> Iterable[str | None]:
    """Each cassette path; None (after its error line) for an argument that names none."""
    for argument in arguments:
        try:
            yield from cassette_paths([argument])
        except CassetteError as exc:
            click.echo(f"chunktape: error: {exc}", err=True)
            yield None


def _files(count: int) -> str:
    return f"{count} file{'' if count == 1 else 's'}"


def _summary(changed: int, unchanged: int, check: bool) -> str:
    if check:
        parts = [f"{_files(changed)} would be reformatted"] if changed else []
        parts += [f"{_files(unchanged)} already formatted"] if unchanged or not changed else []
    else:
        parts = [f"{_files(changed)} reformatted"] if changed else []
        parts += [f"{_files(unchanged)} left unchanged"] if unchanged or not changed else []
    return ", ".join(parts)
