"""pytest wiring for chunktape: options, markers, fixtures, chaos parametrization, reports.

Loaded through the `pytest11` entry point. Nothing happens at import time: the replay
server starts on first use of `chunktape.base_url`, one per pytest process (so one per
xdist worker, each on its own free port), and stops when the session ends.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Generator, Iterator
from typing import Any

import pytest

from chunktape.errors import ChunktapeError, KnobError
from chunktape.knobs import DEFAULT_SEED, ReplayPolicy
from chunktape.pytest_plugin import virtual_time
from chunktape.pytest_plugin.config import (
    KNOB_NAMES,
    RANDOM_SEED,
    RECORD_MODES,
    Settings,
    cassette_path,
    check_keys,
    default_cassette_name,
    knob_id,
    resolve,
)
from chunktape.pytest_plugin.fixture import ChunktapeFixture, SessionServer

_SERVER = pytest.StashKey[SessionServer]()
_SEED = pytest.StashKey[int]()
_FIXTURE = pytest.StashKey[ChunktapeFixture]()
_CALL_PASSED = pytest.StashKey[bool]()

# parameters that vary how a test runs, not what it asks: they share one cassette
_SHARED_PARAMS = ("chunktape_knobs", "anyio_backend")

_KNOB_HELP = {
    "speed": "1 = recorded rhythm (default), 2 = twice as fast, 0 = no waiting.",
    "split": "Re-chunk bodies: recorded (default), bytes:N, random:A-B, utf8, sse or whole.",
    "delay": "Extra waiting: first:DUR, chunk:DUR or jitter:DUR, e.g. first:250ms (repeatable).",
    "fault": "Inject a failure: disconnect:N, stall:N:DUR, status:CODE, truncate, or none.",
    "seed": "Seed for every random choice (an int, default 0; 'random' picks one per run and prints it).",
}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("chunktape", "chunktape: replay recorded LLM streams, with chaos")
    group.addoption(
        "--chunktape-record-mode",
        action="store",
        default=None,
        choices=RECORD_MODES,
        dest="chunktape_record_mode",
        help="none (default): replay only, never touch the network; once: record cassettes that are missing; "
        "new_episodes: replay what matches, record the rest; all: re-record everything.",
    )
    for name in KNOB_NAMES:
        group.addoption(
            f"--chunktape-{name}",
            action="append" if name == "delay" else "store",
            default=None,
            dest=f"chunktape_{name}",
            metavar=name.upper(),
            help=_KNOB_HELP[name] + " Overrides markers and ini.",
        )
    parser.addini(
        "chunktape_cassette_dir",
        "Cassette directory, relative to the ini file (default: 'cassettes' next to each test module).",
        default="",
    )
    parser.addini("chunktape_record_mode", "Default record mode: none, once, new_episodes or all.", default="")
    for name in KNOB_NAMES:
        if name == "delay":
            parser.addini("chunktape_delay", "Default " + _KNOB_HELP[name], type="args")
        else:
            parser.addini(f"chunktape_{name}", "Default " + _KNOB_HELP[name], default="")
    parser.addini("chunktape_match_on", "Request parts to match: method host path query body headers.", type="args")
    parser.addini("chunktape_ignore", "Query parameters or JSON body fields left out of matching.", type="args")
    parser.addini("chunktape_redact", "Extra header/query/JSON names redacted in cassettes.", type="args")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "chunktape(path=None, *, speed, split, delay, fault, seed, upstream, match_on, ignore, redact, record_mode, clock): "
        "the cassette the chunktape fixture replays (default: cassettes/<module>/<test>.yaml) and how; "
        "knobs are spelled as on the command line; clock='virtual' replays on the event loop's test clock.",
    )
    config.addinivalue_line(
        "markers",
        "chunktape_chaos(**knobs): run the test once per combination of the knob values given as lists, "
        "e.g. split=['recorded', 'utf8'], fault=[None, 'disconnect:2']; every variant replays the same cassette.",
    )
    config.stash[_SEED] = _session_seed(config)
    config.stash[_SERVER] = SessionServer()
    config.pluginmanager.register(virtual_time, "chunktape_virtual_time")  # clock="virtual" turns looptime on
    try:
        resolve("", [_ini_layer(config), _cli_layer(config)], session_seed=config.stash[_SEED])
    except KnobError as exc:
        raise pytest.UsageError(f"chunktape: {exc}") from None


def pytest_unconfigure(config: pytest.Config) -> None:
    server = config.stash.get(_SERVER, None)
    if server is not None:
        server.close()


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """pytest-xdist: every worker uses the controller's seed, so `--chunktape-seed=random` is one seed per run."""
    node.workerinput["chunktape_seed"] = node.config.stash[_SEED]


def pytest_report_header(config: pytest.Config) -> str:
    mode = config.getoption("chunktape_record_mode") or config.getini("chunktape_record_mode") or "none"
    chosen = _raw_seed(config)
    if chosen == RANDOM_SEED:
        seed = config.stash[_SEED]
        return f"chunktape: record mode {mode}, seed {seed} (random; repeat with --chunktape-seed={seed})"
    return f"chunktape: record mode {mode}, seed {chosen or DEFAULT_SEED}"


@pytest.hookimpl(trylast=True)  # after @pytest.mark.parametrize, so the chaos id comes last
def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """`@pytest.mark.chunktape_chaos(split=[...], fault=[...])`: one test per combination."""
    marker = metafunc.definition.get_closest_marker("chunktape_chaos")
    if marker is None:
        return
    where = f"@pytest.mark.chunktape_chaos on {metafunc.definition.nodeid}"
    if marker.args:
        raise ChunktapeError(f"{where} takes knobs by name only, as in split=['recorded', 'utf8']")
    if "chunktape_knobs" not in metafunc.fixturenames:
        raise ChunktapeError(f"{where}: the test must use the chunktape fixture")
    unknown = sorted(set(marker.kwargs) - set(KNOB_NAMES))
    if unknown:
        raise KnobError(f"{where}: unknown knob {', '.join(unknown)}; use any of {', '.join(KNOB_NAMES)}")
    names = list(marker.kwargs)
    choices = [value if isinstance(value, (list, tuple)) else [value] for value in marker.kwargs.values()]
    variants = [dict(zip(names, combo, strict=True)) for combo in itertools.product(*choices)]
    for variant in variants:
        try:
            _check_knobs(variant)
        except KnobError as exc:
            raise KnobError(f"{where}: {exc}") from None
    metafunc.parametrize("chunktape_knobs", variants, ids=[knob_id(v) for v in variants])


def pytest_make_parametrize_id(config: pytest.Config, val: object, argname: str) -> str | None:
    """Readable ids for `@pytest.mark.parametrize("chunktape_knobs", [{"split": "utf8"}, ...])` too."""
    if argname == "chunktape_knobs" and isinstance(val, dict):
        return knob_id(val)
    return None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.when == "call":
        item.stash[_CALL_PASSED] = report.passed
    handle = item.stash.get(_FIXTURE, None)
    if handle is not None and report.failed:
        # a teardown failure about unmatched requests already shows them
        report.sections.append(("chunktape", handle.describe(item.nodeid, misses=report.when != "teardown")))
    return report


# ---------------------------------------------------------------- fixtures


@pytest.fixture
def chunktape_config() -> dict[str, Any]:
    """Defaults shared by many tests (override it in a conftest.py): any marker argument but the path,
    e.g. {"upstream": "https://api.openai.com", "ignore": ["user"]}. Markers and the command line win."""
    return {}


@pytest.fixture
def chunktape_knobs() -> dict[str, Any]:
    """The knobs of one chaos variant: parametrized by @pytest.mark.chunktape_chaos, or directly with
    @pytest.mark.parametrize("chunktape_knobs", [{"split": "utf8"}, ...])."""
    return {}


@pytest.fixture(scope="module")
def chunktape_cassette_dir(request: pytest.FixtureRequest) -> str:
    """Where this module's cassettes live: the ini's chunktape_cassette_dir, or `cassettes/` next to it."""
    configured = str(request.config.getini("chunktape_cassette_dir") or "")
    if configured:
        base = request.config.inipath.parent if request.config.inipath else request.config.rootpath
        return str(base / configured)
    return str(request.path.parent / "cassettes")


@pytest.fixture
def chunktape(
    request: pytest.FixtureRequest,
    chunktape_config: dict[str, Any],
    chunktape_knobs: dict[str, Any],
    chunktape_cassette_dir: str,
) -> Iterator[ChunktapeFixture]:
    """Replay (or record) this test's cassette: `.base_url`, `.transport()`, `.async_transport()`,
    `.policy`, `.cassette_path`, `.record_mode`, and `.observe(stream)` to time what the client saw."""
    try:
        settings = _settings(request, chunktape_config, chunktape_knobs, chunktape_cassette_dir)
        handle = ChunktapeFixture(settings, request.config.stash[_SERVER])
    except ChunktapeError as exc:
        raise pytest.fail.Exception(f"chunktape: {exc}", pytrace=False) from None
    node = request.node
    node.stash[_FIXTURE] = handle
    try:
        yield handle
    finally:
        handle.close()
    if handle.misses and node.stash.get(_CALL_PASSED, False):
        shown = "\n".join(handle.misses)
        message = f"chunktape: the test passed, but made requests its cassette does not hold:\n{shown}"
        pytest.fail(message, pytrace=False)


# ---------------------------------------------------------------- configuration layers


def _settings(
    request: pytest.FixtureRequest,
    fixture_config: dict[str, Any],
    knobs: dict[str, Any],
    cassette_dir: str,
) -> Settings:
    """ini < chunktape_config fixture < markers (farthest first) < chaos variant < command line."""
    config = request.config
    check_keys(fixture_config, "chunktape_config")
    check_keys(knobs, "chunktape_knobs")
    markers = list(request.node.iter_markers("chunktape"))
    marker_path: str | None = None
    marker_layers: list[dict[str, Any]] = []
    for marker in reversed(markers):
        kwargs = dict(marker.kwargs)
        if len(marker.args) > 1:
            raise KnobError("@pytest.mark.chunktape takes one cassette path; pass the rest by name")
        path = marker.args[0] if marker.args else kwargs.pop("path", None)
        kwargs.pop("path", None)
        check_keys(kwargs, "@pytest.mark.chunktape")
        marker_layers.append(kwargs)
        if path is not None:
            marker_path = str(path)
    node = request.node
    callspec = getattr(node, "callspec", None)
    name = default_cassette_name(
        getattr(node, "originalname", node.name),
        request.cls.__name__ if request.cls is not None else None,
        callspec.params if callspec is not None else None,
        callspec.indices if callspec is not None else None,
        shared=_SHARED_PARAMS,
    )
    path = cassette_path(marker_path, cassette_dir, request.path.stem, name)
    layers = [_ini_layer(config), fixture_config, *marker_layers, knobs, _cli_layer(config)]
    return resolve(path, layers, session_seed=config.stash[_SEED])


def _ini_layer(config: pytest.Config) -> dict[str, Any]:
    layer: dict[str, Any] = {}
    for name in ("record_mode", *KNOB_NAMES, "match_on", "ignore", "redact"):
        value = config.getini(f"chunktape_{name}")
        layer[name] = value if value not in ("", []) else None
    return layer


def _cli_layer(config: pytest.Config) -> dict[str, Any]:
    layer = {name: config.getoption(f"chunktape_{name}") for name in KNOB_NAMES}
    layer["record_mode"] = config.getoption("chunktape_record_mode")
    return layer


def _check_knobs(knobs: dict[str, Any]) -> None:
    seed = knobs.get("seed")
    ReplayPolicy.from_knobs(
        speed=knobs.get("speed"),
        split=knobs.get("split"),
        delay=knobs.get("delay"),
        fault=knobs.get("fault"),
        seed=DEFAULT_SEED if isinstance(seed, str) and seed.strip().lower() == RANDOM_SEED else seed,
    )


def _raw_seed(config: pytest.Config) -> str | None:
    value = config.getoption("chunktape_seed") or config.getini("chunktape_seed") or None
    return str(value).strip().lower() if value is not None else None


def _session_seed(config: pytest.Config) -> int:
    """The seed that `random` stands for in this run: the xdist controller's, or a fresh one."""
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None and "chunktape_seed" in workerinput:
        return int(workerinput["chunktape_seed"])
    if _raw_seed(config) == RANDOM_SEED:
        return random.SystemRandom().randrange(1, 2**31)
    return DEFAULT_SEED
