"""In-process replay: httpx transports that answer from a cassette, with no sockets.

One class serves both `httpx` 0.28 and its successor `httpx2`: the library is read
from the request it is handed, and responses and errors are built from that same
library (anthropic refuses objects of plain `httpx`, so nothing here subclasses it).

    client = httpx2.Client(transport=ReplayTransport("cassettes/gemini.yaml", speed=0))
"""

from __future__ import annotations

import functools
import importlib
import time
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Literal

import anyio

from chunktape.cassette import Cassette, Request
from chunktape.errors import ChunktapeError
from chunktape.knobs import Delay, Fault, ReplayPolicy, Split
from chunktape.matching import MatchRules
from chunktape.replay.clock import Clock
from chunktape.replay.player import CassettePlayer
from chunktape.schedule import Schedule

CassetteSource = Cassette | str | Sequence[Cassette | str]
_CUT_MESSAGE = "peer closed connection without sending complete message body (incomplete chunked read)"

_async_clock = Clock()


@dataclass(frozen=True)
class _Beat:
    """One thing the client experiences, `at_s` after the request: data, a timeout, or a cut."""

    kind: Literal["data", "timeout", "disconnect"]
    at_s: float
    data: bytes = b""


def client_beats(schedule: Schedule, read_timeout_s: float | None) -> Iterator[_Beat]:
    """The schedule as a client with a read timeout lives it: a gap longer than the
    timeout ends in a timeout at exactly the moment the client would give up."""
    last = schedule.headers_at_s
    for step in schedule.steps:
        if read_timeout_s is not None and step.at_s - last > read_timeout_s:
            yield _Beat("timeout", last + read_timeout_s)
            return
        yield _Beat("data", step.at_s, step.data)
        last = step.at_s
    if schedule.ending == "disconnect":
        if read_timeout_s is not None and schedule.end_at_s - last > read_timeout_s:
            yield _Beat("timeout", last + read_timeout_s)
            return
        yield _Beat("disconnect", schedule.end_at_s)


def _read_timeout(request: Any) -> float | None:
    timeout = request.extensions.get("timeout") or {}
    value = timeout.get("read")
    return float(value) if value is not None else None


def _flavor_of(request: Any) -> ModuleType:
    """`httpx` or `httpx2`, whichever built this request."""
    return importlib.import_module(type(request).__module__.partition(".")[0])


def _to_request(request: Any, body: bytes) -> Request:
    headers = tuple((k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw)
    return Request(method=request.method, url=str(request.url), headers=headers, body=body)


def _load(source: CassetteSource) -> list[Cassette]:
    items: Iterable[Cassette | str] = [source] if isinstance(source, (Cassette, str)) else source
    return [item if isinstance(item, Cassette) else Cassette.load(item) for item in items]


@functools.cache
def _stream_classes(flavor_name: str) -> tuple[type[Any], type[Any]]:
    flavor = importlib.import_module(flavor_name)

    class SyncReplayStream(flavor.SyncByteStream):  # type: ignore[misc,name-defined]
        def __init__(self, schedule: Schedule, started: float, request: Any) -> None:
            self._beats = client_beats(schedule, _read_timeout(request))
            self._started = started
            self._request = request

        def __iter__(self) -> Iterator[bytes]:
            for beat in self._beats:
                delay = self._started + beat.at_s - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                if beat.kind == "data":
                    yield beat.data
                else:
                    raise _fault_error(flavor, beat, self._request)

    class AsyncReplayStream(flavor.AsyncByteStream):  # type: ignore[misc,name-defined]
        def __init__(self, schedule: Schedule, started: float, request: Any) -> None:
            self._beats = client_beats(schedule, _read_timeout(request))
            self._started = started
            self._request = request

        async def __aiter__(self) -> AsyncIterator[bytes]:
            for beat in self._beats:
                await _async_clock.sleep_until(self._started + beat.at_s)
                if beat.kind == "data":
                    yield beat.data
                else:
                    raise _fault_error(flavor, beat, self._request)

    return SyncReplayStream, AsyncReplayStream


def _fault_error(flavor: ModuleType, beat: _Beat, request: Any) -> Exception:
    if beat.kind == "timeout":
        error: Exception = flavor.ReadTimeout("timed out waiting for the next chunk (replayed stall)", request=request)
    else:
        error = flavor.RemoteProtocolError(_CUT_MESSAGE, request=request)
    return error


class _ReplayBase:
    def __init__(
        self,
        cassette: CassetteSource,
        *,
        speed: str | float | None = None,
        split: str | Split | None = None,
        delay: str | Iterable[str] | Delay | None = None,
        fault: str | Fault | None = None,
        seed: str | int | None = None,
        policy: ReplayPolicy | None = None,
        match_on: Iterable[str] | str | None = None,
        ignore: Iterable[str] = (),
        player: CassettePlayer | None = None,
    ) -> None:
        if player is None:
            knobs = ReplayPolicy.from_knobs(speed=speed, split=split, delay=delay, fault=fault, seed=seed)
            player = CassettePlayer(_load(cassette), policy or knobs, MatchRules.build(match_on, ignore))
        self.player = player

    @property
    def policy(self) -> ReplayPolicy:
        return self.player.policy

    def _respond(self, flavor: ModuleType, request: Any, schedule: Schedule, stream: Any) -> Any:
        return flavor.Response(
            status_code=schedule.status,
            # latin-1, as the recorder decoded them: httpx would encode str as ASCII and fail on é
            headers=[(name.encode("latin-1"), value.encode("latin-1")) for name, value in schedule.headers],
            stream=stream,
            request=request,
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": schedule.reason.encode("ascii")},
        )


class ReplayTransport(_ReplayBase):
    """A sync transport for `httpx.Client` or `httpx2.Client` that replays a cassette."""

    def handle_request(self, request: Any) -> Any:
        started = time.perf_counter()
        flavor = _flavor_of(request)
        schedule = self.player.play(_to_request(request, request.read()))
        read_timeout = _read_timeout(request)
        wait = schedule.headers_at_s
        if read_timeout is not None and wait > read_timeout:
            time.sleep(read_timeout)
            raise flavor.ReadTimeout("timed out waiting for the response head (replayed delay)", request=request)
        remaining = started + wait - time.perf_counter()
        if remaining > 0:
            time.sleep(remaining)
        sync_stream, _ = _stream_classes(flavor.__name__)
        return self._respond(flavor, request, schedule, sync_stream(schedule, started, request))

    def close(self) -> None:
        pass

    def __enter__(self) -> ReplayTransport:
        return self

    def __exit__(self, *args: object) -> None:
        self.close()


class AsyncReplayTransport(_ReplayBase):
    """An async transport for `httpx.AsyncClient` or `httpx2.AsyncClient` (asyncio or trio)."""

    async def handle_async_request(self, request: Any) -> Any:
        started = time.perf_counter()
        flavor = _flavor_of(request)
        schedule = self.player.play(_to_request(request, await request.aread()))
        read_timeout = _read_timeout(request)
        wait = schedule.headers_at_s
        if read_timeout is not None and wait > read_timeout:
            await anyio.sleep(read_timeout)
            raise flavor.ReadTimeout("timed out waiting for the response head (replayed delay)", request=request)
        await _async_clock.sleep_until(started + wait)
        _, async_stream = _stream_classes(flavor.__name__)
        return self._respond(flavor, request, schedule, async_stream(schedule, started, request))

    async def aclose(self) -> None:
        pass

    async def __aenter__(self) -> AsyncReplayTransport:
        return self

    async def __aexit__(self, *args: object) -> None:
        await self.aclose()


__all__ = ["AsyncReplayTransport", "ChunktapeError", "ReplayTransport"]
