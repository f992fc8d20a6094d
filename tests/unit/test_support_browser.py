"""The browser tests' own footing: Debian's Chromium starts headless under Playwright."""

from __future__ import annotations

from tests.support.browser import chromium_browser


def test_chromium_renders_a_page_with_cjk_text() -> None:
    with chromium_browser() as browser:
        page = browser.new_page()
        page.set_content("<h1>流式 stream</h1>")
        assert page.inner_text("h1") == "流式 stream"
