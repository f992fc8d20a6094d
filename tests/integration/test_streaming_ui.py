"""A streaming chat UI in a real browser (Debian's chromium, driven by Playwright), reading its
backend's SSE stream replayed by chunktape: the recipe of docs/streaming-ui.md, as tests.

The pages (tests/support/chat_page/) are served from their own origin and point their API
base at `chunktape.base_url`; the cassette's mount has `cors="on"`, as a browser needs.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.browser import chromium_browser
from tests.support.chat import RETRY_MS, TEXT, TOKENS, first_connection
from tests.support.pages import serve_directory

pytestmark = pytest.mark.chunktape("chat_ui.yaml", cors="on")

DONE = "window.chat.done || window.chat.error !== null && window.chat.error !== undefined"
WAIT_MS = 30_000
REPLACEMENT = "\ufffd"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium_browser() as browser:
        yield browser


@pytest.fixture(scope="module")
def pages_url() -> Iterator[str]:
    with serve_directory() as url:
        yield url


@pytest.fixture
def open_page(browser: Any, pages_url: str, chunktape: Any) -> Iterator[Any]:
    """`open_page("fetch.html")`: the page, its API base pointed at this test's replay."""
    context = browser.new_context()

    def opening(name: str, extra: str = "") -> Any:
        page = context.new_page()
        page.goto(f"{pages_url}/{name}?api={chunktape.base_url}{extra}")
        return page

    try:
        yield opening
    finally:
        context.close()


def _finished(page: Any) -> dict[str, Any]:
    page.wait_for_function(DONE, timeout=WAIT_MS)
    chat: dict[str, Any] = page.evaluate("window.chat")
    return chat


@pytest.mark.chunktape_chaos(split=["recorded", "utf8", "random:1-7"], fault=[None, "cut:2"])
def test_the_fetch_page_shows_the_recorded_text_first_token_on_time(open_page: Any, chunktape: Any) -> None:
    interaction = chunktape.player.cassettes[0].interactions[0]
    expected, first_at = first_connection(interaction, chunktape.policy)
    page = open_page("fetch.html")
    chat = _finished(page)
    shown = page.inner_text("#out")
    assert REPLACEMENT not in shown
    assert chat["tokens"] == expected
    if chunktape.policy.fault is None:
        assert chat["done"]
        assert shown == TEXT
    else:  # the body broke: the page shows what came whole, and its error
        assert chat["error"]
        assert shown == "".join(expected)
    if first_at is not None:  # not before it was sent; a generous bound after (precise figures: bench)
        page_first_s = chat["times"][0] / 1000
        assert first_at - 0.01 <= page_first_s <= first_at + 3.0
        assert chat["times"] == sorted(chat["times"])


@pytest.mark.parametrize("chunktape_knobs", [{"split": "utf8", "delay": "chunk:20ms"}])
def test_a_page_decoding_each_read_alone_garbles_under_split_utf8(open_page: Any, chunktape: Any) -> None:
    """The bug the fetch page avoids with {stream: true}: what the test above would catch.
    A busy browser may read two pieces at once, joining a split character again, so this
    counts the reads that began mid-character: whenever there was one, the text is garbled."""
    split_reads = 0
    for _ in range(5):  # bounded: a load where no read split a character proves nothing either way
        page = open_page("fetch.html", "&naive=1")
        chat = _finished(page)
        garbled = REPLACEMENT in page.inner_text("#out")
        assert garbled == (chat["splitReads"] > 0)
        split_reads += chat["splitReads"]
        if split_reads:
            break
    assert split_reads > 0, "in five loads no read began inside a character"


@pytest.mark.chunktape_chaos(split=["recorded", "utf8", "events"], fault=[None, "cut:2"])
def test_the_eventsource_page_reconnects_and_shows_each_token_once(open_page: Any, chunktape: Any) -> None:
    page = open_page("eventsource.html")
    chat = _finished(page)
    assert chat["done"]
    assert page.inner_text("#out") == TEXT
    assert chat["tokens"] == list(TOKENS)
    assert chat["ids"] == [str(index) for index in range(1, len(TOKENS) + 1)]
    if chunktape.policy.fault is None:
        assert len(chat["opens"]) == 1
    else:  # cut once; back after the last id it saw (or from the start, if it saw none), never cut again
        assert len(chat["opens"]) == 2
        pause_s = (chat["opens"][1] - chat["errors"][0]) / 1000
        # the recorded `retry: 200` (its first line) paces the reconnect: never sooner (how close to
        # 200 ms it comes, against the browser's default of 3 s, is a timing figure: bench/)
        assert pause_s >= RETRY_MS / 1000 * 0.75


@pytest.mark.parametrize("chunktape_knobs", [{"fault": "cut:2", "resume": "start"}])
def test_resume_start_shows_a_page_that_trusts_the_backend_to_resume_repeating_tokens(
    open_page: Any, chunktape: Any
) -> None:
    """A backend that restarts the stream on reconnection: a naive page shows the first tokens twice."""
    page = open_page("eventsource.html")
    chat = _finished(page)
    assert chat["tokens"] == [*TOKENS[:2], *TOKENS]


def test_recording_the_page_through_the_recorder_then_replaying_it(browser: Any, pages_url: str, tmp_path: Any) -> None:
    """The record step of the recipe, end to end: the page talks to a real streaming backend
    with CORS (here a replay server) through the reverse-mode recorder; its preflight reaches
    the backend but not the cassette; the cassette then replays to the same page."""
    from chunktape import CassettePlayer, Recorder, load_cassette
    from chunktape.replay.server import ReplayServer
    from tests.support.chat import chat_cassette

    path = str(tmp_path / "recorded_ui.yaml")
    context = browser.new_context()
    try:
        with contextlib.ExitStack() as running:
            backend = running.enter_context(ReplayServer(CassettePlayer([chat_cassette()]), cors="on"))
            recorder = running.enter_context(Recorder(path, upstream=backend.base_url))
            page = context.new_page()
            page.goto(f"{pages_url}/fetch.html?api={recorder.base_url}")
            assert _finished(page)["done"]
        recorded = load_cassette(path)
        assert [i.request.method for i in recorded.interactions] == ["POST"]
        with ReplayServer(CassettePlayer([recorded]), cors="on") as replay:
            page = context.new_page()
            page.goto(f"{pages_url}/fetch.html?api={replay.base_url}")
            chat = _finished(page)
        assert chat["done"]
        assert page.inner_text("#out") == TEXT
    finally:
        context.close()
