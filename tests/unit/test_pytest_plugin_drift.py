"""--chunktape-drift's hand-over under xdist (chunktape/pytest_plugin/drift.py): a worker's
summary lines reach the controller, which reports them with its own; plain values."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from chunktape.pytest_plugin.drift import DRIFT_KEY, DriftHooks, DriftOfTest, DriftRun
from chunktape.views.drift import DriftReport, compare
from tests.support.fakes.drifting import recorded


def config(run: DriftRun, **extra: Any) -> Any:
    stash = pytest.Stash()
    stash[DRIFT_KEY] = run
    return SimpleNamespace(stash=stash, **extra)


class Terminal:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def section(self, title: str) -> None:
        self.lines.append(f"== {title}")

    def line(self, text: str) -> None:
        self.lines.append(text)


def test_a_workers_lines_reach_the_controllers_summary_after_its_own() -> None:
    drift = compare("POST /v1/chat/completions", recorded("v1").response, recorded("added_field").response)
    worker_run = DriftRun(None, [DriftOfTest("test_a.py::test_one", DriftReport([drift]))])
    worker = config(worker_run, workeroutput={})
    DriftHooks().pytest_sessionfinish(SimpleNamespace(config=worker))  # type: ignore[arg-type]

    controller_run = DriftRun(None, [DriftOfTest("test_a.py::test_two", DriftReport([]))])
    controller = config(controller_run)
    hooks = DriftHooks()
    hooks.pytest_testnodedown(SimpleNamespace(config=controller, workeroutput=worker.workeroutput), None)
    terminal = Terminal()
    hooks.pytest_terminal_summary(terminal, 0, controller)
    assert terminal.lines == [
        "== chunktape: drift",
        "test_a.py::test_two: no drift",
        "test_a.py::test_one: 1 finding (1 notable)",
        "  POST /v1/chat/completions: notable  field added: service_tier (event chat.completion.chunk): - -> string",
    ]


def test_a_worker_writes_no_summary_of_its_own() -> None:
    worker = config(DriftRun(None), workerinput={})
    terminal = Terminal()
    DriftHooks().pytest_terminal_summary(terminal, 0, worker)
    assert terminal.lines == []
