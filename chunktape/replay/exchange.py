"""One replayed request, shared by the sync and async transports: what to answer, when
each beat is due, and what each beat does. The transports only wait (each on its clock)
and hand the bytes over; both flavors of the client library get the same behaviour.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import AsyncIterator, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from chunktape.replay.beats import Beat, client_beats, head_beat
from chunktape.replay.clock import AsyncClock, SyncClock
from chunktape.replay.errors_map import CUT_MESSAGE, ReplayedCut, ReplayedTimeout, map_replay_errors
from chunktape.replay.player import CassettePlayer
from chunktape.replay.shapes import HttpRequest, HttpResponse, flavor_of, read_timeout_s, to_request
from chunktape.schedule import Schedule


@dataclass(frozen=True)
class Exchange:
    """A request matched to its schedule, timed from `started` on the clock that replays it."""

    request: HttpRequest
    flavor: ModuleType
    schedule: Schedule
    started: float
    read_timeout_s: float | None

    @classmethod
    def open(cls, player: CassettePlayer, request: HttpRequest, body: bytes, started: float) -> Exchange:
        """Match `request` (NoMatchError if nothing answers it) and plan its replay."""
        schedule = player.play(to_request(request, body))
        return cls(request, flavor_of(request), schedule, started, read_timeout_s(request))

    def head(self) -> Beat:
        return head_beat(self.schedule, self.read_timeout_s)

    def body(self) -> Iterator[Beat]:
        return client_beats(self.schedule, self.read_timeout_s)

    def due(self, beat: Beat) -> float:
        """The clock reading at which `beat` happens."""
        return self.started + beat.at_s

    def arrive(self, head: Beat) -> None:
        """The head is due: go on, or the client's read timeout ran out first."""
        if head.kind == "timeout":
            raise ReplayedTimeout("timed out waiting for the response head (replayed delay)")

    def deliver(self, beat: Beat) -> bytes:
        """What the client gets at `beat`: its bytes, or the fault (neutral; see errors_map)."""
        if beat.kind == "timeout":
            raise ReplayedTimeout("timed out waiting for the next chunk (replayed stall)")
        if beat.kind == "cut":
            raise ReplayedCut(CUT_MESSAGE)
        return beat.data

    def errors(self) -> AbstractContextManager[None]:
        """A context that maps this exchange's faults to the client library's exceptions."""
        return map_replay_errors(self.flavor, self.request)

    def response(self, stream: object) -> HttpResponse:
        """The client library's Response for the head, streaming the body from `stream`."""
        schedule = self.schedule
        response: HttpResponse = self.flavor.Response(
            status_code=schedule.status,
            # latin-1, as the recorder decoded them: httpx would encode str as ASCII and fail on é
            headers=[(name.encode("latin-1"), value.encode("latin-1")) for name, value in schedule.headers],
            stream=stream,
            request=self.request,
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": schedule.reason.encode("ascii")},
        )
        return response


def sync_stream(exchange: Exchange, clock: SyncClock) -> object:
    """The body as the client library's SyncByteStream, waiting with `clock`."""
    return _stream_classes(exchange.flavor.__name__)[0](exchange, clock)


def async_stream(exchange: Exchange, clock: AsyncClock) -> object:
    """The body as the client library's AsyncByteStream, waiting with `clock`."""
    return _stream_classes(exchange.flavor.__name__)[1](exchange, clock)


@functools.cache
def _stream_classes(flavor_name: str) -> tuple[type[Any], type[Any]]:
    """Stream classes of the library's own base classes (the Response checks them), built once each."""
    flavor: ModuleType = importlib.import_module(flavor_name)

    class SyncReplayStream(flavor.SyncByteStream):  # type: ignore[misc,name-defined]
        def __init__(self, exchange: Exchange, clock: SyncClock) -> None:
            self._exchange = exchange
            self._clock = clock

        def __iter__(self) -> Iterator[bytes]:
            exchange = self._exchange
            with exchange.errors():
                for beat in exchange.body():
                    self._clock.sleep_until(exchange.due(beat))
                    yield exchange.deliver(beat)

    class AsyncReplayStream(flavor.AsyncByteStream):  # type: ignore[misc,name-defined]
        def __init__(self, exchange: Exchange, clock: AsyncClock) -> None:
            self._exchange = exchange
            self._clock = clock

        async def __aiter__(self) -> AsyncIterator[bytes]:
            exchange = self._exchange
            with exchange.errors():
                for beat in exchange.body():
                    await self._clock.sleep_until(exchange.due(beat))
                    yield exchange.deliver(beat)

    return SyncReplayStream, AsyncReplayStream
