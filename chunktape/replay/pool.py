"""The load mode's player (`serve --pool`): any request whose method and path match recorded
interactions gets one of their recorded responses, whatever its body or query.

A load generator's prompts vary; its streams should still be real recorded ones. Which
recording answers is picked in turn (round-robin) or at random; with timing "sampled", each
stream's first-chunk time and gaps are drawn from all the recordings for that method and
path (`rhythm.py`). Random draws come from the seed and the request's place in the run, so
the same run gives the same streams.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Literal

from chunktape.cassette import Cassette, Interaction, Request
from chunktape.knobs import ReplayPolicy
from chunktape.matching import MatchRules
from chunktape.replay.player import CassettePlayer
from chunktape.rhythm import Rhythm, sampled
from chunktape.schedule import Schedule, build_schedule
from chunktape.vocabulary import PICKS, TIMINGS

Pick = Literal["round-robin", "random"]
TimingMode = Literal["recorded", "sampled"]


class PoolPlayer(CassettePlayer):
    """A CassettePlayer that matches on method and path only and never runs out."""

    def __init__(
        self,
        cassettes: Sequence[Cassette],
        policy: ReplayPolicy | None = None,
        *,
        pick: Pick = "round-robin",
        timing: TimingMode = "recorded",
    ) -> None:
        if pick not in PICKS:
            raise ValueError(f"pick must be one of {', '.join(PICKS)}")
        if timing not in TIMINGS:
            raise ValueError(f"timing must be one of {', '.join(TIMINGS)}")
        super().__init__(cassettes, policy, MatchRules.build(("method", "path")), allow_repeats=True)
        self.pick = pick
        self.timing = timing
        self._pools: dict[tuple[str, ...], list[int]] = {}
        for position, (_, _, interaction) in enumerate(self._entries):
            self._pools.setdefault(self.rules.key(interaction.request), []).append(position)
        self._rhythms = {
            key: Rhythm.of(self._entries[position][2].response for position in positions)
            for key, positions in self._pools.items()
        }
        self._served: dict[tuple[str, ...], int] = {}

    def _find(self, request: Request) -> tuple[Interaction, bool]:
        return self._pick(request)[0], False  # every stream a fresh one, never an EventSource coming back

    def _pick(self, request: Request) -> tuple[Interaction, tuple[str, ...], int]:
        """The interaction for `request`, its pool, and how many requests that pool answered before."""
        key = self.rules.key(request)
        with self._lock:
            positions = self._pools.get(key)
            if positions is None:
                miss = self._miss(request, False, self._entries, "interaction")
                self.misses.append(miss)
                raise miss
            served = self._served.get(key, 0)
            self._served[key] = served + 1
            if self.pick == "random":
                chosen = positions[_rng(self.policy.seed, "pick", key, served).randrange(len(positions))]
            else:
                chosen = positions[served % len(positions)]
            self._used.add(chosen)
        return self._entries[chosen][2], key, served

    def play(self, request: Request, policy: ReplayPolicy | None = None) -> Schedule:
        if self.timing == "recorded":
            return super().play(request, policy)
        interaction, key, served = self._pick(request)
        policy = policy or self.policy
        response = sampled(interaction.response, self._rhythms[key], _rng(policy.seed, "timing", key, served))
        return build_schedule(request, response, policy)

    def prepare(self) -> None:
        if self.timing == "recorded":
            super().prepare()


def _rng(seed: int, purpose: str, key: tuple[str, ...], served: int) -> random.Random:
    """The draws for one stream: from the seed, what is drawn, the pool and the stream's place."""
    return random.Random(f"{seed}/{purpose}/{' '.join(key)}/{served}")
