"""The one escape hatch: every httpx/httpx2 transport of the process routed through chunktape,
for one test, and put back after it.

The environment reaches clients built during the test. A client built earlier (at import
time, in a module-level singleton) read its base URL and proxies before chunktape could set
them, and only this reaches it: for the test's duration, `HTTPTransport.handle_request` and
`AsyncHTTPTransport.handle_async_request` of `httpx` and `httpx2` (those installed) hand
each request to the test's replay transport, or send it through its recorder. It is the
only place chunktape replaces another library's code, and only inside the
`chunktape_route_httpx` fixture; nothing else (requests, aiohttp, urllib3) is touched.
"""

from __future__ import annotations

import contextlib
import contextvars
import importlib
import ssl
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chunktape.pytest_plugin.fixture import ChunktapeFixture

_LIBRARIES = ("httpx", "httpx2")
# Set while chunktape itself sends a request on (to the recorder): that request takes the original path.
_inside: contextvars.ContextVar[bool] = contextvars.ContextVar("chunktape_route_httpx", default=False)


class _ForwardRecording:
    """Sends a request through the forward recording proxy, trusting its CA (one transport per library)."""

    def __init__(self, proxy_url: str, ca_path: str) -> None:
        self._proxy_url = proxy_url
        self._ca_path = ca_path
        self._sync: dict[str, Any] = {}
        self._async: dict[str, Any] = {}

    def _library(self, request: Any) -> Any:
        return importlib.import_module(type(request).__module__.partition(".")[0])

    def handle_request(self, request: Any) -> Any:
        library = self._library(request)
        inner = self._sync.get(library.__name__)
        if inner is None:
            trust = ssl.create_default_context(cafile=self._ca_path)
            inner = self._sync[library.__name__] = library.HTTPTransport(proxy=self._proxy_url, verify=trust)
        return inner.handle_request(request)

    async def handle_async_request(self, request: Any) -> Any:
        library = self._library(request)
        inner = self._async.get(library.__name__)
        if inner is None:
            trust = ssl.create_default_context(cafile=self._ca_path)
            inner = self._async[library.__name__] = library.AsyncHTTPTransport(proxy=self._proxy_url, verify=trust)
        return await inner.handle_async_request(request)

    def close(self) -> None:
        for inner in self._sync.values():
            inner.close()

    async def aclose(self) -> None:
        for inner in self._async.values():
            await inner.aclose()


def _routes(handle: ChunktapeFixture) -> tuple[Any, Any]:
    """The sync and async transports that answer (or record) for this test."""
    if handle.forward:
        proxy_url, ca_path = handle.proxy_url, handle.ca_cert_path
        assert proxy_url is not None
        assert ca_path is not None
        forward = _ForwardRecording(proxy_url, ca_path)
        return forward, forward
    return handle.transport(), handle.async_transport()


def _sync_route(original: Callable[..., Any], route: Any) -> Callable[..., Any]:
    def handle_request(self: Any, request: Any) -> Any:
        if _inside.get():
            return original(self, request)
        token = _inside.set(True)
        try:
            return route.handle_request(request)
        finally:
            _inside.reset(token)

    return handle_request


def _async_route(original: Callable[..., Any], route: Any) -> Callable[..., Any]:
    async def handle_async_request(self: Any, request: Any) -> Any:
        if _inside.get():
            return await original(self, request)
        token = _inside.set(True)
        try:
            return await route.handle_async_request(request)
        finally:
            _inside.reset(token)

    return handle_async_request


@contextlib.contextmanager
def routed(handle: ChunktapeFixture) -> Iterator[None]:
    """For the block: every httpx/httpx2 HTTPTransport and AsyncHTTPTransport answers through
    `handle`; the original methods are back afterwards, even when the block fails."""
    sync_route, async_route = _routes(handle)
    replaced: list[tuple[type[Any], str, Any]] = []
    try:
        for name in _LIBRARIES:
            try:
                library = importlib.import_module(name)
            except ImportError:
                continue
            for cls, method, wrap in (
                (library.HTTPTransport, "handle_request", _sync_route),
                (library.AsyncHTTPTransport, "handle_async_request", _async_route),
            ):
                original = cls.__dict__[method]
                replaced.append((cls, method, original))
                setattr(cls, method, wrap(original, sync_route if method == "handle_request" else async_route))
        yield
    finally:
        for cls, method, original in reversed(replaced):
            setattr(cls, method, original)
        with contextlib.suppress(Exception):
            sync_route.close()
