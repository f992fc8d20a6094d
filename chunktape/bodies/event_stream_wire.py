"""AWS event-stream messages as bytes: read one, write one, without botocore.

A message (big-endian throughout) is::

    total length (4) | headers length (4) | prelude CRC32 (4) | headers | payload | message CRC32 (4)

The prelude CRC covers the first 8 bytes, the message CRC everything before it. Each header is
name length (1) | name (UTF-8) | type (1) | value, where the type says how the value is held:
0 true, 1 false (no value), 2 byte, 3 short, 4 integer, 5 long (signed, 1/2/4/8 bytes),
6 byte array and 7 string (2-byte length, then the bytes), 8 timestamp (signed 8-byte
milliseconds since the epoch), 9 uuid (16 bytes). Reading checks both CRCs and every length,
and refuses what botocore refuses (a duplicate header, headers over 128 KiB, a payload over
24 MiB), so a body reads the same here as in the SDKs that receive it.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from typing import Literal

HeaderType = Literal["boolean", "byte", "short", "integer", "long", "byte_array", "string", "timestamp", "uuid"]

PRELUDE_BYTES = 12
SMALLEST_MESSAGE = PRELUDE_BYTES + 4
MAX_HEADERS_BYTES = 128 * 1024
MAX_PAYLOAD_BYTES = 24 * 1024 * 1024

# type code -> (name, struct format of a fixed-size value); 0/1 carry no value, 6/7 are sized
_FIXED: dict[int, tuple[HeaderType, str]] = {
    2: ("byte", ">b"),
    3: ("short", ">h"),
    4: ("integer", ">i"),
    5: ("long", ">q"),
    8: ("timestamp", ">q"),
}
_CODES: dict[HeaderType, int] = {"byte_array": 6, "string": 7, "uuid": 9, **{n: c for c, (n, _) in _FIXED.items()}}
_RANGES = {"byte": 8, "short": 16, "integer": 32, "long": 64, "timestamp": 64}


@dataclass(frozen=True)
class Header:
    """One header of a message: its name, its wire type and its value (bool for boolean, int for
    byte/short/integer/long/timestamp (milliseconds), bytes for byte_array and uuid, str for string)."""

    name: str
    type: HeaderType
    value: bool | int | bytes | str


@dataclass(frozen=True)
class Message:
    headers: tuple[Header, ...]
    payload: bytes


def crc32(data: bytes, start: int = 0) -> int:
    return zlib.crc32(data, start) & 0xFFFFFFFF


def message_ends(data: bytes) -> list[int]:
    """Offsets just past each whole message, by the lengths in the preludes; stops at the first
    prelude that cannot start a message or whose message runs past the end (a cut stream)."""
    ends: list[int] = []
    position = 0
    while position + PRELUDE_BYTES <= len(data):
        total = int.from_bytes(data[position : position + 4], "big")
        if total < SMALLEST_MESSAGE or position + total > len(data):
            break
        position += total
        ends.append(position)
    return ends


def read_message(raw: bytes) -> Message:
    """The headers and payload of exactly one whole message; ValueError saying what is wrong."""
    if len(raw) < PRELUDE_BYTES:
        raise ValueError(f"is cut short: {len(raw)} bytes, less than a prelude")
    total, headers_bytes, prelude_crc = struct.unpack(">III", raw[:PRELUDE_BYTES])
    _check_crc("prelude", prelude_crc, crc32(raw[:8]))
    if headers_bytes > MAX_HEADERS_BYTES:
        raise ValueError(f"has {headers_bytes} bytes of headers, more than the {MAX_HEADERS_BYTES} allowed")
    payload_bytes = total - headers_bytes - SMALLEST_MESSAGE
    if payload_bytes > MAX_PAYLOAD_BYTES:
        raise ValueError(f"has a {payload_bytes}-byte payload, more than the {MAX_PAYLOAD_BYTES} allowed")
    if len(raw) < total:
        raise ValueError(f"is cut short: {len(raw)} bytes, less than the {total} its prelude announces")
    if len(raw) > total:
        raise ValueError("has bytes after its message CRC")
    if payload_bytes < 0:
        raise ValueError(f"announces {headers_bytes} bytes of headers, more than its {total} bytes can hold")
    _check_crc("message", int.from_bytes(raw[-4:], "big"), crc32(raw[8:-4], prelude_crc))
    headers_end = PRELUDE_BYTES + headers_bytes
    return Message(read_headers(raw[PRELUDE_BYTES:headers_end]), raw[headers_end:-4])


def _check_crc(which: str, expected: int, calculated: int) -> None:
    if expected != calculated:
        raise ValueError(
            f"has a bad {which} CRC (expected 0x{expected:08x}, calculated 0x{calculated:08x}): "
            "its bytes are not the ones it was sent with"
        )


def read_headers(data: bytes) -> tuple[Header, ...]:
    """The headers section of a message, which must hold whole headers and nothing else."""
    headers: list[Header] = []
    seen: set[str] = set()
    position = 0
    try:
        while position < len(data):
            name_end = position + 1 + data[position]
            name = _text(data, position + 1, name_end, "name")
            code = data[name_end]
            position = name_end + 1
            value: bool | int | bytes | str
            if code in (0, 1):
                kind: HeaderType = "boolean"
                value = code == 0
            elif code in _FIXED:
                kind, layout = _FIXED[code]
                size = struct.calcsize(layout)
                value = struct.unpack(layout, _take(data, position, size))[0]
                position += size
            elif code in (6, 7):
                size = int.from_bytes(_take(data, position, 2), "big")
                kind = "byte_array" if code == 6 else "string"
                raw = _take(data, position + 2, size)
                value = raw if code == 6 else _text(data, position + 2, position + 2 + size, "value")
                position += 2 + size
            elif code == 9:
                kind, value = "uuid", _take(data, position, 16)
                position += 16
            else:
                raise ValueError(f"has a header {name!r} of unknown type {code}")
            if name in seen:
                raise ValueError(f"has the header {name!r} twice")
            seen.add(name)
            headers.append(Header(name, kind, value))
    except IndexError:
        raise ValueError("has headers cut short: a header runs past the end of the headers section") from None
    return tuple(headers)


def _take(data: bytes, start: int, size: int) -> bytes:
    if start + size > len(data):
        raise IndexError
    return data[start : start + size]


def _text(data: bytes, start: int, end: int, what: str) -> str:
    try:
        return _take(data, start, end - start).decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"has a header {what} that is not UTF-8") from None


def write_message(headers: tuple[Header, ...] | list[Header], payload: bytes) -> bytes:
    """One message with its lengths and both CRCs computed; ValueError for a header the wire
    cannot hold (a name over 255 bytes, a value out of its type's range)."""
    encoded = b"".join(write_header(header) for header in headers)
    total = SMALLEST_MESSAGE + len(encoded) + len(payload)
    prelude = struct.pack(">II", total, len(encoded))
    prelude += crc32(prelude).to_bytes(4, "big")
    body = prelude + encoded + payload
    return body + crc32(body).to_bytes(4, "big")


def write_header(header: Header) -> bytes:
    name = header.name.encode("utf-8")
    if len(name) > 255:
        raise ValueError(f"header name {header.name[:20]!r}… is longer than 255 bytes")
    value = header.value
    start = bytes([len(name)]) + name
    if header.type == "boolean":
        if not isinstance(value, bool):
            raise ValueError(f"header {header.name!r} of type boolean needs true or false")
        return start + bytes([0 if value else 1])
    code = _CODES[header.type]
    if header.type in _RANGES:
        if not isinstance(value, int) or isinstance(value, bool):
            raise ValueError(f"header {header.name!r} of type {header.type} needs a whole number")
        bits = _RANGES[header.type]
        if not -(1 << (bits - 1)) <= value < 1 << (bits - 1):
            raise ValueError(
                f"header {header.name!r}: {value} does not fit its type, {header.type} ({bits}-bit signed)"
            )
        return start + bytes([code]) + value.to_bytes(bits // 8, "big", signed=True)
    data = value.encode("utf-8") if isinstance(value, str) else value
    if not isinstance(data, bytes) or (header.type == "string") != isinstance(value, str):
        raise ValueError(f"header {header.name!r} of type {header.type} needs {'text' if code == 7 else 'bytes'}")
    if header.type == "uuid":
        if len(data) != 16:
            raise ValueError(f"header {header.name!r}: a uuid is 16 bytes, not {len(data)}")
        return start + bytes([code]) + data
    if len(data) > 0xFFFF:
        raise ValueError(f"header {header.name!r} is longer than an event-stream header can be (65535 bytes)")
    return start + bytes([code]) + len(data).to_bytes(2, "big") + data
