"""A drift report as one self-contained HTML page: per request, its findings and the timelines
of the recorded and the live response, one over the other on the same time axis (the
timeline page's lanes: views/timeline.py)."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass

from chunktape.cassette import Interaction
from chunktape.views.drift import DriftReport, InteractionDrift
from chunktape.views.timeline import Lane, html_page, recorded_lane, timeline_svg

_STYLE = """
.breaking{color:#b00;font-weight:600} .notable{color:#8a5a00} .timing{color:#2f6fdf}
.verdict{font-size:.95em} .stopped{color:#b00}
"""


@dataclass(frozen=True)
class Compared:
    """One request's findings with the two responses they came from (`live` None when the
    request could not be sent)."""

    drift: InteractionDrift
    recorded: Interaction
    live: Interaction | None


def render_drift_page(report: DriftReport, compared: Sequence[Compared], *, title: str = "chunktape drift") -> str:
    parts = [f"<h1>{_e(title)}</h1>", f'<pre class="verdict">{_e(report.render())}</pre>']
    if report.error is not None:
        parts.append(f'<p class="stopped">stopped early: {_e(report.error)}</p>')
    for number, one in enumerate(compared, start=1):
        parts.append(_section(number, one))
    return html_page(title, parts, _STYLE)


def _section(number: int, one: Compared) -> str:
    drift = one.drift
    out = [f'<section class="interaction" data-index="{number}">', f"<h2>#{number} {_e(drift.request)}</h2>"]
    if drift.findings:
        rows = "".join(
            f'<tr class="finding"><td class="{finding.severity}">{finding.severity}</td><td>{_e(finding.kind)}</td>'
            f"<td><code>{_e(finding.path)}</code></td><td>{_e(finding.event or '')}</td>"
            f"<td>{_e(finding.recorded)}</td><td>{_e(finding.live)}</td></tr>"
            for finding in drift.findings
        )
        out.append(
            "<table><tr><th>severity</th><th>kind</th><th>path</th><th>event</th><th>recorded</th><th>live</th></tr>"
            f"{rows}</table>"
        )
    else:
        out.append('<p class="note">no drift</p>')
    out += [f'<p class="note">{_e(note)}</p>' for note in drift.notes]
    lanes = [recorded_lane(one.recorded)]
    if one.live is not None:
        response = one.live.response
        pieces = tuple((chunk.at_s, chunk.data) for chunk in response.chunks)
        lanes.append(Lane("live", "step", response.headers_at_s, pieces, response.end_s, response.ended == "cut"))
    out.append(timeline_svg(lanes, one.recorded.response.header("content-type")))
    out.append("</section>")
    return "\n".join(out)


def _e(text: str) -> str:
    return html.escape(text, quote=True)
