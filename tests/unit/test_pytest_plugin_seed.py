"""The plugin's light tables agree with the engine's: the seed default and the record modes."""

from __future__ import annotations

from chunktape import knobs, vocabulary
from chunktape.pytest_plugin import config, seed


def test_the_header_seed_default_is_the_policy_default() -> None:
    assert seed.DEFAULT_SEED == knobs.DEFAULT_SEED


def test_the_record_modes_offered_on_the_command_line_are_the_ones_the_engine_knows() -> None:
    assert vocabulary.RECORD_MODES == config.RECORD_MODES
    assert all(mode in vocabulary.RECORD_MODE.syntax for mode in vocabulary.RECORD_MODES)
