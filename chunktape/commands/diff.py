"""`chunktape diff OLD NEW`: what changed between two cassettes, for review; also a git diff driver."""

from __future__ import annotations

import os
import sys

import click

from chunktape.cassette import Cassette
from chunktape.commands.common import EXIT_CHECK_FAILED, EXIT_OK, exits_cleanly
from chunktape.errors import ChunktapeError, KnobError
from chunktape.knobs import parse_duration
from chunktape.matching import MatchRules
from chunktape.persist import load_cassette
from chunktape.views.diff import diff_cassettes

GIT_ARGUMENTS = 7
"""git runs an external diff driver as `command PATH OLD-FILE OLD-HEX OLD-MODE NEW-FILE NEW-HEX NEW-MODE`."""


@click.command(name="diff")
@click.argument("files", nargs=-1, metavar="OLD NEW", required=True)
@click.option(
    "--timing-tolerance",
    metavar="DUR",
    default=None,
    help="Hide timing shifts up to DUR (like 50ms or 1.5s); without it any shift is a difference.",
)
@click.option(
    "--ignore", multiple=True, metavar="FIELD", help="A JSON field name (any depth) left out of comparing. Repeatable."
)
@click.option(
    "--match-on",
    default=None,
    metavar="FIELDS",
    help="Request parts that pair interactions: any of method, host, path, query, body, headers [default: method,path,query,body].",
)
@exits_cleanly
def diff_command(
    files: tuple[str, ...], timing_tolerance: str | None, ignore: tuple[str, ...], match_on: str | None
) -> None:
    """Compare two cassettes: interactions paired by match key; request, status, ending,
    SSE event and JSON field differences, and a timing summary (headers, first byte, total,
    gap p50/p99: old -> new). Exit 0 equal, 1 different, 2 bad input.

    As a git diff driver (git passes seven arguments; a side that does not exist is /dev/null):

    \b
      .gitattributes:  cassettes/**/*.yaml diff=chunktape
      git config diff.chunktape.command "chunktape diff --timing-tolerance 50ms"

    \b
    Example:
      chunktape diff cassettes/chat.yaml new/chat.yaml --timing-tolerance 50ms
    """
    if len(files) == GIT_ARGUMENTS:
        name, old_path, new_path = files[0], files[1], files[4]
    elif len(files) == 2:
        name, (old_path, new_path) = "", files
    else:
        raise ChunktapeError(
            f"diff takes OLD NEW (or git's seven diff-driver arguments), not {len(files)} argument(s); "
            "as in chunktape diff old.yaml new.yaml"
        )
    try:
        tolerance = parse_duration(timing_tolerance, "timing-tolerance") if timing_tolerance is not None else None
    except KnobError as exc:
        raise ChunktapeError(f"--timing-tolerance: {exc}") from None
    rules = MatchRules.build(match_on=match_on) if match_on is not None else MatchRules()
    old, new = _load(old_path), _load(new_path)
    result = diff_cassettes(old, new, rules=rules, timing_tolerance_s=tolerance, ignore_fields=ignore)
    click.echo(f"--- {name or old_path}\n+++ {name or new_path}")
    click.echo(result.render(), nl=False)
    if len(files) == GIT_ARGUMENTS:
        sys.exit(EXIT_OK)  # git stops at a driver's non-zero exit; the text is the answer there
    sys.exit(EXIT_OK if result.equal else EXIT_CHECK_FAILED)


def _load(path: str) -> Cassette:
    if path == os.devnull:  # git's side of an added or deleted file
        return Cassette(path=path)
    return load_cassette(path)
