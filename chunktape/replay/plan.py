"""A schedule as the socket writes it: every write's bytes framed once, ahead of the first request.

The replay server's direct path (`direct.py`) sends a stream as a chain of timed writes; the
bytes are the ones uvicorn writes for the same ASGI messages (status line, headers, chunked
framing, the final zero chunk), prepared once per schedule and connection kind, so a
moment costs one timer and one `transport.write` however many streams share it.
"""

from __future__ import annotations

import http
import re
import threading
from dataclasses import dataclass

from chunktape.replay.emit import wire_headers
from chunktape.schedule import Schedule

_BAD_VALUE = re.compile(b"[\x00-\x08\x0a-\x1f\x7f]")  # uvicorn refuses such a header value
_MAX_PLANS = 4096
_MERGE_BYTES = 64 * 1024
"""Writes due at one moment are joined up to this size; larger ones stay apart, so a client
that does not read holds the server up at a write (flow control), not at a whole body."""


def status_line(status: int) -> bytes:
    """The status line as uvicorn writes it (the standard phrase, or none for an unknown code)."""
    try:
        phrase = http.HTTPStatus(status).phrase.encode()
    except ValueError:
        phrase = b""
    return b"HTTP/1.1 %d %s\r\n" % (status, phrase)


@dataclass(frozen=True, slots=True)
class Plan:
    """Writes `(at_s, bytes)` from the request's arrival: the bytes of every ASGI message the
    careful path would send at that moment (the end of the body last, empty when nothing
    marks it), so chunks recorded at one instant (or all of them at speed 0) are one write of
    up to 64 KiB; after the last, close or keep the connection."""

    at_s: tuple[float, ...]
    data: tuple[bytes, ...]
    close: bool
    """Close the connection after the last write: a cut, or a client that asked to close."""
    complete: bool
    """The body ended cleanly (False: cut mid-body)."""


def head_bytes(status: int, headers: list[tuple[bytes, bytes]], keep_alive: bool) -> tuple[bytes, bool] | None:
    """The response head and whether the body goes chunked, as uvicorn frames them; None when
    uvicorn would refuse a header (the careful path then answers, as it would)."""
    content = [status_line(status)]
    chunked: bool | None = None
    for name, value in headers:
        if _BAD_VALUE.search(value):
            return None
        if name == b"content-length" and chunked is None:
            chunked = False
        content.extend([name, b": ", value, b"\r\n"])
    if not keep_alive:
        content.append(b"connection: close\r\n")
    if chunked is None and status not in (204, 304):
        chunked = True
        content.append(b"transfer-encoding: chunked\r\n")
    content.append(b"\r\n")
    return b"".join(content), bool(chunked)


def build_plan(schedule: Schedule, keep_alive: bool) -> Plan | None:
    """The writes for `schedule` on a connection that stays open after it (`keep_alive`) or not."""
    head = head_bytes(schedule.status, wire_headers(schedule), keep_alive)
    if head is None:
        return None
    head_data, chunked = head
    writes: list[tuple[float, bytes]] = [(schedule.headers_at_s, head_data)]
    for step in schedule.steps:
        if not step.data:
            continue
        framed = b"%x\r\n%b\r\n" % (len(step.data), step.data) if chunked else step.data
        writes.append((step.at_s, framed))
    complete = schedule.ending == "complete"
    writes.append((schedule.end_at_s, b"0\r\n\r\n" if complete and chunked else b""))
    merged: list[tuple[float, bytes]] = []
    for at_s, data in writes:  # one write per moment: what is due at once goes out at once
        if merged and at_s == merged[-1][0] and len(merged[-1][1]) + len(data) <= _MERGE_BYTES:
            merged[-1] = (at_s, merged[-1][1] + data)
        else:
            merged.append((at_s, data))
    return Plan(
        at_s=tuple(at for at, _ in merged),
        data=tuple(data for _, data in merged),
        close=not complete or not keep_alive,
        complete=complete,
    )


class Plans:
    """Plans built once per schedule and connection kind; thread-safe, bounded."""

    def __init__(self) -> None:
        self._plans: dict[tuple[int, bool], tuple[Schedule, Plan | None]] = {}
        self._lock = threading.Lock()

    def get(self, schedule: Schedule, keep_alive: bool) -> Plan | None:
        key = (id(schedule), keep_alive)
        found = self._plans.get(key)
        if found is not None and found[0] is schedule:
            return found[1]
        plan = build_plan(schedule, keep_alive)
        with self._lock:
            if len(self._plans) >= _MAX_PLANS:
                self._plans.clear()
            self._plans[key] = (schedule, plan)  # the schedule is kept, so its id is not reused
        return plan
