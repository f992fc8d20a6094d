"""AWS event-stream messages read and written without botocore, and held to botocore's parser:
every header type, both CRCs, every length; on generated messages, whole or corrupted, our
reader accepts exactly what botocore accepts and reads the same headers and payload."""

from __future__ import annotations

import struct
import zlib

import pytest
from botocore.eventstream import EventStreamBuffer, ParserError
from hypothesis import event, example, given
from hypothesis import strategies as st

from chunktape.bodies.event_stream_wire import (
    MAX_HEADERS_BYTES,
    Header,
    Message,
    message_ends,
    read_message,
    write_header,
    write_message,
)

STRICTER = ("headers cut short", "bytes of headers, more than its")
_BITS = {"byte": 8, "short": 16, "integer": 32, "long": 64, "timestamp": 64}


def _ints(kind: str) -> st.SearchStrategy[Header]:
    bits = _BITS[kind]
    values = st.integers(-(1 << (bits - 1)), (1 << (bits - 1)) - 1)
    return st.builds(Header, st.just(""), st.just(kind), values)  # type: ignore[arg-type]


header_values = st.one_of(
    st.booleans().map(lambda v: Header("", "boolean", v)),
    *(_ints(kind) for kind in _BITS),
    st.binary(max_size=40).map(lambda v: Header("", "byte_array", v)),
    st.text(max_size=30).map(lambda v: Header("", "string", v)),
    st.binary(min_size=16, max_size=16).map(lambda v: Header("", "uuid", v)),
)
names = st.text(max_size=20)  # hypothesis text has no lone surrogates; 20 characters fit 255 bytes


@st.composite
def messages(draw: st.DrawFn) -> Message:
    chosen = draw(st.lists(names, max_size=6, unique=True))
    headers = []
    for name in chosen:
        header = draw(header_values)
        headers.append(Header(name, header.type, header.value))
    return Message(tuple(headers), draw(st.binary(max_size=60)))


def botocore_reads(raw: bytes) -> tuple[dict[str, object], bytes] | None:
    """botocore's view of one message: (headers, payload), or None when it refuses it."""
    buffer = EventStreamBuffer()
    buffer.add_data(raw)
    try:
        found = list(buffer)
    except (ParserError, struct.error, UnicodeDecodeError, KeyError):
        return None
    if len(found) != 1 or found[0].prelude.total_length != len(raw):
        return None
    return dict(found[0].headers), bytes(found[0].payload)


def as_botocore_headers(message: Message) -> dict[str, object]:
    """What botocore makes of each type: timestamps as int milliseconds, uuids as 16 bytes."""
    return {header.name: header.value for header in message.headers}


@given(messages())
def test_botocore_reads_every_message_we_write_with_every_header_type(message: Message) -> None:
    raw = write_message(message.headers, message.payload)
    assert botocore_reads(raw) == (as_botocore_headers(message), message.payload)
    assert read_message(raw) == message


@given(messages(), st.data())
@example(Message((Header("a", "string", "xyz"),), b"payload"), None)
def test_on_any_corruption_we_accept_only_what_botocore_accepts_and_read_the_same(
    message: Message, data: st.DataObject | None
) -> None:
    raw = bytearray(write_message(message.headers, message.payload))
    if data is not None:
        for _ in range(data.draw(st.integers(1, 3))):
            position = data.draw(st.integers(0, len(raw) - 1))
            raw[position] = data.draw(st.integers(0, 255))
        if data.draw(st.booleans()):
            _fix_crcs(raw)  # past the CRCs: the lengths and headers themselves are what is wrong
    theirs = botocore_reads(bytes(raw))
    ours = _ours(bytes(raw))
    event("refused" if isinstance(ours, str) else "read", payload=str(theirs is None))
    if isinstance(ours, str):
        # botocore slices without checking: a header value running past the headers section, or a
        # headers length past the message (it reads the CRC as headers); the two things we refuse
        # and it reads
        assert theirs is None or any(problem in ours for problem in STRICTER), (theirs, ours)
    else:
        assert theirs == (as_botocore_headers(ours), ours.payload)


def _ours(raw: bytes) -> Message | str:
    try:
        return read_message(raw)
    except ValueError as exc:
        return str(exc)


def _fix_crcs(raw: bytearray) -> None:
    if len(raw) >= 16:
        raw[8:12] = (zlib.crc32(bytes(raw[:8])) & 0xFFFFFFFF).to_bytes(4, "big")
        raw[-4:] = (zlib.crc32(bytes(raw[:-4])) & 0xFFFFFFFF).to_bytes(4, "big")


def test_each_header_type_has_its_wire_code_and_size() -> None:
    cases = [
        (Header("t", "boolean", True), b"\x00"),
        (Header("t", "boolean", False), b"\x01"),
        (Header("t", "byte", -1), b"\x02\xff"),
        (Header("t", "short", 258), b"\x03\x01\x02"),
        (Header("t", "integer", 1), b"\x04\x00\x00\x00\x01"),
        (Header("t", "long", -2), b"\x05" + b"\xff" * 7 + b"\xfe"),
        (Header("t", "byte_array", b"\x00\x01"), b"\x06\x00\x02\x00\x01"),
        (Header("t", "string", "é"), b"\x07\x00\x02\xc3\xa9"),
        (Header("t", "timestamp", 1_700_000_000_000), b"\x08" + (1_700_000_000_000).to_bytes(8, "big")),
        (Header("t", "uuid", bytes(range(16))), b"\x09" + bytes(range(16))),
    ]
    for header, value in cases:
        assert write_header(header) == b"\x01t" + value


def test_a_known_message_is_read_field_by_field() -> None:
    headers = b"\x0b:event-type\x07\x00\x05chunk"
    payload = b'{"a":1}'
    prelude = struct.pack(">II", 12 + len(headers) + len(payload) + 4, len(headers))
    prelude += zlib.crc32(prelude).to_bytes(4, "big")
    raw = prelude + headers + payload
    raw += zlib.crc32(raw).to_bytes(4, "big")
    assert read_message(raw) == Message((Header(":event-type", "string", "chunk"),), payload)
    assert write_message((Header(":event-type", "string", "chunk"),), payload) == raw


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda raw: raw[:-1] + bytes([raw[-1] ^ 1]), "bad message CRC"),
        (lambda raw: raw[:8] + bytes([raw[8] ^ 1]) + raw[9:], "bad prelude CRC"),
        (lambda raw: raw[:-3], "is cut short"),
        (lambda raw: raw[:5], "less than a prelude"),
        (lambda raw: raw + b"x", "bytes after its message CRC"),
    ],
    ids=["message-crc", "prelude-crc", "cut", "tiny", "trailing"],
)
def test_a_broken_message_says_what_is_wrong(change: object, problem: str) -> None:
    raw = write_message((Header("a", "string", "b"),), b"payload")
    with pytest.raises(ValueError, match=problem):
        read_message(change(raw))  # type: ignore[operator]


def test_duplicate_headers_and_unknown_types_are_refused_as_botocore_does() -> None:
    twice = write_message((Header("a", "string", "1"), Header("a", "string", "2")), b"")
    with pytest.raises(ValueError, match="header 'a' twice"):
        read_message(twice)
    assert botocore_reads(twice) is None
    unknown = bytearray(write_message((Header("a", "boolean", True),), b""))
    unknown[14] = 10  # the type code
    _fix_crcs(unknown)
    with pytest.raises(ValueError, match="unknown type 10"):
        read_message(bytes(unknown))
    assert botocore_reads(bytes(unknown)) is None


def test_oversized_headers_are_refused_before_reading_them() -> None:
    prelude = struct.pack(">II", 16 + MAX_HEADERS_BYTES + 1, MAX_HEADERS_BYTES + 1)
    raw = prelude + zlib.crc32(prelude).to_bytes(4, "big")
    with pytest.raises(ValueError, match="bytes of headers, more than"):
        read_message(raw)


@pytest.mark.parametrize(
    ("header", "problem"),
    [
        (Header("x" * 256, "string", ""), "longer than 255 bytes"),
        (Header("a", "byte", 128), "does not fit its type, byte"),
        (Header("a", "uuid", b"short"), "a uuid is 16 bytes"),
        (Header("a", "string", "x" * 70_000), "65535 bytes"),
        (Header("a", "integer", "1"), "needs a whole number"),
        (Header("a", "boolean", 1), "needs true or false"),
    ],
)
def test_a_header_the_wire_cannot_hold_is_refused(header: Header, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        write_header(header)


def test_message_ends_stop_at_a_cut_message() -> None:
    one = write_message((), b"abc")
    assert message_ends(one + one + one[:10]) == [len(one), 2 * len(one)]
