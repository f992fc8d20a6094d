"""Debian's Chromium driven by Playwright, for the browser tests: `scripts/browser.sh` installs
it (CI runs as root); where it is missing, the tests skip with the reason printed."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str:
    """The chromium executable, or skip the test saying how to get one."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.skip("no chromium on this machine: run scripts/browser.sh as root (apt-get install chromium)")
    return path


@contextmanager
def chromium_browser() -> Iterator[Any]:
    """A headless Chromium (Playwright's sync API), closed after."""
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
