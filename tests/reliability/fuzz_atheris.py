"""Coverage-guided fuzzing (atheris, libFuzzer) of everything that reads untrusted text: the
cassette loader and, for what loads, saving, validating and scheduling it; and the knob
parsers. Any exception other than the documented ones is a crash.

    .venv/bin/python tests/reliability/fuzz_atheris.py -max_total_time=600 CORPUS_DIR tests/support/bad_inputs cassettes

The seed corpus is the bad inputs and the example cassettes. test_fuzz_atheris.py runs it
briefly in CI; every crash found becomes a regression test (@example) in test_fuzz_*.py.
"""

from __future__ import annotations

import contextlib
import sys
import warnings

import atheris

with atheris.instrument_imports():
    from chunktape import CassetteError, KnobError, ReplayPolicy, build_schedule
    from chunktape.commands.validation import validate_text
    from chunktape.knobs import Delay, Fault, Split, parse_seed, parse_speed
    from chunktape.matching import MatchRules
    from chunktape.persist import dumps, loads
    from chunktape.replay.emit import wire_headers

CHAOS = ReplayPolicy.from_knobs(split="utf8", delay="jitter:5ms", fault="truncate", seed=1)


def one_input(data: bytes) -> None:
    try:
        cassette = loads(data, "fuzz.yaml")
    except CassetteError as exc:
        if "\n" in str(exc):
            raise AssertionError(f"a two-line CassetteError: {exc!r}") from None
    else:
        validate_text(data, "fuzz.yaml")
        loads(dumps(cassette))
        for interaction in cassette.interactions:
            wire_headers(build_schedule(interaction.request, interaction.response, CHAOS))
    text = data[:64].decode("utf-8", errors="replace")
    for parse in (Split.parse, Fault.parse, Delay.parse, parse_speed, parse_seed, MatchRules.build):
        with contextlib.suppress(KnobError):
            parse(text)


def main() -> None:
    warnings.simplefilter("ignore")  # a warning is not a finding (text never has a torn tail set aside)
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
