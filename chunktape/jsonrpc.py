"""JSON-RPC ids (MCP): a replayed reply carries the id the live request was sent with.

Clients number their requests as they like (from 0 or 1, or at random), so a recorded reply's
`id` is swapped for the live request's, byte-exact otherwise: only the digits or the string
of the top-level `"id"` change, and chunk boundaries stay where they were. Pure.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from chunktape.cassette import Chunk

RpcId = int | str
_ID_KEY = re.compile(rb'"id"\s*:\s*')


def request_id(data: bytes) -> RpcId | None:
    """The `id` of a JSON-RPC request (a message with a `method`), or None for a notification
    or anything that is not JSON-RPC."""
    message = _message(data)
    if message is None or "method" not in message:
        return None
    return _id_of(message)


def reply_id(data: bytes) -> RpcId | None:
    """The `id` of a JSON-RPC reply (a message with `result` or `error`), or None."""
    message = _message(data)
    if message is None or not ("result" in message or "error" in message):
        return None
    return _id_of(message)


def with_id(data: bytes, old: RpcId, new: RpcId) -> bytes:
    """`data` (one JSON-RPC message) with its top-level id `old` written as `new`."""
    found = _id_span(data, 0, old)
    if found is None:
        return data
    start, end = found
    return data[:start] + _dumps(new) + data[end:]


def chunks_with_id(chunks: Sequence[Chunk], old: RpcId, new: RpcId) -> tuple[Chunk, ...]:
    """A reply body (JSON, or SSE whose data lines are replies) with every top-level id `old`
    written as `new`. Each edit lands in the chunk where the old id began; the chunks keep
    their times and every other byte."""
    body = b"".join(chunk.data for chunk in chunks)
    edits = _reply_spans(body, old)
    if not edits or old == new:
        return tuple(chunks)
    replacement = _dumps(new)
    out: list[Chunk] = []
    start = 0
    for chunk in chunks:
        end = start + len(chunk.data)
        pieces: list[bytes] = []
        cursor = start
        for edit_start, edit_end in edits:
            if edit_end <= start or edit_start >= end:
                continue
            if edit_start >= start:  # the edit begins here: the new id goes in this chunk
                pieces += [body[cursor:edit_start], replacement]
            cursor = max(cursor, min(edit_end, end))  # the old id's bytes are left out
        pieces.append(body[cursor:end])
        out.append(Chunk(at_s=chunk.at_s, data=b"".join(pieces)))
        start = end
    return tuple(out)


def _reply_spans(body: bytes, old: RpcId) -> list[tuple[int, int]]:
    """Where the top-level ids equal to `old` sit in a JSON body or in SSE data lines."""
    spans: list[tuple[int, int]] = []
    stripped = body.lstrip()
    if stripped[:1] == b"{":
        if reply_id(body) == old:
            found = _id_span(body, 0, old)
            if found is not None:
                spans.append(found)
        return spans
    offset = 0
    for line in body.splitlines(keepends=True):
        if line.startswith(b"data:"):
            payload = line[5:]
            if reply_id(payload) == old:
                found = _id_span(line, 5, old)
                if found is not None:
                    spans.append((offset + found[0], offset + found[1]))
        offset += len(line)
    return spans


def _id_span(data: bytes, start: int, old: RpcId) -> tuple[int, int] | None:
    """The bytes of the first `"id": old` value at or after `start` (the top-level one in the
    messages JSON-RPC libraries write: `id` comes before `result`, `error` and `params`)."""
    wanted = _dumps(old)
    for match in _ID_KEY.finditer(data, start):
        value_start = match.end()
        if data.startswith(wanted, value_start):
            after = data[value_start + len(wanted) : value_start + len(wanted) + 1]
            if after in (b"", b",", b"}", b" ", b"\r", b"\n", b"\t"):
                return value_start, value_start + len(wanted)
    return None


def _message(data: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(data)
    except ValueError:
        return None
    return value if isinstance(value, dict) and value.get("jsonrpc") == "2.0" else None


def _id_of(message: dict[str, Any]) -> RpcId | None:
    value = message.get("id")
    return value if isinstance(value, (int, str)) and not isinstance(value, bool) else None


def _dumps(value: RpcId) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8")
