"""The player: which recorded interaction answers a request, in what order, and what it missed."""

from __future__ import annotations

import pytest

from chunktape import Cassette, NoMatchError
from chunktape.replay.player import CassettePlayer
from tests.support.builders import sse_interaction


def cassette_of(*bodies: bytes) -> Cassette:
    return Cassette([sse_interaction(request_body=body) for body in bodies])


def test_identical_requests_replay_in_recorded_order_then_the_last_repeats() -> None:
    first = sse_interaction(body=b"data: 1\n\n", offsets=[], times=[0.1])
    second = sse_interaction(body=b"data: 2\n\n", offsets=[], times=[0.1])
    player = CassettePlayer([Cassette([first, second])])
    request = first.request
    assert [player.find(request).response.body for _ in range(3)] == [b"data: 1\n\n", b"data: 2\n\n", b"data: 2\n\n"]


def test_without_repeats_a_used_up_request_is_a_miss() -> None:
    interaction = sse_interaction()
    player = CassettePlayer([Cassette([interaction])], allow_repeats=False)
    player.find(interaction.request)
    with pytest.raises(NoMatchError):
        player.find(interaction.request)


def test_a_miss_is_kept_in_the_one_miss_list_with_the_closest_recording() -> None:
    player = CassettePlayer([cassette_of(b'{"a":1}')])
    asked = sse_interaction(request_body=b'{"a":2}').request
    with pytest.raises(NoMatchError) as caught:
        player.find(asked)
    assert player.misses == [caught.value]
    assert caught.value.closest is not None
    assert caught.value.differences


def test_used_lists_what_was_played_and_reset_forgets_it() -> None:
    recorded = cassette_of(b'{"a":1}', b'{"a":2}')
    player = CassettePlayer([recorded])
    player.find(recorded.interactions[1].request)
    assert player.used() == [(recorded, 1)]
    player.reset()
    assert player.used() == []
    assert player.misses == []
