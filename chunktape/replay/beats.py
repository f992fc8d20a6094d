"""What a client lives through, beat by beat: the schedule seen through its read timeout.

Pure: no clock, no I/O. Each beat is data, a timeout or a cut, `at_s` after the request.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from chunktape.schedule import Schedule


@dataclass(frozen=True)
class Beat:
    """One thing the client experiences, `at_s` after the request: the head, data, a timeout, or a cut."""

    kind: Literal["head", "data", "timeout", "cut"]
    at_s: float
    data: bytes = b""


def head_beat(schedule: Schedule, read_timeout_s: float | None) -> Beat:
    """When the response head arrives, or when a client with this read timeout gives up on it."""
    if read_timeout_s is not None and schedule.headers_at_s > read_timeout_s:
        return Beat("timeout", read_timeout_s)
    return Beat("head", schedule.headers_at_s)


def client_beats(schedule: Schedule, read_timeout_s: float | None) -> Iterator[Beat]:
    """The body as a client with a read timeout lives it: a gap longer than the
    timeout ends in a timeout at exactly the moment the client would give up."""
    last = schedule.headers_at_s
    for step in schedule.steps:
        if read_timeout_s is not None and step.at_s - last > read_timeout_s:
            yield Beat("timeout", last + read_timeout_s)
            return
        yield Beat("data", step.at_s, step.data)
        last = step.at_s
    if schedule.ending == "cut":
        if read_timeout_s is not None and schedule.end_at_s - last > read_timeout_s:
            yield Beat("timeout", last + read_timeout_s)
            return
        yield Beat("cut", schedule.end_at_s)
