"""`chunktape validate`: does each cassette load, save back to the same cassette, frame its
bodies right and hold no secret? What it checks is `validation.py`; layout is `fmt`'s job.

Meant for CI over a cassette directory: one line per file, exit 0 when all pass,
1 when a check failed, 2 when a file cannot be read or parsed at all.
"""

from __future__ import annotations

import sys

import click

from chunktape.cassette import iso_utc
from chunktape.commands.common import EXIT_BAD_INPUT, EXIT_CHECK_FAILED, EXIT_OK
from chunktape.commands.paths import cassette_paths
from chunktape.commands.validation import validate_file
from chunktape.errors import CassetteError


@click.command()
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@click.option("--redact-header", "redact", multiple=True, help="Another secret name to check for (repeatable).")
def validate(paths: tuple[str, ...], redact: tuple[str, ...]) -> None:
    """Check cassettes: they load, save back to the same cassette, are framed right, leak no secret.

    PATH is a cassette file or a directory of them (*.yaml, *.yml). A cassette passes when
    it loads, saving it would give back the same cassette (the same bytes on the wire), its
    streamed bodies are framed as their format requires (event-stream CRCs, NDJSON lines,
    JSON arrays), and nothing in it looks like an API key, a bearer token or an unredacted
    secret header or ?key= value. Layout (comments, key order, quoting) is not checked:
    `chunktape fmt --check` does that.

    \b
    Example:
      chunktape validate cassettes/
      chunktape validate tests/cassettes/test_chat.yaml --redact-header x-my-token
    """
    worst = EXIT_OK
    for path_argument in paths:
        try:
            files = cassette_paths([path_argument])
        except CassetteError as exc:
            click.echo(f"FAIL {exc}")
            worst = EXIT_BAD_INPUT
            continue
        for path in files:
            try:
                report = validate_file(path, redact)
            except CassetteError as exc:
                click.echo(f"FAIL {exc}")
                worst = EXIT_BAD_INPUT
                continue
            problems = report.problems
            if report.framing:
                (line, first), more = report.framing[0], len(report.framing) - 1
                shown = first + (f" (and {more} more framing problem{'' if more == 1 else 's'})" if more else "")
                where = f"{path}:{line}" if line else path
                click.echo(f"FAIL {where}: {'; '.join([shown, *problems])}")
                worst = max(worst, EXIT_CHECK_FAILED)
            elif problems:
                click.echo(f"FAIL {path}: {'; '.join(problems)}")
                worst = max(worst, EXIT_CHECK_FAILED)
            else:
                count, sessions = report.interactions, report.sessions
                also = f", {sessions} session{'' if sessions == 1 else 's'}" if sessions else ""
                recorded = report.oldest_recorded_at
                also += f", recorded {iso_utc(recorded)}" if recorded is not None else ""
                click.echo(f"ok {path} ({count} interaction{'' if count == 1 else 's'}{also})")
    sys.exit(worst)
