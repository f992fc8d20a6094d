"""HAR 1.2 (browsers' devtools, Playwright, mitmproxy's `hardump`) to and from interactions.

HAR keeps each entry's timings: `wait` is the time to the response head (taken as headers_at_s,
after `send`), `receive` the time to read the body. Not how the body arrived: an imported
response is one chunk at the total time, `timing: imported`. Exported HAR carries chunktape's
recorded times back as `send`/`wait`/`receive` and opens in devtools.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime, timedelta
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _installed_version
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from chunktape.cassette import Cassette, Interaction, Request, iso_utc
from chunktape.errors import ImportFileError
from chunktape.interchange.common import one_chunk_response, sendable_headers, source_time

_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def _chunktape_version() -> str:
    try:
        return _installed_version("chunktape")
    except PackageNotFoundError:  # a source checkout that was never installed
        return "0"


_VERSION = _chunktape_version()  # read from the installed metadata: this layer never imports the package


def read_har(path: str, text: bytes, imported_at: datetime | None = None) -> tuple[list[Interaction], list[str]]:
    """The interactions of a HAR file, and a note per entry left out (failed, not HTTP); each
    `recorded_at` its entry's `startedDateTime`, else its `Date` header, else `imported_at`."""
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise ImportFileError(path, "", f"is not JSON ({exc}); a HAR file is JSON with log.entries") from None
    log = document.get("log") if isinstance(document, dict) else None
    entries = log.get("entries") if isinstance(log, dict) else None
    if not isinstance(entries, list):
        raise ImportFileError(path, "", "has no log.entries list; pass a HAR 1.2 file (devtools: Save all as HAR)")
    interactions: list[Interaction] = []
    notes: list[str] = []
    for index, entry in enumerate(entries, start=1):
        interaction = _interaction(path, index, entry, notes, imported_at)
        if interaction is not None:
            interactions.append(interaction)
    return interactions, notes


def _interaction(
    path: str, index: int, entry: Any, notes: list[str], imported_at: datetime | None
) -> Interaction | None:
    where = f"log.entries[{index - 1}]"
    if (
        not isinstance(entry, dict)
        or not isinstance(entry.get("request"), dict)
        or not isinstance(entry.get("response"), dict)
    ):
        raise ImportFileError(path, where, "needs a 'request' and a 'response' object")
    request, response = entry["request"], entry["response"]
    url, method = request.get("url"), request.get("method")
    if not isinstance(url, str) or not isinstance(method, str):
        raise ImportFileError(path, where, "the request needs 'method' and 'url' text")
    if not url.startswith(("http://", "https://")):
        notes.append(f"left out entry {index}: {url.split(':', 1)[0]}: is not HTTP")
        return None
    status = response.get("status")
    if not isinstance(status, int) or not 200 <= status <= 599:
        notes.append(f"left out entry {index}: status {status!r} is not a final HTTP response (a failed request)")
        return None
    timings: dict[str, Any] = entry["timings"] if isinstance(entry.get("timings"), dict) else {}
    send_ms = _ms(timings.get("send"))
    wait_ms = _ms(timings.get("wait"))
    receive_ms = _ms(timings.get("receive"))
    total_ms = send_ms + wait_ms + receive_ms
    if not total_ms:
        total_ms = _ms(entry.get("time"))
    post = request.get("postData") if isinstance(request.get("postData"), dict) else {}
    content = response.get("content") if isinstance(response.get("content"), dict) else {}
    response_headers = _headers(response.get("headers"))
    return Interaction(
        request=Request(
            method.upper(), url, _headers(request.get("headers")), _text(post, f"{where}.request.postData", path)
        ),
        response=one_chunk_response(
            status,
            response_headers,
            _text(content, f"{where}.response.content", path),
            headers_at_s=round((send_ms + wait_ms) / 1000, 6),
            end_s=round(total_ms / 1000, 6),
        ),
        recorded_at=source_time(_stated_time(entry), response_headers, imported_at),
    )


def _stated_time(entry: dict[str, Any]) -> object:
    """The entry's `startedDateTime`; in chunktape's own export, only a real `recorded_at`."""
    ours = entry.get("_chunktape")
    if isinstance(ours, dict):
        return ours.get("recorded_at")
    return entry.get("startedDateTime")


def _ms(value: Any) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0 else 0.0


def _headers(node: Any) -> tuple[tuple[str, str], ...]:
    if not isinstance(node, list):
        return ()
    pairs = [(str(h.get("name", "")), str(h.get("value", ""))) for h in node if isinstance(h, dict)]
    return sendable_headers(pairs)


def _text(node: dict[str, Any], where: str, path: str) -> bytes:
    text = node.get("text")
    if not isinstance(text, str):
        return b""
    if node.get("encoding") == "base64":
        try:
            return base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise ImportFileError(path, where, "says base64 but its text is not base64") from None
    return text_bytes(text)


def text_bytes(text: str) -> bytes:
    """The bytes behind a HAR text. Writers decode a body without a charset as latin-1 (HTTP's
    old default; mitmproxy does) or UTF-8 (browsers): a text whose latin-1 bytes are valid
    UTF-8 with multi-byte characters in it was UTF-8 on the wire."""
    try:
        raw = text.encode("latin-1")
        raw.decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text.encode("utf-8", errors="surrogateescape")
    return raw


# -- export ------------------------------------------------------------------


def write_har(cassettes: list[Cassette]) -> str:
    """HAR 1.2 text for `cassettes`: one entry per interaction, timings from the recording."""
    entries = []
    started = _EPOCH
    for cassette in cassettes:
        for interaction in cassette.interactions:
            entries.append(_entry(interaction, started))
            started += timedelta(seconds=max(interaction.response.end_s, 0.001))
    document = {
        "log": {
            "version": "1.2",
            "creator": {"name": "chunktape", "version": _VERSION},
            "pages": [],
            "entries": entries,
        }
    }
    return json.dumps(document, ensure_ascii=False, indent=1) + "\n"


def _entry(interaction: Interaction, started: datetime) -> dict[str, Any]:
    """`startedDateTime` is the interaction's `recorded_at` when it has one; else a made-up
    time (HAR requires one), which `_chunktape` leaves out so an import does not take it."""
    request, response = interaction.request, interaction.response
    if interaction.recorded_at is not None:
        started = interaction.recorded_at
    headers_ms = round(response.headers_at_s * 1000, 3)
    total_ms = round(response.end_s * 1000, 3)
    body = response.body
    content: dict[str, Any] = {"size": len(body), "mimeType": response.header("content-type") or ""}
    try:
        content["text"] = body.decode("utf-8")
    except UnicodeDecodeError:
        content["text"] = base64.b64encode(body).decode("ascii")
        content["encoding"] = "base64"
    har_request: dict[str, Any] = {
        "method": request.method,
        "url": request.url,
        "httpVersion": "HTTP/1.1",
        "cookies": [],
        "headers": [{"name": k, "value": v} for k, v in request.headers],
        "queryString": [
            {"name": k, "value": v} for k, v in parse_qsl(urlsplit(request.url).query, keep_blank_values=True)
        ],
        "headersSize": -1,
        "bodySize": len(request.body),
    }
    if request.body:
        har_request["postData"] = {
            "mimeType": request.header("content-type") or "",
            "text": request.body.decode("utf-8", errors="replace"),
        }
    return {
        "startedDateTime": started.isoformat().replace("+00:00", "Z"),
        "time": total_ms,
        "request": har_request,
        "response": {
            "status": response.status,
            "statusText": "",
            "httpVersion": response.http_version,
            "cookies": [],
            "headers": [{"name": k, "value": v} for k, v in response.headers],
            "content": content,
            "redirectURL": response.header("location") or "",
            "headersSize": -1,
            "bodySize": len(body),
        },
        "cache": {},
        "timings": {
            "blocked": -1,
            "dns": -1,
            "connect": -1,
            "ssl": -1,
            "send": 0,
            "wait": headers_ms,
            "receive": round(max(total_ms - headers_ms, 0), 3),
        },
        "_chunktape": {
            "ended": response.ended,
            "timing": response.timing,
            "chunks": len(response.chunks),
            **({"recorded_at": iso_utc(interaction.recorded_at)} if interaction.recorded_at is not None else {}),
        },
    }
