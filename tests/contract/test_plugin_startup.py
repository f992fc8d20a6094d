"""Installing chunktape costs a pytest run nothing until a test uses it: the `pytest11` module
imports pytest and the option table only, and a run with no chunktape test loads no engine
(bench/plugin_startup.py measures the time; this holds the imports)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from chunktape.vocabulary import KNOB_NAMES, MATCHING, REPORTS

ROOT = Path(__file__).resolve().parents[2]

IMPORT_ALLOWED = {
    "chunktape",  # the package: every public name loads on first use (chunktape/__init__.py)
    "chunktape.pytest_plugin",  # the same, for ChunktapeFixture, StreamClock, observe
    "chunktape.pytest_plugin.plugin",  # the pytest11 module itself
    "chunktape.vocabulary",  # the option table: --help lists every option and ini setting
}
RUN_ALLOWED = IMPORT_ALLOWED | {
    "chunktape.pytest_plugin.seed",  # the report header's seed
    "chunktape.pytest_plugin.virtual_time",  # one collection hook: clock="virtual" turns looptime on
}


def imported_by(code: str, prefix: str, cwd: Path = ROOT, path: Path | None = None) -> set[str]:
    """The modules named `prefix...` that a fresh interpreter has imported after running `code`."""
    probe = (
        f"{code}\nimport json, sys\nprint(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] == {prefix!r})))"
    )
    env = {**os.environ, "PYTHONPATH": str(path)} if path is not None else None
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=cwd, env=env, check=True)
    return set(json.loads(done.stdout.splitlines()[-1]))


def test_the_pytest11_module_imports_pytest_and_the_option_table_only() -> None:
    assert imported_by("import chunktape.pytest_plugin.plugin", "chunktape") - IMPORT_ALLOWED == set()


def test_the_entry_point_names_the_light_module() -> None:
    from importlib.metadata import entry_points

    (point,) = [point for point in entry_points(group="pytest11") if point.name == "chunktape"]
    assert point.value == "chunktape.pytest_plugin.plugin"


def test_a_pytest_run_with_no_chunktape_test_loads_no_engine_and_help_lists_every_setting(tmp_path: Path) -> None:
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "test_plain.py").write_text(
        "import json, sys\n\n\ndef test_plain():\n"
        "    loaded = sorted(m for m in sys.modules if m.split('.')[0] == 'chunktape')\n"
        "    open('loaded.json', 'w').write(json.dumps(loaded))\n"
    )
    argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly", "test_plain.py"]
    subprocess.run(argv, cwd=tmp_path, capture_output=True, check=True)
    assert set(json.loads((tmp_path / "loaded.json").read_text())) - RUN_ALLOWED == set()

    shown = subprocess.run([*argv[:3], "--help"], cwd=tmp_path, capture_output=True, text=True, check=True).stdout
    options = ["--chunktape-record-mode", *(f"--chunktape-{name}" for name in KNOB_NAMES)]
    options += [f"--chunktape-{word.name.replace('_', '-')}" for word in REPORTS]
    settings = ["chunktape_cassette_dir", "chunktape_record_mode", "chunktape_cors", "chunktape_env"]
    settings += [f"chunktape_{name}" for name in (*KNOB_NAMES, *(word.name for word in MATCHING), "env_vars")]
    assert [name for name in options + settings if name not in shown] == []


def test_the_check_catches_a_plugin_module_that_imports_its_engine(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "vocabulary.py").write_text("NAMES = ('speed',)\n")
    (package / "engine.py").write_text("import json\n")
    (package / "plugin.py").write_text("from pkg.vocabulary import NAMES\nfrom pkg import engine\n")
    (package / "lazy.py").write_text("from pkg.vocabulary import NAMES\n\ndef hook():\n    from pkg import engine\n")
    allowed = {"pkg", "pkg.vocabulary", "pkg.lazy", "pkg.plugin"}
    assert imported_by("import pkg.plugin", "pkg", tmp_path, tmp_path) - allowed == {"pkg.engine"}
    assert imported_by("import pkg.lazy", "pkg", tmp_path, tmp_path) - allowed == set()
