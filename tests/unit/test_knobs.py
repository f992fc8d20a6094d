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


def test_cut_is_the_one_word_for_a_body_that_ends_early_and_disconnect_still_works() -> None:
    assert Fault.parse("cut:2") == Fault("cut", after_chunks=2)
    assert str(Fault.parse("cut:2")) == "cut:2"
    with pytest.warns(DeprecationWarning, match="now spelled cut:N"):
        old = Fault.parse("disconnect:2")
    assert old == Fault("cut", after_chunks=2)
    assert old is not None
    assert old.kind == "cut"
    assert str(old) == "disconnect:2"  # printed as written, so a printed policy repeats the run


def test_the_knob_table_names_every_knob_the_policy_takes() -> None:
    import inspect

    from chunktape.vocabulary import KNOB_NAMES, KNOBS, SETTING_NAMES

    assert list(KNOB_NAMES) == list(inspect.signature(ReplayPolicy.from_knobs).parameters)
    assert set(KNOB_NAMES) < set(SETTING_NAMES)
    for knob in KNOBS:
        assert knob.help.endswith(".")
        assert knob.syntax in knob.option_help()
        assert knob.syntax in knob.ini_help()


def test_cli_knob_options_render_from_the_knob_table() -> None:
    from chunktape.vocabulary import KNOBS
    from tests.support.serving import invoke

    result = invoke("serve", "--help")
    flat = "".join(result.output.split())
    for knob in KNOBS:
        assert f"--{knob.name}{knob.metavar}" in flat
        assert "".join(knob.option_help().split()) in flat


def test_the_knob_table_renders_as_markdown_for_the_docs() -> None:
    from chunktape.vocabulary import PLUGIN_SETTINGS, markdown_table

    table = markdown_table()
    assert table.count("\n") == len(PLUGIN_SETTINGS) + 1
    assert "| `fault` | cut:N (the body ends early after N chunks)" in table
