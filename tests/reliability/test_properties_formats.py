"""For-all invariants of the non-SSE stream formats, by hypothesis: every JSON-array, NDJSON
and AWS event-stream body (whole, cut anywhere, or corrupted) is stored and read back
byte-exact; the event split never loses or reorders a byte and cuts only where an event
ends; event boundaries found in a prefix never move when more bytes arrive."""

from __future__ import annotations

import contextlib
import json

from botocore.eventstream import EventStreamBuffer
from hypothesis import given
from hypothesis import strategies as st

from chunktape import Cassette, Chunk, Interaction, ReplayPolicy, Request, Response, build_schedule
from chunktape.bodies import BodyFormatError, decode_body, encode_body
from chunktape.bodies.event_stream import write_message
from chunktape.bodies.framing import event_ends
from chunktape.persist import dumps, loads

EVENT_STREAM = "application/vnd.amazon.eventstream"
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**40), 2**40)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)
styles = st.sampled_from(
    [
        lambda v: json.dumps(v, ensure_ascii=False, indent=2),
        lambda v: json.dumps(v, separators=(",", ":")),
        lambda v: json.dumps(v),
    ]
)


@st.composite
def json_arrays(draw: st.DrawFn) -> bytes:
    style = draw(styles)
    values = draw(st.lists(json_values, min_size=1, max_size=5))
    mixed = draw(st.booleans())  # some elements written in another style: kept as exact text
    elements = [(draw(styles) if mixed else style)(value) for value in values]
    separator = draw(st.sampled_from(["\n,\r\n", ",", ", ", ",\n", "\n,\n"]))
    text = (
        draw(st.sampled_from(["[", "[\n", " ["]))
        + separator.join(elements)
        + draw(st.sampled_from(["\n]", "]", "]\n"]))
    )
    data = text.encode("utf-8")
    return data[: draw(st.integers(1, len(data)))] if draw(st.booleans()) else data


ndjson = st.lists(json_values, max_size=6).map(
    lambda values: "".join(json.dumps(v, separators=(",", ":")) + "\n" for v in values).encode()
)
headers = st.dictionaries(st.text(min_size=1, max_size=12), st.text(max_size=20) | st.booleans(), max_size=4)
payloads = st.one_of(
    json_values.map(lambda v: json.dumps(v, separators=(",", ":")).encode()), st.binary(max_size=40), st.just(b"")
)
messages = st.lists(st.tuples(headers, payloads).map(lambda hp: write_message(*hp)), max_size=5)


@st.composite
def event_streams(draw: st.DrawFn) -> bytes:
    data = bytearray(b"".join(draw(messages)))
    if data and draw(st.booleans()):  # flip one bit somewhere: a bad CRC, length or header
        data[draw(st.integers(0, len(data) - 1))] ^= 1 << draw(st.integers(0, 7))
    if data and draw(st.booleans()):
        del data[draw(st.integers(0, len(data) - 1)) :]
    return bytes(data)


FORMATS = st.one_of(
    json_arrays().map(lambda data: (data, "application/json; charset=UTF-8")),
    ndjson.map(lambda data: (data, "application/x-ndjson")),
    event_streams().map(lambda data: (data, EVENT_STREAM)),
)


@given(FORMATS)
def test_every_stream_body_is_stored_byte_exact(case: tuple[bytes, str]) -> None:
    data, content_type = case
    assert decode_body(encode_body(data, content_type)) == data


@given(st.tuples(st.dictionaries(st.text(min_size=1, max_size=12), st.text(max_size=20), max_size=4), payloads))
def test_botocore_reads_back_every_message_we_write(case: tuple[dict[str, str], bytes]) -> None:
    headers, payload = case
    buffer = EventStreamBuffer()
    buffer.add_data(write_message(headers, payload))
    [message] = list(buffer)
    assert (message.headers, message.payload) == (headers, payload)


@given(FORMATS, st.sampled_from(["events", "utf8", "bytes:1", "random:1-9"]), st.integers(0, 2**16))
def test_every_split_of_every_format_reassembles_the_body(case: tuple[bytes, str], split: str, seed: int) -> None:
    data, content_type = case
    if not data:
        return
    response = Response(200, (("content-type", content_type),), 0.0, (Chunk(0.1, data),))
    plan = build_schedule(
        Request("POST", "http://api.test/x"), response, ReplayPolicy.from_knobs(split=split, seed=seed)
    )
    assert plan.body == data
    assert all(step.data for step in plan.steps)
    if split == "events":
        ends = set(event_ends(data, content_type)) | {len(data)}
        offset = 0
        for step in plan.steps:
            offset += len(step.data)
            assert offset in ends


@given(FORMATS, st.integers(0, 400))
def test_a_stream_cut_anywhere_frames_its_events_the_same(case: tuple[bytes, str], cut_at: int) -> None:
    data, content_type = case
    cut_at = min(cut_at, len(data))
    before = [end for end in event_ends(data[:cut_at], content_type) if end < cut_at]
    assert before == [end for end in event_ends(data, content_type) if end < cut_at]


anything = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 300) | st.text(max_size=8) | st.floats(allow_nan=True),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                ["headers", "json", "json_style", "bytes_json_style", "text", "base64", "message_base64", "bytes", "x"]
            )
            | st.text(max_size=4),
            inner,
            max_size=4,
        )
    ),
    max_leaves=10,
)
body_nodes = st.one_of(
    st.builds(lambda items: {"event_stream": items}, st.lists(anything, max_size=3)),
    st.builds(
        lambda items, extra: {"json_array": items, **extra},
        st.lists(anything, max_size=3),
        st.dictionaries(st.sampled_from(["json_style", "open", "separator", "close"]), anything, max_size=2),
    ),
)


@given(body_nodes)
def test_any_new_kind_node_decodes_or_says_what_is_wrong(node: dict[str, object]) -> None:
    with contextlib.suppress(BodyFormatError):
        decode_body(node)


@given(FORMATS)
def test_every_stream_body_round_trips_through_the_cassette_file(case: tuple[bytes, str]) -> None:
    data, content_type = case
    if not data:
        return
    headers = (("content-type", content_type),)
    cassette = Cassette(
        [Interaction(Request("POST", "http://api.test/x"), Response(200, headers, 0.0, (Chunk(0.1, data),)))]
    )
    text = dumps(cassette)
    assert loads(text) == cassette
    assert dumps(loads(text)) == text
