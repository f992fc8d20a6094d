"""The parts of an httpx (or httpx2) request and response the replay transports touch.

Structural types, so nothing here imports or subclasses either library: anthropic refuses
objects whose class comes from plain `httpx`, so the transports stay neutral and build
every response and error from the library that built the request.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from types import ModuleType
from typing import Any, Protocol

from chunktape.cassette import Request


class RawHeaders(Protocol):
    @property
    def raw(self) -> list[tuple[bytes, bytes]]: ...


class HttpRequest(Protocol):
    """`httpx.Request` / `httpx2.Request`, as far as a replay reads it."""

    @property
    def method(self) -> str: ...

    @property
    def url(self) -> object: ...

    @property
    def headers(self) -> RawHeaders: ...

    @property
    def extensions(self) -> Mapping[str, Any]: ...

    def read(self) -> bytes: ...

    async def aread(self) -> bytes: ...


class HttpResponse(Protocol):
    """`httpx.Response` / `httpx2.Response`, as far as a caller of a transport sees it."""

    @property
    def status_code(self) -> int: ...


def flavor_of(request: HttpRequest) -> ModuleType:
    """`httpx` or `httpx2`, whichever built this request."""
    return importlib.import_module(type(request).__module__.partition(".")[0])


def read_timeout_s(request: HttpRequest) -> float | None:
    """The client's read timeout for this request, in seconds (None: it waits forever)."""
    timeout = request.extensions.get("timeout") or {}
    value = timeout.get("read")
    return float(value) if value is not None else None


def to_request(request: HttpRequest, body: bytes) -> Request:
    """The live request in the cassette's terms, for matching."""
    headers = tuple((k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw)
    return Request(method=request.method, url=str(request.url), headers=headers, body=body)
