"""Plays one Schedule onto an ASGI connection: the head, each step as its own body message
at its own moment, and the ending, a clean end of body or a cut of the connection.

Each step is one `http.response.body` message, which uvicorn writes to the socket at once
(asyncio sets TCP_NODELAY), so the client sees the recorded chunk boundaries and rhythm.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Literal

from chunktape.replay.clock import Clock
from chunktape.replay.stats import ServeStats
from chunktape.schedule import Schedule

Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
Outcome = Literal["complete", "cut"]

HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade"}
)


def wire_headers(schedule: Schedule) -> list[tuple[bytes, bytes]]:
    """The recorded headers fit for this connection.

    Hop-by-hop headers belonged to the recorded connection, not this one. Content-Length
    is kept only when it is true of what will be sent: equal to the body for a complete
    response, or larger than what is sent before a cut (the client then sees a short body,
    exactly as when the upstream dropped). Otherwise the body goes chunked. Content-Encoding
    is kept: the bytes are stored exactly as they were received.
    """
    sent = sum(len(step.data) for step in schedule.steps)
    headers: list[tuple[bytes, bytes]] = []
    declared: int | None = None
    for name, value in schedule.headers:
        lowered = name.lower()
        if lowered in HOP_BY_HOP:
            continue
        if lowered == "content-length":
            declared = int(value) if value.strip().isdigit() else None
            continue
        headers.append((lowered.encode("latin-1"), value.encode("latin-1")))
    consistent = declared == sent if schedule.ending == "complete" else declared is not None and declared > sent
    if consistent:
        headers.append((b"content-length", str(declared).encode("ascii")))
    return headers


async def emit(
    schedule: Schedule, started: float, send: Send, clock: Clock, stats: ServeStats | None = None
) -> Outcome:
    """Send `schedule` with every time measured from `started` (a perf_counter reading).

    Returns "cut" when the connection must now be dropped without ending the body; the
    caller returns from the ASGI app and the server closes the transport mid-body. With
    `stats`, the stream and each write's lateness are counted there.
    """
    fault = schedule.policy.fault
    if stats is not None:
        stats.started(fault.kind if fault is not None else None)
    worst = 0.0
    ended = False
    try:
        due = started + schedule.headers_at_s
        await clock.sleep_until(due)
        await send({"type": "http.response.start", "status": schedule.status, "headers": wire_headers(schedule)})
        worst = _late(stats, due, worst)
        for step in schedule.steps:
            due = started + step.at_s
            await clock.sleep_until(due)
            await send({"type": "http.response.body", "body": step.data, "more_body": True})
            worst = _late(stats, due, worst)
        await clock.sleep_until(started + schedule.end_at_s)
        ended = True
        if schedule.ending == "cut":
            return "cut"
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        return "complete"
    finally:
        if stats is not None:
            stats.ended(worst, dropped=not ended)


def _late(stats: ServeStats | None, due: float, worst: float) -> float:
    if stats is None:
        return worst
    lateness = time.perf_counter() - due
    stats.late(lateness)
    return max(worst, lateness)
