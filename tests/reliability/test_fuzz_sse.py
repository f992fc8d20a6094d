"""Fuzzing SSE framing and the body codec: event_ends agrees with an independent reading of
the WHATWG rule, never depends on bytes after the point it decides on (so a stream cut
anywhere frames the same), and split_events loses nothing; every body, however hostile to
YAML, is stored and read back byte-exact; any body node either decodes or raises
BodyFormatError.
"""

from __future__ import annotations

import re

from hypothesis import example, given
from hypothesis import strategies as st

from chunktape import Cassette, Chunk, Interaction, Request, Response
from chunktape.bodies import BodyFormatError, decode_body, encode_body
from chunktape.persist import dumps, loads
from chunktape.sse import event_ends, split_events

# bytes that matter to SSE framing and to YAML, in runs
ATOMS = [
    b"\r", b"\n", b"\r\n", b"data: ", b"event: x", b": ping", b"id: 1", b"{}", b"a", b" ", b"\t",
    "这".encode(), "🚀".encode(), b"\xe8", b"\xff", b"\x00", "\x85".encode(), "\u2028".encode(), "\ufeff".encode(),
]  # fmt: skip
sse_bytes = st.lists(st.sampled_from(ATOMS), max_size=40).map(b"".join) | st.binary(max_size=200)
_LINE_END = re.compile(rb"\r\n|\r|\n")


def reference_event_ends(body: bytes) -> list[int]:
    """The WHATWG rule read independently: split into lines at CRLF, CR or LF (CRLF is one
    ending); an empty line ends an event, just past its ending."""
    ends, line_start = [], 0
    for match in _LINE_END.finditer(body):
        if match.start() == line_start:
            ends.append(match.end())
        line_start = match.end()
    return ends


@given(sse_bytes)
@example(b"data: a\r\n\r\n")
@example(b"\r\r\n\n")
def test_event_ends_agrees_with_an_independent_reading_of_the_rule(body: bytes) -> None:
    ends = event_ends(body)
    assert ends == reference_event_ends(body)
    assert ends == sorted(set(ends))
    assert all(0 < end <= len(body) for end in ends)
    assert all(body[:end].endswith((b"\n", b"\r")) for end in ends)


@given(sse_bytes, st.integers(0, 250))
def test_a_stream_cut_anywhere_frames_its_events_the_same(body: bytes, cut_at: int) -> None:
    """Events that end before the cut end at the same offsets, so a cut or a re-split stream
    never moves an event boundary (only a CR right at the cut may still await its LF)."""
    cut_at = min(cut_at, len(body))
    prefix = body[:cut_at]
    assert [end for end in event_ends(prefix) if end < cut_at] == [end for end in event_ends(body) if end < cut_at]


@given(sse_bytes)
def test_split_events_loses_nothing_and_cuts_only_at_event_ends(body: bytes) -> None:
    pieces = split_events(body)
    assert b"".join(pieces) == body
    assert all(pieces)
    offsets, total = [], 0
    for piece in pieces:
        total += len(piece)
        offsets.append(total)
    complete = event_ends(body)
    assert offsets[: len(complete)] == complete
    assert len(pieces) - len(complete) in (0, 1)  # at most one unterminated tail


CONTENT_TYPES = st.sampled_from(
    [None, "text/event-stream", "text/event-stream; charset=utf-8", "application/json", "text/plain", "image/png"]
)
json_like = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
).map(lambda value: __import__("json").dumps(value, ensure_ascii=False).encode("utf-8"))


@given(sse_bytes | json_like, CONTENT_TYPES, st.lists(st.integers(1, 200), max_size=6))
@example("a\x85\n🚀".encode(), "text/event-stream", [2])
@example(b"data: x\r\n\r", "text/event-stream", [9])
def test_any_body_survives_a_cassette_file_byte_exact_and_chunk_exact(
    body: bytes, content_type: str | None, cuts: list[int]
) -> None:
    node = encode_body(body, content_type)
    assert decode_body(node) == body
    offsets = sorted({cut for cut in cuts if cut < len(body)})
    ends = [*offsets, len(body)] if body else []
    chunks, start = [], 0
    for index, end in enumerate(ends):
        chunks.append(Chunk(at_s=0.01 * index, data=body[start:end]))
        start = end
    headers = (("content-type", content_type),) if content_type else ()
    cassette = Cassette(
        [Interaction(Request("POST", "http://x.test/", headers, body), Response(200, headers, 0.0, tuple(chunks)))]
    )
    text = dumps(cassette)
    again = loads(text)
    assert again == cassette
    assert dumps(again) == text


body_nodes = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10) | st.binary(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(["json", "sse_events", "text", "base64", "json_style", "line_end", "unterminated", "x"]),
            inner,
            max_size=3,
        )
    ),
    max_leaves=8,
)


@given(body_nodes)
@example({"text": "\ud800"})  # a lone surrogate: UnicodeEncodeError, not BodyFormatError, before the fix
@example({"sse_events": ["\udfff"]})
@example({"json": [[[[[[[[]]]]]]]], "json_style": "indent2"})
def test_any_body_node_decodes_or_raises_body_format_error(node: object) -> None:
    try:
        decoded = decode_body(node)
    except BodyFormatError as exc:
        message = str(exc)
        assert "\n" not in message, message  # the message is the property under test
    else:
        assert isinstance(decoded, bytes)
