"""The replay script of a realtime session: a pure function of (session, policy) -> beats.

Replay is causal: each server message is due a recorded gap after the client message it
followed in the recording (its anchor), not at a fixed offset from the handshake, so a
slow client never sees answers before its question. The emitter waits for the anchor, then
for the gap; this module only says which anchor and how long, and into which WebSocket
frames each message is fragmented (`split`). No clock, no I/O.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from typing import Any, Literal

from chunktape.cassette import Frame, Session
from chunktape.knobs import ReplayPolicy, Split
from chunktape.normalizers import Normalizers
from chunktape.schedule import inside_multibyte_characters, size_cuts

CloseKind = Literal["close", "drop", "await_client"]

FAULT_CLOSE_CODE = 1011
"""The close code of an injected `cut:N`: a server error, never a clean 1000."""
TRUNCATE_CLOSE_CODE = 1000
"""The close code of an injected `truncate`: a normal closure, the session just ends early."""


@dataclass(frozen=True)
class Beat:
    """Send one server message once `after_client` client messages have arrived, `wait_s`
    after the last of them (after the handshake when none), and `extra_s` later still."""

    after_client: int
    wait_s: float
    extra_s: float
    frame: Frame
    data: bytes
    fragments: tuple[bytes, ...] = ()
    """The message as WebSocket frames (`split`): the first carries the opcode, the rest are
    continuation frames, the last has FIN. Empty: one frame."""

    @property
    def frames(self) -> tuple[bytes, ...]:
        return self.fragments or (self.data,)


@dataclass(frozen=True)
class Ending:
    """How the server ends the session once every beat is sent: `close` with a code and
    reason, `drop` the connection without a close frame, or `await_client` (the client
    closed first in the recording)."""

    kind: CloseKind
    after_client: int
    wait_s: float
    code: int = 1000
    reason: str = ""


@dataclass(frozen=True)
class Script:
    beats: tuple[Beat, ...]
    ending: Ending
    client_frames: tuple[tuple[Frame, bytes], ...]
    """The client messages the recording expects, in order."""


def _scale(seconds: float, speed: float) -> float:
    return 0.0 if speed == 0 else max(0.0, seconds) / speed


def build_script(session: Session, policy: ReplayPolicy) -> Script:
    rng = random.Random(policy.seed)
    anchor_at = session.handshake.headers_at_s
    clients = 0
    beats: list[Beat] = []
    fault = policy.fault
    for message in session.messages:
        if message.sender == "client":
            clients += 1
            anchor_at = message.at_s
            continue
        extra = policy.delay.chunk_s + (rng.uniform(0, policy.delay.jitter_s) if policy.delay.jitter_s else 0.0)
        if not beats:
            extra += policy.delay.first_s
        if fault is not None and fault.kind == "stall" and len(beats) == fault.after_chunks:
            extra += fault.duration_s
        fragments = split_message(message.data, policy.split, rng)
        wait = _scale(message.at_s - anchor_at, policy.speed)
        beats.append(Beat(clients, wait, extra, message.frame, message.data, fragments if len(fragments) > 1 else ()))
    close = session.close
    if fault is not None and fault.kind == "cut":
        kept = beats[: fault.after_chunks]
        last = kept[-1].after_client if kept else 0
        reason = f"chunktape fault {fault}: closed after {len(kept)} server messages"
        return Script(tuple(kept), Ending("close", last, 0.0, FAULT_CLOSE_CODE, reason), _client_frames(session))
    if fault is not None and fault.kind == "truncate" and beats:
        # a WebSocket message arrives whole or not at all: the session loses its last one and
        # closes normally where that message was due, as HTTP's truncate loses the body's tail
        left_out = beats.pop()
        reason = f"chunktape fault truncate: the last of {len(beats) + 1} server messages left out"
        ending = Ending("close", left_out.after_client, left_out.wait_s, TRUNCATE_CLOSE_CODE, reason)
        return Script(tuple(beats), ending, _client_frames(session))
    if close is None or close.code is None:
        at = close.at_s if close is not None else (session.messages[-1].at_s if session.messages else anchor_at)
        ending = Ending("drop", clients, _scale(at - anchor_at, policy.speed))
    elif close.by == "client":
        ending = Ending("await_client", clients, 0.0)
    else:
        ending = Ending("close", clients, _scale(close.at_s - anchor_at, policy.speed), close.code, close.reason)
    return Script(tuple(beats), ending, _client_frames(session))


def split_message(data: bytes, split: Split, rng: random.Random) -> tuple[bytes, ...]:
    """One message's payload as the frames it is sent in; joined, they are `data` exactly.

    The recorder keeps whole messages, not the frames they came in, so `recorded`, `whole` and
    `events` (a message is one event) send one frame; `bytes:N` and `random:A-B` cut by size;
    `utf8` cuts inside every multi-byte character (text frames too: only the whole message
    must be valid UTF-8)."""
    if split.kind in ("bytes", "random"):
        cuts = size_cuts(split, len(data), rng)
    elif split.kind == "utf8":
        cuts = inside_multibyte_characters(data)
    else:
        return (data,)
    ends = [*cuts, len(data)]
    return tuple(data[start:end] for start, end in zip([0, *cuts], ends, strict=True))


def _client_frames(session: Session) -> tuple[tuple[Frame, bytes], ...]:
    return tuple((message.frame, message.data) for message in session.messages if message.sender == "client")


# -- client messages: what must agree -------------------------------------------------

DEFAULT_VOLATILE_FIELDS = frozenset({"event_id"})
"""JSON fields a client fills in afresh every run (OpenAI's client-side `event_id`)."""


def message_differences(
    recorded: tuple[Frame, bytes],
    live: tuple[Frame, bytes],
    ignore_fields: frozenset[str] = frozenset(),
    normalize: Normalizers | None = None,
    *,
    rpc_ids: bool = False,
) -> list[str]:
    """Why a live client message is not the recorded one; empty when it is. JSON is compared
    canonically (key order and spacing do not matter), without the `ignore_fields`, with
    volatile values `normalize`d; with `rpc_ids` (stdio), the top-level JSON-RPC `id` too is
    left out: a replayed reply carries the live one."""
    reasons: list[str] = []
    (recorded_frame, recorded_data), (live_frame, live_data) = recorded, live
    if recorded_frame != live_frame:
        reasons.append(f"frame {live_frame} != recorded {recorded_frame}")
    ignored = ignore_fields | DEFAULT_VOLATILE_FIELDS
    one, other = _json_or_none(recorded_data), _json_or_none(live_data)
    if one is not None and other is not None:
        one, other = _without(one[0], ignored), _without(other[0], ignored)
        if rpc_ids:
            one, other = _without_rpc_id(one), _without_rpc_id(other)
        if normalize:
            one, other = normalize.json(one), normalize.json(other)
        if one != other:
            reasons.append(f"JSON differs: {_first_difference(one, other)}")
    elif recorded_data != live_data:
        reasons.append(f"bytes differ ({len(live_data)} bytes, recorded {len(recorded_data)})")
    return reasons


def _json_or_none(data: bytes) -> tuple[Any] | None:
    try:
        return (json.loads(data),)
    except ValueError:
        return None


def _without_rpc_id(value: Any) -> Any:
    if isinstance(value, dict) and value.get("jsonrpc") == "2.0":
        return {key: item for key, item in value.items() if key != "id"}
    return value


def _without(value: Any, names: frozenset[str]) -> Any:
    if isinstance(value, dict):
        return {key: _without(item, names) for key, item in value.items() if key.lower() not in names}
    if isinstance(value, list):
        return [_without(item, names) for item in value]
    return value


def _first_difference(recorded: Any, live: Any, path: str = "$") -> str:
    if isinstance(recorded, dict) and isinstance(live, dict):
        for key in [*recorded, *(k for k in live if k not in recorded)]:
            if key not in live:
                return f"{path}.{key} is missing"
            if key not in recorded:
                return f"{path}.{key} was not recorded"
            if recorded[key] != live[key]:
                return _first_difference(recorded[key], live[key], f"{path}.{key}")
    if isinstance(recorded, list) and isinstance(live, list) and len(recorded) == len(live):
        for index, (one, other) in enumerate(zip(recorded, live, strict=True)):
            if one != other:
                return _first_difference(one, other, f"{path}[{index}]")
    return f"{path} is {_short(live)}, recorded {_short(recorded)}"


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."
