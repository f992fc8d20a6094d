"""The clocks a replay waits on: the machine's, to within microseconds, or the event loop's own.

On a real clock, event-loop timers fire on whole milliseconds and up to 2 ms late (the
selector rounds the timeout up to a millisecond, then epoll rounds the float up again),
plus the wake-up. So `WallClock` sleeps until 2.3 ms before its deadline, then yields to
the loop until it passes; only a few waits at once may do that final yielding, so a
thousand open streams never busy-wait. Works on asyncio and trio (through anyio).

Under a test clock (looptime on asyncio, trio's `MockClock`) the loop's time is not the
machine's: `LoopClock` waits on the loop's own clock, which then jumps straight to each
deadline, so a 10-minute stall replays in milliseconds and lands exactly. Which one a
replay uses is the clock mode: "auto" (the loop's clock when it is virtual), "real" or
"virtual". Sync code has no loop clock to jump: `BeatClock` steps a counter instead.
"""

from __future__ import annotations

import asyncio
import importlib
import sys
import threading
import time
from typing import Literal, Protocol

import anyio

from chunktape.errors import ChunktapeError

SPIN_MARGIN_S = 0.0023
MAX_SPINNING = 8
SYNC_SPIN_S = 0.0005
"""How much of a sync wait watches the clock instead of sleeping (a thread's own time)."""

ClockMode = Literal["auto", "real", "virtual"]
CLOCK_MODES: tuple[ClockMode, ...] = ("auto", "real", "virtual")


class AsyncClock(Protocol):
    """What an async replay reads and waits on; deadlines are values of `now()`."""

    def now(self) -> float: ...

    async def sleep_until(self, deadline: float) -> None: ...


class SyncClock(Protocol):
    """What a sync replay reads and waits on; deadlines are values of `now()`."""

    def now(self) -> float: ...

    def sleep_until(self, deadline: float) -> None: ...


class WallClock:
    """Sleeps until `time.perf_counter()` deadlines to within microseconds; one per event loop."""

    def __init__(self) -> None:
        self.spinning = 0

    def now(self) -> float:
        return time.perf_counter()

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


Clock = WallClock
"""The name the replay server knows it by."""


class LoopClock:
    """The running event loop's own clock (asyncio `loop.time()`, trio's clock), through anyio."""

    def now(self) -> float:
        return anyio.current_time()

    async def sleep_until(self, deadline: float) -> None:
        await anyio.sleep_until(deadline)


class SleepClock:
    """A sync replay on real time: `time.sleep` to `perf_counter` deadlines."""

    def now(self) -> float:
        return time.perf_counter()

    def sleep_until(self, deadline: float) -> None:
        # time.sleep may wake a millisecond or two late on a busy machine: sleep to just short
        # of the deadline, then watch the clock for the rest (at most SYNC_SPIN_S per wait)
        remaining = deadline - time.perf_counter()
        if remaining > SYNC_SPIN_S:
            time.sleep(remaining - SYNC_SPIN_S)
        while time.perf_counter() < deadline:
            pass


class BeatClock:
    """Virtual time for sync code: a counter that each wait moves to its deadline at once.

    A thread cannot jump the machine's clock, so the client's own timers and reads of
    `time.monotonic()` see no gaps; what runs on this clock (the replayed beats, a read
    timeout decided from them, a StreamClock given it) sees the recorded times exactly.
    """

    def __init__(self, start_s: float = 0.0) -> None:
        self._now = start_s
        self._lock = threading.Lock()

    def now(self) -> float:
        return self._now

    def sleep_until(self, deadline: float) -> None:
        with self._lock:
            self._now = max(self._now, deadline)


def _running_loop() -> object | None:
    """The clock of trio's run, or the asyncio loop, running in this thread; None outside one."""
    trio = sys.modules.get("trio")
    if trio is not None:
        try:
            clock: object = trio.lowlevel.current_clock()
        except RuntimeError:
            pass
        else:
            return clock
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def in_event_loop() -> bool:
    """Whether this code runs inside an event loop (asyncio or trio)."""
    return _running_loop() is not None


def loop_clock_is_virtual() -> bool:
    """Whether an event loop runs in this thread on a test clock (looptime, trio's MockClock)
    rather than the machine's; False when no loop runs."""
    running = _running_loop()
    if running is None:
        return False
    if not isinstance(running, asyncio.AbstractEventLoop):  # trio's clock
        kind = type(running)
        return not (kind.__name__ == "SystemClock" and kind.__module__.startswith("trio"))
    looptime_on = getattr(running, "looptime_on", None)
    if isinstance(looptime_on, bool):
        return looptime_on
    if type(running).time is asyncio.BaseEventLoop.time:
        return False
    return abs(running.time() - time.monotonic()) > 1.0  # some other loop whose time is its own


_wall_clock = WallClock()
_loop_clock = LoopClock()
_sleep_clock = SleepClock()


def check_mode(mode: str) -> ClockMode:
    """`mode` as a ClockMode, or a ChunktapeError naming the choices."""
    for known in CLOCK_MODES:
        if mode == known:
            return known
    raise ChunktapeError(f"unknown clock {mode!r}: use one of {', '.join(CLOCK_MODES)}")


def async_clock(mode: ClockMode) -> AsyncClock:
    """The clock an async replay started now waits on, for clock `mode`."""
    if mode == "real":
        return _wall_clock
    if loop_clock_is_virtual():
        return _loop_clock
    if mode == "virtual":
        raise ChunktapeError(
            "clock 'virtual' needs an event loop on a test clock, but this one runs on real time: "
            "mark the test @pytest.mark.looptime (asyncio) or run trio with MockClock(autojump_threshold=0)"
        )
    return _wall_clock


def observer_clock(mode: ClockMode = "auto") -> AsyncClock | SyncClock:
    """The clock a StreamClock started now reads: the loop's when async replays wait on it."""
    if mode != "real" and loop_clock_is_virtual():
        return _loop_clock
    return _sleep_clock


def warm_async_backends() -> None:
    """Import what anyio loads on its first sleep (its asyncio backend, and trio's when trio is
    in use: some thirty modules, ~10 ms) now, so a first replayed response is not late by it."""
    importlib.import_module("anyio._backends._asyncio")
    if sys.modules.get("trio") is not None:  # imported (None marks a module blocked on purpose)
        importlib.import_module("anyio._backends._trio")
