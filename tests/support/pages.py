"""Static pages served from a real HTTP server on 127.0.0.1, a port of their own, so the
page's origin differs from the replay server's, as an app's frontend does from its API."""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

CHAT_PAGES = Path(__file__).resolve().parent / "chat_page"


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # the base class's name
        pass


@contextmanager
def serve_directory(directory: Path = CHAT_PAGES) -> Iterator[str]:
    """The base URL of `directory`, served until the block ends."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="chat-pages", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
