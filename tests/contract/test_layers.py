"""The architecture is a contract: layers only point down, no import circles (imports inside
functions count too), no module past ~300 lines without saying why. docs/architecture.md
draws the same table."""

from __future__ import annotations

import fnmatch
from pathlib import Path

import pytest

from tests.support.import_graph import circles, import_graph, upward_imports

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "chunktape"

LAYERS: list[tuple[str, list[str]]] = [  # lowest first: each may import only its own layer and those above it here
    ("leaves", ["chunktape.key_formats", "chunktape.secret_names", "chunktape.sse", "chunktape.vocabulary", "chunktape.errors"]),
    ("model", ["chunktape.cassette", "chunktape.knobs", "chunktape.bodies", "chunktape.bodies.*"]),
    ("core", ["chunktape.redaction", "chunktape.secrets_scan", "chunktape.providers", "chunktape.normalizers", "chunktape.jsonrpc", "chunktape.matching",
              "chunktape.stream_end", "chunktape.schedule", "chunktape.preflight", "chunktape.session_script",
              "chunktape.rhythm"]),
    ("views", ["chunktape.views", "chunktape.views.*"]),
    ("persist", ["chunktape.persist", "chunktape.persist.*"]),
    ("replay", ["chunktape.replay", "chunktape.replay.*", "chunktape.assertions"]),
    ("recorder", ["chunktape.recorder", "chunktape.recorder.*"]),
    ("interchange", ["chunktape.interchange", "chunktape.interchange.*"]),
    ("pytest_plugin", ["chunktape.pytest_plugin", "chunktape.pytest_plugin.*"]),
    ("commands", ["chunktape.commands", "chunktape.commands.*"]),
    ("public API and CLI", ["chunktape", "chunktape.cli", "chunktape.__main__"]),
]  # fmt: skip


LAYER_JOBS: dict[str, str] = {  # docs/architecture.md's table is rendered from LAYERS and these
    "leaves": "which names are secret and how to mask them; the exception hierarchy; SSE framing; the knob and setting vocabulary (names, syntax, help)",
    "model": "the cassette model as plain immutable values; knob values (`ReplayPolicy`); how a body is written readably and read back byte-exact",
    "core": "pure functions: redacting an interaction, finding leaked keys, normalizing volatile values, JSON-RPC reply ids, matching a request, provider-shaped error bodies, a stream's final event, the replay schedule, CORS preflights, a realtime session's replay script",
    "views": "what people look at: the HTML timeline, the terminal rendering of `inspect`, cassette diffs",
    "persist": "the cassette persister: YAML text out and in, document to model, files (atomic replace, durable append)",
    "replay": "emitters: the ASGI replay server (HTTP, CORS, EventSource resume), its WebSocket protocol (sessions in frames on websockets' Sans-I/O, a missing one relayed to the recorder), the httpx/httpx2 transports, clocks (real, loop, virtual); what a client saw and when (`assertions`)",
    "recorder": "the mitmproxy addon (HTTP and WebSocket), the capture of one exchange, the journal writer, the `Recorder` API, recording transports, the replaying forward proxy",
    "interchange": "vcrpy and HAR files in and out",
    "pytest_plugin": "the pytest11 module (`plugin.py`: options, markers, hooks, fixtures; it loads the rest on first use), settings layers and record modes (`config.py`), the session's seed, the fixture object, environment variables, reports, the one scoped patch (`route_httpx.py`)",
    "commands": "the CLI's commands, each a thin click command over the layers below",
    "public API and CLI": "`chunktape/__init__.py` (what users import), `cli`, `__main__`",
}  # fmt: skip


def layer_of(module: str) -> int:
    for number, (_, patterns) in enumerate(LAYERS):
        if any(fnmatch.fnmatchcase(module, pattern) for pattern in patterns):
            return number
    raise AssertionError(f"{module} is in no layer: place it in tests/test_layers.py and docs/architecture.md")


def test_no_import_circle_anywhere_in_chunktape() -> None:
    assert circles(import_graph(PACKAGE, "chunktape")) == []


def test_every_module_has_a_layer_and_imports_only_downwards() -> None:
    graph = import_graph(PACKAGE, "chunktape")
    layers = {module: layer_of(module) for module in graph}
    assert upward_imports(graph, layers) == []


def test_the_checks_catch_a_circle_and_an_upward_import_in_a_package_built_for_it(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "low.py").write_text("def f():\n    from pkg import high  # inside a function: still an import\n")
    (package / "high.py").write_text("from pkg.low import f\n")
    graph = import_graph(package, "pkg")
    assert circles(graph) == [["pkg.high", "pkg.low"]]
    assert upward_imports(graph, {"pkg": 0, "pkg.low": 0, "pkg.high": 1}) == [("pkg.low", "pkg.high")]


def test_relative_imports_are_followed(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("from . import a\n")
    (package / "sub" / "a.py").write_text("from ..b import x\n")
    (package / "b.py").write_text("from .sub.a import y\n")
    assert circles(import_graph(package, "pkg")) == [["pkg.b", "pkg.sub.a"]]


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda path: str(path.relative_to(ROOT)))
def test_a_module_past_300_lines_says_why_at_its_top(path: Path) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    if len(lines) > 300:
        assert "Long on purpose" in "\n".join(lines[:30]), f"{len(lines)} lines and no reason at the top"
