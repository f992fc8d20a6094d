"""`chunktape inspect`: what a cassette holds and how its chunks arrived, at a glance.

A summary table, a timeline with one row per interaction (chunk marks scaled to the
width), and per interaction a chunk list with gap bars and a preview of where each
chunk was cut, then the body's events in whatever format it streams. Plain text; falls back to ASCII when the terminal cannot show the glyphs.
With --html, the same as an SVG page instead (chunktape.views.timeline).

Long on purpose: the terminal view is one page of layout (table, timeline, chunk and event
lists) whose helpers share widths and glyphs; split, they would pass them all around.
"""

from __future__ import annotations

import codecs
import os
import re
import shutil
import sys
import unicodedata
from dataclasses import dataclass

import click

from chunktape.bodies.framing import FORMAT_NAMES
from chunktape.bodies.framing import events as stream_events
from chunktape.cassette import Cassette, Interaction
from chunktape.commands.common import exits_cleanly, knob_options, policy_from_options
from chunktape.commands.inspect_sessions import session_report
from chunktape.commands.paths import cassette_paths
from chunktape.errors import ChunktapeError
from chunktape.knobs import ReplayPolicy
from chunktape.persist import load_cassette


@dataclass(frozen=True)
class Glyphs:
    chunk: str = "▮"
    line: str = "─"
    cut: str = "✕"
    bar: str = "█"
    more: str = "…"


ASCII = Glyphs(chunk="|", line="-", cut="X", bar="#", more="...")


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


def render(cassette: Cassette, width: int, glyphs: Glyphs = Glyphs()) -> str:
    """The whole report for one cassette, as text."""
    count = len(cassette)
    title = f"{cassette.path}: {count} interaction{'' if count == 1 else 's'}"
    sessions = len(cassette.sessions)
    if sessions:
        title += f", {sessions} realtime session{'' if sessions == 1 else 's'}"
    if not count and not sessions:
        return title
    parts = [title]
    if count:
        parts += ["", summary_table(cassette), "", timeline(cassette, width, glyphs)]
    for index, interaction in enumerate(cassette.interactions, start=1):
        parts += ["", chunk_list(index, interaction, width, glyphs)]
        events = event_list(interaction, width, glyphs)
        if events:
            parts.append(events)
    for index, session in enumerate(cassette.sessions, start=1):
        parts += ["", session_report(index, session, width, glyphs.more)]
    return "\n".join(parts)


def _ms(seconds: float) -> str:
    milliseconds = seconds * 1000
    return f"{milliseconds:.1f} ms" if milliseconds < 10 else f"{milliseconds:.0f} ms"


def _target(interaction: Interaction) -> str:
    request = interaction.request
    return request.path + (f"?{request.query}" if request.query else "")


def _clip(text: str, width: int, more: str) -> str:
    return text if len(text) <= width else text[: max(0, width - len(more))] + more


def summary_table(cassette: Cassette) -> str:
    header = ("#", "method", "path", "status", "chunks", "bytes", "first byte", "total", "ended")
    rows = [header]
    for index, interaction in enumerate(cassette.interactions, start=1):
        response = interaction.response
        first = _ms(response.chunks[0].at_s) if response.chunks else "-"
        rows.append(
            (
                str(index),
                interaction.request.method,
                _clip(_target(interaction), 60, "..."),
                str(response.status),
                str(len(response.chunks)),
                f"{len(response.body):,}",
                first,
                _ms(response.end_s),
                response.ended,
            )
        )
    widths = [max(len(row[column]) for row in rows) for column in range(len(header))]
    right_aligned = {0, 3, 4, 5, 6, 7}
    lines = []
    for row in rows:
        cells = [
            cell.rjust(w) if i in right_aligned else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def timeline(cassette: Cassette, width: int, glyphs: Glyphs) -> str:
    """One row per interaction: the open connection as a line, each chunk as a mark."""
    label_width = len(str(len(cassette))) + 2
    columns = max(10, width - label_width)
    span = max((i.response.end_s for i in cassette.interactions), default=0.0) or 1e-3
    legend = f"H headers, {glyphs.chunk} chunk (2-9 several in one column), {glyphs.cut} cut"
    lines = [f"timeline: 0 to {_ms(span)}, one column = {_ms(span / columns)}; {legend}"]
    for index, interaction in enumerate(cassette.interactions, start=1):
        response = interaction.response

        def column(seconds: float) -> int:
            return min(columns - 1, int(seconds / span * columns + 1e-9))  # 0.3 / 0.4 * 40 is 29.999...

        row = [" "] * columns
        for position in range(column(response.headers_at_s), column(response.end_s) + 1):
            row[position] = glyphs.line
        row[column(response.headers_at_s)] = "H"
        counts: dict[int, int] = {}
        for chunk in response.chunks:
            counts[column(chunk.at_s)] = counts.get(column(chunk.at_s), 0) + 1
        for position, count in counts.items():
            row[position] = glyphs.chunk if count == 1 else (str(count) if count < 10 else "+")
        if response.ended == "cut":
            row[column(response.end_s)] = glyphs.cut
        lines.append(f"{index:>{label_width - 2}}  " + "".join(row).rstrip())
    return "\n".join(lines)


def chunk_list(index: int, interaction: Interaction, width: int, glyphs: Glyphs) -> str:
    """Each chunk: when, the gap before it (with a bar), its size, and where it was cut."""
    response = interaction.response
    title = f"#{index} {interaction.request.method} {_target(interaction)} -> {response.status}"
    lines = [_clip(title, width, glyphs.more), f"   headers at {_ms(response.headers_at_s)}"]
    if response.timing == "imported":
        lines.append("   timing: imported (the source kept no chunk timing: one chunk at the recorded total time)")
    elif response.timing == "paced":
        lines.append("   timing: paced (imported; chunks spaced per event by --pace, not measured)")
    if not response.chunks:
        lines.append("   (no body)")
    gaps = []
    previous = response.headers_at_s
    for chunk in response.chunks:
        gaps.append(chunk.at_s - previous)
        previous = chunk.at_s
    longest = max(gaps, default=0.0) or 1e-9
    bar_width = 20
    lines.append(f"   {'chunk':>5}  {'at':>9}  {'gap':>9}  {'bytes':>7}  {'':<{bar_width}}  data")
    for number, (chunk, gap) in enumerate(zip(response.chunks, gaps, strict=True), start=1):
        bar = glyphs.bar * round(gap / longest * bar_width)
        preview_width = max(10, width - (3 + 5 + 2 + 9 + 2 + 9 + 2 + 7 + 2 + bar_width + 2))
        preview = _clip_middle(_show_ends(chunk.data), preview_width, glyphs.more)
        lines.append(
            f"   {number:>5}  {_ms(chunk.at_s):>9}  {'+' + _ms(gap):>9}  {len(chunk.data):>7,}  {bar:<{bar_width}}  {preview}"
        )
    ending = f"   ended {response.ended} at {_ms(response.end_s)}"
    lines.append(ending + (" (the upstream closed mid-body)" if response.ended == "cut" else ""))
    return "\n".join(lines)


_MOST_EVENTS_SHOWN = 40


def event_list(interaction: Interaction, width: int, glyphs: Glyphs) -> str:
    """The body's events (SSE events, NDJSON lines, JSON array elements, event-stream
    messages): where each starts, its size, its name and what it carries, on one line."""
    response = interaction.response
    if not response.body:
        return ""
    found, events = stream_events(response.body, response.header("content-type"))
    if not events:
        return ""
    lines = [f"   {len(events)} {FORMAT_NAMES[found]}"]
    name_width = min(24, max(len(event.name) for event in events))
    for number, event in enumerate(events[:_MOST_EVENTS_SHOWN], start=1):
        head = f"   #{number:<4} {event.offset:>8,} +{event.size_bytes:<6,} {event.name:<{name_width}}  "
        summary = _show_ends(event.summary.encode("utf-8"))
        lines.append(head + _clip_middle(summary, max(10, width - len(head)), glyphs.more))
    if len(events) > _MOST_EVENTS_SHOWN:
        lines.append(f"   {glyphs.more} and {len(events) - _MOST_EVENTS_SHOWN} more")
    return "\n".join(lines)


def _cells(char: str) -> int:
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def _fits(text: str, width: int) -> bool:
    """Whether `text` takes at most `width` cells; looks at no more than width + 1 characters."""
    if len(text) <= width // 2:
        return True
    if len(text) > width:
        return False  # every character takes at least one cell
    used = 0
    for char in text:
        used += _cells(char)
        if used > width:
            return False
    return True


def _clip_middle(text: str, width: int, more: str) -> str:
    """Head and tail of `text` within `width` terminal cells (CJK counts two): both ends of
    a chunk are where its boundaries are."""
    if _fits(text, width):
        return text
    budget = max(2, width - len(more) - 2)
    if len(text) > budget and text[:budget].isascii() and text[-budget:].isascii():  # one cell each
        return text[: (budget + 1) // 2] + f" {more} " + text[len(text) - budget // 2 :]
    head: list[str] = []
    tail: list[str] = []
    used = 0
    left, right = 0, len(text) - 1
    while left <= right:
        char = text[left] if len(head) <= len(tail) else text[right]
        if used + _cells(char) > budget:
            break
        used += _cells(char)
        if len(head) <= len(tail):
            head.append(char)
            left += 1
        else:
            tail.append(char)
            right -= 1
    return "".join(head) + f" {more} " + "".join(reversed(tail))


_SHOWN_BYTES = 1024
"""More than a preview ever shows of either end: a long chunk's middle is never looked at."""


def _show_ends(data: bytes) -> str:
    """_show_bytes of both ends of `data` only: what _clip_middle keeps of a long chunk."""
    if len(data) <= 2 * _SHOWN_BYTES:
        return _show_bytes(data)
    return _show_bytes(data[:_SHOWN_BYTES]) + _show_bytes(data[-_SHOWN_BYTES:])


_ESCAPES = {"\\": "\\\\", "\r": "\\r", "\n": "\\n", "\t": "\\t"}


_SHOWN_AS_ESCAPES = re.compile("[\\\\\x00-\x1f\x7f\udc80-\udcff]")


def _show_bytes(data: bytes) -> str:
    """The chunk as text with line ends and split characters visible (as \\xNN), so cuts show."""
    text = data.decode("utf-8", errors="surrogateescape")
    return _SHOWN_AS_ESCAPES.sub(_escaped, text)


def _escaped(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:
        return f"\\x{code - 0xDC00:02x}"
    return _ESCAPES.get(char) or f"\\x{code:02x}"
