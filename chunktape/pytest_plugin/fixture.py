"""The object a test gets from the `chunktape` fixture, and the per-session replay server.

One test code path serves both modes: `base_url` is the session's replay server (this
test's cassette mounted under its own prefix) when replaying, or a local recording proxy
in front of the marker's `upstream` when recording; `transport()` replays in process, or
forwards to that recording proxy.
"""

from __future__ import annotations

import os
import shlex
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from chunktape.cassette import Cassette, Interaction, Request
from chunktape.cassette_file import load_cassette
from chunktape.errors import ChunktapeError, NoMatchError, RecordingError
from chunktape.knobs import ReplayPolicy
from chunktape.matching import MatchRules
from chunktape.pytest_plugin.assertions import ReadsTime, StreamClock, observe
from chunktape.pytest_plugin.config import RecordMode, Settings
from chunktape.replay.clock import BeatClock, ClockMode, in_event_loop, observer_clock
from chunktape.replay.player import CassettePlayer
from chunktape.replay.transport import AsyncReplayTransport, ReplayTransport

if TYPE_CHECKING:
    from collections.abc import AsyncIterable, Iterable

    from chunktape.recorder import Recorder
    from chunktape.replay.server import ReplayServer


class SessionServer:
    """One replay server per pytest process (so per xdist worker), started on first use on port 0."""

    def __init__(self) -> None:
        self._server: ReplayServer | None = None
        self._lock = threading.Lock()

    def get(self) -> ReplayServer:
        with self._lock:
            if self._server is None:
                from chunktape.replay.server import ReplayServer

                server = ReplayServer(port=0)
                server.start()
                self._server = server
            return self._server

    def close(self) -> None:
        with self._lock:
            server, self._server = self._server, None
        if server is not None:
            server.stop()


class WatchedPlayer(CassettePlayer):
    """A player that also notes every unmatched request, so a test that swallowed the
    error still fails, and its report shows the closest-match diff."""

    def __init__(
        self,
        cassettes: Sequence[Cassette],
        policy: ReplayPolicy,
        rules: MatchRules,
        misses: list[str] | None,
    ) -> None:
        super().__init__(cassettes, policy, rules)
        self._misses = misses

    def find(self, request: Request) -> Interaction:
        try:
            return super().find(request)
        except NoMatchError as exc:
            if self._misses is not None:
                self._misses.append(str(exc))
            raise


class ChunktapeFixture:
    """What `def test_x(chunktape)` receives.

    - `base_url`: point an SDK or any HTTP client here (replay server or recording proxy).
    - `transport()` / `async_transport()`: httpx or httpx2 transports, no sockets in replay.
    - `policy`, `cassette_path`, `record_mode`, `recording`: what this test does.
    - `clock()` / `observe(stream)`: arrival times the client saw, to assert on.
    """

    def __init__(self, settings: Settings, server: SessionServer) -> None:
        self.settings = settings
        self.cassette_path = settings.cassette_path
        self.record_mode: RecordMode = settings.record_mode
        self.policy: ReplayPolicy = settings.policy
        self.rules: MatchRules = settings.rules
        self.upstream = settings.upstream
        self.misses: list[str] = []
        self._server = server
        self._mounted: str | None = None
        self._recorder: Recorder | None = None
        self._closed = False
        self._beats = BeatClock()  # sync virtual time: the sync transports and clock() share it

        exists = os.path.exists(self.cassette_path)  # a directory there is then reported as one
        mode = self.record_mode
        if mode == "none" and not exists:
            raise ChunktapeError(
                f"{self.cassette_path}: no such cassette and record mode is none; record it with "
                "--chunktape-record-mode=once (the marker needs upstream=...) or fix the marker's path"
            )
        # recording: "all" always; "once" when the cassette is missing; "new_episodes" for misses
        self.recording = mode == "all" or (mode == "once" and not exists) or mode == "new_episodes"
        self._append = mode == "new_episodes"
        self.player: CassettePlayer | None = None
        if exists and mode != "all":
            misses = None if mode == "new_episodes" else self.misses
            self.player = WatchedPlayer([load_cassette(self.cassette_path)], self.policy, self.rules, misses)
        if self.recording and not self.upstream:
            raise RecordingError(
                f"{self.cassette_path}: record mode {mode} needs to record, but no upstream is set; add "
                "upstream='https://api.example.com' to @pytest.mark.chunktape (or to the chunktape_config fixture)"
            )

    # -- where the client goes ---------------------------------------------

    @property
    def base_url(self) -> str:
        """Root URL for the client: the replay server mount, or the recording proxy."""
        if self._mounted is not None:
            return self._mounted
        if self.player is None:
            self._mounted = self._recorder_url()
            return self._mounted
        fallback = self._recorder_url() if self.recording else None
        self._mounted = self._server.get().mount(self.player, fallback_url=fallback)
        return self._mounted

    def transport(self) -> Any:
        """A sync transport for `httpx.Client(transport=...)` or `httpx2.Client(transport=...)`."""
        if not self.recording:
            assert self.player is not None
            return ReplayTransport(self.cassette_path, player=self.player, clock=self._sync_clock())
        replay = (
            ReplayTransport(self.cassette_path, player=self.player, clock=self._sync_clock())
            if self.player is not None
            else None
        )
        return _RecordingTransport(replay, self._recorder_url())

    def async_transport(self) -> Any:
        """An async transport for `httpx.AsyncClient` or `httpx2.AsyncClient` (asyncio or trio)."""
        if not self.recording:
            assert self.player is not None
            return AsyncReplayTransport(self.cassette_path, player=self.player, clock=self.settings.clock)
        replay = (
            AsyncReplayTransport(self.cassette_path, player=self.player, clock=self.settings.clock)
            if self.player is not None
            else None
        )
        return _AsyncRecordingTransport(replay, self._recorder_url())

    # -- what the client saw -----------------------------------------------

    def clock(self) -> StreamClock:
        """A StreamClock started now: take it before the request, then `clock.observe(stream)`.
        It reads the clock this test's transports wait on (the loop's, under virtual time)."""
        return StreamClock(clock=self._reading_clock())

    def observe(self, stream: Iterable[Any] | AsyncIterable[Any], *, started_s: float | None = None) -> StreamClock:
        """Wrap `stream` to record when each item arrives (timed from now, or from `started_s`)."""
        return observe(stream, started_s=started_s, clock=self._reading_clock())

    def _sync_clock(self) -> BeatClock | ClockMode:
        return self._beats if self.settings.clock == "virtual" else self.settings.clock

    def _reading_clock(self) -> ReadsTime:
        if self.settings.clock == "virtual" and not in_event_loop():
            return self._beats
        return observer_clock(self.settings.clock)

    # -- lifecycle -----------------------------------------------------------

    def _recorder_url(self) -> str:
        if self._recorder is None:
            from chunktape.recorder import Recorder

            recorder = Recorder(
                self.cassette_path,
                upstream=self.upstream,
                redact=self.settings.redact,
                append=self._append,
            )
            recorder.start()
            self._recorder = recorder
        return str(self._recorder.base_url).rstrip("/")

    def close(self) -> None:
        """Unmount from the replay server and write what was recorded (atomically)."""
        if self._closed:
            return
        self._closed = True
        mounted, self._mounted = self._mounted, None
        if mounted is not None and self.player is not None:
            self._server.get().unmount(mounted)
        recorder, self._recorder = self._recorder, None
        if recorder is not None:
            recorder.stop()

    def describe(self, nodeid: str = "", *, misses: bool = True) -> str:
        """Lines for a failure report: how to replay this run exactly, and what missed."""
        if self.player is None:
            what = "recorded from " + str(self.upstream) + " (timing/chaos knobs do not apply while recording)"
        elif self.recording:
            what = "replayed, new requests recorded from " + str(self.upstream)
        else:
            what = "replayed"
        command = " ".join(["pytest", shlex.quote(nodeid)] if nodeid else [])
        lines = [
            f"replay with: {command} {' '.join(self.settings.cli_args())}".replace(":  ", ": "),
            f"policy: {self.policy.describe()}",
            f"cassette: {self.cassette_path} (record mode {self.record_mode}: {what})",
        ]
        if misses:
            lines.extend("unmatched request: " + miss for miss in self.misses)
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<ChunktapeFixture {self.cassette_path} record_mode={self.record_mode} {self.policy.describe()}>"


# -- recording through the in-process transports -------------------------------------------


def _aim(request: Any, target: str) -> None:
    """Point `request` at the recording proxy, as if the client had used `base_url`."""
    parts = urlsplit(target)
    host = parts.hostname or "127.0.0.1"
    request.url = request.url.copy_with(scheme=parts.scheme or "http", host=host, port=parts.port)
    request.headers["Host"] = parts.netloc


def _flavor(request: Any) -> Any:
    import importlib

    return importlib.import_module(type(request).__module__.partition(".")[0])


class _RecordingTransport:
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

    def __enter__(self) -> _RecordingTransport:
        return self

    def __exit__(self, *args: object) -> None:
        self.close()


class _AsyncRecordingTransport:
    """The async twin of _RecordingTransport."""

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

    async def __aenter__(self) -> _AsyncRecordingTransport:
        return self

    async def __aexit__(self, *args: object) -> None:
        await self.aclose()


__all__ = ["ChunktapeFixture", "SessionServer", "StreamClock", "WatchedPlayer"]
