"""For-all invariants, by hypothesis: no split loses, duplicates or reorders a byte, and
every cassette round-trips to the identical object and the identical file."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from chunktape import Cassette, Chunk, Interaction, ReplayPolicy, Request, Response, build_schedule
from chunktape.bodies import decode_body, encode_body
from chunktape.persist import dumps, loads
from chunktape.sse import split_events

SPLITS = st.sampled_from(["recorded", "bytes:1", "bytes:7", "random:1-5", "random:3-40", "utf8", "sse", "whole"])
FAULTS = st.sampled_from([None, "stall:1:10ms", "truncate", "disconnect:3"])
CONTENT_TYPES = st.sampled_from(
    [None, "text/event-stream", "application/json", "text/plain", "application/octet-stream"]
)

sse_like = st.lists(
    st.tuples(
        st.sampled_from(["data: ", "event: x\ndata: ", ": ping"]),
        st.text(max_size=30),
        st.sampled_from(["\n\n", "\r\n\r\n", "\r\r", "\n"]),
    ),
    max_size=6,
).map(lambda parts: "".join(a + b + c for a, b, c in parts).encode("utf-8"))
bodies = st.one_of(st.binary(max_size=300), st.text(max_size=200).map(str.encode), sse_like)


@st.composite
def chunked(draw: st.DrawFn) -> tuple[bytes, tuple[Chunk, ...]]:
    body = draw(bodies)
    cuts = sorted(set(draw(st.lists(st.integers(1, max(1, len(body) - 1)), max_size=12)))) if len(body) > 1 else []
    gaps = draw(st.lists(st.floats(0, 0.5, allow_nan=False), min_size=len(cuts) + 1, max_size=len(cuts) + 1))
    chunks, start, at = [], 0, 0.0
    for end, gap in zip([*cuts, len(body)], gaps, strict=True):
        at = round(at + gap, 6)
        if end > start:
            chunks.append(Chunk(at_s=at, data=body[start:end]))
        start = end
    return body, tuple(chunks)


def _interaction(chunks: tuple[Chunk, ...], content_type: str | None, request_body: bytes) -> Interaction:
    headers = (("content-type", content_type),) if content_type else ()
    return Interaction(
        Request("POST", "http://api.test/v1/x?alt=sse", headers, request_body),
        Response(200, headers, 0.0, chunks),
    )


@given(chunked(), SPLITS, FAULTS, st.integers(0, 2**32))
def test_every_split_reassembles_the_identical_bytes(
    data: tuple[bytes, tuple[Chunk, ...]], split: str, fault: str | None, seed: int
) -> None:
    body, chunks = data
    interaction = _interaction(chunks, "text/event-stream", b"")
    plan = build_schedule(interaction.request, interaction.response, ReplayPolicy.from_knobs(split=split, seed=seed))
    assert plan.body == body
    assert all(step.data for step in plan.steps)
    times = [step.at_s for step in plan.steps]
    assert times == sorted(times)
    if fault is not None:
        faulty = build_schedule(
            interaction.request, interaction.response, ReplayPolicy.from_knobs(split=split, fault=fault, seed=seed)
        )
        assert body.startswith(faulty.body)


@given(
    chunked(),
    CONTENT_TYPES,
    st.one_of(
        st.binary(max_size=80),
        st.text(max_size=80).map(str.encode),
        st.just(b'{"a": [1, 2.5, "\xe4\xbd\xa0"], "b": null}'),
    ),
)
def test_any_cassette_round_trips_to_identical_object_and_file(
    data: tuple[bytes, tuple[Chunk, ...]], content_type: str | None, request_body: bytes
) -> None:
    _, chunks = data
    cassette = Cassette([_interaction(chunks, content_type, request_body)])
    text = dumps(cassette)
    loaded = loads(text)
    assert loaded == cassette
    assert dumps(loaded) == text


offsets = st.timedeltas(min_value=timedelta(hours=-23), max_value=timedelta(hours=23)).map(timezone)


@given(st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(9998, 1, 1), timezones=offsets))
def test_any_recorded_at_round_trips_to_the_same_moment_written_once_in_utc(moment: datetime) -> None:
    cassette = Cassette([dataclasses.replace(_interaction((), None, b""), recorded_at=moment)])
    text = dumps(cassette)
    loaded = loads(text)
    assert loaded.interactions[0].recorded_at == moment
    assert loaded.interactions[0].recorded_at.utcoffset() == timedelta(0)
    assert dumps(loaded) == text
    assert text.count("Z'\n") == 1


@given(bodies, CONTENT_TYPES)
def test_body_encoding_is_byte_exact(body: bytes, content_type: str | None) -> None:
    assert decode_body(encode_body(body, content_type)) == body


@given(sse_like)
def test_sse_events_reassemble_the_body(body: bytes) -> None:
    assert b"".join(split_events(body)) == body
