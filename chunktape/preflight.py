"""How a browser's CORS preflight looks: the recorder lets one pass unrecorded, the replay
server answers one itself (replay/cors.py). A leaf: it imports only the cassette model."""

from __future__ import annotations

from chunktape.cassette import Request


def is_preflight(request: Request) -> bool:
    """OPTIONS with Origin and Access-Control-Request-Method: the browser asking leave to send."""
    return (
        request.method.upper() == "OPTIONS"
        and request.header("origin") is not None
        and request.header("access-control-request-method") is not None
    )
