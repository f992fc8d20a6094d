"""The house rules docs/architecture.md states, checked: one test file named for each module
(or a reason here why not), `chunktape.__all__` exactly the public API, the version written
once. Each check is proved on a package built to break it."""

from __future__ import annotations

import importlib.metadata
import tomllib
import types
from pathlib import Path

import chunktape
from tests.support.house_rules import export_problems, modules_without_a_test_file

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "chunktape"
TEST_DIRS = [ROOT / "tests" / "unit", ROOT / "tests" / "integration", ROOT / "tests" / "reliability"]

# Modules with no test file named for them, and where they are tested instead. Keep it short:
# a new module brings tests/unit/test_<its dotted path>.py (or tests/integration/ when it needs
# real servers; a command's is tests/integration/test_cli_<command>.py).
NO_TEST_FILE_OF_THEIR_OWN: dict[str, str] = {
    # front doors: re-exports, or a package's own few lines, tested through their parts
    "chunktape.bodies": "encode_body/decode_body: tests/unit/test_bodies_framing.py, tests/reliability/test_properties_formats.py",
    "chunktape.commands": "an empty package marker",
    "chunktape.interchange": "a docstring only",
    "chunktape.recorder": "Recorder: tests/integration/test_recorder_api.py",
    "chunktape.replay": "a docstring only",
    "chunktape.views": "a docstring only",
    "chunktape.__main__": "`python -m chunktape`: every CLI test runs it (tests/support/serving.py)",
    "chunktape.cli": "the click group: every tests/integration/test_cli_*.py",
    "chunktape.errors": "the hierarchy: each error is asserted where it is raised (tests/reliability/test_bad_inputs.py)",
    "chunktape.secret_names": "tests/unit/test_redaction.py, tests/reliability/test_security_secrets.py",
    "chunktape.vocabulary": "rendered into docs/knobs.md and --help: tests/contract/test_docs.py, test_plugin_startup.py",
    "chunktape.cassette": "the model's values: tests/unit/test_cassette_timing.py and every round-trip property",
    "chunktape.assertions": "StreamClock/observe: tests/integration/test_pytest_plugin.py, test_virtual_time.py",
    "chunktape.preflight": "CORS preflights through a real server: tests/integration/test_replay_cors.py",
    "chunktape.commands.common": "the knob options every command shares: tests/integration/test_cli_serve.py",
    "chunktape.commands.workers": "serve --workers N as processes: tests/integration/test_cli_serve_load.py",
    "chunktape.replay.metrics": "GET /_chunktape/metrics read by prometheus_client's parser: tests/integration/test_cli_serve_load.py",
    "chunktape.commands.paths": "PATH arguments (files, folders): tests/integration/test_cli_validate.py, test_cli_inspect.py",
    # bodies: each format through its properties
    "chunktape.bodies.event_stream": "each format's round trip: tests/reliability/test_properties_formats.py",
    "chunktape.bodies.json_array": "as above",
    "chunktape.bodies.json_styles": "as above",
    # the persister: a pattern, not a list, while its modules are being renamed and split (#23, the
    # persist front door); list them once that lands. Its parts are tested through it.
    "chunktape.persist.*": "through the persister: tests/unit/test_persist.py, test_persist_reader.py, tests/reliability/",
    # interchange: through the CLI that imports and exports
    "chunktape.interchange.common": "tests/integration/test_cli_interchange.py",
    "chunktape.interchange.har": "as above",
    "chunktape.interchange.vcr": "as above",
    # the plugin: with pytester, as users write tests
    "chunktape.pytest_plugin.environment": "with pytester: tests/integration/test_pytest_plugin*.py, test_no_code_changes.py, test_virtual_time_plugin.py",
    "chunktape.pytest_plugin.fixture": "as above",
    "chunktape.pytest_plugin.plugin": "as above",
    "chunktape.pytest_plugin.report": "as above",
    "chunktape.pytest_plugin.route_httpx": "as above",
    "chunktape.pytest_plugin.virtual_time": "as above",
    # the recorder: through real mitmproxy
    "chunktape.recorder.decoding": "through real mitmproxy: tests/integration/test_recorder_*.py, tests/reliability/test_recording.py",
    "chunktape.recorder.process": "as above",
    "chunktape.recorder.proxy_env": "as above",
    "chunktape.recorder.replay_proxy": "as above",
    "chunktape.recorder.session": "as above",
    "chunktape.recorder.session_capture": "as above",
    "chunktape.recorder.settings": "as above",
    "chunktape.recorder.transport": "as above",
    # replay: through the real server and the SDKs
    "chunktape.replay.asgi": "through the real server and transports: tests/integration/test_replay_*.py, test_realtime_*.py",
    "chunktape.replay.beats": "as above",
    "chunktape.replay.emit": "as above",
    "chunktape.replay.errors_map": "as above",
    "chunktape.replay.forward": "as above",
    "chunktape.replay.local_tls": "as above",
    "chunktape.replay.shapes": "as above",
    "chunktape.replay.websocket": "as above",
    "chunktape.recorder.stdio": "MCP over stdio, recorded and replayed: tests/integration/test_cli_stdio.py",
    "chunktape.replay.session_relay": "a missing session relayed to the recorder: tests/integration/test_realtime_relay.py",
    "chunktape.replay.ws_protocol": "the WebSocket protocol, with real clients: tests/integration/test_realtime_serve.py",
    "chunktape.pytest_plugin.max_age": "max_age settings with pytester: tests/integration/test_pytest_plugin_drift.py",
    "chunktape.views.drift_page": "the drift report: tests/unit/test_views_drift.py, tests/integration/test_cli_drift.py",
    "chunktape.views.json_shape": "drift's JSON shapes: tests/unit/test_views_drift.py",
    "chunktape.views.pairing": "pairing interactions for diff and drift: tests/unit/test_views_drift.py, test_cli_diff.py",
    "chunktape.views.diff": "tests/integration/test_cli_diff.py",
    "chunktape.views.json_diff": "tests/integration/test_cli_diff.py",
    "chunktape.views.terminal_sessions": "tests/integration/test_realtime_serve.py (inspect on a session)",
}  # fmt: skip


def test_every_module_has_a_test_file_named_for_it_or_a_reason_here() -> None:
    bare, stale = modules_without_a_test_file(PACKAGE, "chunktape", TEST_DIRS, NO_TEST_FILE_OF_THEIR_OWN)
    assert bare == [], "add tests/unit/test_<module path with _>.py, or a reason in NO_TEST_FILE_OF_THEIR_OWN"
    assert stale == [], "these entries excuse no module any more: remove them"


def test_the_check_finds_a_module_without_a_test_file_and_a_stale_excuse(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    for name in ("__init__.py", "tested.py", "bare.py", "sub/__init__.py", "sub/deep.py"):
        (package / name).write_text("")
    tests = tmp_path / "tests"
    tests.mkdir()
    (tests / "test_tested.py").write_text("")
    (tests / "test_sub_deep.py").write_text("")
    allowed = {"pkg.sub": "a front door", "pkg.gone": "a module that no longer exists"}
    assert modules_without_a_test_file(package, "pkg", [tests], allowed) == (["pkg.bare"], ["pkg.gone"])


def test_the_public_api_is_exactly_all() -> None:
    assert export_problems(PACKAGE / "__init__.py") == []
    resolved = {name: getattr(chunktape, name) for name in chunktape.__all__}  # each one loads
    assert all(value is not None for value in resolved.values())
    public = {
        name
        for name, value in vars(chunktape).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType) and name != "TYPE_CHECKING"
    }
    assert public == set(chunktape.__all__)
    assert set(chunktape.__all__) <= set(dir(chunktape))


def test_what_users_reach_for_is_exported() -> None:
    wanted = {"CorsPolicy", "diff_cassettes", "read_vcr", "read_har", "write_har", "ChunktapeFixture"}
    assert wanted | {"StreamClock", "observe"} <= set(chunktape.__all__)
    assert chunktape.StreamClock.__module__ == "chunktape.assertions"  # outside the plugin: no pytest needed


def test_the_check_catches_a_name_missing_from_all_and_one_all_cannot_load(tmp_path: Path) -> None:
    init = tmp_path / "__init__.py"
    init.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from pkg.a import Alpha, Beta\n"
        '_LAZY = {"Alpha": "pkg.a", "Gamma": "pkg.g"}\n'
        "def helper():\n    pass\n"
        '__all__ = ["Gamma", "Alpha"]\n'
    )
    assert export_problems(init) == [
        "__all__ is not sorted",
        "Beta is imported for type checkers but not in __all__",
        "Gamma is in __all__ but not imported for type checkers",
        "helper is public at module level but not in __all__",
    ]


def test_the_version_is_written_once() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "version" not in project["project"]
    assert project["project"]["dynamic"] == ["version"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "chunktape.__version__"}
    assert importlib.metadata.version("chunktape") == chunktape.__version__
