"""Server-Sent Events framing: where one event ends and the next begins, on raw bytes.

Follows the WHATWG rule: a line ends with CRLF, LF or CR, and an empty line ends an event.
Works on bytes so a boundary can be found even when the body is not valid UTF-8.
"""

from __future__ import annotations

import re

_LINE_END = re.compile(rb"\r\n|\r|\n")


def event_ends(body: bytes) -> list[int]:
    """Offsets just past each complete event's terminating blank line, in order."""
    ends: list[int] = []
    line_start = 0
    for match in _LINE_END.finditer(body):  # a CRLF pair is one line ending; so is a lone CR or LF
        if match.start() == line_start:  # an empty line ends the event
            ends.append(match.end())
        line_start = match.end()
    return ends


def split_events(body: bytes) -> list[bytes]:
    """The body cut into events (each keeping its terminator); a trailing partial event is kept."""
    pieces: list[bytes] = []
    start = 0
    for end in event_ends(body):
        pieces.append(body[start:end])
        start = end
    if start < len(body):
        pieces.append(body[start:])
    return pieces


def looks_like_sse(content_type: str | None) -> bool:
    return content_type is not None and "text/event-stream" in content_type.lower()
