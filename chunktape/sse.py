"""Server-Sent Events framing: where one event ends and the next begins, on raw bytes.

Follows the WHATWG rule: a line ends with CRLF, LF or CR, and an empty line ends an event.
Works on bytes so a boundary can be found even when the body is not valid UTF-8.
"""

from __future__ import annotations

_CR = 0x0D
_LF = 0x0A


def event_ends(body: bytes) -> list[int]:
    """Offsets just past each complete event's terminating blank line, in order."""
    ends: list[int] = []
    i = 0
    n = len(body)
    line_start = 0
    while i < n:
        byte = body[i]
        if byte != _CR and byte != _LF:
            i += 1
            continue
        line_is_empty = i == line_start
        # a CRLF pair is one line ending; a CR at the very end may still be followed by LF later
        if byte == _CR and i + 1 < n and body[i + 1] == _LF:
            i += 2
        else:
            i += 1
        if line_is_empty:
            ends.append(i)
        line_start = i
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
