"""What the client saw and when: wrap any stream to assert on its arrival times.

    clock = chunktape.clock()
    stream = client.models.generate_content_stream(...)
    for chunk in clock.observe(stream):
        render(chunk)
    assert clock.time_to_first_chunk_s < 2.0
    assert max(clock.gaps_s) < 1.0

Works with sync and async iterables (`async for item in clock.observe(stream)`); the
items are whatever the stream yields (SDK events, bytes, text).

The fixture's clocks (`chunktape.clock()`, `chunktape.observe()`) time from the moment the
request reached chunktape: the last request the test sent before the first item arrived.
So creating the clock early, or observing only after the SDK call returned, changes
nothing. A plain `StreamClock()` (or one whose requests never reach chunktape, as while
recording) times from its creation; `StreamClock(started_s=...)` from a moment you choose.

Times are read on the clock the replay waits on: the event loop's own under a test clock
(looptime, trio's MockClock), else `time.perf_counter()`; pass `clock=` to choose one
(e.g. the BeatClock of a sync transport with clock="virtual"). Request moments are
perf_counter readings, so they time a clock only while it reads perf_counter too.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator, Sequence
from typing import Any, Protocol, Self

from chunktape.replay.clock import observer_clock


class ReadsTime(Protocol):
    """Any of the replay clocks: all a StreamClock needs is to read one."""

    def now(self) -> float: ...


RequestMoments = Callable[[], Sequence[float]]
"""When each request reached the replay (perf_counter readings, in order)."""


class StreamClock:
    """Records each item a stream yields and when it arrived, relative to `started_s`."""

    def __init__(
        self,
        started_s: float | None = None,
        *,
        requests: RequestMoments | None = None,
        clock: ReadsTime | None = None,
    ) -> None:
        self.clock: ReadsTime = clock if clock is not None else observer_clock()
        self.created_s = self.clock.now()
        self._fixed_start = started_s
        self._requests = requests if _reads_perf_counter(self.clock) else None
        self.chunks: list[Any] = []
        self._arrived_at: list[float] = []
        self._finished_at: float | None = None
        self.error: BaseException | None = None
        self._sync: Iterator[Any] | None = None
        self._async: AsyncIterator[Any] | None = None

    def observe(self, stream: Iterable[Any] | AsyncIterable[Any]) -> Self:
        """Wrap `stream`; iterate the clock (sync or async) to consume it."""
        if isinstance(stream, AsyncIterable):
            self._async = aiter(stream)
        elif isinstance(stream, Iterable):
            self._sync = iter(stream)
        else:
            raise TypeError(f"observe() needs an iterable or async iterable, got {type(stream).__name__}")
        return self

    # -- iteration ---------------------------------------------------------

    def __iter__(self) -> Iterator[Any]:
        if self._sync is None:
            raise TypeError("this clock observes no sync stream: call clock.observe(stream) first")
        return self

    def __next__(self) -> Any:
        assert self._sync is not None
        try:
            item = next(self._sync)
        except StopIteration:
            self._finish()
            raise
        except BaseException as exc:
            self._finish(exc)
            raise
        return self._arrived(item)

    def __aiter__(self) -> AsyncIterator[Any]:
        if self._async is None:
            raise TypeError("this clock observes no async stream: call clock.observe(stream) first")
        return self

    async def __anext__(self) -> Any:
        assert self._async is not None
        try:
            item = await anext(self._async)
        except StopAsyncIteration:
            self._finish()
            raise
        except BaseException as exc:
            self._finish(exc)
            raise
        return self._arrived(item)

    def drain(self) -> list[Any]:
        """Consume the whole sync stream; the items, as a list."""
        for _ in self:
            pass
        return self.chunks

    async def adrain(self) -> list[Any]:
        """Consume the whole async stream; the items, as a list."""
        async for _ in self:
            pass
        return self.chunks

    def _arrived(self, item: Any) -> Any:
        self._arrived_at.append(self.clock.now())
        self.chunks.append(item)
        return item

    def _finish(self, error: BaseException | None = None) -> None:
        self._finished_at = self.clock.now()
        self.error = error

    # -- what to assert on -------------------------------------------------

    @property
    def started_s(self) -> float:
        """The moment (a reading of `clock`) times count from: the one given, else the last request
        that reached chunktape before the first item arrived, else the clock's creation."""
        if self._fixed_start is not None:
            return self._fixed_start
        if self._requests is not None:
            first = self._arrived_at[0] if self._arrived_at else self._finished_at
            before = [moment for moment in self._requests() if first is None or moment <= first]
            if before:
                return before[-1]
        return self.created_s

    @property
    def arrivals_s(self) -> list[float]:
        """Seconds from the start to each item."""
        start = self.started_s
        return [moment - start for moment in self._arrived_at]

    @property
    def finished_s(self) -> float | None:
        """Seconds from the start until the stream ended (completed or raised), or None."""
        return None if self._finished_at is None else self._finished_at - self.started_s

    @property
    def time_to_first_chunk_s(self) -> float | None:
        """Seconds from the start to the first item, or None if none came."""
        return self.arrivals_s[0] if self.arrivals_s else None

    @property
    def gaps_s(self) -> list[float]:
        """Seconds between consecutive items (one fewer than the items)."""
        return [later - earlier for earlier, later in zip(self.arrivals_s, self.arrivals_s[1:], strict=False)]

    @property
    def total_s(self) -> float | None:
        """Seconds from the start until the stream ended (completed or raised)."""
        return self.finished_s

    def __repr__(self) -> str:
        first = self.time_to_first_chunk_s
        shown = "-" if first is None else f"{first * 1000:.1f}ms"
        return f"<StreamClock {len(self.chunks)} chunks, first after {shown}, error={self.error!r}>"


def observe(
    stream: Iterable[Any] | AsyncIterable[Any],
    *,
    started_s: float | None = None,
    requests: RequestMoments | None = None,
    clock: ReadsTime | None = None,
) -> StreamClock:
    """A StreamClock over `stream`, timing from now (or from `started_s`, a reading of the same
    clock, or from the last of `requests` before the first item)."""
    return StreamClock(started_s, requests=requests, clock=clock).observe(stream)


def _reads_perf_counter(clock: ReadsTime) -> bool:
    """Whether `clock` reads time.perf_counter (request moments are such readings)."""
    before = time.perf_counter()
    reading = clock.now()
    return before <= reading <= time.perf_counter()
