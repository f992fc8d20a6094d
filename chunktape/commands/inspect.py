"""`chunktape inspect`: what a cassette holds and how its chunks arrived, at a glance.

The command only: the text is drawn by chunktape.views.terminal (ASCII glyphs when the
terminal cannot show the others), the page by chunktape.views.timeline (--html).
"""

from __future__ import annotations

import codecs
import os
import shutil
import sys

import click

from chunktape.commands.common import exits_cleanly, knob_options, policy_from_options
from chunktape.commands.paths import cassette_paths
from chunktape.errors import ChunktapeError
from chunktape.knobs import ReplayPolicy
from chunktape.persist import load_cassette
from chunktape.views.terminal import ASCII, Glyphs, render


@click.command(name="inspect")
@click.argument("path", metavar="PATH")
@click.option("--width", type=click.IntRange(40, 400), default=None, help="Columns to draw in [default: terminal].")
@click.option(
    "--html",
    "html_path",
    metavar="OUT.html",
    default=None,
    help="Write the timelines as one self-contained HTML page (SVG, no network assets) instead of text.",
)
@knob_options
@exits_cleanly
def inspect_command(
    path: str,
    width: int | None,
    html_path: str | None,
    speed: str,
    split: str,
    delay: tuple[str, ...],
    fault: str | None,
    seed: str,
    resume: str,
) -> None:
    """Show a cassette's interactions as a table and a timeline of chunk arrivals.

    With --html, write a page per PATH: each interaction's request, an SVG timeline of its
    chunks, event boundaries, UTF-8 cut points and ending, and its decoded events. Any knob
    given adds what a replay under those knobs sends, over the recorded timeline.

    \b
    Example:
      chunktape inspect cassettes/gemini_stream.yaml
      chunktape inspect cassettes/ --width 100
      chunktape inspect cassettes/gemini_stream.yaml --html gemini.html --split utf8 --delay first:300ms
    """
    if html_path is not None:
        policy = policy_from_options(speed, split, delay, fault, seed, resume)
        knobs_given = policy != policy_from_options("1", "recorded", (), None, "0")
        write_html(path, html_path, policy if knobs_given else None)
        click.echo(f"chunktape: wrote {html_path}")
        return
    columns = width or max(60, min(160, shutil.get_terminal_size((100, 24)).columns))
    encoding = _usable(sys.stdout.encoding)
    glyphs = Glyphs() if _can_encode("".join(vars(Glyphs()).values()), encoding) else ASCII
    reports = [render(load_cassette(one), columns, glyphs) for one in cassette_paths([path])]
    text = "\n\n".join(reports)
    if not _can_encode(text, encoding):  # CJK text on an ASCII terminal: escape, never crash
        text = text.encode(encoding, errors="backslashreplace").decode(encoding)
    click.echo(text)


def write_html(path: str, html_path: str, policy: ReplayPolicy | None) -> None:
    """The HTML timeline of every cassette under `path`, written to `html_path`."""
    from chunktape.views.timeline import render_page

    cassettes = [load_cassette(one) for one in cassette_paths([path])]
    page = render_page(cassettes, policy, title=f"chunktape timeline: {path}")
    try:
        os.makedirs(os.path.dirname(os.path.abspath(html_path)), exist_ok=True)  # as every output does
        with open(html_path, "w", encoding="utf-8") as handle:
            handle.write(page)
    except OSError as exc:
        raise ChunktapeError(f"{html_path}: cannot write the HTML timeline ({exc.strerror}); check the path") from None


def _usable(encoding: str | None) -> str:
    try:
        return codecs.lookup(encoding or "ascii").name
    except LookupError:
        return "ascii"


def _can_encode(text: str, encoding: str) -> bool:
    try:
        text.encode(encoding)
    except UnicodeEncodeError:
        return False
    return True
