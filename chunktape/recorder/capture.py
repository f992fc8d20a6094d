"""One exchange as it happens: the request, then the response head, then each chunk with its time.

Kept free of mitmproxy types so it can be tested with plain values. The hot path is
`on_chunk`, called by mitmproxy for every piece of the response body on its way to the
client: it reads the clock, keeps a reference to the bytes, and hands them back untouched.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from datetime import UTC, datetime

from chunktape.cassette import Chunk, Ending, Headers, Interaction, Request, Response
from chunktape.recorder.decoding import decoded_response
from chunktape.stream_end import has_final_event

Clock = Callable[[], float]


def utc_now() -> datetime:
    return datetime.now(UTC)


class ExchangeCapture:
    """Times are `clock()` seconds since `started`, the moment the request left for the upstream,
    which `wall_clock` dates (the interaction's `recorded_at`)."""

    def __init__(
        self, request: Request, *, clock: Clock = time.perf_counter, wall_clock: Callable[[], datetime] = utc_now
    ) -> None:
        self.request = request
        self.recorded_at = wall_clock().astimezone(UTC).replace(microsecond=0)
        self.clock = clock
        self._clock = clock
        self.started = clock()
        self.status: int | None = None
        self.headers: Headers = ()
        self.http_version = "HTTP/1.1"
        self.headers_at_s = 0.0
        self._pieces: list[tuple[float, bytes]] = []

    @property
    def has_response_head(self) -> bool:
        return self.status is not None

    def response_head(self, status: int, headers: Headers, http_version: str) -> None:
        self.headers_at_s = self._clock() - self.started
        self.status = status
        self.headers = headers
        self.http_version = http_version

    def on_chunk(self, data: bytes) -> bytes:
        """mitmproxy's `flow.response.stream` callable: note the chunk, pass it on unchanged.

        mitmproxy calls it once more with b"" when the body ends; that is not a chunk."""
        if data:
            self._pieces.append((self._clock() - self.started, data))
        return data

    def finish(self, ended: Ending) -> Interaction:
        """The finished interaction; a compressed body is stored decoded (see decoding.py)."""
        ended_at_s = self._clock() - self.started
        if self.status is None:
            raise ValueError("no response head was captured; nothing to record")
        chunks = tuple(Chunk(at_s=at_s, data=data) for at_s, data in self._pieces)
        response = Response(
            status=self.status,
            headers=self.headers,
            headers_at_s=self.headers_at_s,
            chunks=chunks,
            ended=ended,
            ended_at_s=max(ended_at_s, chunks[-1].at_s if chunks else self.headers_at_s),
            http_version=self.http_version,
        )
        return Interaction(request=self.request, response=decoded_response(response), recorded_at=self.recorded_at)

    def finish_after_the_client_left(self) -> Interaction:
        """The interaction when the client hung up before the upstream's end reached us: complete
        if the body already holds its final event (the OpenAI SDK closes right after
        `data: [DONE]`), else cut, as the client saw it."""
        interaction = self.finish("cut")
        response = interaction.response
        if not has_final_event(response.body, response.header("content-type")):
            return interaction
        ended_at_s = response.chunks[-1].at_s if response.chunks else response.headers_at_s
        return dataclasses.replace(
            interaction, response=dataclasses.replace(response, ended="complete", ended_at_s=ended_at_s)
        )
