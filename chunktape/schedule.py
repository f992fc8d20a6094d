"""The replay schedule: a pure function of (recorded response, policy, seed) -> exact steps.

Every emitter (the HTTP server, the sync and async httpx transports) plays the same
schedule, so they can never disagree about which bytes go out when. No clock, no I/O.
"""

from __future__ import annotations

import bisect
import random
from dataclasses import dataclass
from typing import Literal

from chunktape.bodies.framing import event_ends
from chunktape.cassette import Headers, Request, Response
from chunktape.knobs import ReplayPolicy, Split
from chunktape.providers import error_response, reason_phrase

Ending = Literal["complete", "cut"]


@dataclass(frozen=True)
class Step:
    """Send `data` at `at_s` seconds after the request arrived."""

    at_s: float
    data: bytes


@dataclass(frozen=True)
class Schedule:
    """The response head, the body steps, and how the exchange ends.

    `ending` is "cut" when the connection must drop at `end_at_s` without
    completing the body (a recorded cut, or an injected `cut:N` fault).
    """

    status: int
    reason: str
    headers: Headers
    headers_at_s: float
    steps: tuple[Step, ...]
    ending: Ending
    end_at_s: float
    policy: ReplayPolicy

    @property
    def body(self) -> bytes:
        return b"".join(step.data for step in self.steps)


def build_schedule(request: Request, response: Response, policy: ReplayPolicy) -> Schedule:
    """What to send and when, for `response` replayed under `policy`."""
    rng = random.Random(policy.seed)
    fault = policy.fault
    if fault is not None and fault.kind == "status":
        headers, body = error_response(request, fault.status)
        at = _scale(response.headers_at_s, policy.speed) + policy.delay.first_s
        error_steps = (Step(at_s=at, data=body),)
        return Schedule(fault.status, reason_phrase(fault.status), headers, at, error_steps, "complete", at, policy)

    pieces = split_body(response, policy.split, rng)
    headers_at = _scale(response.headers_at_s, policy.speed) + policy.delay.first_s
    times: list[float] = []
    extra = 0.0
    for index, (recorded_at, _) in enumerate(pieces):
        extra += policy.delay.chunk_s
        if policy.delay.jitter_s:
            extra += rng.uniform(0.0, policy.delay.jitter_s)
        at = _scale(recorded_at, policy.speed) + policy.delay.first_s + extra
        if fault is not None and fault.kind == "stall" and index >= fault.after_chunks:
            at += fault.duration_s
        times.append(max(at, times[-1] if times else headers_at))
    end_at = max(
        _scale(response.end_s, policy.speed) + policy.delay.first_s + extra, times[-1] if times else headers_at
    )
    if fault is not None and fault.kind == "stall" and fault.after_chunks >= len(pieces):
        end_at += fault.duration_s

    steps = [Step(at_s=at, data=data) for at, (_, data) in zip(times, pieces, strict=True)]
    ending: Ending = "cut" if response.ended == "cut" else "complete"
    headers = response.headers
    if fault is not None and fault.kind == "cut" and fault.after_chunks < len(steps):
        end_at = steps[fault.after_chunks].at_s
        steps = steps[: fault.after_chunks]
        ending = "cut"
    elif fault is not None and fault.kind == "cut":
        ending = "cut"
    elif fault is not None and fault.kind == "truncate" and steps:
        last = steps[-1]
        kept = last.data[: len(last.data) // 2]
        steps = steps[:-1] + ([Step(at_s=last.at_s, data=kept)] if kept else [])
        headers = tuple((k, v) for k, v in headers if k.lower() != "content-length")
    return Schedule(
        status=response.status,
        reason=reason_phrase(response.status),
        headers=headers,
        headers_at_s=headers_at,
        steps=tuple(steps),
        ending=ending,
        end_at_s=end_at,
        policy=policy,
    )


def split_body(response: Response, split: Split, rng: random.Random) -> list[tuple[float, bytes]]:
    """The body re-chunked as (recorded arrival time, bytes); never loses or reorders a byte.

    A piece is due when its last byte arrived in the recording, so a re-split stream
    never runs ahead of what the upstream had actually sent.
    """
    chunks = response.chunks
    if not chunks:
        return []
    if split.kind == "recorded":
        return [(chunk.at_s, chunk.data) for chunk in chunks]
    body = response.body
    recorded_ends: list[int] = []
    total = 0
    for chunk in chunks:
        total += len(chunk.data)
        recorded_ends.append(total)
    cuts: list[int]
    if split.kind == "whole":
        cuts = []
    elif split.kind in ("bytes", "random"):
        cuts = size_cuts(split, len(body), rng)
    elif split.kind == "utf8":
        cuts = sorted(set(recorded_ends[:-1]) | set(inside_multibyte_characters(body)))
    else:  # events (or sse, its older name): SSE events, NDJSON lines, array elements, event-stream messages
        cuts = [end for end in event_ends(body, response.header("content-type")) if end < len(body)]
    pieces: list[tuple[float, bytes]] = []
    start = 0
    for end in [*cuts, len(body)]:
        if end <= start:
            continue
        holder = bisect.bisect_left(recorded_ends, end)
        pieces.append((chunks[holder].at_s, body[start:end]))
        start = end
    return pieces


def size_cuts(split: Split, length: int, rng: random.Random) -> list[int]:
    """Where `bytes:N` or `random:A-B` cuts `length` bytes: every N, or seeded sizes from A to B."""
    if split.kind == "bytes":
        return list(range(split.size_bytes, length, split.size_bytes))
    cuts = []
    position = rng.randint(split.size_bytes, split.max_bytes)
    while position < length:
        cuts.append(position)
        position += rng.randint(split.size_bytes, split.max_bytes)
    return cuts


def inside_multibyte_characters(body: bytes) -> list[int]:
    """An offset just after the first byte of every multi-byte UTF-8 character."""
    cuts = []
    for index, byte in enumerate(body):
        if byte >= 0xC0 and index + 1 < len(body) and 0x80 <= body[index + 1] < 0xC0:
            cuts.append(index + 1)
    return cuts


def _scale(seconds: float, speed: float) -> float:
    return 0.0 if speed == 0 else seconds / speed
