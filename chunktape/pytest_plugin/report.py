"""The plugin's reports: an HTML page per failed chunktape test (`--chunktape-report=DIR`), and
the cassettes and interactions no test used (`--chunktape-report-unused`).

Pages come from `chunktape.views.timeline`: the recorded timeline with the schedule this test's
policy sends over it, plus the miss diff. Usage is noted per test on each process; an xdist
worker hands its notes to the controller in `workeroutput`, which combines them and reports.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from chunktape.errors import ChunktapeError
from chunktape.persist import load_cassette
from chunktape.secret_names import mask_secrets

if TYPE_CHECKING:
    from chunktape.pytest_plugin.fixture import ChunktapeFixture

_UNSAFE = re.compile(r"[^\w.=+@-]+")
_WORKER_KEY = "chunktape_usage"
USAGE_KEY = pytest.StashKey["Usage"]()


def failure_page(directory: str, nodeid: str, handle: ChunktapeFixture, longrepr: str) -> str:
    """Write the failed test's page into `directory`; return its path."""
    from chunktape.views.timeline import render_page

    name = _UNSAFE.sub("_", nodeid).strip("_")[:180] or "test"
    path = os.path.join(directory, f"{name}.html")
    cassettes = list(handle.player.cassettes) if handle.player is not None else []
    used = ", ".join(f"#{index + 1}" for _, index in handle.player.used()) if handle.player is not None else ""
    notes = [handle.describe(nodeid, misses=False), f"interactions this test used: {used or 'none'}"]
    notes += [f"request missed:\n{miss}" for miss in handle.misses]
    notes.append(f"failure:\n{mask_secrets(_clip(longrepr))}")  # a traceback may quote a live key
    page = render_page(
        cassettes, handle.policy, title=f"chunktape: {nodeid} failed", notes=notes, redact=handle.settings.redact
    )
    try:
        os.makedirs(directory, exist_ok=True)
        with open(path, "w", encoding="utf-8") as out:
            out.write(page)
    except OSError as exc:
        raise ChunktapeError(
            f"{path}: cannot write the failure report ({exc.strerror}); check --chunktape-report"
        ) from None
    return path


def _clip(text: str, limit: int = 4000) -> str:
    return text if len(text) <= limit else text[:limit] + f"\n… ({len(text) - limit} more characters)"


@dataclass
class Usage:
    """Which cassette files exist where tests look, and which of their interactions tests used."""

    directories: set[str] = field(default_factory=set)
    used_files: set[str] = field(default_factory=set)
    used: dict[str, set[int]] = field(default_factory=dict)
    """file -> 0-based indexes of the interactions a request was answered with."""

    def note(self, handle: ChunktapeFixture) -> None:
        for one in handle.settings.cassette_paths:
            path = os.path.abspath(one)
            self.used_files.add(path)
            played = handle.player is not None and any(
                cassette.path is not None and os.path.abspath(cassette.path) == path
                for cassette in handle.player.cassettes
            )
            if not played:  # recorded afresh: the whole file is this test's
                self.used.setdefault(path, set()).update(range(_count(path)))
                continue
            assert handle.player is not None
            mine = self.used.setdefault(path, set())
            for cassette, index in handle.player.used():
                if cassette.path is not None and os.path.abspath(cassette.path) == path:
                    mine.add(index)

    def to_json(self) -> str:
        return json.dumps(
            {
                "directories": sorted(self.directories),
                "used_files": sorted(self.used_files),
                "used": {path: sorted(indexes) for path, indexes in self.used.items()},
            }
        )

    def merge_json(self, text: str) -> None:
        data: dict[str, Any] = json.loads(text)
        self.directories.update(data["directories"])
        self.used_files.update(data["used_files"])
        for path, indexes in data["used"].items():
            self.used.setdefault(path, set()).update(indexes)

    def unused_lines(self, root: Path) -> list[str]:
        """One line per cassette file no test used, then per interaction no test used."""
        files = sorted({path for directory in self.directories for path in _cassette_files(directory)})
        lines = [f"unused cassette: {_shown(path, root)}" for path in files if path not in self.used_files]
        for path in sorted(self.used_files):
            total = _count(path)
            missing = [index for index in range(total) if index not in self.used.get(path, set())]
            if missing:
                which = ", ".join(f"#{index + 1}" for index in missing)
                lines.append(f"unused interactions in {_shown(path, root)}: {which} (of {total})")
        return lines


def _count(path: str) -> int:
    try:
        return len(load_cassette(path))
    except ChunktapeError:
        return 0


def _cassette_files(directory: str) -> Iterable[str]:
    """The chunktape cassettes under `directory` (other tools' YAML files, such as
    pytest-recording's, are not ours to call unused)."""
    for root, _, names in os.walk(directory):
        for name in names:
            if name.endswith((".yaml", ".yml")) and not name.startswith("."):
                path = os.path.abspath(os.path.join(root, name))
                try:
                    load_cassette(path)
                except ChunktapeError:
                    continue
                yield path


def _shown(path: str, root: Path) -> str:
    try:
        return os.path.relpath(path, root)
    except ValueError:
        return path


def usage_of(config: pytest.Config) -> Usage | None:
    """This process's usage notes, when --chunktape-report-unused is on."""
    return config.stash.get(USAGE_KEY, None)


def start_usage(config: pytest.Config) -> bool:
    """Begin noting usage if --chunktape-report-unused asks for it; whether it does."""
    if not config.getoption("chunktape_report_unused", False):
        return False
    config.stash[USAGE_KEY] = Usage()
    return True


class UnusedHooks:
    """The hooks of --chunktape-report-unused, registered only when it is given."""

    def pytest_collection_modifyitems(self, config: pytest.Config, items: list[pytest.Item]) -> None:
        note_directories(config, items)

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        hand_to_controller(session.config)

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        """pytest-xdist: a worker's notes join the controller's."""
        take_from_worker(node.config, node)

    def pytest_terminal_summary(self, terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
        write_unused(config, terminalreporter)


def note_directories(config: pytest.Config, items: Iterable[pytest.Item]) -> None:
    """Where the collected tests' cassettes live: the ini's cassette dir, or `cassettes/` beside each module."""
    usage = usage_of(config)
    if usage is None:
        return
    configured = str(config.getini("chunktape_cassette_dir") or "")
    if configured:
        base = config.inipath.parent if config.inipath else config.rootpath
        usage.directories.add(str(base / configured))
        return
    for item in items:
        usage.directories.add(str(item.path.parent / "cassettes"))


def hand_to_controller(config: pytest.Config) -> None:
    """On an xdist worker: pass the notes to the controller."""
    usage = usage_of(config)
    workeroutput = getattr(config, "workeroutput", None)
    if usage is not None and workeroutput is not None:
        workeroutput[_WORKER_KEY] = usage.to_json()


def take_from_worker(config: pytest.Config, node: Any) -> None:
    usage = usage_of(config)
    text = getattr(node, "workeroutput", {}).get(_WORKER_KEY)
    if usage is not None and text:
        usage.merge_json(text)


def write_unused(config: pytest.Config, terminal: Any) -> None:
    usage = usage_of(config)
    if usage is None or hasattr(config, "workerinput"):
        return
    lines = usage.unused_lines(config.rootpath)
    terminal.section("chunktape: unused cassettes and interactions")
    for line in lines or ["every cassette and interaction was used"]:
        terminal.line(line)
