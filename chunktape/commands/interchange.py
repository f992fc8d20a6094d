"""`chunktape import vcr|har FILE -o OUT` and `chunktape export har CASSETTE -o OUT`."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import click

from chunktape.cassette import Cassette, Interaction
from chunktape.commands.common import exits_cleanly
from chunktape.commands.paths import cassette_paths
from chunktape.errors import ChunktapeError, KnobError
from chunktape.interchange.common import Pace, paced, redacted
from chunktape.persist import load_cassette, save_cassette
from chunktape.secret_names import SecretNames
from chunktape.secrets_scan import scan_text


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as exc:
        raise ChunktapeError(f"{path}: cannot read it ({exc.strerror}); check the path") from None


def _now() -> datetime:
    """The import's own time: `recorded_at` of an exchange its file does not date."""
    return datetime.now(UTC).replace(microsecond=0)


def _import_options(func: Callable[..., Any]) -> Callable[..., Any]:
    func = click.option(
        "--redact",
        multiple=True,
        metavar="NAME",
        help="Another header, query or JSON field name to redact. Repeatable.",
    )(func)
    func = click.option(
        "--pace",
        default=None,
        metavar="sse:DUR",
        help="Space the body's events DUR apart (invented timing, marked 'paced'); "
        "without it the body is one chunk at the recorded total time.",
    )(func)
    return click.option("-o", "--output", "output", required=True, metavar="OUT", help="The cassette to write.")(func)


def _write(
    interactions: list[Interaction], output: str, pace: str | None, names: tuple[str, ...], notes: list[str]
) -> None:
    if pace is not None:
        try:
            rhythm = Pace.parse(pace)
        except KnobError as exc:
            raise ChunktapeError(f"--pace: {exc}") from None
        interactions = [replace(one, response=paced(one.response, rhythm)) for one in interactions]
    clean, taken = redacted(interactions, names)
    save_cassette(Cassette(clean), output, redact=names)
    with open(output, encoding="utf-8") as written:
        left = scan_text(written.read(), SecretNames(names))
    notes = [
        *notes,
        *taken,
        *(
            f"{output}: {finding} is still in it (response bodies are kept as they were); edit it out before you commit"
            for finding in left
        ),
    ]
    for note in notes:
        click.echo(f"chunktape: warning: {note}", err=True)
    timing = "paced per event (invented)" if pace else "imported: one chunk at the recorded total time"
    click.echo(f"chunktape: wrote {len(clean)} interactions to {output} (chunk timing {timing})")


@click.group(name="import")
def import_group() -> None:
    """Turn another tool's recordings into a chunktape cassette.

    \b
    Example:
      chunktape import vcr tests/cassettes/test_chat.yaml -o cassettes/chat.yaml
      chunktape import har session.har -o cassettes/session.yaml --pace sse:40ms
    """


@import_group.command(name="vcr")
@click.argument("file", metavar="FILE")
@_import_options
@exits_cleanly
def import_vcr(file: str, output: str, pace: str | None, redact: tuple[str, ...]) -> None:
    """Import a vcrpy / pytest-recording cassette (YAML or JSON serializer).

    vcrpy keeps no timing: each body becomes one chunk (timing: imported), or one chunk per
    event with --pace. Secrets are redacted like recorded ones, and listed on stderr.

    \b
    Example:
      chunktape import vcr tests/cassettes/test_chat.yaml -o cassettes/chat.yaml
    """
    from chunktape.interchange.vcr import read_vcr

    _write(read_vcr(file, _read(file), _now()), output, pace, redact, [])


@import_group.command(name="har")
@click.argument("file", metavar="FILE")
@_import_options
@exits_cleanly
def import_har(file: str, output: str, pace: str | None, redact: tuple[str, ...]) -> None:
    """Import a HAR 1.2 file (devtools, Playwright, mitmproxy's hardump), keeping its timings:
    the head at send + wait, the body (one chunk) at the entry's total time.

    \b
    Example:
      chunktape import har session.har -o cassettes/session.yaml
    """
    from chunktape.interchange.har import read_har

    interactions, notes = read_har(file, _read(file), _now())
    _write(interactions, output, pace, redact, notes)


@click.group(name="export")
def export_group() -> None:
    """Write cassettes in another tool's format.

    \b
    Example:
      chunktape export har cassettes/gemini_stream.yaml -o gemini.har
    """


@export_group.command(name="har")
@click.argument("cassette", metavar="CASSETTE")
@click.option("-o", "--output", "output", required=True, metavar="OUT", help="The HAR file to write.")
@exits_cleanly
def export_har(cassette: str, output: str) -> None:
    """Write a cassette (or a directory of them) as HAR 1.2, which browsers' devtools open:
    the head's and the body's recorded times as wait and receive.

    \b
    Example:
      chunktape export har cassettes/gemini_stream.yaml -o gemini.har
    """
    from chunktape.interchange.har import write_har

    cassettes = [load_cassette(path) for path in cassette_paths([cassette])]
    try:
        os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)  # as every output does
        with open(output, "w", encoding="utf-8") as handle:
            handle.write(write_har(cassettes))
    except OSError as exc:
        raise ChunktapeError(f"{output}: cannot write the HAR file ({exc.strerror}); check the path") from None
    count = sum(len(one) for one in cassettes)
    click.echo(f"chunktape: wrote {count} entries to {output}")
