"""`max_age`: a cassette recorded too long ago fails its test (or warns), in one line that says
when it was recorded, the limit, and the command that re-records it.

A cassette's time is its oldest interaction's `recorded_at`: the part that has gone longest
without meeting the provider. A cassette with no `recorded_at` at all (written before
chunktape dated interactions) has no known age: it warns, never fails, so upgrading chunktape
never turns a passing suite red; re-recording it dates it.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Literal

from chunktape.cassette import Cassette, iso_utc, oldest_recording
from chunktape.errors import ChunktapeError, KnobError

MaxAgeAction = Literal["fail", "warn"]
MAX_AGE_ACTIONS: tuple[MaxAgeAction, ...] = ("fail", "warn")
_AGE = re.compile(r"([0-9]+(?:\.[0-9]+)?)\s*(h|d|w)")
_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}
_OFF = ("none", "off", "")


def parse_max_age(value: object) -> timedelta | None:
    """`30d`, `12h`, `2w` (None for none/off/unset); KnobError with the fix otherwise."""
    if value is None:
        return None
    text = str(value).strip().lower()
    if text in _OFF:
        return None
    match = _AGE.fullmatch(text)
    if match is None or float(match.group(1)) <= 0:
        raise KnobError(f"bad max_age {value!r}: write it like 30d, 12h or 2w (or none)")
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse_action(value: object) -> MaxAgeAction:
    text = str(value if value is not None else "fail").strip().lower()
    for action in MAX_AGE_ACTIONS:
        if text == action:
            return action
    raise KnobError(f"bad max_age_action {value!r}: use fail or warn")


def age_problem(
    path: str, cassettes: Iterable[Cassette], max_age: timedelta, now: datetime, nodeid: str
) -> tuple[str, bool] | None:
    """(the line to show, whether it is about a known age) when the cassette is older than
    `max_age` or has no date; None when it is fresh enough."""
    command = f"pytest {shlex.quote(nodeid)} --chunktape-record-mode=all" if nodeid else "--chunktape-record-mode=all"
    recorded = oldest_recording(one for cassette in cassettes for one in cassette.interactions)
    if recorded is None:
        return (
            f"{path}: no interaction says when it was recorded (recorded_at), so max_age {_shown(max_age)} "
            f"cannot judge it; re-record it to date it: {command}",
            False,
        )
    age = now - recorded
    if age <= max_age:
        return None
    return (
        f"{path}: recorded {iso_utc(recorded)}, {_shown(age)} ago, older than max_age {_shown(max_age)}; "
        f"re-record it: {command}",
        True,
    )


def check_age(
    path: str,
    cassettes: Iterable[Cassette],
    max_age: timedelta | None,
    action: MaxAgeAction,
    now: datetime,
    nodeid: str,
) -> str | None:
    """Raise ChunktapeError for a cassette past its age under `fail`; the warning line to show
    otherwise (None when there is nothing to say)."""
    if max_age is None:
        return None
    problem = age_problem(path, cassettes, max_age, now, nodeid)
    if problem is None:
        return None
    line, known = problem
    if known and action == "fail":
        raise ChunktapeError(line)
    return line


def _shown(age: timedelta) -> str:
    """`2w`, `30d`, `12h` for a limit as written; an age in whole days (or hours, minutes)."""
    seconds = age.total_seconds()
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:.0f}{unit}"
    if seconds >= 86400:
        return f"{seconds // 86400:.0f}d"
    if seconds >= 3600:
        return f"{seconds // 3600:.0f}h"
    return f"{max(seconds // 60, 0):.0f}min"
