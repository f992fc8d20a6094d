"""`chunktape inspect --html`: the page opens in a real headless Chromium, draws a mark per
chunk, shows the events' CJK text, and logs no console error.

The README's picture (docs/gemini-timeline.png) is this test's screenshot of the bundled Gemini
cassette: `CHUNKTAPE_UPDATE_PICTURES=1 pytest tests/test_views_timeline_browser.py` rewrites it.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from chunktape.knobs import ReplayPolicy
from chunktape.persist import load_cassette
from chunktape.views.timeline import MIN_MARKS, sent_lane, utf8_cuts
from tests.support.browser import chromium_browser
from tests.support.builders import sse_interaction
from tests.support.serving import invoke

ROOT = Path(__file__).resolve().parents[2]
GEMINI = ROOT / "cassettes" / "gemini_stream.yaml"
PICTURE = ROOT / "docs" / "gemini-timeline.png"


def open_page(browser: Any, html_path: Path) -> tuple[Any, list[str]]:
    page = browser.new_page(viewport={"width": 1000, "height": 800})
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "request",
        lambda request: (
            errors.append(f"network: {request.url}") if not request.url.startswith(("file:", "data:")) else None
        ),
    )
    page.goto(html_path.as_uri())
    page.wait_for_selector("svg.timeline")
    return page, errors


def test_the_gemini_timeline_renders_every_chunk_and_the_cjk_text(tmp_path: Path) -> None:
    out = tmp_path / "gemini.html"
    result = invoke("inspect", str(GEMINI), "--html", str(out))
    assert result.exit_code == 0, result.output
    chunks = len(load_cassette(str(GEMINI)).interactions[0].response.chunks)
    with chromium_browser() as browser:
        page, errors = open_page(browser, out)
        assert page.locator("svg.timeline rect.chunk").count() == chunks == 7
        assert page.locator("svg.timeline rect.step").count() == 0
        assert page.locator("circle.ending.complete").count() == 1
        text = page.inner_text("table.events")
        assert "这里是第一段" in text
        assert "最后一段：一切正常，完毕" in text
        assert page.locator("svg.timeline").first.bounding_box()["width"] > 500
        picture = tmp_path / "gemini-timeline.png"
        page.locator("section.interaction").first.screenshot(path=str(picture))
        assert errors == []
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if os.environ.get("CHUNKTAPE_UPDATE_PICTURES") == "1":
        shutil.copyfile(picture, PICTURE)


def test_knobs_add_the_schedule_a_chaos_run_sends(tmp_path: Path) -> None:
    out = tmp_path / "utf8.html"
    result = invoke("inspect", str(GEMINI), "--html", str(out), "--split", "utf8", "--delay", "first:300ms")
    assert result.exit_code == 0, result.output
    with chromium_browser() as browser:
        page, errors = open_page(browser, out)
        steps = page.locator("svg.timeline rect.step")
        assert steps.count() > 7  # utf8 cuts inside every multi-byte character
        assert page.locator("svg .step-lane polygon.utf8-cut").count() > 0
        recorded = load_cassette(str(GEMINI)).interactions[0].response.chunks
        recorded_cuts = utf8_cuts([(chunk.at_s, chunk.data) for chunk in recorded])
        assert len(recorded_cuts) == 1  # the bundled recording cut one character itself
        assert page.locator("svg .chunk-lane polygon.utf8-cut").count() == len(recorded_cuts)
        assert page.locator("svg .step-lane polygon.utf8-cut").count() > len(recorded_cuts)
        first_ms = float(steps.first.get_attribute("data-at-ms"))
        assert first_ms >= 300 + 381 - 1  # first:300ms on top of the recorded first byte
        assert "split=utf8" in page.inner_text("p.policy")
        assert errors == []


def test_a_cut_stream_shows_its_ending_as_cut(tmp_path: Path) -> None:
    out = tmp_path / "cut.html"
    result = invoke("inspect", str(GEMINI), "--html", str(out), "--fault", "cut:2")
    assert result.exit_code == 0, result.output
    with chromium_browser() as browser:
        page, errors = open_page(browser, out)
        assert page.locator(".step-lane .ending.cut").count() == 1
        assert page.locator(".step-lane rect.step").count() == 2
        assert page.locator(".chunk-lane .ending.complete").count() == 1
        assert errors == []


def test_an_unwritable_html_path_is_one_line_and_exit_2(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a folder")  # missing folders are made; this one cannot be
    result = invoke("inspect", str(GEMINI), "--html", str(tmp_path / "a-file" / "x.html"))
    assert result.exit_code == 2
    assert "cannot write the HTML timeline" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_a_schedule_of_thousands_of_steps_is_drawn_as_a_bounded_number_of_marks() -> None:
    body = ('data: {"text":"' + "流式输出" * 300 + '"}\n\n').encode()
    interaction = sse_interaction(body=body, offsets=[1000, 2000], times=[0.1, 0.2, 0.3])
    lane = sent_lane(interaction, ReplayPolicy.from_knobs(split="bytes:1", speed=0))
    assert len(lane.pieces) == MIN_MARKS
    assert b"".join(data for _, data in lane.pieces) == body  # every byte is still drawn, in groups
    assert sum(lane.counts) == len(body)
    assert len(lane.utf8_cuts) == MIN_MARKS
    assert (
        lane.summary
        == f"{len(body):,} steps drawn as 64 marks; {1200 * 2:,} cuts inside a UTF-8 character, the first 64 drawn"
    )
