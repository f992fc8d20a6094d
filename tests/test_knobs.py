"""The knob vocabulary parses the same strings everywhere and rejects bad ones clearly."""

from __future__ import annotations

import pytest

from chunktape import Delay, Fault, KnobError, ReplayPolicy, Split


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("recorded", Split("recorded")),
        ("bytes:16", Split("bytes", 16)),
        ("random:1-64", Split("random", 1, 64)),
        ("utf8", Split("utf8")),
        ("sse", Split("sse")),
        ("whole", Split("whole")),
    ],
)
def test_split_specs_parse_and_print_back(spec: str, expected: Split) -> None:
    assert Split.parse(spec) == expected
    assert str(Split.parse(spec)) == spec


def test_delay_specs_add_up_and_accept_ms_and_s() -> None:
    delay = Delay.parse(["first:250ms", "chunk:1.5s", "jitter:10ms", "first:50ms"])
    assert delay == Delay(first_s=0.3, chunk_s=1.5, jitter_s=0.01)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("disconnect:2", Fault("disconnect", after_chunks=2)),
        ("stall:1:5s", Fault("stall", after_chunks=1, duration_s=5.0)),
        ("status:429", Fault("status", status=429)),
        ("truncate", Fault("truncate")),
    ],
)
def test_fault_specs_parse(spec: str, expected: Fault) -> None:
    assert Fault.parse(spec) == expected


@pytest.mark.parametrize(
    ("knob", "value", "message"),
    [
        ("split", "bytes:0", "at least 1"),
        ("split", "bytes:x", "whole number"),
        ("split", "random:9-2", "low to high"),
        ("split", "chunky", "unknown split"),
        ("delay", "first:10", "250ms or 1.5s"),
        ("delay", "late:1s", "unknown delay"),
        ("fault", "status:200", "at least 400"),
        ("fault", "status:700", "400-599"),
        ("fault", "explode", "unknown fault"),
        ("speed", "-1", "0 or more"),
        ("speed", "fast", "use a number"),
        ("seed", "abc", "whole number"),
    ],
)
def test_bad_knobs_fail_with_a_message_that_shows_the_right_spelling(knob: str, value: str, message: str) -> None:
    with pytest.raises(KnobError, match=message):
        ReplayPolicy.from_knobs(**{knob: value})


def test_describe_repeats_the_exact_knobs() -> None:
    policy = ReplayPolicy.from_knobs(speed=2, split="random:1-8", delay=["first:300ms"], fault="disconnect:3", seed=42)
    assert policy.describe() == "speed=2 split=random:1-8 delay=first:300ms fault=disconnect:3 seed=42"
    again = ReplayPolicy.from_knobs(speed="2", split="random:1-8", delay="first:300ms", fault="disconnect:3", seed="42")
    assert again == policy
