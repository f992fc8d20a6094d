"""Answers live requests from cassettes: matching, recorded order, and the schedule.

Shared by the replay server and the httpx transports. Identical requests get the
recorded interactions in order; once all are used, the last one repeats (so an SDK
retry after an injected fault still finds an answer).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import replace

from chunktape.cassette import Cassette, Interaction, Request, Response, Session
from chunktape.errors import NoMatchError
from chunktape.jsonrpc import chunks_with_id, request_id
from chunktape.knobs import ReplayPolicy
from chunktape.matching import MatchRules, describe_request
from chunktape.replay.eventsource import reconnection
from chunktape.schedule import Schedule, build_schedule

_MAX_SCHEDULES = 1024


class CassettePlayer:
    """Thread-safe: the server calls it from many connections at once."""

    def __init__(
        self,
        cassettes: Sequence[Cassette],
        policy: ReplayPolicy | None = None,
        rules: MatchRules | None = None,
        allow_repeats: bool = True,
    ) -> None:
        self.cassettes = list(cassettes)
        self.policy = policy or ReplayPolicy()
        self.rules = rules or MatchRules()
        self.allow_repeats = allow_repeats
        self._entries: list[tuple[Cassette, int, Interaction]] = [
            (cassette, index, interaction)
            for cassette in self.cassettes
            for index, interaction in enumerate(cassette.interactions)
        ]
        self._used: set[int] = set()
        self._session_entries: list[tuple[Cassette, int, Session]] = [
            (cassette, index, session)
            for cassette in self.cassettes
            for index, session in enumerate(cassette.sessions)
            if not session.stdio  # a stdio server is played by `serve --stdio`, never over a WebSocket
        ]
        self._used_sessions: set[int] = set()
        self._lock = threading.Lock()
        # keyed by id(): the responses live as long as the player, in _entries
        self._schedules: dict[tuple[int, ReplayPolicy], Schedule] = {}
        self._matches: dict[tuple[str, str, bytes, tuple[tuple[str, str], ...]], list[int]] = {}
        self.misses: list[NoMatchError] = []
        """Every request this player could not answer, in order: the one list of misses a
        test run reports (the pytest plugin fails a test that swallowed one)."""
        self.requested_at: deque[float] = deque(maxlen=_MAX_SCHEDULES)
        """When the latest requests reached the player (perf_counter), so a stream clock can
        time from the request rather than from whenever the test created the clock."""

    @property
    def interaction_count(self) -> int:
        return len(self._entries)

    def used(self) -> list[tuple[Cassette, int]]:
        """(cassette, index) of every interaction that answered a request, in recorded order."""
        with self._lock:
            return [(self._entries[position][0], self._entries[position][1]) for position in sorted(self._used)]

    def find(self, request: Request) -> Interaction:
        """The interaction that answers `request`, marking it used; NoMatchError if none does."""
        return self._find(request)[0]

    def _find(self, request: Request) -> tuple[Interaction, bool]:
        """The interaction, and whether it had already answered a request (a repeat)."""
        with self._lock:
            self.requested_at.append(time.perf_counter())
            candidates = self._candidates(request)
            fresh = [position for position in candidates if position not in self._used]
            if fresh:
                chosen = fresh[0]
            elif candidates and self.allow_repeats:
                chosen = candidates[-1]
            else:
                miss = self._miss(request, bool(candidates), self._entries, "interaction")
                self.misses.append(miss)
                raise miss
            repeat = chosen in self._used
            self._used.add(chosen)
            return self._entries[chosen][2], repeat

    def _candidates(self, request: Request) -> list[int]:
        """Positions of the interactions that match `request`. Remembered for requests seen
        before (a load test repeats a few requests thousands of times): matching is pure."""
        headers = request.headers if "headers" in self.rules.match_on else ()
        key = (request.method, request.url, request.body, headers)
        found = self._matches.get(key)
        if found is None:
            found = [
                position
                for position, (_, _, interaction) in enumerate(self._entries)
                if not self.rules.differences(interaction.request, request)
            ]
            if len(self._matches) >= _MAX_SCHEDULES:
                self._matches.clear()
            self._matches[key] = found
        return found

    @property
    def session_count(self) -> int:
        return len(self._session_entries)

    def find_session(self, request: Request) -> Session:
        """The realtime session whose handshake matches `request` (path, query minus secrets),
        in recorded order, the last one repeating; NoMatchError naming the closest if none."""
        with self._lock:
            candidates = [
                position
                for position, (_, _, session) in enumerate(self._session_entries)
                if not self.rules.differences(session.request, request)
            ]
            fresh = [position for position in candidates if position not in self._used_sessions]
            if fresh:
                chosen = fresh[0]
            elif candidates and self.allow_repeats:
                chosen = candidates[-1]
            else:
                miss = self._miss(request, bool(candidates), self._session_entries, "realtime session")
                self.misses.append(miss)
                raise miss
            self._used_sessions.add(chosen)
            return self._session_entries[chosen][2]

    def play(self, request: Request, policy: ReplayPolicy | None = None) -> Schedule:
        interaction, repeat = self._find(request)
        policy = policy or self.policy
        coming_back = reconnection(request, interaction, policy, repeat=repeat)
        if coming_back is not None:  # an EventSource reconnecting: built for this request alone
            return build_schedule(request, coming_back.response, coming_back.policy)
        if policy.fault is not None and policy.fault.kind == "status":
            return build_schedule(request, interaction.response, policy)  # the error body depends on the request
        renumbered = _with_live_rpc_id(interaction, request)
        if renumbered is not None:  # a JSON-RPC reply, to a request numbered otherwise: built for this one
            return build_schedule(request, renumbered, policy)
        # Otherwise a schedule depends only on the response and the policy (its rng is
        # seeded from the policy), and is immutable: build it once, not once per request.
        key = (id(interaction.response), policy)
        schedule = self._schedules.get(key)
        if schedule is None:
            schedule = build_schedule(request, interaction.response, policy)
            if len(self._schedules) >= _MAX_SCHEDULES:
                self._schedules.clear()
            self._schedules[key] = schedule
        return schedule

    def prepare(self) -> None:
        """Build every interaction's schedule now (as `play` would), so the first request
        pays no more than the tenth. Skipped for status faults: theirs depend on the request."""
        fault = self.policy.fault
        if fault is not None and fault.kind == "status":
            return
        for _, _, interaction in self._entries[:_MAX_SCHEDULES]:
            key = (id(interaction.response), self.policy)
            if key not in self._schedules:
                self._schedules[key] = build_schedule(interaction.request, interaction.response, self.policy)

    def reset(self) -> None:
        with self._lock:
            self._used.clear()
            self._used_sessions.clear()
            self.misses.clear()
            self.requested_at.clear()

    def _miss(
        self,
        request: Request,
        exhausted: bool,
        entries: Sequence[tuple[Cassette, int, Interaction | Session]],
        kind: str,
    ) -> NoMatchError:
        redactor = self.rules.redactor
        live = describe_request(request, redactor, self.rules.normalize)
        sources = ", ".join(sorted({c.path or "<in memory>" for c in self.cassettes})) or "no cassette"
        if exhausted:
            return NoMatchError(
                f"{live} was already answered by every matching {kind} in {sources}; "
                "record it again (record mode new_episodes) or allow repeats"
            )
        if not entries:
            return NoMatchError(f"no recorded {kind} matches {live}: {sources} holds no {kind}s; record it first")
        ranked = sorted(
            entries, key=lambda entry: self.rules.distance(entry[2].request, request)
        )  # stable: then in order
        lines = [f"no recorded {kind} matches {live} in {sources}; closest recorded requests:"]
        for cassette, index, interaction in ranked[:3]:
            reasons = self.rules.differences(interaction.request, request)
            where = f"{cassette.path or '<in memory>'} #{index + 1}"
            lines.append(f"  {where}: {describe_request(interaction.request, redactor, self.rules.normalize)}")
            lines.extend(f"    - {reason}" for reason in reasons)
        lines.append("Record it (record mode once/new_episodes) or loosen matching (match_on / ignore).")
        closest_cassette, closest_index, closest = ranked[0]
        return NoMatchError(
            "\n".join(lines),
            closest=f"{closest_cassette.path or '<in memory>'} #{closest_index + 1}: "
            f"{describe_request(closest.request, redactor, self.rules.normalize)}",
            differences=tuple(self.rules.differences(closest.request, request)),
        )


def _with_live_rpc_id(interaction: Interaction, live: Request) -> Response | None:
    """The recorded JSON-RPC reply (MCP over streamable HTTP) carrying the live request's id,
    when it matched with another (`id` ignored or normalized); None when nothing changes."""
    if b'"jsonrpc"' not in live.body or b'"jsonrpc"' not in interaction.request.body:
        return None
    live_id, recorded_id = request_id(live.body), request_id(interaction.request.body)
    if live_id is None or recorded_id is None or live_id == recorded_id:
        return None
    response = interaction.response
    return replace(response, chunks=chunks_with_id(response.chunks, recorded_id, live_id))
