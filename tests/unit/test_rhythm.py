"""A pool's rhythm, and responses re-timed from it: same bytes, times drawn from the pool."""

from __future__ import annotations

import itertools
import random

from hypothesis import given
from hypothesis import strategies as st

from chunktape.cassette import Chunk, Response
from chunktape.rhythm import Rhythm, sampled


def _response(times: list[float], head: float = 0.01, end: float | None = None) -> Response:
    chunks = tuple(Chunk(at_s=at, data=f"data: {index}\n\n".encode()) for index, at in enumerate(times))
    return Response(200, (("content-type", "text/event-stream"),), head, chunks, ended_at_s=end)


def test_the_rhythm_holds_every_start_gap_and_tail_of_the_pool() -> None:
    rhythm = Rhythm.of([_response([0.1, 0.15, 0.35], end=0.4), _response([0.2, 0.21], head=0.05)])
    assert rhythm.starts_s == ((0.01, 0.1), (0.05, 0.2))
    assert [round(gap, 6) for gap in rhythm.gaps_s] == [0.05, 0.2, 0.01]
    assert [round(tail, 6) for tail in rhythm.tails_s] == [0.05, 0.0]


@given(
    st.lists(st.lists(st.floats(0.0, 5.0), min_size=1, max_size=6), min_size=1, max_size=4),
    st.integers(0, 2**32),
)
def test_a_sampled_response_keeps_its_bytes_and_draws_every_time_from_the_pool(
    pool_times: list[list[float]], seed: int
) -> None:
    pool = [_response(sorted(times)) for times in pool_times]
    rhythm = Rhythm.of(pool)
    for response in pool:
        again = sampled(response, rhythm, random.Random(seed))
        assert [chunk.data for chunk in again.chunks] == [chunk.data for chunk in response.chunks]
        assert (again.headers_at_s, again.chunks[0].at_s) in rhythm.starts_s
        for earlier, later in itertools.pairwise(again.chunks):
            assert any(abs(later.at_s - earlier.at_s - gap) < 1e-9 for gap in rhythm.gaps_s)
        assert again.end_s >= again.chunks[-1].at_s
        assert again == sampled(response, rhythm, random.Random(seed))  # the seed repeats it


def test_a_response_without_chunks_is_left_as_recorded() -> None:
    empty = Response(204, (), 0.02)
    assert sampled(empty, Rhythm.of([_response([0.1])]), random.Random(0)) is empty
