"""The bundled example cassettes are valid, and are exactly what the recorder records when
the provider-exact fake upstreams are put behind it."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from chunktape import Recorder, load_cassette
from chunktape.persist import dumps
from tests.support.fakes.upstream import FakeUpstream
from tests.support.fakes.wire import EXCHANGES

CASSETTES = Path(__file__).resolve().parents[2] / "cassettes"


@pytest.mark.parametrize("name", sorted(EXCHANGES))
def test_each_example_loads_and_round_trips_byte_identical(name: str) -> None:
    path = CASSETTES / f"{name}.yaml"
    assert dumps(load_cassette(str(path))) == path.read_text(encoding="utf-8")


def test_an_example_cuts_a_chunk_inside_a_utf8_character_and_between_cr_and_lf() -> None:
    chunks = load_cassette(str(CASSETTES / "gemini_stream.yaml")).interactions[0].response.chunks
    assert any(_ends_inside_a_character(chunk.data) for chunk in chunks)
    assert any(chunk.data.endswith(b"\r") for chunk in chunks[:-1])


def _ends_inside_a_character(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.reason == "unexpected end of data"
    return False


def test_recording_the_fake_upstreams_reproduces_the_examples(tmp_path: Path) -> None:
    recorded_path = tmp_path / "recorded.yaml"
    with FakeUpstream(speed=1) as upstream, Recorder(str(recorded_path), upstream=upstream.base_url) as recorder:
        for exchange in EXCHANGES.values():
            with (
                httpx.Client() as client,
                client.stream(
                    exchange.method, recorder.base_url + exchange.path, json=exchange.request_json
                ) as response,
            ):
                for _ in response.iter_raw():
                    pass
    recorded = load_cassette(str(recorded_path)).interactions
    assert len(recorded) == len(EXCHANGES)
    for name, interaction in zip(EXCHANGES, recorded, strict=True):
        example = load_cassette(str(CASSETTES / f"{name}.yaml")).interactions[0].response
        got = interaction.response
        assert got.status == example.status, name
        assert got.body == example.body, name
        assert [len(c.data) for c in got.chunks] == [len(c.data) for c in example.chunks], name
        # a chunk is never recorded before the fake sent it: its offset is at least the gaps the
        # fake slept before it (a busy machine only makes it later; precise figures are in bench/)
        sent_at = 0.0
        for chunk, (gap, _) in zip(got.chunks, EXCHANGES[name].chunks, strict=True):
            sent_at += gap
            assert chunk.at_s >= sent_at - 0.002, name
        assert [c.at_s for c in got.chunks] == sorted(c.at_s for c in got.chunks), name
