"""`serve --pool`: any request on a recorded method and path gets a real recorded stream."""

from __future__ import annotations

import itertools

import pytest

from chunktape.cassette import Cassette, Chunk, Interaction, Request, Response
from chunktape.errors import NoMatchError
from chunktape.knobs import ReplayPolicy
from chunktape.replay.pool import PoolPlayer

URL = "https://api.openai.com/v1/chat/completions"


def _interaction(index: int, gap_s: float) -> Interaction:
    request = Request("POST", URL, (("content-type", "application/json"),), b'{"prompt":"%d"}' % index)
    chunks = tuple(Chunk(at_s=0.05 + gap_s * n, data=b"data: %d.%d\n\n" % (index, n)) for n in range(4))
    return Interaction(request, Response(200, (("content-type", "text/event-stream"),), 0.01, chunks))


POOL = Cassette([_interaction(index, gap) for index, gap in enumerate((0.01, 0.02, 0.05))])
BODIES = {interaction.response.body for interaction in POOL.interactions}


def _ask(body: bytes = b'{"prompt":"anything at all"}', url: str = URL) -> Request:
    return Request("POST", url, (("content-type", "application/json"),), body)


def _bodies(player: PoolPlayer, count: int) -> list[bytes]:
    return [player.play(_ask(b'{"n":%d}' % n)).body for n in range(count)]


def test_round_robin_answers_any_body_with_each_recording_in_turn() -> None:
    player = PoolPlayer([POOL])
    bodies = _bodies(player, 7)
    recorded = [interaction.response.body for interaction in POOL.interactions]
    assert bodies == [recorded[n % 3] for n in range(7)]


def test_random_picks_repeat_with_the_seed_and_change_with_another() -> None:
    def run(seed: int) -> list[bytes]:
        return _bodies(PoolPlayer([POOL], ReplayPolicy(seed=seed), pick="random"), 40)

    assert run(1) == run(1)
    assert run(1) != run(2)
    assert set(run(1)) == BODIES  # every stream a real recorded one, and all of them in use


def test_sampled_timing_repeats_with_the_seed_and_keeps_every_stream_a_recorded_one() -> None:
    def run(seed: int) -> list[tuple[float, ...]]:
        player = PoolPlayer([POOL], ReplayPolicy(seed=seed), timing="sampled")
        schedules = [player.play(_ask()) for _ in range(12)]
        assert {schedule.body for schedule in schedules} <= BODIES
        return [tuple(step.at_s for step in schedule.steps) for schedule in schedules]

    assert run(3) == run(3)
    assert run(3) != run(4)
    gaps = {round(later - earlier, 9) for times in run(3) for earlier, later in itertools.pairwise(times)}
    assert gaps <= {0.01, 0.02, 0.05}
    assert len(gaps) > 1  # drawn from the whole pool, not one recording's


def test_knobs_apply_to_each_pooled_stream() -> None:
    player = PoolPlayer([POOL], ReplayPolicy.from_knobs(fault="cut:1"))
    schedule = player.play(_ask())
    assert schedule.ending == "cut"
    assert len(schedule.steps) == 1


def test_another_path_is_a_miss_naming_the_closest_recording() -> None:
    player = PoolPlayer([POOL])
    with pytest.raises(NoMatchError, match="closest recorded requests"):
        player.play(_ask(url="https://api.openai.com/v1/embeddings"))
    assert len(player.misses) == 1
