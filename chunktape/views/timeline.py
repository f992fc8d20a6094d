"""A cassette as one self-contained HTML page: per interaction, the request, an SVG timeline of
the response, and its decoded events.

The timeline has a time lane (the head, each chunk as a mark at its arrival, sized by its
bytes, the ending) and under it the body as a bar of bytes, with the chunk boundaries, the
event boundaries and every cut inside a UTF-8 character; a band joins each chunk's mark to
its bytes. Given a policy, a second pair of lanes shows the schedule a replay under it sends
(`build_schedule`, the one every emitter plays). No scripts, no fonts, no network: the file
opens anywhere, offline.

Long on purpose: one self-contained HTML page (markup, SVG geometry, styles) reads best whole.
"""

from __future__ import annotations

import html
import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from chunktape.bodies.framing import FORMAT_NAMES, event_ends
from chunktape.bodies.framing import events as stream_events
from chunktape.cassette import Cassette, Interaction
from chunktape.knobs import ReplayPolicy
from chunktape.redaction import Redactor
from chunktape.schedule import build_schedule

WIDTH = 960
_LEFT = 70
_RIGHT = 40
_LANE_HEIGHT = 46
_BYTES_HEIGHT = 14
_BAND_HEIGHT = 34

_STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222;background:#fff}
h1{font-size:1.2em} h2{font-size:1.05em;margin-top:1.6em;border-top:1px solid #ddd;padding-top:.8em}
.request,.note{font-family:ui-monospace,monospace;font-size:.85em;color:#444;white-space:pre-wrap}
.note{color:#8a5a00}
svg{display:block;margin:.5em 0} svg text{font-family:ui-monospace,monospace;font-size:10px;fill:#333}
.chunk,.step{fill:#2f6fdf} .step{fill:#1a9a5a} .band{fill:#2f6fdf;opacity:.12} .band.sent{fill:#1a9a5a}
.head{fill:#888} .open{stroke:#999;stroke-width:1} .body-bar{fill:#eef}
.chunk-edge{stroke:#2f6fdf;stroke-width:1} .event-edge{stroke:#e08a00;stroke-width:2}
.utf8-cut{fill:#d22} .ending.complete{fill:#1a9a5a} .ending.cut{stroke:#d22;stroke-width:3}
table{border-collapse:collapse;font-size:.85em} td,th{border-bottom:1px solid #eee;padding:2px 8px;text-align:left;vertical-align:top}
td.text{min-width:16em;max-width:36em} td.raw{font-family:ui-monospace,monospace;font-size:.9em;color:#666;max-width:34em;overflow-wrap:anywhere}
.legend span{margin-right:1.2em;font-size:.85em}
"""


@dataclass(frozen=True)
class Lane:
    """What one lane draws: the head, the pieces of the body as they go out, the ending.

    `counts[i]` is how many pieces (steps) piece i stands for: a schedule of thousands of steps
    (`split=bytes:1`) is drawn as a bounded number of groups, so the page stays proportional
    to its cassette. `utf8_cuts` are counted on the pieces as they really go out."""

    label: str
    kind: str  # "chunk" (recorded) or "step" (sent under a policy)
    headers_at_s: float
    pieces: tuple[tuple[float, bytes], ...]
    end_s: float
    cut: bool
    counts: tuple[int, ...] = ()
    utf8_cuts: tuple[int, ...] = ()
    summary: str = ""
    """What the marks leave out (`3,012 steps drawn as 64 marks`), shown beside the lane's name."""

    def count(self, number: int) -> int:
        return self.counts[number] if self.counts else 1


MIN_MARKS = 64
"""A sent lane draws at most this many marks, or as many as the recorded lane has chunks."""


def recorded_lane(interaction: Interaction) -> Lane:
    response = interaction.response
    pieces = tuple((chunk.at_s, chunk.data) for chunk in response.chunks)
    cut = response.ended == "cut"
    return Lane("recorded", "chunk", response.headers_at_s, pieces, response.end_s, cut, (), tuple(utf8_cuts(pieces)))


def sent_lane(interaction: Interaction, policy: ReplayPolicy) -> Lane:
    """The schedule a replay under `policy` sends for this interaction, in at most as many
    marks as the recorded lane has chunks (or MIN_MARKS)."""
    schedule = build_schedule(interaction.request, interaction.response, policy)
    pieces = tuple((step.at_s, step.data) for step in schedule.steps)
    cut = schedule.ending == "cut"
    marks = max(MIN_MARKS, len(interaction.response.chunks))
    grouped, counts = group_pieces(pieces, marks)
    cuts = utf8_cuts(pieces)
    left_out = []
    if counts:
        left_out.append(f"{len(pieces):,} steps drawn as {len(grouped)} marks")
    if len(cuts) > marks:
        left_out.append(f"{len(cuts):,} cuts inside a UTF-8 character, the first {marks} drawn")
    summary = "; ".join(left_out)
    return Lane(
        "sent", "step", schedule.headers_at_s, grouped, schedule.end_at_s, cut, counts, tuple(cuts[:marks]), summary
    )


def group_pieces(
    pieces: tuple[tuple[float, bytes], ...], marks: int
) -> tuple[tuple[tuple[float, bytes], ...], tuple[int, ...]]:
    """At most `marks` pieces: runs of consecutive ones joined (at the first one's time), and
    how many each stands for; `pieces` itself when it has no more than `marks`."""
    if len(pieces) <= marks:
        return pieces, ()
    size = -(-len(pieces) // marks)
    groups = [pieces[start : start + size] for start in range(0, len(pieces), size)]
    return tuple((group[0][0], b"".join(data for _, data in group)) for group in groups), tuple(map(len, groups))


def render_page(
    cassettes: Sequence[Cassette],
    policy: ReplayPolicy | None = None,
    *,
    title: str = "chunktape timeline",
    notes: Sequence[str] = (),
    redact: Sequence[str] = (),
) -> str:
    """The whole HTML page for `cassettes`; with `policy`, each timeline also shows what a
    replay under it sends. `notes` are lines shown under the title (a failure, a miss diff)."""
    redactor = Redactor(redact)
    parts = [f"<h1>{_e(title)}</h1>"]
    if policy is not None:
        parts.append(f'<p class="policy">policy: <code>{_e(policy.describe())}</code></p>')
    parts += [f'<pre class="note">{_e(note)}</pre>' for note in notes]
    parts.append(_LEGEND)
    for cassette in cassettes:
        count = len(cassette)
        parts.append(f'<p class="cassette">{_e(cassette.path or "(in memory)")}: {count} interaction(s)</p>')
        for index, interaction in enumerate(cassette.interactions, start=1):
            parts.append(interaction_section(index, interaction, policy, redactor))
    return html_page(title, parts)


def html_page(title: str, parts: Sequence[str], style: str = "") -> str:
    """A self-contained page: the timeline's styles (and `style`), then `parts` in order."""
    body = "\n".join(parts)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{_e(title)}</title><style>{_STYLE}{style}</style></head>\n<body>\n{body}\n</body></html>\n"
    )


_LEGEND = (
    '<p class="legend"><span>▮ chunk (height: its bytes)</span><span style="color:#1a9a5a">▮ sent under the policy'
    '</span><span style="color:#e08a00">| event boundary</span><span style="color:#d22">▲ cut inside a UTF-8 '
    "character</span><span>● complete / ✕ cut</span></p>"
)


def interaction_section(index: int, interaction: Interaction, policy: ReplayPolicy | None, redactor: Redactor) -> str:
    request, response = interaction.request, interaction.response
    request_line = f"{request.method} {redactor.url(request.url)}"
    content_type = request.header("content-type") or "-"
    head = [
        f'<section class="interaction" data-index="{index}">',
        f"<h2>#{index} {_e(request.method)} {_e(request.path)} → {response.status}</h2>",
        f'<div class="request">{_e(request_line)}\nrequest body: {len(request.body):,} bytes ({_e(content_type)}); '
        f"response: {len(response.chunks)} chunks, {len(response.body):,} bytes, ended {response.ended} "
        f"at {_ms(response.end_s)}</div>",
    ]
    if response.timing != "recorded":
        head.append(
            f'<p class="note timing">timing: {response.timing} — the source file kept no chunk timing; '
            + (
                "the body is one chunk at the recorded total time</p>"
                if response.timing == "imported"
                else "chunks are spaced per event by --pace, not measured</p>"
            )
        )
    lanes = [recorded_lane(interaction)]
    if policy is not None:
        lanes.append(sent_lane(interaction, policy))
    head.append(timeline_svg(lanes, response.header("content-type")))
    head.append(events_table(interaction))
    head.append("</section>")
    return "\n".join(head)


def timeline_svg(lanes: Sequence[Lane], content_type: str | None) -> str:
    span = max(max((lane.end_s for lane in lanes), default=0.0), 1e-3)
    plot = WIDTH - _LEFT - _RIGHT
    lane_block = _LANE_HEIGHT + _BAND_HEIGHT + _BYTES_HEIGHT + 18
    height = 24 + lane_block * len(lanes)
    out = [f'<svg class="timeline" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" role="img">']
    out += _axis(span, plot, height)
    for number, lane in enumerate(lanes):
        out += _lane(lane, content_type, 20 + number * lane_block, span, plot)
    out.append("</svg>")
    return "\n".join(out)


def _axis(span: float, plot: int, height: int) -> list[str]:
    out = []
    for tick in range(6):
        seconds = span * tick / 5
        x = _LEFT + plot * tick / 5
        out.append(f'<line x1="{x:.1f}" y1="12" x2="{x:.1f}" y2="{height}" stroke="#f0f0f0"/>')
        out.append(f'<text x="{x:.1f}" y="10" text-anchor="middle">{_ms(seconds)}</text>')
    return out


def _lane(lane: Lane, content_type: str | None, top: float, span: float, plot: int) -> list[str]:
    def x_at(seconds: float) -> float:
        return _LEFT + plot * seconds / span

    body = b"".join(data for _, data in lane.pieces)
    total = max(len(body), 1)

    def x_byte(offset: int) -> float:
        return _LEFT + plot * offset / total

    base = top + _LANE_HEIGHT
    biggest = max((len(data) for _, data in lane.pieces), default=1)
    sent = " sent" if lane.kind == "step" else ""
    out = [
        f'<g class="lane {lane.kind}-lane">',
        f'<text x="4" y="{base - 4}">{lane.label}</text>',
        *([f'<text class="summary" x="{_LEFT}" y="{top + 2}">{_e(lane.summary)}</text>'] if lane.summary else []),
        f'<line class="open" x1="{x_at(lane.headers_at_s):.1f}" y1="{base}" x2="{x_at(lane.end_s):.1f}" y2="{base}"/>',
        f'<rect class="head" x="{x_at(lane.headers_at_s) - 1:.1f}" y="{top + 4}" width="3" height="{_LANE_HEIGHT - 4}">'
        f"<title>headers at {_ms(lane.headers_at_s)}</title></rect>",
    ]
    bytes_top = base + _BAND_HEIGHT
    offset = 0
    first = 1
    for number, (at_s, data) in enumerate(lane.pieces):
        height = 4 + (_LANE_HEIGHT - 8) * len(data) / biggest
        x = x_at(at_s)
        many = lane.count(number)
        which = f"{lane.kind} {first}" if many == 1 else f"{lane.kind}s {first}-{first + many - 1}"
        first += many
        tip = f"{which} at {_ms(at_s)}, {len(data):,} bytes"
        out.append(
            f'<polygon class="band{sent}" points="{x:.1f},{base} {x + 2:.1f},{base} '
            f'{x_byte(offset + len(data)):.1f},{bytes_top} {x_byte(offset):.1f},{bytes_top}"/>'
        )
        out.append(
            f'<rect class="{lane.kind}" data-at-ms="{at_s * 1000:.3f}" data-size="{len(data)}" x="{x - 1:.1f}" '
            f'y="{base - height:.1f}" width="3" height="{height:.1f}"><title>{_e(tip)}</title></rect>'
        )
        offset += len(data)
    end_x = x_at(lane.end_s)
    if lane.cut:
        out.append(
            f'<path class="ending cut" d="M{end_x - 5:.1f},{base - 5} l10,10 m0,-10 l-10,10">'
            f"<title>cut at {_ms(lane.end_s)}: the connection dropped mid-body</title></path>"
        )
    else:
        out.append(
            f'<circle class="ending complete" cx="{end_x:.1f}" cy="{base}" r="4">'
            f"<title>complete at {_ms(lane.end_s)}</title></circle>"
        )
    out.append(
        f'<rect class="body-bar" x="{_LEFT}" y="{bytes_top}" width="{plot}" height="{_BYTES_HEIGHT}">'
        f"<title>the body, {len(body):,} bytes, left to right</title></rect>"
    )
    out.append(f'<text x="4" y="{bytes_top + 11}">bytes</text>')
    offset = 0
    for _, data in lane.pieces[:-1]:
        offset += len(data)
        out.append(
            f'<line class="chunk-edge" x1="{x_byte(offset):.1f}" y1="{bytes_top}" '
            f'x2="{x_byte(offset):.1f}" y2="{bytes_top + _BYTES_HEIGHT}"/>'
        )
    for end in event_ends(body, content_type) if body else []:
        if 0 < end < len(body):
            out.append(
                f'<line class="event-edge" x1="{x_byte(end):.1f}" y1="{bytes_top + _BYTES_HEIGHT / 2}" '
                f'x2="{x_byte(end):.1f}" y2="{bytes_top + _BYTES_HEIGHT}"/>'
            )
    for cut in lane.utf8_cuts:
        x = x_byte(cut)
        out.append(
            f'<polygon class="utf8-cut" points="{x:.1f},{bytes_top + _BYTES_HEIGHT} {x - 4:.1f},'
            f'{bytes_top + _BYTES_HEIGHT + 7} {x + 4:.1f},{bytes_top + _BYTES_HEIGHT + 7}">'
            f"<title>a chunk ends inside a UTF-8 character at byte {cut:,}</title></polygon>"
        )
    out.append("</g>")
    return out


def utf8_cuts(pieces: Sequence[tuple[float, bytes]]) -> list[int]:
    """Byte offsets where one piece ends and the next begins inside a multi-byte character."""
    cuts = []
    offset = 0
    for (_, data), (_, after) in itertools.pairwise(pieces):
        offset += len(data)
        if after and 0x80 <= after[0] < 0xC0:
            cuts.append(offset)
    return cuts


def events_table(interaction: Interaction) -> str:
    response = interaction.response
    found, events = stream_events(response.body, response.header("content-type"))
    if not events:
        return ""
    rows = [
        f'<details open><summary>{len(events)} {FORMAT_NAMES[found]}</summary><table class="events">',
        "<tr><th>#</th><th>offset</th><th>bytes</th><th>event</th><th>text</th><th>data</th></tr>",
    ]
    for number, event in enumerate(events, start=1):
        text = event_text(event.summary)
        rows.append(
            f'<tr class="event"><td>{number}</td><td>{event.offset:,}</td><td>{event.size_bytes:,}</td>'
            f'<td>{_e(event.name)}</td><td class="text">{_e(text)}</td>'
            f'<td class="raw">{_e(_clip(event.summary, 160))}</td></tr>'
        )
    rows.append("</table></details>")
    return "\n".join(rows)


_TEXT_KEYS = ("text", "delta", "content", "response", "thinking", "partial_json")


def event_text(summary: str) -> str:
    """The text an event carries (the model's words), found in its JSON by the usual field names."""
    try:
        value = json.loads(summary)
    except ValueError:
        return ""
    found: list[str] = []
    _collect_text(value, found)
    return "".join(found)


def _collect_text(value: Any, found: list[str]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if key in _TEXT_KEYS and isinstance(item, str):
                found.append(item)
            else:
                _collect_text(item, found)
    elif isinstance(value, list):
        for item in value:
            _collect_text(item, found)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + f"… ({len(text) - limit} more characters)"


def _ms(seconds: float) -> str:
    milliseconds = seconds * 1000
    return f"{milliseconds:.1f} ms" if milliseconds < 10 else f"{milliseconds:.0f} ms"


def _e(text: str) -> str:
    return html.escape(text, quote=True)
