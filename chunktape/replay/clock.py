"""Waiting for a deadline to within microseconds, shared by the server and the async transport.

Event-loop timers fire on whole milliseconds and up to 2 ms late (the selector rounds the
timeout up to a millisecond, then epoll rounds the float up again), plus the wake-up. So a
wait sleeps until 2.3 ms before its deadline, then yields to the loop until it passes. Only
a few waits at once may do that final yielding, so a thousand open streams never busy-wait.
Works on asyncio and trio (through anyio).
"""

from __future__ import annotations

import time

import anyio

SPIN_MARGIN_S = 0.0023
MAX_SPINNING = 8


class Clock:
    """Sleeps until `time.perf_counter()` deadlines; one per event loop."""

    def __init__(self) -> None:
        self.spinning = 0

    async def sleep_until(self, deadline: float) -> None:
        remaining = deadline - time.perf_counter()
        if remaining > SPIN_MARGIN_S:
            await anyio.sleep(remaining - SPIN_MARGIN_S)
            remaining = deadline - time.perf_counter()
        if remaining <= 0:
            return
        if self.spinning >= MAX_SPINNING:  # counted after the long sleep, so the cap holds
            await anyio.sleep(remaining)
            return
        self.spinning += 1
        try:
            while time.perf_counter() < deadline:
                await anyio.sleep(0)
        finally:
            self.spinning -= 1
