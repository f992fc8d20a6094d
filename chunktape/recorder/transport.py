"""httpx transports that record in process: what the cassette holds is replayed (record
mode new_episodes), everything else is sent through the recording proxy, as if the client
had used its base URL. For `httpx` and `httpx2` clients alike.

    client = httpx2.Client(transport=RecordingTransport(None, recorder.base_url))
"""

from __future__ import annotations

import importlib
from typing import Any
from urllib.parse import urlsplit

from chunktape.errors import NoMatchError
from chunktape.replay.transport import AsyncReplayTransport, ReplayTransport


def _aim(request: Any, target: str) -> None:
    """Point `request` at the recording proxy, as if the client had used `base_url`."""
    parts = urlsplit(target)
    host = parts.hostname or "127.0.0.1"
    request.url = request.url.copy_with(scheme=parts.scheme or "http", host=host, port=parts.port)
    request.headers["Host"] = parts.netloc


def _flavor(request: Any) -> Any:
    return importlib.import_module(type(request).__module__.partition(".")[0])


class RecordingTransport:
    """Replays what the cassette has (new_episodes) and sends the rest through the recorder."""

    def __init__(self, replay: ReplayTransport | None, recorder_url: str) -> None:
        self._replay = replay
        self._target = recorder_url
        self._inner: dict[str, Any] = {}

    def handle_request(self, request: Any) -> Any:
        if self._replay is not None:
            try:
                return self._replay.handle_request(request)
            except NoMatchError:
                pass
        flavor = _flavor(request)
        inner = self._inner.get(flavor.__name__)
        if inner is None:
            inner = self._inner[flavor.__name__] = flavor.HTTPTransport()
        _aim(request, self._target)
        return inner.handle_request(request)

    def close(self) -> None:
        for inner in self._inner.values():
            inner.close()
        self._inner.clear()

    def __enter__(self) -> RecordingTransport:
        return self

    def __exit__(self, *args: object) -> None:
        self.close()


class AsyncRecordingTransport:
    """The async twin of RecordingTransport."""

    def __init__(self, replay: AsyncReplayTransport | None, recorder_url: str) -> None:
        self._replay = replay
        self._target = recorder_url
        self._inner: dict[str, Any] = {}

    async def handle_async_request(self, request: Any) -> Any:
        if self._replay is not None:
            try:
                return await self._replay.handle_async_request(request)
            except NoMatchError:
                pass
        flavor = _flavor(request)
        inner = self._inner.get(flavor.__name__)
        if inner is None:
            inner = self._inner[flavor.__name__] = flavor.AsyncHTTPTransport()
        _aim(request, self._target)
        return await inner.handle_async_request(request)

    async def aclose(self) -> None:
        for inner in self._inner.values():
            await inner.aclose()
        self._inner.clear()

    async def __aenter__(self) -> AsyncRecordingTransport:
        return self

    async def __aexit__(self, *args: object) -> None:
        await self.aclose()


__all__ = ["AsyncRecordingTransport", "RecordingTransport"]
