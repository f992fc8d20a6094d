"""9. A streaming UI in a real browser: when the tokens of a replayed stream show up in a page.

The fetch chat page of the browser tests (tests/support/chat_page/fetch.html: fetch, a
TextDecoder with {stream: true}, one token per SSE event) runs in headless chromium against
`ReplayServer(cors="on")`; it stamps each token with performance.now() from just before its
fetch. Beside it, an httpx client reads the same stream from the same server. Figures:
time to first token against the recorded one (the page's includes its CORS preflight), and
the gap error |observed gap - recorded gap| between consecutive tokens.
"""

from __future__ import annotations

import json
import random
import shutil
import time
from pathlib import Path
from typing import Any

from bench.common import ROOT, median, percentile
from bench.report import Section

TOKENS = 50
FIRST_TOKEN_AT_S = 0.25
GAP_RANGE_S = (0.005, 0.080)
PAGES = ROOT / "tests" / "support" / "chat_page"
WAIT_MS = 60_000


def _cassette() -> tuple[Any, list[float]]:
    """A chat backend's stream: TOKENS events at seeded random gaps; and each token's recorded time."""
    from chunktape import Cassette, Chunk, Interaction, Request, Response

    rng = random.Random(9)
    times, at = [], FIRST_TOKEN_AT_S
    for _ in range(TOKENS):
        times.append(at)
        at += rng.uniform(*GAP_RANGE_S)
    events = [
        f"id: {i}\ndata: {json.dumps({'token': f'字{i}🙂'}, ensure_ascii=False)}\n\n".encode() for i in range(TOKENS)
    ]
    events.append(b"event: done\ndata: {}\n\n")
    times_all = [*times, times[-1] + 0.01]
    chunks = tuple(Chunk(at_s=t, data=data) for t, data in zip(times_all, events, strict=True))
    request = Request(
        "POST", "http://backend.test/api/chat", (("content-type", "application/json"),), b'{"message":"hello"}'
    )
    response = Response(200, (("content-type", "text/event-stream"),), 0.05, chunks)
    return Cassette([Interaction(request, response)]), times


def _errors(observed_s: list[float], recorded_s: list[float]) -> tuple[float, list[float]]:
    """(first-token error, gap errors), seconds."""
    gaps = [
        abs((observed_s[i] - observed_s[i - 1]) - (recorded_s[i] - recorded_s[i - 1]))
        for i in range(1, len(observed_s))
    ]
    return observed_s[0] - recorded_s[0], gaps


def _page_times(browser: Any, pages_url: str, api: str) -> list[float]:
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(f"{pages_url}/fetch.html?api={api}")
        page.wait_for_function("window.chat.done || window.chat.error !== null", timeout=WAIT_MS)
        chat = page.evaluate("window.chat")
        if chat["error"]:
            raise RuntimeError(f"the page failed: {chat['error']}")
        return [ms / 1000 for ms in chat["times"]]
    finally:
        context.close()


def _httpx_times(api: str) -> list[float]:
    import httpx

    times: list[float] = []
    buffer = b""
    with httpx.Client(timeout=60) as client:  # made before the clock starts: its TLS context costs ~50 ms
        started = time.perf_counter()
        with client.stream("POST", api + "/api/chat", content=b'{"message":"hello"}') as response:
            for piece in response.iter_raw():
                buffer += piece
                while b"\n\n" in buffer:
                    event, buffer = buffer.split(b"\n\n", 1)
                    if b"event: done" not in event:
                        times.append(time.perf_counter() - started)
    return times


def run(work: Path, rounds: int) -> Section:
    from playwright.sync_api import sync_playwright

    from chunktape import CassettePlayer
    from chunktape.replay.server import ReplayServer
    from tests.support.browser import CHROMIUM_ARGS
    from tests.support.pages import serve_directory

    cassette, recorded = _cassette()
    samples: dict[str, dict[str, list[float]]] = {name: {"first": [], "gaps": []} for name in ("page", "httpx")}

    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        raise RuntimeError("no chromium: run scripts/browser.sh as root (apt-get install chromium)")
    with (
        ReplayServer(CassettePlayer([cassette]), cors="on") as server,
        serve_directory(PAGES) as pages_url,
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            _page_times(browser, pages_url, server.base_url)  # warm-up: chromium's first page pays its start
            for _ in range(rounds):  # interleaved, so machine noise falls on both alike
                for name, observed in (
                    ("page", _page_times(browser, pages_url, server.base_url)),
                    ("httpx", _httpx_times(server.base_url)),
                ):
                    first, gaps = _errors(observed, recorded)
                    samples[name]["first"].append(first * 1000)
                    samples[name]["gaps"].extend(gap * 1000 for gap in gaps)
        finally:
            browser.close()

    section = Section(
        "browser_ui",
        f"Streaming UI in chromium: {TOKENS} tokens, gaps {GAP_RANGE_S[0] * 1000:.0f}-{GAP_RANGE_S[1] * 1000:.0f} ms (ms)",
        ["client", "first token - recorded p50", "max", "gap err p50", "p90", "p99", "max", "rounds"],
    )
    labels = {"page": "chromium fetch page (performance.now)", "httpx": "httpx, same server"}
    for name, seen in samples.items():
        section.add(
            labels[name],
            median(seen["first"]),
            max(seen["first"]),
            median(seen["gaps"]),
            percentile(seen["gaps"], 90),
            percentile(seen["gaps"], 99),
            max(seen["gaps"]),
            rounds,
        )
    section.data = samples
    section.notes.append(
        f"Recorded first token at {FIRST_TOKEN_AT_S * 1000:.0f} ms; the page's figure includes its CORS preflight "
        "round trip (Access-Control-Max-Age 0: one per fetch) and the page's own event loop."
    )
    return section
