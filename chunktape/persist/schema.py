"""The cassette schema: a YAML document (plain dicts and lists) to and from the model, checked.

Version 1 layout::

    version: 1
    interactions:
    - recorded_at: '2026-12-06T09:04:05Z'   # when the request was sent, UTC; absent in older files
      request: {method, url, headers, body}
      response:
        status: 200
        headers: {...}
        headers_at_s: 0.412          # response head arrived 412 ms after the request
        ended: complete              # or cut: the upstream closed mid-body
        ended_at_s: 0.93             # when the exchange finished, if recorded
        timing: imported             # only when chunk times were not measured (imported / paced)
        body: {sse_events: [...]}    # or json / text / base64, always byte-exact
        chunks:                      # how the body arrived: sizes sum to the body length
        - {at_s: 0.512, size_bytes: 183}

The body is stored once, readable; the chunks only say where it was cut and when, so a
boundary inside a UTF-8 character or between CR and LF costs nothing in readability.
`chunks` is written last on purpose: an interaction cut off mid-write (a crash while
recording) then never reads as valid, because its chunk sizes no longer add up.

A realtime (WebSocket) session is an item `- session: {...}` of the same list; its schema
lives in session_schema.py (docs/realtime.md).

Pure: no files, no YAML text. Problems raise `Invalid` with the path of keys to the bad node.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from chunktape.bodies import BodyFormatError, decode_body, encode_body
from chunktape.cassette import Chunk, Interaction, Request, Response, Session, iso_utc, parse_iso_utc
from chunktape.persist.fields import (
    Invalid as Invalid,  # re-exported: callers take the problem type from here
)
from chunktape.persist.fields import (
    Where as Where,
)
from chunktape.persist.fields import (
    _check_keys,
    _describe,
    _field,
    _headers_from,
    _headers_node,
    _seconds,
    _seconds_field,
)
from chunktape.persist.session_schema import session_from, session_node
from chunktape.persist.yaml_writer import FlowMap

FORMAT_VERSION = 1

Item = Interaction | Session
"""What a cassette's `interactions:` list holds: HTTP exchanges and realtime sessions."""


def document_head() -> dict[str, Any]:
    """Everything of a document but its interactions."""
    return {"version": FORMAT_VERSION}


def interaction_node(interaction: Item) -> dict[str, Any]:
    if isinstance(interaction, Session):
        return session_node(interaction)
    request, response = interaction.request, interaction.response
    request_node: dict[str, Any] = {"method": request.method, "url": request.url}
    if request.headers:
        request_node["headers"] = _headers_node(request.headers)
    if request.body:
        request_node["body"] = encode_body(request.body, request.header("content-type"))
    response_node: dict[str, Any] = {"status": response.status}
    if response.http_version != "HTTP/1.1":
        response_node["http_version"] = response.http_version
    if response.headers:
        response_node["headers"] = _headers_node(response.headers)
    response_node["headers_at_s"] = _seconds(response.headers_at_s)
    response_node["ended"] = response.ended
    if response.ended_at_s is not None:
        response_node["ended_at_s"] = _seconds(response.ended_at_s)
    if response.timing != "recorded":
        response_node["timing"] = response.timing
    body = response.body
    if body:
        response_node["body"] = encode_body(body, response.header("content-type"))
    response_node["chunks"] = [
        FlowMap(at_s=_seconds(chunk.at_s), size_bytes=len(chunk.data)) for chunk in response.chunks
    ]
    if interaction.recorded_at is None:
        return {"request": request_node, "response": response_node}
    return {"recorded_at": iso_utc(interaction.recorded_at), "request": request_node, "response": response_node}


def interactions_from(document: Any) -> list[Item]:
    if not isinstance(document, dict):
        raise Invalid((), f"a cassette is a mapping with 'version' and 'interactions', not {_describe(document)}")
    if "version" not in document:
        raise Invalid((), "missing field 'version'; a chunktape cassette starts with 'version: 1'")
    version = document["version"]
    if version != FORMAT_VERSION or isinstance(version, bool):
        raise Invalid(
            ("version",),
            f"unknown cassette version {version!r}; this chunktape reads version {FORMAT_VERSION}: upgrade chunktape or re-record",
        )
    _check_keys(document, ("version", "interactions"), ())
    if "interactions" in document and document["interactions"] is None:
        return []  # `interactions:` with no items yet
    items = _field(document, "interactions", (), list, "a list of interactions")
    return [interaction_from(item, ("interactions", index)) for index, item in enumerate(items)]


def interaction_from(node: Any, where: Where) -> Item:
    if not isinstance(node, dict):
        raise Invalid(where, f"an interaction is a mapping with 'request' and 'response', not {_describe(node)}")
    if "session" in node:
        return session_from(node, where)
    _check_keys(node, ("recorded_at", "request", "response"), where)
    recorded_at = _recorded_at(node["recorded_at"], (*where, "recorded_at")) if "recorded_at" in node else None
    request = _request_from(_field(node, "request", where, dict, "a mapping"), (*where, "request"))
    response = _response_from(_field(node, "response", where, dict, "a mapping"), (*where, "response"))
    if response.chunks and (response.status in (204, 304) or request.method.upper() == "HEAD"):
        answer = "a response to HEAD" if request.method.upper() == "HEAD" else f"a {response.status} response"
        raise Invalid((*where, "response", "body"), f"{answer} has no body in HTTP; remove body and chunks")
    return Interaction(request=request, response=response, recorded_at=recorded_at)


def _recorded_at(value: Any, where: Where) -> datetime:
    """A quoted text (as chunktape writes it), or the timestamp YAML makes of an unquoted one."""
    try:
        if isinstance(value, datetime):
            return parse_iso_utc(value.isoformat())
        if isinstance(value, str):
            return parse_iso_utc(value)
    except ValueError as exc:
        raise Invalid(where, f"field 'recorded_at' is not a time in UTC ({exc})") from None
    raise Invalid(where, f"field 'recorded_at' is a time such as '2026-01-31T09:30:00Z', not {_describe(value)}")


def _body_from(node: dict[str, Any], where: Where) -> bytes:
    try:
        return decode_body(node.get("body"))
    except BodyFormatError as exc:
        raise Invalid((*where, "body"), str(exc)) from None


def _request_from(node: dict[str, Any], where: Where) -> Request:
    _check_keys(node, ("method", "url", "headers", "body"), where)
    method = _field(node, "method", where, str, "an HTTP method such as POST")
    url = _field(node, "url", where, str, "the full request URL")
    try:
        urlsplit(url)
    except ValueError as exc:
        raise Invalid((*where, "url"), f"field 'url' is not a usable URL ({exc})") from None
    return Request(method=method, url=url, headers=_headers_from(node, where), body=_body_from(node, where))


_RESPONSE_KEYS = (
    "status",
    "http_version",
    "headers",
    "headers_at_s",
    "body",
    "chunks",
    "ended",
    "ended_at_s",
    "timing",
)
TIMINGS = ("recorded", "imported", "paced")


def _response_from(node: dict[str, Any], where: Where) -> Response:
    _check_keys(node, _RESPONSE_KEYS, where)
    status = _field(node, "status", where, int, "an HTTP status code")
    if not 200 <= status <= 599:
        raise Invalid((*where, "status"), f"status {status} is not the status of a final HTTP response (200-599)")
    http_version = node.get("http_version", "HTTP/1.1")
    if not isinstance(http_version, str):
        raise Invalid((*where, "http_version"), "field 'http_version' must be text such as HTTP/1.1")
    headers_at_s = _seconds_field(node, "headers_at_s", where)
    body = _body_from(node, where)
    chunk_nodes = _field(node, "chunks", where, list, "a list of {at_s, size_bytes}")
    chunks: list[Chunk] = []
    offset = 0
    previous_at = headers_at_s
    size_of_body = len(body)
    for index, chunk_node in enumerate(chunk_nodes):
        # the common case, checked in a few type tests; anything else takes the careful path
        if type(chunk_node) is dict and len(chunk_node) == 2:
            at_s: Any = chunk_node.get("at_s")
            size: Any = chunk_node.get("size_bytes")
            if (
                type(size) is int
                and type(at_s) in (float, int)
                and 0 < size <= size_of_body - offset
                and previous_at <= at_s < 1e15
            ):
                chunks.append(Chunk(float(at_s), body[offset : offset + size]))
                offset += size
                previous_at = at_s
                continue
        here = (*where, "chunks", index)
        if not isinstance(chunk_node, dict):
            raise Invalid(here, f"a chunk is {{at_s: SECONDS, size_bytes: N}}, not {_describe(chunk_node)}")
        _check_keys(chunk_node, ("at_s", "size_bytes"), here)
        at_s = _seconds_field(chunk_node, "at_s", here)
        size = _field(chunk_node, "size_bytes", here, int, "a whole number of bytes")
        if size < 1:
            raise Invalid((*here, "size_bytes"), f"chunk size_bytes must be at least 1, not {size}")
        if at_s < previous_at:
            raise Invalid(
                (*here, "at_s"), f"chunk at_s {at_s} goes back in time (previous {previous_at}); offsets never decrease"
            )
        if offset + size > len(body):
            raise Invalid(
                (*here, "size_bytes"), f"chunks cover more bytes than the body has ({offset + size} > {len(body)})"
            )
        chunks.append(Chunk(at_s=at_s, data=body[offset : offset + size]))
        offset += size
        previous_at = at_s
    if offset != len(body):
        raise Invalid(
            (*where, "chunks"), f"chunk sizes add up to {offset} bytes but the body has {len(body)}; fix size_bytes"
        )
    ended = node.get("ended", "complete")
    if ended not in ("complete", "cut"):
        raise Invalid((*where, "ended"), f"field 'ended' must be complete or cut, not {_describe(ended)}")
    ended_at_s = _seconds_field(node, "ended_at_s", where) if "ended_at_s" in node else None
    if ended_at_s is not None and ended_at_s < previous_at:
        raise Invalid((*where, "ended_at_s"), f"ended_at_s {ended_at_s} is before the last chunk ({previous_at})")
    timing = node.get("timing", "recorded")
    if timing not in TIMINGS:
        raise Invalid(
            (*where, "timing"), f"field 'timing' must be one of {', '.join(TIMINGS)}, not {_describe(timing)}"
        )
    return Response(
        timing=timing,
        status=status,
        headers=_headers_from(node, where),
        headers_at_s=headers_at_s,
        chunks=tuple(chunks),
        ended=ended,
        ended_at_s=ended_at_s,
        http_version=http_version,
    )
