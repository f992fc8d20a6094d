"""7. Virtual time: a 60 s recorded stream replayed by AsyncReplayTransport under a test
clock (asyncio + looptime, trio + MockClock(autojump_threshold=0)) beside the same stream
at speed 1 on a real asyncio loop: wall time, and gap error on the clock the client reads
(the loop's clock under virtual time, perf_counter on the real loop).

Gap error is |replayed gap - recorded gap| between consecutive chunks, taken when each
chunk reached the client (httpx2 `aiter_raw`), read by a chunktape StreamClock, which
reads the clock the transport waited on.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bench.common import median, percentile
from bench.report import Section, Target

_URL = "http://replay.test/v1/stream"
_EVERY_S = 0.5


def _cassette(duration_s: float) -> Any:
    from chunktape import Cassette, Chunk, Interaction, Request, Response

    count = round(duration_s / _EVERY_S)
    chunks = tuple(
        Chunk(at_s=round(_EVERY_S * (i + 1), 6), data=f'data: {{"token": {i}}}\n\n'.encode()) for i in range(count)
    )
    response = Response(status=200, headers=(("content-type", "text/event-stream"),), headers_at_s=0.2, chunks=chunks)
    return Cassette([Interaction(Request("GET", _URL), response)])


def _replay(cassette: Any) -> Callable[[], Awaitable[list[float]]]:
    import httpx2

    from chunktape import AsyncReplayTransport, StreamClock

    async def main() -> list[float]:
        async with httpx2.AsyncClient(transport=AsyncReplayTransport(cassette), timeout=None) as client:
            seen = StreamClock()
            async with client.stream("GET", _URL) as response:
                await seen.observe(response.aiter_raw()).adrain()
        return seen.arrivals_s

    return main


def _on_looptime(main: Callable[[], Awaitable[list[float]]]) -> list[float]:
    import looptime

    loop = looptime.new_event_loop()
    try:
        return loop.run_until_complete(main())  # type: ignore[arg-type]
    finally:
        loop.close()


def _on_trio_mock(main: Callable[[], Awaitable[list[float]]]) -> list[float]:
    import trio
    from trio.testing import MockClock

    return trio.run(main, clock=MockClock(autojump_threshold=0))


def _on_real_asyncio(main: Callable[[], Awaitable[list[float]]]) -> list[float]:
    import asyncio

    return asyncio.run(main())


def _gap_errors_ms(arrivals: list[float], recorded: list[float]) -> list[float]:
    return [
        abs((arrivals[i] - arrivals[i - 1]) - (recorded[i] - recorded[i - 1])) * 1000 for i in range(1, len(recorded))
    ]


def run(work: Path, rounds: int, real_duration_s: float = 60.0) -> Section:
    duration_s = 60.0
    cases: list[tuple[str, Callable[..., list[float]], float, int]] = [
        ("asyncio + looptime (virtual)", _on_looptime, duration_s, rounds),
        ("trio + MockClock (virtual)", _on_trio_mock, duration_s, rounds),
        ("asyncio, real loop, speed 1", _on_real_asyncio, real_duration_s, 1),
    ]
    section = Section(
        "virtual_time",
        f"7. Virtual time: a {duration_s:.0f} s recorded stream ({round(duration_s / _EVERY_S)} chunks, one per "
        f"{_EVERY_S * 1000:.0f} ms) through AsyncReplayTransport + httpx2",
        [
            "replay",
            "stream s",
            "rounds",
            "wall s (median)",
            "gaps within 1 ms",
            "gap error p50 ms",
            "gap error p99 ms",
            "gap error max ms",
        ],
    )
    stats: dict[str, Any] = {}
    for label, runner, length_s, count in cases:
        cassette = _cassette(length_s)
        recorded = [chunk.at_s for chunk in cassette.interactions[0].response.chunks]
        if count > 1:
            runner(_replay(_cassette(2.0)))  # warm imports and caches off the record
        walls: list[float] = []
        errors: list[float] = []
        for _ in range(count):
            started = time.perf_counter()
            arrivals = runner(_replay(cassette))
            walls.append(time.perf_counter() - started)
            assert len(arrivals) == len(recorded), (label, len(arrivals))
            errors += _gap_errors_ms(arrivals, recorded)
        item = {
            "stream_s": length_s,
            "rounds": count,
            "wall_s": median(walls),
            "gap_p50_ms": median(errors),
            "gap_p99_ms": percentile(errors, 99),
            "gap_max_ms": max(errors),
            "within_1ms": sum(1 for e in errors if e <= 1.0) / len(errors),
        }
        stats[label] = item
        section.add(
            label,
            length_s,
            count,
            f"{item['wall_s']:.3f}",
            f"{item['within_1ms']:.1%}",
            f"{item['gap_p50_ms']:.3g}",
            f"{item['gap_p99_ms']:.3g}",
            f"{item['gap_max_ms']:.3g}",
        )
    section.data = stats
    virtual = [stats[label] for label, *_ in cases[:2]]
    section.targets.append(
        Target(
            "virtual time: 60 s stream, wall time (worst backend)", max(v["wall_s"] for v in virtual), 1.0, False, " s"
        )
    )
    section.targets.append(
        Target(
            "virtual time: loop-clock gap error, max (worst backend)",
            max(v["gap_max_ms"] for v in virtual),
            1.0,
            False,
            " ms",
        )
    )
    if real_duration_s < duration_s:
        section.notes.append(f"--quick: the real-loop row replays {real_duration_s:.0f} s of the stream, not 60 s.")
    section.notes.append(
        "Virtual rows: the loop's clock jumps to each deadline, so arrivals land on the recorded times "
        "(error is float rounding); the real row is the same transport waiting on perf_counter with its spin margin."
    )
    return section
