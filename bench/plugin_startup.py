"""What installing chunktape costs a pytest run that has no chunktape test: the same
one-test project run by pytest with the plugin and with `-p no:chunktape`, in pairs (the
order alternating, so the machine's drift falls on both alike), each run a fresh
interpreter. The figure is the median of the paired differences (and of the ratios) of the
child's CPU time (user + system, from wait4): on a shared machine wall time swings by
seconds while CPU time holds to a few milliseconds; wall time is shown beside it.

    python -m bench.plugin_startup [pairs]    # prints the section's table
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from bench.common import PYTHON, median, percentile
from bench.report import Section, Target

LIMIT_MS = 10.0
_TEST = "def test_nothing_to_do_with_chunktape():\n    assert 1 + 1 == 2\n"


def _project(work: Path) -> Path:
    project = work / "plugin_startup"
    project.mkdir(parents=True, exist_ok=True)
    (project / "pytest.ini").write_text("[pytest]\n")  # its own rootdir: no repository settings
    (project / "test_plain.py").write_text(_TEST)
    return project


def _run_s(project: Path, *extra: str) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one pytest run in a fresh interpreter."""
    argv = [PYTHON, "-m", "pytest", "-q", "-p", "no:cacheprovider", *extra, "test_plain.py"]
    began = time.perf_counter()
    child = subprocess.Popen(argv, cwd=project, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert child.stdout is not None
    output = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    elapsed = time.perf_counter() - began
    if child.returncode != 0:
        raise RuntimeError(f"pytest failed in {project}: {output.decode()[-400:]}")
    return elapsed, usage.ru_utime + usage.ru_stime


def _own_import_ms() -> tuple[float, float]:
    """(the chunktape modules' own import time, pytest's whole import time), in ms, from one
    interpreter's `-X importtime` when pytest loads the plugin: their ratio holds on a busy machine."""
    code = "import pytest, chunktape.pytest_plugin.plugin"
    done = subprocess.run([PYTHON, "-X", "importtime", "-c", code], capture_output=True, text=True, check=True)
    own_us = pytest_us = 0
    for line in done.stderr.splitlines():
        parts = [part.strip() for part in line.removeprefix("import time:").split("|")]
        if len(parts) == 3 and parts[2].startswith("chunktape"):
            own_us += int(parts[0])
        elif len(parts) == 3 and parts[2] == "pytest":
            pytest_us = int(parts[1])
    return own_us / 1000, pytest_us / 1000


def run(work: Path, pairs: int) -> Section:
    project = _project(work)
    _run_s(project)  # warm the file cache and the bytecode of both sides
    _run_s(project, "-p", "no:chunktape")
    runs: dict[bool, list[tuple[float, float]]] = {True: [], False: []}
    for index in range(pairs):
        for plugin in (False, True) if index % 2 else (True, False):
            runs[plugin].append(_run_s(project) if plugin else _run_s(project, "-p", "no:chunktape"))
    cpu_with = [cpu for _, cpu in runs[True]]
    cpu_without = [cpu for _, cpu in runs[False]]
    wall_with = [wall for wall, _ in runs[True]]
    wall_without = [wall for wall, _ in runs[False]]
    differences_ms = [(a - b) * 1000 for a, b in zip(cpu_with, cpu_without, strict=True)]
    wall_differences_ms = [(a - b) * 1000 for a, b in zip(wall_with, wall_without, strict=True)]
    ratios = [a / b for a, b in zip(cpu_with, cpu_without, strict=True)]
    added_ms = median(differences_ms)
    imports = [_own_import_ms() for _ in range(pairs)]
    own_ms = median([own for own, _ in imports])
    share = median([own / whole for own, whole in imports if whole])
    section = Section(
        "plugin_startup",
        f"Plugin start-up: a pytest run with no chunktape test, {pairs} paired runs",
        ["side", "runs", "CPU p50 s", "CPU p90 s", "wall p50 s"],
    )
    section.add("pytest (chunktape installed)", pairs, median(cpu_with), percentile(cpu_with, 90), median(wall_with))
    section.add("pytest -p no:chunktape", pairs, median(cpu_without), percentile(cpu_without, 90), median(wall_without))
    section.notes.append(
        f"CPU paired difference p50 {added_ms:.1f} ms (p10 {percentile(differences_ms, 10):.1f}, "
        f"p90 {percentile(differences_ms, 90):.1f}); paired ratio p50 {median(ratios):.3f}x; "
        f"wall paired difference p50 {median(wall_differences_ms):.0f} ms"
    )
    section.notes.append(
        f"the chunktape modules' own import time when pytest loads the plugin: p50 {own_ms:.1f} ms, "
        f"{share:.1%} of pytest's own import time in the same interpreter"
    )
    section.targets.append(
        Target(
            "plugin start-up: added to a pytest run with no chunktape test (paired p50)",
            added_ms,
            LIMIT_MS,
            higher_is_better=False,
            unit="ms",
            note=f"ratio {median(ratios):.3f}x vs -p no:chunktape",
        )
    )
    section.data = {"runs": {"with": runs[True], "without": runs[False]}, "cpu_differences_ms": differences_ms}
    return section


if __name__ == "__main__":
    import tempfile

    from bench.__main__ import _text

    with tempfile.TemporaryDirectory() as folder:
        print(_text(run(Path(folder), int(sys.argv[1]) if len(sys.argv) > 1 else 20)))
