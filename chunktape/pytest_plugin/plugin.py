"""pytest wiring for chunktape: options, markers, fixtures, chaos parametrization, reports.

Loaded through the `pytest11` entry point, so it is imported by every pytest run in an
environment where chunktape is installed: it imports pytest and the option table
(chunktape.vocabulary) only, and the engine (settings in config.py, the test's handle in
fixture.py, the replay server, the reports) loads the first time a chunktape marker or
fixture is used, as pytest-recording imports vcrpy only when a test uses it
(tests/contract/test_plugin_startup.py holds it to that). The replay server is the
session-scoped `chunktape_server` fixture, started before the first test that uses
`chunktape`, one per pytest process (so one per xdist worker), stopped when the session ends.

Long on purpose: pytest discovers hooks and fixtures by name in the registered module, so the
plugin's options, markers, hooks and fixtures stand together here; the work they call lives elsewhere.
"""

from __future__ import annotations

import itertools
import sys
import warnings
from collections.abc import Generator, Iterator
from typing import TYPE_CHECKING, Any

import pytest

from chunktape.vocabulary import (
    CORS,
    DRIFT,
    ENV,
    ENV_VARS,
    KNOB_NAMES,
    KNOBS,
    MATCHING,
    MAX_AGE,
    MAX_AGE_ACTION,
    RECORD_MODE,
    RECORD_MODES,
    REPORTS,
    SEED_RANDOM_NOTE,
    SETTING_NAMES,
    TLS,
)

if TYPE_CHECKING:
    from chunktape.pytest_plugin.fixture import ChunktapeFixture
    from chunktape.replay.server import ReplayServer

_FIXTURE = pytest.StashKey["ChunktapeFixture"]()


def pytest_addoption(parser: pytest.Parser) -> None:
    """Every option and ini setting is rendered from the knob table (chunktape.vocabulary)."""
    group = parser.getgroup("chunktape", "chunktape: replay recorded LLM streams, with chaos")
    group.addoption(
        "--chunktape-record-mode",
        action="store",
        default=None,
        choices=RECORD_MODES,
        dest="chunktape_record_mode",
        help=RECORD_MODE.help,
    )
    for knob in KNOBS:
        extra = f" {SEED_RANDOM_NOTE}" if knob.name == "seed" else ""
        group.addoption(
            f"--chunktape-{knob.name}",
            action="append" if knob.repeatable else "store",
            default=None,
            dest=f"chunktape_{knob.name}",
            metavar=knob.metavar,
            help=f"{knob.option_help()}{extra} Overrides markers and ini.",
        )
    for word in (MAX_AGE, MAX_AGE_ACTION):
        group.addoption(
            f"--chunktape-{word.name.replace('_', '-')}",
            default=None,
            dest=f"chunktape_{word.name}",
            metavar=word.metavar,
            help=f"{word.option_help()} Overrides markers and ini.",
        )
    for word in (*REPORTS, DRIFT):
        flag = f"--chunktape-{word.name.replace('_', '-')}"
        if word.flag:
            group.addoption(flag, action="store_true", default=False, dest=f"chunktape_{word.name}", help=word.help)
        else:
            group.addoption(flag, default=None, dest=f"chunktape_{word.name}", metavar="DIR", help=word.option_help())
    parser.addini(
        "chunktape_cassette_dir",
        "Cassette directory, relative to the ini file (unset: 'cassettes' next to each test module).",
        default="",
    )
    parser.addini("chunktape_record_mode", RECORD_MODE.ini_help(), default="")
    for knob in KNOBS:
        extra = f" {SEED_RANDOM_NOTE}" if knob.name == "seed" else ""
        if knob.repeatable:
            parser.addini(f"chunktape_{knob.name}", knob.ini_help() + extra, type="args")
        else:
            parser.addini(f"chunktape_{knob.name}", knob.ini_help() + extra, default="")
    for setting in MATCHING:
        parser.addini(f"chunktape_{setting.name}", f"{setting.help} For every test: {setting.syntax}.", type="args")
    parser.addini(f"chunktape_{CORS.name}", CORS.ini_help(), type="args")
    parser.addini(f"chunktape_{TLS.name}", f"{TLS.ini_help()} {TLS.help}", default="")
    for word in (MAX_AGE, MAX_AGE_ACTION):
        parser.addini(f"chunktape_{word.name}", word.ini_help(), default="")
    parser.addini(f"chunktape_{ENV.name}", f"{ENV.ini_help()} {ENV.help}", default="")
    parser.addini(f"chunktape_{ENV_VARS.name}", f"{ENV_VARS.help} Values: {ENV_VARS.syntax}.", type="linelist")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"chunktape(*paths, {', '.join(SETTING_NAMES)}): "
        "the cassettes the chunktape fixture replays together (a relative path is inside the cassette directory; "
        "default: cassettes/<module>/<test>.yaml; the first receives new recordings) and how; knobs are spelled as on the command line; clock='virtual' replays on the event loop's test clock.",
    )
    config.addinivalue_line(
        "markers",
        "chunktape_chaos(**knobs): run the test once per combination of the knob values given as lists, "
        "e.g. split=['recorded', 'utf8'], fault=[None, 'cut:2']; every variant replays the same cassette "
        "and the test reads its variant from chunktape.policy.",
    )
    from chunktape.pytest_plugin import virtual_time  # pytest only: clock="virtual" turns looptime on

    config.pluginmanager.register(virtual_time, "chunktape_virtual_time")
    if config.getoption("chunktape_report_unused", False):  # its hooks join in
        from chunktape.pytest_plugin import report

        report.start_usage(config)
        config.pluginmanager.register(report.UnusedHooks(), "chunktape_unused")
    if config.getoption("chunktape_drift", False):  # --chunktape-drift
        from chunktape.pytest_plugin import drift

        drift.start(config)
        config.pluginmanager.register(drift.DriftHooks(), "chunktape_drift")
    if _sets_anything(config):  # a bad ini or command-line value stops the run now, with one line
        from chunktape.errors import KnobError
        from chunktape.pytest_plugin import environment
        from chunktape.pytest_plugin.config import check_session

        try:
            check_session(config)
            environment.configured_variables(config)
        except KnobError as exc:
            raise pytest.UsageError(f"chunktape: {exc}") from None


_INI_SETTINGS = (
    "record_mode",
    *KNOB_NAMES,
    *(word.name for word in MATCHING),
    CORS.name,
    TLS.name,
    MAX_AGE.name,
    MAX_AGE_ACTION.name,
    ENV.name,
    ENV_VARS.name,
)


def _sets_anything(config: pytest.Config) -> bool:
    """Whether the command line or ini gives chunktape a value (else there is nothing to check)."""
    options = ("record_mode", *KNOB_NAMES, MAX_AGE.name, MAX_AGE_ACTION.name)
    return any(config.getoption(f"chunktape_{name}", None) is not None for name in options) or any(
        config.getini(f"chunktape_{name}") not in ("", []) for name in _INI_SETTINGS
    )


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """pytest-xdist: every worker uses the controller's seed, so `--chunktape-seed=random` is one seed per run."""
    from chunktape.pytest_plugin.seed import session_seed

    node.workerinput["chunktape_seed"] = session_seed(node.config)
    from chunktape.pytest_plugin import run

    run.hand_to_worker(node)  # and its run: `all` starts a cassette afresh once per run


def pytest_unconfigure(config: pytest.Config) -> None:
    run = sys.modules.get("chunktape.pytest_plugin.run")
    if run is not None:  # only a run that used it made a folder to remove
        run.end_run(config)


def pytest_report_header(config: pytest.Config) -> str:
    from chunktape.pytest_plugin.seed import DEFAULT_SEED, RANDOM_SEED, chosen_seed, session_seed

    mode = config.getoption("chunktape_record_mode") or config.getini("chunktape_record_mode") or "none"
    chosen = chosen_seed(config)
    if chosen == RANDOM_SEED:
        seed = session_seed(config)
        return f"chunktape: record mode {mode}, seed {seed} (random; repeat with --chunktape-seed={seed})"
    return f"chunktape: record mode {mode}, seed {chosen or DEFAULT_SEED}"


@pytest.hookimpl(trylast=True)  # after @pytest.mark.parametrize, so the chaos id comes last
def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """`@pytest.mark.chunktape_chaos(split=[...], fault=[...])`: one test per combination."""
    marker = metafunc.definition.get_closest_marker("chunktape_chaos")
    if marker is None:
        return
    from chunktape.errors import KnobError
    from chunktape.pytest_plugin.config import check_layer, knob_id, location_of_test

    where = f"{location_of_test(metafunc.definition)}: @pytest.mark.chunktape_chaos"
    # a collection error shows its message alone, not pluggy's traceback
    if marker.args:
        raise pytest.Collector.CollectError(f"{where} takes knobs by name only, as in split=['recorded', 'utf8']")
    if "chunktape_knobs" not in metafunc.fixturenames:
        raise pytest.Collector.CollectError(f"{where}: the test must use the chunktape fixture")
    unknown = sorted(set(marker.kwargs) - set(KNOB_NAMES))
    if unknown:
        raise pytest.Collector.CollectError(
            f"{where}: unknown knob {', '.join(unknown)}; use any of {', '.join(KNOB_NAMES)}"
        )
    names = list(marker.kwargs)
    choices = [value if isinstance(value, (list, tuple)) else [value] for value in marker.kwargs.values()]
    for name, values in zip(names, choices, strict=True):
        try:
            for value in values:
                check_layer({name: value}, lambda name, value: f"{where}({name}={value!r})")
        except KnobError as exc:
            raise pytest.Collector.CollectError(str(exc)) from None
    variants = [dict(zip(names, combo, strict=True)) for combo in itertools.product(*choices)]
    metafunc.parametrize("chunktape_knobs", variants, ids=[knob_id(v) for v in variants])


def pytest_make_parametrize_id(config: pytest.Config, val: object, argname: str) -> str | None:
    """Readable ids for `@pytest.mark.parametrize("chunktape_knobs", [{"split": "utf8"}, ...])` too."""
    if argname == "chunktape_knobs" and isinstance(val, dict):
        from chunktape.pytest_plugin.config import knob_id

        return knob_id(val)
    return None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    """A request the cassette does not hold fails the test itself, once: with the closest
    recorded request and its diff, at the test's own line, whether the code under test
    raised it, turned it into an SDK error, or swallowed it."""
    try:
        yield
    except BaseException as exc:
        handle = item.stash.get(_FIXTURE, None)
        unreachable = handle.unreachable_upstream() if handle is not None and isinstance(exc, Exception) else None
        if unreachable is not None:  # the client's own error (a bare disconnect, a 502) says less
            raise pytest.fail.Exception(f"chunktape: {unreachable}", pytrace=False) from None
        misses = handle.miss_errors if handle is not None else []
        if not misses or not isinstance(exc, Exception) or isinstance(exc, pytest.fail.Exception):
            raise
        lines = [f"{_test_line(item, exc, miss)}: {miss}" for miss in misses]
        if not any(miss is cause for miss in misses for cause in _chain(exc)):
            if _echoes_a_miss(exc, misses):  # an SDK's error quoting the replay server's 404 body: shown once above
                lines.append(f"(the client raised {type(exc).__name__} for the 404 that answered it)")
            else:
                lines.append(f"(and then the test failed with {type(exc).__name__}: {_first_line(exc)})")
        raise pytest.fail.Exception("chunktape: " + "\n".join(lines), pytrace=False) from None
    handle = item.stash.get(_FIXTURE, None)
    misses = handle.miss_errors if handle is not None else []
    if misses:
        shown = "\n".join(f"{_test_line(item, miss)}: {miss}" for miss in misses)
        message = f"chunktape: the test passed, but made requests its cassette does not hold:\n{shown}"
        raise pytest.fail.Exception(message, pytrace=False)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    handle = item.stash.get(_FIXTURE, None)
    if handle is not None and report.failed:
        lines = handle.describe(item.nodeid, misses=False)
        directory = item.config.getoption("chunktape_report", None)
        if directory:
            from chunktape.errors import ChunktapeError
            from chunktape.pytest_plugin.report import failure_page

            try:
                page = failure_page(directory, item.nodeid, handle, report.longreprtext)
            except ChunktapeError as exc:
                lines += f"\nreport: not written: {exc}"
            else:
                lines += f"\nreport: {page}"
        report.sections.append(("chunktape", lines))
    return report


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """`exc` and what caused it (SDKs wrap transport errors), each once."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _test_line(item: pytest.Item, *errors: BaseException) -> str:
    """`path:line` of the test function's line that led to `errors` (else the last line of its
    module they passed through, else the test's `def`)."""
    filename = str(item.path)
    test_code = getattr(getattr(item, "obj", None), "__code__", None)
    found: int | None = None
    for error in errors:
        for one in _chain(error):
            traceback = one.__traceback__
            while traceback is not None:
                code = traceback.tb_frame.f_code
                if code is test_code:
                    return f"{item.nodeid.split('::')[0]}:{traceback.tb_lineno}"
                if found is None and code.co_filename == filename:
                    found = traceback.tb_lineno
                traceback = traceback.tb_next
    if found is None:
        found = (item.reportinfo()[1] or 0) + 1
    return f"{item.nodeid.split('::')[0]}:{found}"


def _echoes_a_miss(exc: BaseException, misses: list[Any]) -> bool:
    """Whether the error's text quotes a miss (the replay server's 404 body), as SDKs' errors do."""
    text = " ".join(str(one) for one in _chain(exc))
    return any(str(miss).splitlines()[0].split(" in ")[0] in text for miss in misses)


def _first_line(exc: BaseException) -> str:
    """The error's first line, with any key it quotes masked (httpx's quote the URL)."""
    text = str(exc).strip()
    line = text.splitlines()[0] if text else "(no message)"
    from chunktape.secrets_scan import mask, secret_values

    for _, secret in secret_values(line):
        line = line.replace(secret, mask(secret))
    return line


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def chunktape_server() -> Iterator[ReplayServer]:
    """The replay server every test of this process mounts its cassette on (one per xdist
    worker, on a free port), started and warmed up before the first such test runs.

    The engine loads here, before the warm-up, as it did when the plugin loaded it at import:
    so the first test's replay is as punctual as the later ones'."""
    from chunktape.pytest_plugin import config, environment, fixture, report  # noqa: F401
    from chunktape.replay.server import ReplayServer

    with ReplayServer(port=0) as server:
        yield server


@pytest.fixture(scope="session")
def chunktape_tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReplayServer]:
    """The replay server of the tests with tls=True: https:// and wss://, with a local CA made for
    this run (one per xdist worker), started before the first such test runs."""
    from chunktape.replay.local_tls import local_tls
    from chunktape.replay.server import ReplayServer

    with ReplayServer(port=0, tls=local_tls(str(tmp_path_factory.mktemp("chunktape-tls")))) as server:
        yield server


@pytest.fixture
def chunktape_config() -> dict[str, Any]:
    """Defaults shared by many tests (override it in a conftest.py): any marker argument but the path,
    e.g. {"upstream": "https://api.openai.com", "ignore": ["user"]}. Markers and the command line win."""
    return {}


@pytest.fixture
def chunktape_knobs() -> dict[str, Any]:
    """The knobs of one chaos variant: parametrized by @pytest.mark.chunktape_chaos, or directly with
    @pytest.mark.parametrize("chunktape_knobs", [{"split": "utf8"}, ...]). The resolved policy is
    chunktape.policy."""
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
    chunktape_server: ReplayServer,
) -> Iterator[ChunktapeFixture]:
    """Replay (or record) this test's cassette: `.base_url`, `.transport()`, `.async_transport()`,
    `.policy`, `.cassette_path`, `.record_mode`, and `.observe(stream)` to time what the client saw.
    For the test's duration the SDKs' base-URL variables point here (environment.py; env=False: not)."""
    from chunktape.errors import CassetteAgeWarning, CassetteWarning, ChunktapeError
    from chunktape.pytest_plugin import drift as drifts
    from chunktape.pytest_plugin import environment
    from chunktape.pytest_plugin import report as reports
    from chunktape.pytest_plugin.config import settings_for
    from chunktape.pytest_plugin.fixture import ChunktapeFixture

    handle: ChunktapeFixture | None = None
    try:
        settings = settings_for(request, chunktape_config, chunktape_knobs, chunktape_cassette_dir)
        server = request.getfixturevalue("chunktape_tls_server") if settings.tls else chunktape_server
        handle = ChunktapeFixture.open(settings, server)
        stale = handle.age_warning(request.node.nodeid)
        changes = environment.changes_for(handle, environment.configured_variables(request.config))
    except ChunktapeError as exc:
        if handle is not None:
            handle.close()
        raise pytest.fail.Exception(f"chunktape: {exc}", pytrace=False) from None
    request.node.stash[_FIXTURE] = handle
    if stale is not None:
        warnings.warn(CassetteAgeWarning(stale), stacklevel=1)
    try:
        with environment.changed_environment(changes):
            yield handle
    finally:
        handle.close()
        for line in handle.redacted_keys:  # never silent: a key nobody named was in a request
            warnings.warn(CassetteWarning(f"{request.node.nodeid}: {line}"), stacklevel=1)
        usage = reports.usage_of(request.config)
        if usage is not None:
            usage.note(handle)
        drift_run = drifts.run_of(request.config)
        if drift_run is not None:
            drift_run.check(handle, request.node.nodeid)


@pytest.fixture
def chunktape_route_httpx(chunktape: ChunktapeFixture) -> Iterator[ChunktapeFixture]:
    """The escape hatch for a client built before the test began (route_httpx.py): for this test
    only, every httpx/httpx2 transport of the process answers through chunktape."""
    from chunktape.pytest_plugin import route_httpx

    with route_httpx.routed(chunktape):
        yield chunktape


@pytest.fixture(autouse=True)
def _chunktape_marked(request: pytest.FixtureRequest) -> None:
    """A test with @pytest.mark.chunktape gets the fixture (and so its environment) without asking."""
    if "chunktape" not in request.fixturenames and request.node.get_closest_marker("chunktape") is not None:
        request.getfixturevalue("chunktape")
