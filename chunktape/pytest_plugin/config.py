"""What one test replays or records, and how: every layer merged in one place.

Layers, later ones winning: ini < the `chunktape_config` fixture < `@pytest.mark.chunktape`
(farthest first) < the chaos variant (`chunktape_knobs`) < the command line. A value of
None means "not set here", so it never hides a lower layer. The session's seed (what
`--chunktape-seed=random` stands for) is chosen in seed.py.

Long on purpose: every settings layer and its checks in one place is the point of this module
(the plugin reads one resolved Settings, never a layer).
"""

from __future__ import annotations

import dataclasses
import difflib
import enum
import hashlib
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from chunktape.errors import KnobError
from chunktape.knobs import DEFAULT_SEED, ReplayPolicy, format_number
from chunktape.matching import MatchRules
from chunktape.pytest_plugin.max_age import MaxAgeAction, parse_action, parse_max_age
from chunktape.pytest_plugin.run import run_folder
from chunktape.pytest_plugin.seed import RANDOM_SEED, session_seed
from chunktape.replay.clock import CLOCK_MODES, ClockMode
from chunktape.replay.cors import CorsPolicy
from chunktape.vocabulary import KNOB_NAMES, SETTING_NAMES


class RecordMode(enum.StrEnum):
    """vcrpy's record modes: what a test does with the network, given whether its cassette exists."""

    NONE = "none"
    ONCE = "once"
    NEW_EPISODES = "new_episodes"
    ALL = "all"

    def records(self, cassette_exists: bool) -> bool:
        """Whether requests may go to the upstream (through the recorder)."""
        return self in (RecordMode.ALL, RecordMode.NEW_EPISODES) or (self is RecordMode.ONCE and not cassette_exists)

    def replays(self, cassette_exists: bool) -> bool:
        """Whether the existing cassette answers requests."""
        return cassette_exists and self is not RecordMode.ALL

    @property
    def appends(self) -> bool:
        """New interactions are added to the cassette instead of replacing it."""
        return self is RecordMode.NEW_EPISODES


RECORD_MODES: tuple[str, ...] = tuple(
    mode.value for mode in RecordMode
)  # == vocabulary.RECORD_MODES (a unit test checks)
# parameters that vary how a test runs, not what it asks: they share one cassette
SHARED_PARAMS = ("chunktape_knobs", "anyio_backend")

AGE_SETTINGS = ("max_age", "max_age_action")
"""Settings the ini and the command line give too (`chunktape_max_age`, `--chunktape-max-age`)."""

_UNSAFE = re.compile(r"[^\w.,=+@\[\]-]+")
_MAX_NAME_BYTES = 200


@dataclass(frozen=True)
class Settings:
    """The resolved configuration of one test."""

    cassette_path: str
    record_mode: RecordMode
    policy: ReplayPolicy
    rules: MatchRules
    upstream: str | None
    redact: tuple[str, ...]
    clock: ClockMode = "auto"
    """What the in-process transports wait on: auto (the loop's clock when it is a test clock), real, virtual."""
    cors: CorsPolicy | None = None
    """Which page origins a browser may read this test's replay server mount from (None: off)."""
    env: bool = True
    """Point the SDKs' base-URL (or proxy) variables at chunktape for the test (environment.py)."""
    more_cassettes: tuple[str, ...] = ()
    """The marker's further cassette paths: replayed together with the first, never written to."""
    tls: bool = False
    """Serve the test over https:// and wss:// with a local CA (the plugin's TLS replay server)."""
    max_age: timedelta | None = None
    """How old a replayed cassette may be (max_age.py); None: any age."""
    max_age_action: MaxAgeAction = "fail"

    @property
    def cassette_paths(self) -> tuple[str, ...]:
        """Every cassette this test replays; the first receives new recordings."""
        return (self.cassette_path, *self.more_cassettes)

    once_per_run: str | None = None
    """Record mode all: the run's folder (run.py), so the run's first test starts the cassette afresh."""

    def cli_args(self) -> list[str]:
        """The command-line options that pin this test's timing and chaos exactly."""
        policy = self.policy
        args = [f"--chunktape-seed={policy.seed}", f"--chunktape-speed={format_number(policy.speed)}"]
        args.append(f"--chunktape-split={policy.split}")
        args += [f"--chunktape-delay={spec}" for spec in policy.delay.specs()]
        args.append(f"--chunktape-fault={policy.fault if policy.fault is not None else 'none'}")
        if policy.resume != "last-event-id":
            args.append(f"--chunktape-resume={policy.resume}")
        return args


def check_keys(values: Mapping[str, Any], where: str, location: str = "") -> None:
    """Refuse names chunktape does not know, so a typo is never silently ignored."""
    unknown = sorted(set(values) - set(SETTING_NAMES))
    if unknown:
        name = unknown[0]
        close = difflib.get_close_matches(name, SETTING_NAMES, n=1, cutoff=0.6)
        advice = f"did you mean {close[0]}?" if close else f"use any of {', '.join(SETTING_NAMES)}"
        prefix = f"{location}: " if location else ""
        raise KnobError(f"{prefix}{where}({name}={values[name]!r}): unknown argument; {advice}")


def merge(layers: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Later layers win; None means "not set here"."""
    merged: dict[str, Any] = {}
    for layer in layers:
        merged.update({key: value for key, value in layer.items() if value is not None})
    return merged


def resolve(
    cassette_path: str,
    layers: Sequence[Mapping[str, Any]],
    *,
    session_seed: int,
    more_cassettes: tuple[str, ...] = (),
) -> Settings:
    """One test's settings from its layers (lowest first). Raises KnobError on a bad value."""
    merged = merge(layers)
    mode = str(merged.get("record_mode", "none"))
    if mode not in RECORD_MODES:
        raise _unknown("record mode", mode, RECORD_MODES)
    seed = _seed(merged.get("seed"), session_seed)
    policy = ReplayPolicy.from_knobs(
        speed=merged.get("speed"),
        split=merged.get("split"),
        delay=_names(merged.get("delay"), "delay") or None,
        fault=merged.get("fault"),
        seed=seed,
        resume=merged.get("resume"),
    )
    redact = tuple(_names(merged.get("redact"), "redact"))
    match_on = merged.get("match_on")
    rules = MatchRules.build(
        match_on=_names(match_on, "match_on") if match_on is not None else None,
        ignore=_names(merged.get("ignore"), "ignore"),
        redact=redact,
        normalize=_names(merged.get("normalize"), "normalize"),
    )
    upstream = merged.get("upstream")
    clock = next((known for known in CLOCK_MODES if known == merged.get("clock", "auto")), None)
    if clock is None:
        raise _unknown("clock", merged.get("clock"), CLOCK_MODES)
    env = _flag(merged.get("env", True), "env")
    return Settings(
        cassette_path=cassette_path,
        record_mode=RecordMode(mode),
        policy=policy,
        rules=rules,
        upstream=str(upstream).rstrip("/") if upstream else None,
        redact=redact,
        clock=clock,
        cors=CorsPolicy.parse(merged.get("cors")),
        env=env,
        more_cassettes=more_cassettes,
        tls=_flag(merged.get("tls", False), "tls"),
        max_age=parse_max_age(merged.get("max_age")),
        max_age_action=parse_action(merged.get("max_age_action")),
    )


def _unknown(what: str, value: object, choices: Sequence[str]) -> KnobError:
    close = difflib.get_close_matches(str(value).strip().lower(), list(choices), n=1, cutoff=0.6)
    advice = f"did you mean {close[0]}?" if close else f"use one of {', '.join(choices)}"
    return KnobError.refuse("unknown", what, value, advice)


_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0")


def _flag(value: Any, what: str) -> bool:
    """A yes/no setting from a bool, or from ini text such as true/false."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in (*_TRUE, *_FALSE):
        return value.strip().lower() in _TRUE
    raise KnobError.refuse("bad", what, value, "use True or False (in ini: true or false)")


def _seed(value: Any, session_seed: int) -> Any:
    """`random` is the session's seed; anything else is parsed as a seed by the policy."""
    return session_seed if isinstance(value, str) and value.strip().lower() == RANDOM_SEED else value


# ---------------------------------------------------------------- the layers, from pytest


def settings_for(
    request: pytest.FixtureRequest, fixture_config: Mapping[str, Any], knobs: Mapping[str, Any], cassette_dir: str
) -> Settings:
    """ini < chunktape_config fixture < markers (farthest first) < chaos variant < command line."""
    config = request.config
    where = location_of_test(request.node)
    check_keys(fixture_config, "chunktape_config fixture ", where)
    check_keys(knobs, "chunktape_knobs", where)
    check_layer(fixture_config, lambda name, value: f"{where}: chunktape_config fixture ({name}={value!r})")
    check_layer(knobs, lambda name, value: f"{where}: chunktape_knobs({name}={value!r})")
    marker_paths: list[str] = []
    marker_layers: list[dict[str, Any]] = []
    for marker in reversed(list(request.node.iter_markers("chunktape"))):
        kwargs = dict(marker.kwargs)
        if marker.args and "path" in kwargs:
            raise KnobError("@pytest.mark.chunktape got cassette paths both by position and as path=; give them once")
        paths = list(marker.args) if marker.args else [kwargs.pop("path")] if kwargs.get("path") is not None else []
        kwargs.pop("path", None)
        check_keys(kwargs, "@pytest.mark.chunktape", where)
        check_layer(kwargs, lambda name, value: f"{where}: @pytest.mark.chunktape({name}={value!r})")
        marker_layers.append(kwargs)
        for path in paths:
            if not isinstance(path, (str, os.PathLike)):
                raise KnobError(
                    f"@pytest.mark.chunktape: bad cassette path {path!r}; give paths as text, knobs by name"
                )
        if paths:
            marker_paths = [os.fspath(path) for path in paths]
    marker_path = marker_paths[0] if marker_paths else None
    node = request.node
    callspec = getattr(node, "callspec", None)
    name = default_cassette_name(
        getattr(node, "originalname", node.name),
        request.cls.__name__ if request.cls is not None else None,
        callspec.params if callspec is not None else None,
        callspec.indices if callspec is not None else None,
        shared=SHARED_PARAMS,
    )
    path = cassette_path(marker_path, cassette_dir, request.path.stem, name)
    more = tuple(cassette_path(extra, cassette_dir, request.path.stem, name) for extra in marker_paths[1:])
    layers = [ini_layer(config), fixture_config, *marker_layers, knobs, cli_layer(config)]
    settings = resolve(path, layers, session_seed=session_seed(config), more_cassettes=more)
    if settings.record_mode is RecordMode.ALL:  # started afresh once per run, not per test (run.py)
        settings = dataclasses.replace(settings, once_per_run=run_folder(config))
    return settings


def location_of_test(node: pytest.Item) -> str:
    """`test_chat.py:12`: the test's file (as its node id spells it) and the line of its `def`
    (or of its first decorator)."""
    line = node.reportinfo()[1]
    return f"{node.nodeid.split('::')[0]}:{(line or 0) + 1}"


def check_layer(layer: Mapping[str, Any], source: Callable[[str, Any], str]) -> None:
    """Each value of one settings layer on its own, so that a bad one is refused naming where it
    was written: `source(name, value)` says it (`test_chat.py:12: @pytest.mark.chunktape(split='utf-8')`)."""
    for name, value in layer.items():
        if value is None or name in ("path", "upstream"):
            continue
        # a repeatable knob's values each on their own: the message quotes the bad one
        parts = list(value) if name == "delay" and isinstance(value, (list, tuple)) else [value]
        for part in parts:
            try:
                resolve("", [{name: part}], session_seed=DEFAULT_SEED)
            except KnobError as exc:
                raise KnobError(f"{source(name, part)}: {exc.reason}") from None


def ini_layer(config: pytest.Config) -> dict[str, Any]:
    layer: dict[str, Any] = {}
    for name in (
        "record_mode",
        *KNOB_NAMES,
        "match_on",
        "ignore",
        "normalize",
        "redact",
        "cors",
        "env",
        "tls",
        *AGE_SETTINGS,
    ):
        value = config.getini(f"chunktape_{name}")
        layer[name] = value if value not in ("", []) else None
    return layer


def cli_layer(config: pytest.Config) -> dict[str, Any]:
    layer = {name: config.getoption(f"chunktape_{name}") for name in KNOB_NAMES}
    layer["record_mode"] = config.getoption("chunktape_record_mode")
    for name in AGE_SETTINGS:
        layer[name] = config.getoption(f"chunktape_{name}")
    return layer


def check_session(config: pytest.Config) -> None:
    """Raise KnobError now if the ini or the command line holds a bad value, naming which."""
    ini = config.inipath.name if config.inipath is not None else "ini"

    def written(value: Any) -> str:
        return " ".join(str(part) for part in value) if isinstance(value, (list, tuple)) else str(value)

    check_layer(ini_layer(config), lambda name, value: f"{ini}: chunktape_{name} = {written(value)}")
    check_layer(cli_layer(config), lambda name, value: f"--chunktape-{name.replace('_', '-')}={value}")
    resolve("", [ini_layer(config), cli_layer(config)], session_seed=session_seed(config))


def _names(value: Any, what: str) -> list[str]:
    """A list of strings from a list, or from one string separated by commas or whitespace."""
    if value is None:
        return []
    if isinstance(value, str):
        return [part for part in re.split(r"[,\s]+", value) if part]
    if isinstance(value, (list, tuple, set, frozenset)):
        return [str(part) for part in value]
    raise KnobError.refuse("bad", what, value, "give a string or a list of strings")


def knob_id(knobs: Mapping[str, Any]) -> str:
    """A readable test id for one chaos variant: `split=utf8-fault=cut:2`."""
    return "-".join(f"{name}={'none' if value is None else value}" for name, value in knobs.items()) or "recorded"


def default_cassette_name(
    test_name: str,
    class_name: str | None = None,
    params: Mapping[str, object] | None = None,
    indices: Mapping[str, int] | None = None,
    shared: Iterable[str] = (),
) -> str:
    """`Class.test_name[param-ids].yaml`, safe as a file name.

    Parameters named in `shared` (the chaos knobs) are left out, so every chaos variant of
    a test replays the same cassette; other parameters each get their own.
    """
    name = f"{class_name}.{test_name}" if class_name else test_name
    skipped = set(shared)
    parts = [
        _param_id(argname, value, (indices or {}).get(argname, 0))
        for argname, value in (params or {}).items()
        if argname not in skipped
    ]
    if parts:
        name += "[" + "-".join(parts) + "]"
    name = _UNSAFE.sub("-", name).strip(".-") or "cassette"
    if len(name.encode()) > _MAX_NAME_BYTES:
        digest = hashlib.sha1(name.encode()).hexdigest()[:12]
        name = name.encode()[: _MAX_NAME_BYTES - 16].decode(errors="ignore") + "..." + digest
    return name + ".yaml"


def _param_id(argname: str, value: object, index: int) -> str:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return _UNSAFE.sub("-", str(value)).strip("-") or f"{argname}{index}"
    return f"{argname}{index}"


def cassette_path(marker_path: str | os.PathLike[str] | None, cassette_dir: str, module_name: str, name: str) -> str:
    """Where the cassette lives: an explicit path (relative ones inside the cassette
    directory) or `<cassette dir>/<test module>/<default name>`."""
    if marker_path is not None:
        return os.path.normpath(os.path.join(cassette_dir, os.fspath(marker_path)))
    return os.path.join(cassette_dir, module_name, name)
