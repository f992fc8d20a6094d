"""A brief coverage-guided fuzzing run (atheris) over the cassette loader and the knob parsers,
seeded with tests/bad_inputs and the example cassettes. Long runs: see tests/fuzz_atheris.py."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("atheris")  # Linux wheels only (pyproject's test extra installs it there)

HERE = Path(__file__).resolve().parent
RUNS = 5_000


def test_coverage_guided_fuzzing_of_the_loader_and_knobs_finds_no_crash(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    result = subprocess.run(
        [sys.executable, str(HERE / "fuzz_atheris.py"), f"-runs={RUNS}", "-seed=1", f"-artifact_prefix={tmp_path}/",
         str(corpus), str(HERE.parent / "support" / "bad_inputs"), str(HERE.parents[1] / "cassettes")],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-4000:]
    assert f"Done {RUNS} runs" in result.stderr
