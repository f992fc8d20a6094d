"""`chunktape drift CASSETTE... [--upstream URL]`: has the provider moved since the cassettes
were recorded? Each recorded request is sent to the live upstream (or, with `--against`, a
newer cassette is read instead) and the answers are compared by structure and timing
(views/drift.py); nothing is written unless asked (`--rerecord`, `--html`)."""

from __future__ import annotations

import os
import sys
from typing import cast

import click

from chunktape.cassette import Cassette, Interaction
from chunktape.commands.common import EXIT_CHECK_FAILED, EXIT_OK, exits_cleanly
from chunktape.commands.paths import cassette_paths
from chunktape.errors import ChunktapeError
from chunktape.matching import MatchRules, describe_request
from chunktape.persist import load_cassette, save_cassette
from chunktape.recorder.fetch import HeaderSource, LiveError, fetch, live_request
from chunktape.views.drift import (
    DEFAULT_TOLERANCE,
    SEVERITIES,
    DriftReport,
    InteractionDrift,
    Severity,
    compare,
    parse_tolerance,
)
from chunktape.views.drift_page import Compared, render_drift_page
from chunktape.views.pairing import pair_interactions

LIVE_SUFFIX = ".live"
"""`--rerecord` writes `chat.yaml`'s live answers to `chat.live.yaml`, beside it."""


@click.command(name="drift")
@click.argument("cassettes", nargs=-1, required=True, metavar="CASSETTE...")
@click.option(
    "--upstream",
    default=None,
    metavar="URL",
    help="Where to send the recorded requests, like https://api.openai.com [default: each request's recorded URL].",
)
@click.option(
    "--against",
    default=None,
    metavar="NEW",
    help="Compare with this newer cassette instead of the network (interactions paired as `chunktape diff` pairs them).",
)
@click.option(
    "--header",
    "header_specs",
    multiple=True,
    metavar="NAME=env:VAR",
    help="Send header NAME with the value of environment variable VAR (keys are never given on the command line). "
    "Repeatable.",
)
@click.option(
    "--timing-tolerance",
    default=format(DEFAULT_TOLERANCE, "g"),
    show_default=True,
    metavar="RATIO",
    help="A timing figure (ttft, gap p50/p90) slower or faster by more than this ratio is a finding: 2 or 2x.",
)
@click.option(
    "--fail-on",
    type=click.Choice(SEVERITIES),
    default="breaking",
    show_default=True,
    help="Exit 1 when a finding this serious or more drifted (breaking > notable > timing).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON instead of text.")
@click.option(
    "--html", "html_path", default=None, metavar="FILE", help="Also write an HTML report with both timelines."
)
@click.option(
    "--rerecord",
    is_flag=True,
    help=f"Write the live answers to a new cassette beside each one (NAME{LIVE_SUFFIX}.yaml), for `chunktape diff`.",
)
@click.option("--timeout", default=60.0, show_default=True, metavar="SECONDS", help="Per request.")
@exits_cleanly
def drift_command(
    cassettes: tuple[str, ...],
    upstream: str | None,
    against: str | None,
    header_specs: tuple[str, ...],
    timing_tolerance: str,
    fail_on: str,
    as_json: bool,
    html_path: str | None,
    rerecord: bool,
    timeout: float,
) -> None:
    """Compare recorded answers with live ones by structure, not text: status, content type,
    ending; the event kinds; each kind's JSON fields (added, removed, type changed, with
    their paths); time to first chunk and gap p50/p90 as ratios. Words, ids and timestamps
    changing is not drift. Keys come from the environment (OPENAI_API_KEY, ANTHROPIC_API_KEY,
    GEMINI_API_KEY / GOOGLE_API_KEY, or --header), only where the recorded request had one.

    Exit 0 when nothing at or above --fail-on drifted, 1 when something did, 2 on bad input
    or an upstream that does not answer (the report keeps what was compared before it).

    \b
    Example:
      chunktape drift cassettes/chat.yaml --upstream https://api.openai.com
      chunktape drift cassettes/chat.yaml --against new/chat.yaml --json
    """
    try:
        tolerance = parse_tolerance(timing_tolerance)
    except ValueError as exc:
        raise ChunktapeError(f"--timing-tolerance: {exc}") from None
    if against is not None:
        if len(cassettes) != 1 or upstream is not None or rerecord or header_specs:
            raise ChunktapeError(
                "--against compares one cassette with one other, without the network: "
                "chunktape drift OLD.yaml --against NEW.yaml (no --upstream, --header or --rerecord)"
            )
        report, compared = _against(cassettes[0], against, tolerance)
    else:
        sources = [HeaderSource.parse(spec) for spec in header_specs]
        paths = cassette_paths(cassettes)
        loaded = [load_cassette(path) for path in paths]  # every file is checked before the first request
        report, compared = _live(loaded, upstream, sources, tolerance, timeout, rerecord)
    if as_json:
        click.echo(report.to_json(), nl=False)
    else:
        click.echo(report.render(), nl=False)
    if html_path is not None:
        try:
            with open(html_path, "w", encoding="utf-8") as handle:
                handle.write(render_drift_page(report, compared))
        except OSError as exc:
            raise ChunktapeError(
                f"{html_path}: cannot write the HTML report ({exc.strerror}); check the path"
            ) from None
    if report.error is not None:
        raise ChunktapeError(report.error)
    sys.exit(EXIT_CHECK_FAILED if report.fails(cast(Severity, fail_on)) else EXIT_OK)


def _against(old_path: str, new_path: str, tolerance: float) -> tuple[DriftReport, list[Compared]]:
    old, new = load_cassette(old_path), load_cassette(new_path)
    report = DriftReport()
    compared: list[Compared] = []
    for pair in pair_interactions(old, new, MatchRules()):
        if pair.old is None or pair.new is None:
            side = "OLD" if pair.new is None else "NEW"
            index = pair.old_index if pair.new is None else pair.new_index
            report.interactions.append(InteractionDrift(pair.title, notes=[f"only in {side} (#{index}): not compared"]))
            continue
        drift = compare(pair.title, pair.old.response, pair.new.response, timing_tolerance=tolerance)
        report.interactions.append(drift)
        compared.append(Compared(drift, pair.old, pair.new))
    return report, compared


def _live(
    cassettes: list[Cassette],
    upstream: str | None,
    sources: list[HeaderSource],
    tolerance: float,
    timeout: float,
    rerecord: bool,
) -> tuple[DriftReport, list[Compared]]:
    report = DriftReport()
    compared: list[Compared] = []
    rules = MatchRules()
    for cassette in cassettes:
        answers: list[Interaction] = []
        for interaction in cassette.interactions:
            shown = describe_request(interaction.request, rules.redactor)
            if len(cassettes) > 1:
                shown = f"{cassette.path}: {shown}"
            try:
                live = live_request(interaction.request, upstream, os.environ, sources, shown=shown)
                answer = fetch(interaction.request, live, timeout_s=timeout, shown=shown)
            except LiveError as exc:
                report.error = str(exc)
                return report, compared
            drift = compare(shown, interaction.response, answer.response, timing_tolerance=tolerance)
            report.interactions.append(drift)
            compared.append(Compared(drift, interaction, answer))
            answers.append(answer)
        if cassette.sessions and report.interactions:
            report.interactions[-1].notes.append(
                f"{cassette.path}: {len(cassette.sessions)} realtime session(s) not compared"
            )
        if rerecord and cassette.path is not None:
            target = live_path(cassette.path)
            save_cassette(Cassette(answers), target)
            click.echo(f"chunktape: wrote the live answers to {target}; review with chunktape diff", err=True)
    return report, compared


def live_path(path: str) -> str:
    """`cassettes/chat.yaml` -> `cassettes/chat.live.yaml`."""
    stem, suffix = os.path.splitext(path)
    return f"{stem}{LIVE_SUFFIX}{suffix or '.yaml'}"
