"""The parts both replay transports are built from: a constructor that uses or refuses
every argument, one place that maps faults to the client library's errors, the beats."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import httpx
import httpx2
import pytest

from chunktape import AsyncReplayTransport, ChunktapeError, KnobError, ReplayPolicy, ReplayTransport
from chunktape.replay.beats import Beat, client_beats, head_beat
from chunktape.replay.errors_map import ReplayedCut, ReplayedTimeout, map_replay_errors
from chunktape.replay.player import CassettePlayer
from chunktape.schedule import build_schedule
from tests.support.builders import sse_cassette, sse_interaction

FLAVORS = [pytest.param(httpx, id="httpx"), pytest.param(httpx2, id="httpx2")]
TRANSPORTS = [pytest.param(ReplayTransport, id="sync"), pytest.param(AsyncReplayTransport, id="async")]


@pytest.mark.parametrize("kind", TRANSPORTS)
def test_a_policy_and_knobs_together_are_refused_not_dropped(kind: type[ReplayTransport]) -> None:
    with pytest.raises(KnobError, match=r"policy= and speed=, fault=: give knobs or a ReplayPolicy, not both"):
        kind(sse_cassette(), policy=ReplayPolicy(), speed=0, fault="disconnect:1")


@pytest.mark.parametrize("kind", TRANSPORTS)
def test_a_policy_alone_or_knobs_alone_are_used(kind: type[ReplayTransport]) -> None:
    assert kind(sse_cassette(), policy=ReplayPolicy.from_knobs(speed=3)).policy.speed == 3
    assert kind(sse_cassette(), speed=2, seed=7).policy == ReplayPolicy.from_knobs(speed=2, seed=7)


@pytest.mark.parametrize("kind", TRANSPORTS)
def test_a_player_with_settings_it_would_ignore_is_refused(kind: type[ReplayTransport]) -> None:
    cassette = sse_cassette()
    player = CassettePlayer([cassette])
    with pytest.raises(ChunktapeError, match=r"player= and speed=, match_on=: a CassettePlayer brings its own"):
        kind(cassette, player=player, speed=0, match_on="method")
    assert kind(cassette, player=player).player is player


@pytest.mark.parametrize("kind", TRANSPORTS)
def test_a_player_must_play_the_cassette_it_is_given_with(kind: type[ReplayTransport], tmp_path: Path) -> None:
    saved = sse_cassette().save(str(tmp_path / "a.yaml"))
    other = sse_cassette().save(str(tmp_path / "b.yaml"))
    player = CassettePlayer([sse_cassette().load(saved)])
    assert kind(saved, player=player).player is player
    with pytest.raises(ChunktapeError, match=r"b\.yaml and a player= that does not play it"):
        kind(other, player=player)


def test_an_unknown_clock_is_refused_with_the_choices() -> None:
    with pytest.raises(ChunktapeError, match="unknown clock 'fake': use one of auto, real, virtual"):
        AsyncReplayTransport(sse_cassette(), clock="fake")  # type: ignore[arg-type]


@pytest.mark.parametrize("flavor", FLAVORS)
def test_faults_map_to_the_client_librarys_own_errors(flavor: ModuleType) -> None:
    request = flavor.Request("GET", "http://replay.test/")
    with pytest.raises(flavor.ReadTimeout, match="replayed stall") as timeout, map_replay_errors(flavor, request):
        raise ReplayedTimeout("timed out waiting for the next chunk (replayed stall)")
    assert timeout.value.request is request
    with pytest.raises(flavor.RemoteProtocolError, match="incomplete"), map_replay_errors(flavor, request):
        raise ReplayedCut("incomplete chunked read")
    with pytest.raises(KeyError), map_replay_errors(flavor, request):  # anything else passes untouched
        raise KeyError("x")


def test_beats_end_in_a_timeout_where_the_client_gives_up() -> None:
    interaction = sse_interaction(times=[1.0, 21.0, 21.25, 21.3], headers_at_s=0.5)
    schedule = build_schedule(interaction.request, interaction.response, ReplayPolicy())
    assert [beat.at_s for beat in client_beats(schedule, None)] == [1.0, 21.0, 21.25, 21.3]
    assert list(client_beats(schedule, 10.0))[-1] == Beat("timeout", 11.0)  # stall start + timeout
    assert head_beat(schedule, None) == Beat("head", 0.5)
    assert head_beat(schedule, 0.2) == Beat("timeout", 0.2)
