"""In-process replay: httpx transports that answer from a cassette, with no sockets.

One class serves both `httpx` 0.28 and its successor `httpx2`: the library is read
from the request it is handed, and responses and errors are built from that same
library (anthropic refuses objects of plain `httpx`, so nothing here subclasses it).
The sync and async transports share everything but the waiting (see exchange.py).

    client = httpx2.Client(transport=ReplayTransport("cassettes/gemini.yaml", speed=0))

Async replays wait on the event loop's own clock when it is a test clock (looptime,
trio's MockClock), so recorded stalls pass in no wall time; see clock.py.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence

from chunktape.cassette import Cassette
from chunktape.errors import ChunktapeError, KnobError
from chunktape.knobs import Delay, Fault, ReplayPolicy, Split
from chunktape.matching import MatchRules
from chunktape.replay.clock import (
    AsyncClock,
    BeatClock,
    ClockMode,
    SleepClock,
    SyncClock,
    async_clock,
    check_mode,
    warm_async_backends,
)
from chunktape.replay.exchange import Exchange, async_stream, sync_stream
from chunktape.replay.player import CassettePlayer
from chunktape.replay.shapes import HttpRequest, HttpResponse

CassetteSource = Cassette | str | Sequence[Cassette | str]
_SLEEP_CLOCK = SleepClock()


def _load(source: CassetteSource) -> list[Cassette]:
    return [item if isinstance(item, Cassette) else Cassette.load(item) for item in _items(source)]


def _items(source: CassetteSource) -> Sequence[Cassette | str]:
    return [source] if isinstance(source, (Cassette, str)) else source


class _ReplayCore:
    """What both transports are built from: the player that answers, and the clock mode.

    Every argument is used or refused: a policy and knobs together, or a player with
    settings it would ignore, raise instead of silently dropping one of them.
    """

    _sync = False

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
        normalize: Iterable[str] = (),
        player: CassettePlayer | None = None,
        clock: ClockMode | BeatClock = "auto",
    ) -> None:
        knobs = {"speed": speed, "split": split, "delay": delay, "fault": fault, "seed": seed}
        given = [name for name, value in knobs.items() if value is not None]
        kind = type(self).__name__
        if player is not None:
            settings = {"policy": policy is not None, "match_on": match_on is not None, "ignore": bool(tuple(ignore))}
            settings["normalize"] = bool(tuple(normalize))
            _check_player(kind, player, cassette, [*given, *(name for name, set_ in settings.items() if set_)])
        else:
            if policy is not None and given:
                raise KnobError(
                    f"{kind} got policy= and {', '.join(f'{name}=' for name in given)}: give knobs or a "
                    "ReplayPolicy, not both (ReplayPolicy.from_knobs(...) builds a policy from knobs)"
                )
            if policy is None:
                policy = ReplayPolicy.from_knobs(speed=speed, split=split, delay=delay, fault=fault, seed=seed)
            player = CassettePlayer(_load(cassette), policy, MatchRules.build(match_on, ignore, normalize=normalize))
        self.player = player
        if isinstance(clock, BeatClock) and not self._sync:
            raise ChunktapeError(f"{kind} waits on the event loop's clock: give it clock='virtual', not a BeatClock")
        self.clock_mode: ClockMode = "virtual" if isinstance(clock, BeatClock) else check_mode(clock)
        self._beat_clock = clock if isinstance(clock, BeatClock) else BeatClock()
        if not self._sync:
            warm_async_backends()  # all warm-up before the first request, not during it

    @property
    def policy(self) -> ReplayPolicy:
        return self.player.policy


def _check_player(kind: str, player: CassettePlayer, cassette: CassetteSource, ignored: list[str]) -> None:
    if ignored:
        raise ChunktapeError(
            f"{kind} got player= and {', '.join(f'{name}=' for name in ignored)}: a CassettePlayer brings its "
            "own policy and matching; set them on the player, or pass the cassette without player="
        )
    played = {id(c) for c in player.cassettes} | {os.path.abspath(c.path) for c in player.cassettes if c.path}
    for item in _items(cassette):
        key: int | str = id(item) if isinstance(item, Cassette) else os.path.abspath(item)
        if key not in played:
            shown = (item.path or "<in memory>") if isinstance(item, Cassette) else item
            raise ChunktapeError(
                f"{kind} got cassette {shown} and a player= that does not play it: pass the cassette "
                "the player was built from, or drop one of them"
            )


class ReplayTransport(_ReplayCore):
    """A sync transport for `httpx.Client` or `httpx2.Client` that replays a cassette.

    `clock="virtual"` (or a BeatClock): no real waiting; timeouts still fall where the
    recorded rhythm puts them, and a StreamClock on the same BeatClock sees the recorded
    times. The client's own clock cannot be made virtual from here.
    """

    _sync = True

    @property
    def clock(self) -> SyncClock:
        """What this transport waits on: the machine's clock, or its BeatClock when virtual."""
        return self._beat_clock if self.clock_mode == "virtual" else _SLEEP_CLOCK

    def handle_request(self, request: HttpRequest) -> HttpResponse:
        clock = self.clock
        started = clock.now()
        exchange = Exchange.open(self.player, request, request.read(), started)
        head = exchange.head()
        with exchange.errors():
            clock.sleep_until(exchange.due(head))
            exchange.arrive(head)
        return exchange.response(sync_stream(exchange, clock))

    def close(self) -> None:
        pass

    def __enter__(self) -> ReplayTransport:
        return self

    def __exit__(self, *args: object) -> None:
        self.close()


class AsyncReplayTransport(_ReplayCore):
    """An async transport for `httpx.AsyncClient` or `httpx2.AsyncClient` (asyncio or trio).

    It waits on the event loop's own clock when that is a test clock (looptime, trio's
    MockClock): recorded gaps then pass in no wall time and land exactly on the loop clock.
    `clock="virtual"` insists on such a clock; `clock="real"` always waits on the machine's.
    """

    async def handle_async_request(self, request: HttpRequest) -> HttpResponse:
        clock: AsyncClock = async_clock(self.clock_mode)  # the loop's, under a test clock
        started = clock.now()
        exchange = Exchange.open(self.player, request, await request.aread(), started)
        head = exchange.head()
        with exchange.errors():
            await clock.sleep_until(exchange.due(head))
            exchange.arrive(head)
        return exchange.response(async_stream(exchange, clock))

    async def aclose(self) -> None:
        pass

    async def __aenter__(self) -> AsyncReplayTransport:
        return self

    async def __aexit__(self, *args: object) -> None:
        await self.aclose()


__all__ = ["AsyncReplayTransport", "ChunktapeError", "ReplayTransport"]
