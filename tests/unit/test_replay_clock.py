"""chunktape.replay.clock: which clock a replay waits on, and the clocks themselves."""

from __future__ import annotations

import asyncio

import looptime
import pytest
import trio
from trio.testing import MockClock

from chunktape import ChunktapeError
from chunktape.replay.clock import (
    BeatClock,
    LoopClock,
    WallClock,
    async_clock,
    in_event_loop,
    loop_clock_is_virtual,
    observer_clock,
)


async def _seen() -> tuple[bool, bool]:
    return in_event_loop(), loop_clock_is_virtual()


def test_no_loop_is_no_virtual_clock() -> None:
    assert (in_event_loop(), loop_clock_is_virtual()) == (False, False)
    assert not isinstance(observer_clock(), LoopClock)


def test_a_plain_asyncio_loop_and_trios_system_clock_are_real() -> None:
    assert asyncio.run(_seen()) == (True, False)
    assert trio.run(_seen) == (True, False)


def test_looptime_and_trios_mock_clock_are_virtual() -> None:
    loop = looptime.new_event_loop()
    try:
        assert loop.run_until_complete(_seen()) == (True, True)
    finally:
        loop.close()
    assert trio.run(_seen, clock=MockClock(autojump_threshold=0)) == (True, True)


def test_a_looptime_loop_with_looptime_off_is_real() -> None:
    loop = looptime.new_event_loop(_enabled=False)  # how looptime's plugin leaves loops it did not enable
    try:
        assert loop.run_until_complete(_seen()) == (True, False)
    finally:
        loop.close()


def test_each_mode_picks_its_clock() -> None:
    async def picked() -> tuple[type, type, type]:
        return type(async_clock("auto")), type(async_clock("real")), type(async_clock("virtual"))

    assert trio.run(picked, clock=MockClock(autojump_threshold=0)) == (LoopClock, WallClock, LoopClock)
    with pytest.raises(ChunktapeError, match="clock 'virtual' needs an event loop on a test clock"):
        trio.run(picked)


def test_a_beat_clock_moves_to_each_deadline_and_never_back() -> None:
    beats = BeatClock()
    beats.sleep_until(600.5)
    beats.sleep_until(10.0)
    assert beats.now() == 600.5
