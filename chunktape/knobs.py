"""The timing/chaos vocabulary, parsed from the same strings in the CLI, the marker and Python.

speed   1 recorded rhythm, 2 twice as fast, 0 no waiting
split   recorded | bytes:N | random:A-B | utf8 | events (sse) | whole
delay   first:DUR | chunk:DUR | jitter:DUR   (repeatable; DUR like 250ms or 1.5s)
fault   cut:N | stall:N:DUR | status:CODE | truncate   (disconnect:N: the old name of cut:N)
seed    int; every random choice derives from it
resume  last-event-id | start   (what a reconnecting EventSource gets)

Names, syntax and help text for every surface live in `chunktape.vocabulary`.

Long on purpose: every knob's parser and its error messages (with the closest right spelling)
read best side by side.
"""

from __future__ import annotations

import difflib
import math
import re
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

from chunktape.errors import KnobError

SplitKind = Literal["recorded", "bytes", "random", "utf8", "events", "sse", "whole"]
ResumeKind = Literal["last-event-id", "start"]
RESUME_KINDS: tuple[ResumeKind, ...] = ("last-event-id", "start")
FaultKind = Literal["cut", "disconnect", "stall", "status", "truncate"]
CUT_ALIASES = ("disconnect",)
"""Old spellings of `cut` (a body that ends early), still accepted with a DeprecationWarning."""

_DURATION = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*(ms|s)\s*$")
DEFAULT_SEED = 0


def _text(value: object, knob: str, example: str) -> str:
    """Knob values arrive from marker arguments too, so any Python value may turn up."""
    if not isinstance(value, str):
        raise KnobError.refuse("bad", knob, value, f"write it as text, as in {example}")
    return value


def parse_duration(text: str, knob: str) -> float:
    """Seconds from '250ms' or '1.5s'."""
    match = _DURATION.match(_text(text, f"{knob} duration", "250ms"))
    if match is None:
        raise KnobError.refuse("bad", f"{knob} duration", text, "write it like 250ms or 1.5s")
    value = float(match.group(1))
    return value / 1000 if match.group(2) == "ms" else value


def format_number(value: float) -> str:
    """`value` in plain digits (never 1e+06, which no knob parses), exactly: 1, 0.25, 1234567."""
    if not math.isfinite(value):
        return repr(value)
    text = format(Decimal(repr(value)), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def format_duration(seconds: float) -> str:
    """The spelling of a duration that parses back to exactly `seconds`: 250ms when that is
    exact, else seconds in full (1.23456789s), so a printed knob repeats a run exactly."""
    nice = f"{format_number(round(seconds * 1000, 3))}ms"
    if math.isfinite(seconds) and parse_duration(nice, "") == seconds:
        return nice
    return f"{format_number(seconds)}s"


def _whole(text: str, knob: str, example: str, minimum: int = 0, *, spec: object = None) -> int:
    """A whole number from `text`, a part of `spec` (the value as written, which errors quote)."""
    written = text if spec is None else spec
    digits = text.strip()  # str.strip() knows more blanks than int() does (\x1f, say)
    if not re.fullmatch(r"\d+", digits):
        raise KnobError.refuse("bad", knob, written, f"expected a whole number >= {minimum}, as in {example}")
    value = int(digits)
    if value < minimum:
        raise KnobError.refuse("bad", knob, written, f"{digits} must be at least {minimum}, as in {example}")
    return value


def _unknown(knob: str, value: object, usage: str, choices: Iterable[str], *, arg: str = "") -> KnobError:
    """An unknown knob value, with the closest known one when there is one (`utf-8`: utf8)."""
    name = str(value).strip().lower()
    name = name.partition(":")[0] if arg else name
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    advice = f"did you mean {close[0]}{':' + arg if arg else ''}?" if close else f"use {usage}"
    return KnobError.refuse("unknown", knob, value, advice)


@dataclass(frozen=True)
class Split:
    """How the body is re-chunked before it is sent."""

    kind: SplitKind = "recorded"
    size_bytes: int = 0
    max_bytes: int = 0

    @classmethod
    def parse(cls, spec: str | Split | None) -> Split:
        if spec is None:
            return cls()
        if isinstance(spec, Split):
            return spec
        text = _text(spec, "split", "bytes:16").strip().lower()
        if text in ("recorded", "utf8", "events", "sse", "whole"):  # sse: the older name of events
            return cls(kind=text)  # type: ignore[arg-type]
        name, _, arg = text.partition(":")
        if name == "bytes" and arg:
            return cls(kind="bytes", size_bytes=_whole(arg, "split", "bytes:16", minimum=1, spec=spec))
        if name == "random" and arg:
            low_text, dash, high_text = arg.partition("-")
            if not dash:
                raise KnobError.refuse("bad", "split", spec, "random takes a size range, as in random:1-64")
            low = _whole(low_text, "split", "random:1-64", minimum=1, spec=spec)
            high = _whole(high_text, "split", "random:1-64", minimum=1, spec=spec)
            if high < low:
                raise KnobError.refuse("bad", "split", spec, "the range must go low to high, as in random:1-64")
            return cls(kind="random", size_bytes=low, max_bytes=high)
        usage = "recorded, bytes:N, random:A-B, utf8, events or whole"
        if arg:
            raise _unknown("split", spec, usage, ("bytes", "random"), arg=arg)
        raise _unknown("split", spec, usage, ("recorded", "utf8", "events", "whole"))

    def __str__(self) -> str:
        if self.kind == "bytes":
            return f"bytes:{self.size_bytes}"
        if self.kind == "random":
            return f"random:{self.size_bytes}-{self.max_bytes}"
        return self.kind


@dataclass(frozen=True)
class Delay:
    """Extra waiting: before the first byte, before every chunk, and random jitter per chunk."""

    first_s: float = 0.0
    chunk_s: float = 0.0
    jitter_s: float = 0.0

    @classmethod
    def parse(cls, specs: str | Iterable[str] | Delay | None) -> Delay:
        if specs is None:
            return cls()
        if isinstance(specs, Delay):
            return specs
        if isinstance(specs, str):
            specs = [part for part in specs.split(",") if part.strip()]
        elif not isinstance(specs, Iterable) or isinstance(specs, (bytes, dict)):
            raise KnobError.refuse("bad", "delay", specs, "write it as text, as in first:250ms, or a list of those")
        first = chunk = jitter = 0.0
        for spec in specs:
            name, _, arg = _text(spec, "delay", "first:250ms").strip().lower().partition(":")
            if name not in ("first", "chunk", "jitter") or not arg:
                usage = "first:DUR, chunk:DUR or jitter:DUR, as in first:250ms"
                raise _unknown("delay", spec, usage, ("first", "chunk", "jitter"), arg=arg or "DUR")
            seconds = parse_duration(arg, "delay")
            if name == "first":
                first += seconds
            elif name == "chunk":
                chunk += seconds
            else:
                jitter += seconds
        return cls(first_s=first, chunk_s=chunk, jitter_s=jitter)

    def specs(self) -> list[str]:
        out = []
        for name, value in (("first", self.first_s), ("chunk", self.chunk_s), ("jitter", self.jitter_s)):
            if value:
                out.append(f"{name}:{format_duration(value)}")
        return out


@dataclass(frozen=True)
class Fault:
    """One injected failure. `cut` ends the body early (the connection drops mid-body)."""

    kind: FaultKind
    after_chunks: int = 0
    duration_s: float = 0.0
    status: int = 0
    spelling: str = field(default="", compare=False, repr=False)
    """The name the user wrote (an old alias of `cut` prints back as written)."""

    def __post_init__(self) -> None:
        if self.kind in CUT_ALIASES:  # one word inside: every emitter checks for "cut" only
            object.__setattr__(self, "spelling", self.spelling or self.kind)
            object.__setattr__(self, "kind", "cut")

    @classmethod
    def parse(cls, spec: str | Fault | None) -> Fault | None:
        if spec is None or isinstance(spec, Fault):
            return spec
        text = _text(spec, "fault", "cut:2").strip().lower()
        if text in ("", "none"):
            return None
        parts = text.split(":")
        name = parts[0]
        if name == "truncate" and len(parts) == 1:
            return cls(kind="truncate")
        if name in ("cut", *CUT_ALIASES) and len(parts) == 2:
            if name != "cut":
                warnings.warn(
                    f"fault {name}:N is now spelled cut:N (the body ends early); {name}:N still works",
                    DeprecationWarning,
                    stacklevel=2,
                )
            return cls(kind="cut", after_chunks=_whole(parts[1], "fault", "cut:2", spec=spec), spelling=name)
        if name == "stall" and len(parts) == 3:
            after = _whole(parts[1], "fault", "stall:1:5s", spec=spec)
            return cls(kind="stall", after_chunks=after, duration_s=parse_duration(parts[2], "fault stall"))
        if name == "status" and len(parts) == 2:
            code = _whole(parts[1], "fault", "status:429", minimum=400, spec=spec)
            if code > 599:
                raise KnobError.refuse(
                    "bad", "fault", spec, "status must be an HTTP error code 400-599, as in status:429"
                )
            return cls(kind="status", status=code)
        usage = "cut:N, stall:N:DUR, status:CODE or truncate, as in cut:2"
        known = ("cut", "stall", "status", "truncate", *CUT_ALIASES)
        if name in known:  # a known name, written wrong: no suggestion would help
            raise KnobError.refuse("bad", "fault", spec, f"use {usage}")
        raise _unknown("fault", spec, usage, known, arg=":".join(parts[1:]))

    def __str__(self) -> str:
        if self.kind == "cut":
            return f"{self.spelling or 'cut'}:{self.after_chunks}"
        if self.kind == "stall":
            return f"stall:{self.after_chunks}:{format_duration(self.duration_s)}"
        if self.kind == "status":
            return f"status:{self.status}"
        return "truncate"


def parse_speed(value: str | float | int | None) -> float:
    if value is None:
        return 1.0
    try:
        speed = float(value)
    except (TypeError, ValueError):
        raise KnobError.refuse(
            "bad", "speed", value, "use a number, 1 for the recorded rhythm or 0 for no waiting"
        ) from None
    if speed < 0 or not math.isfinite(speed):
        raise KnobError.refuse("bad", "speed", value, "must be 0 or more (1 = recorded rhythm, 0 = no waiting)")
    return speed


def parse_resume(value: str | None) -> ResumeKind:
    """What a reconnecting EventSource gets: the events after its Last-Event-ID, or the stream from the start."""
    if value is None:
        return "last-event-id"
    text = _text(value, "resume", "start").strip().lower()
    for kind in RESUME_KINDS:
        if text == kind:
            return kind
    raise _unknown("resume", value, "last-event-id (the events after it) or start (the whole stream)", RESUME_KINDS)


def parse_seed(value: str | int | None) -> int:
    if value is None:
        return DEFAULT_SEED
    if isinstance(value, bool):
        raise KnobError.refuse("bad", "seed", value, "use a whole number")
    if isinstance(value, int):
        return value
    digits = str(value).strip()
    if not re.fullmatch(r"-?\d+", digits):
        raise KnobError.refuse("bad", "seed", value, "use a whole number")
    return int(digits)


@dataclass(frozen=True)
class ReplayPolicy:
    """Every knob together: how a recorded response is turned into what the client receives."""

    speed: float = 1.0
    split: Split = field(default_factory=Split)
    delay: Delay = field(default_factory=Delay)
    fault: Fault | None = None
    seed: int = DEFAULT_SEED
    resume: ResumeKind = "last-event-id"
    """What a reconnecting EventSource (a request with Last-Event-ID) gets; see replay/eventsource.py."""

    @classmethod
    def from_knobs(
        cls,
        *,
        speed: str | float | int | None = None,
        split: str | Split | None = None,
        delay: str | Iterable[str] | Delay | None = None,
        fault: str | Fault | None = None,
        seed: str | int | None = None,
        resume: str | None = None,
    ) -> ReplayPolicy:
        return cls(
            speed=parse_speed(speed),
            split=Split.parse(split),
            delay=Delay.parse(delay),
            fault=Fault.parse(fault),
            seed=parse_seed(seed),
            resume=parse_resume(resume),
        )

    def describe(self) -> str:
        """The knobs as the CLI would spell them, to repeat a run exactly."""
        parts = [f"speed={format_number(self.speed)}", f"split={self.split}"]
        parts += [f"delay={spec}" for spec in self.delay.specs()]
        if self.fault is not None:
            parts.append(f"fault={self.fault}")
        parts.append(f"seed={self.seed}")
        if self.resume != "last-event-id":
            parts.append(f"resume={self.resume}")
        return " ".join(parts)
