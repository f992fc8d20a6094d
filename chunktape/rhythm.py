"""A pool's recorded rhythm, and a response re-timed by drawing from it (`serve --timing sampled`).

Pure: the caller hands in the random generator, seeded, so a run repeats. A re-timed response
keeps every byte and chunk boundary of the recording it came from; only the times change:
its head and first chunk come from one recording of the pool (so the head never follows the
first chunk), each later gap is drawn from all the pool's gaps, and the end from its tails.
"""

from __future__ import annotations

import dataclasses
import itertools
import random
from collections.abc import Iterable
from dataclasses import dataclass

from chunktape.cassette import Chunk, Response


@dataclass(frozen=True)
class Rhythm:
    """The timing a pool of recordings shows: starts (head, first chunk), gaps, tails."""

    starts_s: tuple[tuple[float, float], ...]
    """(head at, first chunk at) of each recording that has a chunk, from its request."""
    gaps_s: tuple[float, ...]
    """Every gap between two chunks, in every recording."""
    tails_s: tuple[float, ...]
    """From each recording's last chunk to its end."""

    @classmethod
    def of(cls, responses: Iterable[Response]) -> Rhythm:
        starts: list[tuple[float, float]] = []
        gaps: list[float] = []
        tails: list[float] = []
        for response in responses:
            if not response.chunks:
                continue
            starts.append((response.headers_at_s, response.chunks[0].at_s))
            gaps.extend(later.at_s - earlier.at_s for earlier, later in itertools.pairwise(response.chunks))
            tails.append(max(0.0, response.end_s - response.chunks[-1].at_s))
        return cls(tuple(starts), tuple(gaps), tuple(tails))


def sampled(response: Response, rhythm: Rhythm, rng: random.Random) -> Response:
    """`response` with its times drawn from `rhythm`: same bytes, same chunks, new rhythm."""
    if not response.chunks or not rhythm.starts_s:
        return response
    head_s, at_s = rng.choice(rhythm.starts_s)
    chunks = [Chunk(at_s=at_s, data=response.chunks[0].data)]
    for chunk in response.chunks[1:]:
        at_s += rng.choice(rhythm.gaps_s) if rhythm.gaps_s else 0.0
        chunks.append(dataclasses.replace(chunk, at_s=at_s))
    ended_at = at_s + (rng.choice(rhythm.tails_s) if rhythm.tails_s else 0.0)
    return dataclasses.replace(response, headers_at_s=head_s, chunks=tuple(chunks), ended_at_s=ended_at)
