"""The object a test gets from the `chunktape` fixture.

One test code path serves both modes: `base_url` is the session's replay server (this
test's cassette mounted under its own prefix) when replaying, or a local recording proxy
in front of the marker's `upstream` when recording; `transport()` replays in process, or
forwards to that recording proxy.
"""

from __future__ import annotations

import os
import shlex
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from chunktape.assertions import ReadsTime, StreamClock, observe
from chunktape.errors import ChunktapeError, NoMatchError, RecordingError
from chunktape.knobs import ReplayPolicy
from chunktape.matching import MatchRules
from chunktape.persist import load_cassette
from chunktape.pytest_plugin.config import RecordMode, Settings
from chunktape.pytest_plugin.max_age import check_age
from chunktape.recorder.transport import AsyncRecordingTransport, RecordingTransport
from chunktape.replay.clock import BeatClock, ClockMode, in_event_loop, observer_clock
from chunktape.replay.player import CassettePlayer
from chunktape.replay.transport import AsyncReplayTransport, ReplayTransport

if TYPE_CHECKING:
    from collections.abc import AsyncIterable, Iterable

    from chunktape.recorder import Recorder
    from chunktape.replay.server import ReplayServer


class ChunktapeFixture:
    """What `def test_x(chunktape)` receives.

    - `base_url`: point an SDK or any HTTP client here (replay server or recording proxy).
    - `ws_url`: the same for WebSocket clients (realtime sessions, docs/realtime.md).
    - `transport()` / `async_transport()`: httpx or httpx2 transports, no sockets in replay.
    - `policy`, `cassette_path`, `record_mode`, `recording`: what this test does.
    - `forward`, `proxy_url`, `ca_cert_path`: recording without an upstream, through a forward
      proxy (the environment points at it; see environment.py); `ca_cert_path` is also the
      local CA of a test with `tls=True`.
    - `clock()` / `observe(stream)`: arrival times the client saw, timed from the request.
    """

    def __init__(
        self, settings: Settings, server: ReplayServer, player: CassettePlayer | None, *, recording: bool
    ) -> None:
        self.settings = settings
        self.cassette_path = settings.cassette_path
        self.record_mode: RecordMode = settings.record_mode
        self.policy: ReplayPolicy = settings.policy
        self.rules: MatchRules = settings.rules
        self.upstream = settings.upstream
        self.player = player
        self._beats = BeatClock()  # sync virtual time: the sync transports and clock() share it
        self.recording = recording
        self._server = server
        self._mounted: str | None = None
        self._recorder: Recorder | None = None
        self._closed = False
        self.redacted_keys: list[str] = []
        """What the recorder redacted by its format (keys nobody named), masked; set by `close`."""

    @classmethod
    def open(cls, settings: Settings, server: ReplayServer) -> ChunktapeFixture:
        """Decide from the record mode and the cassette on disk what this test does; load it."""
        path, mode = settings.cassette_path, settings.record_mode
        exists = os.path.exists(path)  # a directory there is then reported as one
        if mode is RecordMode.NONE and not exists:
            raise ChunktapeError(
                f"{path}: no such cassette and record mode is none; record it with "
                "--chunktape-record-mode=once (the marker needs upstream=...) or fix the marker's path"
            )
        recording = mode.records(exists)
        if recording and not settings.upstream and not settings.env:
            raise RecordingError(
                f"{path}: record mode {mode} needs to record, but no upstream is set; add "
                "upstream='https://api.example.com' to @pytest.mark.chunktape (or to the chunktape_config fixture), "
                "or leave env on to record through a forward proxy"
            )
        if recording and not settings.upstream and mode.replays(exists):
            raise RecordingError(
                f"{path}: record mode {mode} replays what the cassette holds and records the rest, which needs "
                "upstream='https://api.example.com' on @pytest.mark.chunktape; or re-record it all with "
                "--chunktape-record-mode=all"
            )
        missing = [extra for extra in settings.more_cassettes if not os.path.exists(extra)]
        if missing:
            raise ChunktapeError(
                f"{missing[0]}: no such cassette; only the first path of @pytest.mark.chunktape receives recordings, "
                "the others are replayed as they are: record it on its own first, or fix the path"
            )
        if recording and settings.more_cassettes and not settings.upstream:
            raise RecordingError(
                f"{path}: recording beside the other cassettes of @pytest.mark.chunktape sends what they do not "
                "hold on to the recorder, which needs upstream='https://api.example.com' on the marker"
            )
        replayed = [*([path] if mode.replays(exists) else []), *settings.more_cassettes]
        player = (
            CassettePlayer([load_cassette(one) for one in replayed], settings.policy, settings.rules)
            if replayed
            else None
        )
        handle = cls(settings, server, player, recording=recording)
        if player is not None and not recording:
            # mounted before the test runs, its schedules built: its first request finds a warm path
            handle._mounted = server.mount(player, log_misses=False, cors=settings.cors)
        return handle

    def age_warning(self, nodeid: str) -> str | None:
        """Fail (ChunktapeError) when the replayed cassette is older than max_age and the action
        is fail; else the warning line, if there is one (max_age.py)."""
        if self.player is None:
            return None
        settings = self.settings
        now = datetime.now(UTC)
        return check_age(
            self.cassette_path, self.player.cassettes, settings.max_age, settings.max_age_action, now, nodeid
        )

    # -- where the client goes ---------------------------------------------

    @property
    def forward(self) -> bool:
        """Recording without an upstream: through a forward proxy the environment points at."""
        return self.recording and self.upstream is None

    @property
    def proxy_url(self) -> str | None:
        """The forward recording proxy (`HTTPS_PROXY`), started on first use; None unless `forward`."""
        return self._recorder_url() if self.forward else None

    @property
    def ca_cert_path(self) -> str | None:
        """The CA to trust (`SSL_CERT_FILE`): the forward recording proxy's; with `tls`, the TLS
        replay server's, or the recorder's while only recording; else None."""
        if self.settings.tls and not self.forward:
            if self.player is not None:
                return self._server.tls.ca_path if self._server.tls is not None else None
            self._recorder_url()
            assert self._recorder is not None
            return self._recorder.tls_ca_path
        if not self.forward:
            return None
        self._recorder_url()
        assert self._recorder is not None
        return self._recorder.ca_cert_path

    @property
    def base_url(self) -> str:
        """Root URL for the client: the replay server mount, or the recording proxy."""
        if self._mounted is not None:
            return self._mounted
        self._refuse_forward("base_url")
        if self.player is None:  # with tls the recorder answers https:// and wss:// on the same port
            recorder = self._recorder_url()
            self._mounted = recorder.replace("http://", "https://", 1) if self.settings.tls else recorder
        else:  # new_episodes: what the cassette lacks goes on to the recorder (never when only replaying)
            fallback = self._recorder_url() if self.recording else None
            self._mounted = self._server.mount(
                self.player, fallback_url=fallback, log_misses=False, cors=self.settings.cors
            )
        return self._mounted

    @property
    def ws_url(self) -> str:
        """`base_url` for WebSocket clients (realtime sessions): ws://, same mount or proxy."""
        return "ws" + self.base_url.removeprefix("http")

    def _refuse_forward(self, what: str) -> None:
        if self.forward:
            raise RecordingError(
                f"{self.cassette_path}: chunktape.{what} is not available while recording without an upstream "
                "(requests go through a forward proxy the environment points at); add "
                "upstream='https://api.example.com' to @pytest.mark.chunktape to use it"
            )

    def transport(self) -> Any:
        """A sync transport for `httpx.Client(transport=...)` or `httpx2.Client(transport=...)`."""
        self._refuse_forward("transport()")
        replay = (
            ReplayTransport(self.player.cassettes, player=self.player, clock=self._sync_clock())
            if self.player is not None
            else None
        )
        if not self.recording:
            assert replay is not None
            return replay
        return RecordingTransport(replay, self._recorder_url())

    def async_transport(self) -> Any:
        """An async transport for `httpx.AsyncClient` or `httpx2.AsyncClient` (asyncio or trio)."""
        self._refuse_forward("async_transport()")
        replay = (
            AsyncReplayTransport(self.player.cassettes, player=self.player, clock=self.settings.clock)
            if self.player is not None
            else None
        )
        if not self.recording:
            assert replay is not None
            return replay
        return AsyncRecordingTransport(replay, self._recorder_url())

    # -- what the client saw -----------------------------------------------

    def clock(self) -> StreamClock:
        """A StreamClock timed from the request: take it any time, then `clock.observe(stream)`."""
        return StreamClock(requests=self._request_moments, clock=self._reading_clock())

    def observe(self, stream: Iterable[Any] | AsyncIterable[Any], *, started_s: float | None = None) -> StreamClock:
        """Wrap `stream` to record when each item arrives, timed from the request that
        started it (or from `started_s`, a perf_counter value)."""
        return observe(stream, started_s=started_s, requests=self._request_moments, clock=self._reading_clock())

    def _sync_clock(self) -> BeatClock | ClockMode:
        return self._beats if self.settings.clock == "virtual" else self.settings.clock

    def _reading_clock(self) -> ReadsTime:
        """The clock this test's transports wait on (the loop's, or the beats, under virtual time)."""
        if self.settings.clock == "virtual" and not in_event_loop():
            return self._beats
        return observer_clock(self.settings.clock)

    def _request_moments(self) -> list[float]:
        return list(self.player.requested_at) if self.player is not None else []

    def unreachable_upstream(self) -> str | None:  # the recorder's line naming it and why, while recording
        return self._recorder.unreachable_upstream() if self._recorder is not None else None

    @property
    def misses(self) -> list[str]:
        """The requests this test made that its cassette does not hold (none while recording)."""
        if self.player is None or self.recording:
            return []
        return [str(miss) for miss in self.player.misses]

    @property
    def miss_errors(self) -> list[NoMatchError]:
        return [] if self.player is None or self.recording else list(self.player.misses)

    # -- lifecycle -----------------------------------------------------------

    def _recorder_url(self) -> str:
        if self._recorder is None:
            from chunktape.recorder import Recorder

            recorder = Recorder(
                self.cassette_path,
                upstream=self.upstream,
                redact=self.settings.redact,
                append=self.record_mode.appends,
                once_per_run=self.settings.once_per_run,
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
            self._server.unmount(mounted)
        recorder, self._recorder = self._recorder, None
        if recorder is not None:
            try:
                recorder.stop()
            finally:
                self.redacted_keys = list(recorder.redacted_keys)

    def describe(self, nodeid: str = "", *, misses: bool = True) -> str:
        """Lines for a failure report: how to replay this run exactly (and what missed)."""
        source = "from " + str(self.upstream) if self.upstream is not None else "through a forward proxy"
        if self.player is None:
            what = "recorded " + source + " (timing/chaos knobs do not apply while recording)"
        elif self.recording:
            what = "replayed, new requests recorded " + source
        else:
            what = "replayed"
        command = " ".join(["pytest", shlex.quote(nodeid)] if nodeid else [])
        lines = [
            f"replay with: {command} {' '.join(self.settings.cli_args())}".replace(":  ", ": "),
            f"policy: {self.policy.describe()}",
            f"cassette: {self.cassette_path} (record mode {self.record_mode}: {what})",
            *(f"also replayed: {extra}" for extra in self.settings.more_cassettes),
        ]
        if misses:
            lines.extend("unmatched request: " + miss for miss in self.misses)
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<ChunktapeFixture {self.cassette_path} record_mode={self.record_mode} {self.policy.describe()}>"


__all__ = ["ChunktapeFixture", "StreamClock"]
