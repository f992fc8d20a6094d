"""The plugin's settings: layers merged lowest first, each value checked, the seed chosen once."""

from __future__ import annotations

import pytest

from chunktape.errors import KnobError
from chunktape.pytest_plugin.config import RecordMode, merge, resolve


def test_later_layers_win_and_none_means_not_set_here() -> None:
    ini, marker, command_line = {"speed": "0", "split": "utf8"}, {"speed": "2", "seed": None}, {"split": "whole"}
    assert merge([ini, marker, command_line]) == {"speed": "2", "split": "whole"}


def test_resolve_builds_the_policy_record_mode_and_clock() -> None:
    settings = resolve(
        "c.yaml",
        [{"speed": "2", "fault": "cut:2", "seed": "random"}, {"record_mode": "once", "clock": "virtual"}],
        session_seed=7,
    )
    assert settings.policy.speed == 2
    assert str(settings.policy.fault) == "cut:2"
    assert settings.policy.seed == 7  # 'random' stands for the session's one seed
    assert resolve("c.yaml", [{}], session_seed=7).policy.seed == 0  # unset: the fixed default
    assert settings.record_mode is RecordMode.ONCE
    assert settings.clock == "virtual"


@pytest.mark.parametrize(
    ("layer", "message"), [({"record_mode": "sometimes"}, "record mode"), ({"clock": "fast"}, "clock")]
)
def test_a_bad_value_is_one_knob_error_naming_the_choices(layer: dict[str, str], message: str) -> None:
    with pytest.raises(KnobError, match=message):
        resolve("c.yaml", [layer], session_seed=0)
