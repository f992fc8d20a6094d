"""Fuzzing the knob parsers: any string (CLI flag, ini) and any Python value (a marker
argument) either parses or raises KnobError, never anything else; and every parsed policy,
printed the way a failure report prints it, parses back to the very same policy.
"""

from __future__ import annotations

from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from chunktape import Delay, Fault, KnobError, MatchRules, ReplayPolicy, Split
from chunktape.knobs import format_duration, parse_duration, parse_seed, parse_speed
from chunktape.pytest_plugin.config import SETTING_NAMES, resolve

# near-miss spellings reach more branches than random text
PIECES = [
    "bytes", "random", "utf8", "sse", "whole", "recorded", "first", "chunk", "jitter", "disconnect", "stall",
    "status", "truncate", "none", ":", "-", ",", " ", "ms", "s", "0", "1", "16", "429", "600", "99999999999999999999",
    ".", "1.5", "-1", "1e3", "inf", "nan", "٣", "\u00a0", "\n", "",
]  # fmt: skip
spec_text = st.lists(st.sampled_from(PIECES), max_size=6).map("".join) | st.text(max_size=20)

python_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats()
    | spec_text
    | st.binary(max_size=5)
    | st.sampled_from([Split(), Delay(), Fault("truncate"), object()]),
    lambda inner: (
        st.lists(inner, max_size=3) | st.tuples(inner) | st.dictionaries(st.text(max_size=5), inner, max_size=2)
    ),
    max_leaves=6,
)


def only_knob_errors(parse: Any, *args: Any, **kwargs: Any) -> Any:
    """The parser's result, or None when it raised KnobError in one line; anything else fails."""
    try:
        return parse(*args, **kwargs)
    except KnobError as exc:
        message = str(exc)
    assert "\n" not in message, message  # values are quoted with repr: a line break shows as \n
    return None


@given(spec_text)
@example("1e+06ms")  # what the failure report printed for stall:1:1000s before the fix
@example("0\x1f")  # found by the fuzz profile: str.strip() takes \x1f away, int() does not (a ValueError)
@example("stall:1\x1c:5s")
def test_any_text_parses_or_raises_knob_error(text: str) -> None:
    for parse in (Split.parse, Fault.parse, Delay.parse, parse_speed, parse_seed):
        only_knob_errors(parse, text)
    only_knob_errors(parse_duration, text, "delay")
    only_knob_errors(MatchRules.build, text, text, text)


@given(python_values, python_values, python_values, python_values, python_values)
@example(16, None, None, None, None)  # split=16: AttributeError before the fix
@example(None, None, 5, None, None)  # delay=5: TypeError before the fix
@example(None, None, None, 2, None)  # fault=2: AttributeError before the fix
def test_any_marker_value_parses_or_raises_knob_error(
    split: Any, speed: Any, delay: Any, fault: Any, seed: Any
) -> None:
    only_knob_errors(ReplayPolicy.from_knobs, speed=speed, split=split, delay=delay, fault=fault, seed=seed)


@given(st.dictionaries(st.sampled_from(SETTING_NAMES), python_values, max_size=4))
@example({"ignore": 5})  # a TypeError from iterating an int, before the fix
@example({"match_on": 3})
@example({"redact": [1, 2]})
def test_any_marker_arguments_resolve_or_raise_knob_error(arguments: dict[str, Any]) -> None:
    only_knob_errors(resolve, "c.yaml", [arguments], session_seed=7)


@given(python_values, python_values, python_values)
def test_match_rules_build_or_raise_knob_error(match_on: Any, ignore: Any, redact: Any) -> None:
    only_knob_errors(MatchRules.build, match_on, ignore, redact)


durations = st.floats(0, 1e7, allow_nan=False) | st.sampled_from([0.25, 0.1, 1000.0, 1e-7, 1234.5678, 2.5e-4])


@given(durations)
@example(1000.0)  # printed as 1e+06ms, which no parser reads
@example(1234.5678)  # printed as 1.23457e+06ms: rounded, and unreadable
def test_every_duration_prints_as_text_that_parses_back_exactly(seconds: float) -> None:
    text = format_duration(seconds)
    assert "e" not in text.removesuffix("ms").removesuffix("s")
    assert parse_duration(text, "delay") == seconds


@given(
    st.floats(0, 1e9, allow_nan=False) | st.sampled_from([1.0, 0.5, 1234567.0]),
    st.sampled_from(["recorded", "bytes:7", "random:2-9", "utf8", "sse", "whole"]),
    st.lists(st.tuples(st.sampled_from(["first", "chunk", "jitter"]), durations), max_size=3),
    st.none()
    | st.builds(lambda n, d: f"stall:{n}:{format_duration(d)}", st.integers(0, 9), durations)
    | st.sampled_from(["disconnect:2", "status:429", "truncate"]),
    st.integers(-(2**63), 2**63),
)
def test_the_printed_policy_repeats_the_run_exactly(
    speed: float, split: str, delays: list[tuple[str, float]], fault: str | None, seed: int
) -> None:
    """`describe()` is what `chunktape serve` echoes and the plugin's "replay with" line is
    built from: parsing it back must give the very same policy."""
    policy = ReplayPolicy.from_knobs(
        speed=speed, split=split, delay=[f"{name}:{format_duration(value)}" for name, value in delays], fault=fault,
        seed=seed,
    )  # fmt: skip
    printed = dict(part.split("=", 1) for part in policy.describe().split() if not part.startswith("delay="))
    printed_delays = [part.split("=", 1)[1] for part in policy.describe().split() if part.startswith("delay=")]
    again = ReplayPolicy.from_knobs(
        speed=printed["speed"], split=printed["split"], delay=printed_delays, fault=printed.get("fault"),
        seed=printed["seed"],
    )  # fmt: skip
    assert again == policy
