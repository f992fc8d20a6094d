"""What the client saw and when: wrap any stream to assert on its arrival times.

    clock = chunktape.clock()                      # starts timing now, before the request
    stream = client.models.generate_content_stream(...)
    for chunk in clock.observe(stream):
        render(chunk)
    assert clock.time_to_first_chunk_s < 2.0
    assert max(clock.gaps_s) < 1.0

Works with sync and async iterables (`async for item in clock.observe(stream)`); the
items are whatever the stream yields (SDK events, bytes, text).

Times are read on the clock the replay waits on: the event loop's own under a test clock
(looptime, trio's MockClock), else `time.perf_counter()`; pass `clock=` to choose one
(e.g. the BeatClock of a sync transport with clock="virtual").
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from typing import Any, Protocol, Self

from chunktape.replay.clock import observer_clock


class ReadsTime(Protocol):
    """Any of the replay clocks: all a StreamClock needs is to read one."""

    def now(self) -> float: ...


class StreamClock:
    """Records each item a stream yields and when it arrived, relative to `started_s`."""

    def __init__(self, started_s: float | None = None, *, clock: ReadsTime | None = None) -> None:
        self.clock: ReadsTime = clock if clock is not None else observer_clock()
        self.started_s = self.clock.now() if started_s is None else started_s
        self.chunks: list[Any] = []
        self.arrivals_s: list[float] = []
        self.finished_s: float | None = None
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
        self.arrivals_s.append(self.clock.now() - self.started_s)
        self.chunks.append(item)
        return item

    def _finish(self, error: BaseException | None = None) -> None:
        self.finished_s = self.clock.now() - self.started_s
        self.error = error

    # -- what to assert on -------------------------------------------------

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
    stream: Iterable[Any] | AsyncIterable[Any], *, started_s: float | None = None, clock: ReadsTime | None = None
) -> StreamClock:
    """A StreamClock over `stream`, timing from now (or from `started_s`, a reading of the same clock)."""
    return StreamClock(started_s, clock=clock).observe(stream)
