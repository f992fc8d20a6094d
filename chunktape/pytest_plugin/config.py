"""What one test replays or records, and how: every layer merged in one place.

Layers, later ones winning: ini < the `chunktape_config` fixture < `@pytest.mark.chunktape`
(farthest first) < the chaos variant (`chunktape_knobs`) < the command line. A value of
None means "not set here", so it never hides a lower layer.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from chunktape.errors import KnobError
from chunktape.knobs import ReplayPolicy, format_number
from chunktape.matching import MatchRules
from chunktape.replay.clock import CLOCK_MODES, ClockMode

RecordMode = Literal["none", "once", "new_episodes", "all"]
RECORD_MODES: tuple[RecordMode, ...] = ("none", "once", "new_episodes", "all")
KNOB_NAMES = ("speed", "split", "delay", "fault", "seed")
SETTING_NAMES = (*KNOB_NAMES, "upstream", "match_on", "ignore", "redact", "record_mode", "clock")
RANDOM_SEED = "random"

_UNSAFE = re.compile(r"[^\w.,=+@\[\]-]+")
_MAX_NAME_BYTES = 200


@dataclass(frozen=True)
class Settings:
    """The resolved configuration of one test."""

    cassette_path: str
    record_mode: RecordMode
    policy: ReplayPolicy
    rules: MatchRules
    upstream: str | None
    redact: tuple[str, ...]
    clock: ClockMode = "auto"
    """What the in-process transports wait on: auto (the loop's clock when it is a test clock), real, virtual."""

    def cli_args(self) -> list[str]:
        """The command-line options that pin this test's timing and chaos exactly."""
        policy = self.policy
        args = [f"--chunktape-seed={policy.seed}", f"--chunktape-speed={format_number(policy.speed)}"]
        args.append(f"--chunktape-split={policy.split}")
        args += [f"--chunktape-delay={spec}" for spec in policy.delay.specs()]
        args.append(f"--chunktape-fault={policy.fault if policy.fault is not None else 'none'}")
        return args


def check_keys(values: Mapping[str, Any], where: str) -> None:
    """Refuse names chunktape does not know, so a typo is never silently ignored."""
    unknown = sorted(set(values) - set(SETTING_NAMES))
    if unknown:
        raise KnobError(f"unknown {where} argument {', '.join(unknown)}: use any of {', '.join(SETTING_NAMES)}")


def merge(layers: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Later layers win; None means "not set here"."""
    merged: dict[str, Any] = {}
    for layer in layers:
        merged.update({key: value for key, value in layer.items() if value is not None})
    return merged


def resolve(
    cassette_path: str,
    layers: Sequence[Mapping[str, Any]],
    *,
    session_seed: int,
) -> Settings:
    """One test's settings from its layers (lowest first). Raises KnobError on a bad value."""
    merged = merge(layers)
    mode = str(merged.get("record_mode", "none"))
    if mode not in RECORD_MODES:
        raise KnobError(f"unknown record mode {mode!r}: use one of {', '.join(RECORD_MODES)}")
    seed = merged.get("seed")
    if isinstance(seed, str) and seed.strip().lower() == RANDOM_SEED:
        seed = session_seed
    policy = ReplayPolicy.from_knobs(
        speed=merged.get("speed"),
        split=merged.get("split"),
        delay=_names(merged.get("delay"), "delay") or None,
        fault=merged.get("fault"),
        seed=seed,
    )
    redact = tuple(_names(merged.get("redact"), "redact"))
    match_on = merged.get("match_on")
    rules = MatchRules.build(
        match_on=_names(match_on, "match_on") if match_on is not None else None,
        ignore=_names(merged.get("ignore"), "ignore"),
        redact=redact,
    )
    upstream = merged.get("upstream")
    clock = next((mode for mode in CLOCK_MODES if mode == merged.get("clock", "auto")), None)
    if clock is None:
        raise KnobError(f"unknown clock {merged.get('clock')!r}: use one of {', '.join(CLOCK_MODES)}")
    return Settings(
        cassette_path=cassette_path,
        record_mode=mode,
        policy=policy,
        rules=rules,
        upstream=str(upstream).rstrip("/") if upstream else None,
        redact=redact,
        clock=clock,
    )


def _names(value: Any, what: str) -> list[str]:
    """A list of strings from a list, or from one string separated by commas or whitespace."""
    if value is None:
        return []
    if isinstance(value, str):
        return [part for part in re.split(r"[,\s]+", value) if part]
    if isinstance(value, (list, tuple, set, frozenset)):
        return [str(part) for part in value]
    raise KnobError(f"bad {what} {value!r}: give a string or a list of strings")


def knob_id(knobs: Mapping[str, Any]) -> str:
    """A readable test id for one chaos variant: `split=utf8-fault=disconnect:2`."""
    return "-".join(f"{name}={'none' if value is None else value}" for name, value in knobs.items()) or "recorded"


def default_cassette_name(
    test_name: str,
    class_name: str | None = None,
    params: Mapping[str, object] | None = None,
    indices: Mapping[str, int] | None = None,
    shared: Iterable[str] = (),
) -> str:
    """`Class.test_name[param-ids].yaml`, safe as a file name.

    Parameters named in `shared` (the chaos knobs) are left out, so every chaos variant of
    a test replays the same cassette; other parameters each get their own.
    """
    name = f"{class_name}.{test_name}" if class_name else test_name
    skipped = set(shared)
    parts = [
        _param_id(argname, value, (indices or {}).get(argname, 0))
        for argname, value in (params or {}).items()
        if argname not in skipped
    ]
    if parts:
        name += "[" + "-".join(parts) + "]"
    name = _UNSAFE.sub("-", name).strip(".-") or "cassette"
    if len(name.encode()) > _MAX_NAME_BYTES:
        digest = hashlib.sha1(name.encode()).hexdigest()[:12]
        name = name.encode()[: _MAX_NAME_BYTES - 16].decode(errors="ignore") + "..." + digest
    return name + ".yaml"


def _param_id(argname: str, value: object, index: int) -> str:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return _UNSAFE.sub("-", str(value)).strip("-") or f"{argname}{index}"
    return f"{argname}{index}"


def cassette_path(marker_path: str | os.PathLike[str] | None, cassette_dir: str, module_name: str, name: str) -> str:
    """Where the cassette lives: an explicit path (relative ones inside the cassette
    directory) or `<cassette dir>/<test module>/<default name>`."""
    if marker_path is not None:
        return os.path.normpath(os.path.join(cassette_dir, os.fspath(marker_path)))
    return os.path.join(cassette_dir, module_name, name)
