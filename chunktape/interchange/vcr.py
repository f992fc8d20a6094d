"""vcrpy / pytest-recording cassettes (version 1; YAML or JSON serializer) as interactions.

vcrpy keeps each request and its whole response, not how the body arrived or when: an
imported response is one chunk, `timing: imported`. Bodies come as text, or as bytes (YAML
`!!binary`: compressed or non-UTF-8 bodies), which are decoded like recorded ones.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import yaml

from chunktape.cassette import Interaction, Request
from chunktape.errors import ImportFileError
from chunktape.interchange.common import one_chunk_response, sendable_headers, source_time


def read_vcr(path: str, text: bytes, imported_at: datetime | None = None) -> list[Interaction]:
    """The interactions of a vcrpy cassette file's contents, each `recorded_at` its response's
    `Date` header (vcrpy keeps no time of its own), else `imported_at`."""
    document = _parse(path, text)
    if not isinstance(document, dict) or not isinstance(document.get("interactions"), list):
        raise ImportFileError(
            path, "", "is not a vcrpy cassette (no 'interactions' list); pass a file vcrpy or pytest-recording wrote"
        )
    if document.get("version") != 1:
        raise ImportFileError(
            path,
            "version",
            f"vcrpy cassette version {document.get('version')!r} is not 1; re-record it with vcrpy >= 2",
        )
    return [
        _interaction(path, index, item, imported_at) for index, item in enumerate(document["interactions"], start=1)
    ]


def _parse(path: str, text: bytes) -> Any:
    if text.lstrip()[:1] == b"{":
        try:
            return json.loads(text)
        except ValueError as exc:
            raise ImportFileError(path, "", f"is not valid JSON ({exc}); pass a vcrpy cassette") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else ""
        raise ImportFileError(path, where, "is not valid YAML; pass a vcrpy cassette") from None


def _interaction(path: str, index: int, node: Any, imported_at: datetime | None) -> Interaction:
    where = f"interaction {index}"
    if (
        not isinstance(node, dict)
        or not isinstance(node.get("request"), dict)
        or not isinstance(node.get("response"), dict)
    ):
        raise ImportFileError(path, where, "needs a 'request' and a 'response' mapping")
    request, response = node["request"], node["response"]
    method, uri = request.get("method"), request.get("uri")
    if not isinstance(method, str) or not isinstance(uri, str):
        raise ImportFileError(path, where, "the request needs 'method' and 'uri' text")
    status_node = response.get("status")
    status = status_node.get("code") if isinstance(status_node, dict) else status_node
    if not isinstance(status, int) or not 200 <= status <= 599:
        raise ImportFileError(path, f"{where}: response status", f"{status!r} is not a final HTTP status (200-599)")
    body_node = response.get("body")
    body = _bytes(body_node.get("string") if isinstance(body_node, dict) else body_node)
    response_headers = _headers(response.get("headers"))
    return Interaction(
        request=Request(
            method=method.upper(), url=uri, headers=_headers(request.get("headers")), body=_bytes(request.get("body"))
        ),
        response=one_chunk_response(status, response_headers, body),
        recorded_at=source_time(None, response_headers, imported_at),
    )


def _headers(node: Any) -> tuple[tuple[str, str], ...]:
    if not isinstance(node, dict):
        return ()
    pairs = []
    for name, values in node.items():
        for value in values if isinstance(values, list) else [values]:
            pairs.append((str(name), str(value)))
    return sendable_headers(pairs)


def _bytes(value: Any) -> bytes:
    if value is None:
        return b""
    if isinstance(value, bytes):
        return value
    return str(value).encode("utf-8", errors="surrogateescape")
