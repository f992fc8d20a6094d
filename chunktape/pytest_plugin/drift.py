"""`--chunktape-drift`: after each replaying test, its cassette's recorded requests go to the
test's `upstream=` too, and what drifted is reported per test in the terminal summary (and as
a page in `--chunktape-report=DIR`), as `chunktape drift` would. Tests never fail on it: a run
with drift is a report, the replay is still the test.

Keys come from the providers' environment variables (recorder/fetch.py), only where the
recorded request had one. Under xdist each worker hands its lines to the controller, which
reports them all.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from chunktape.pytest_plugin.fixture import ChunktapeFixture
    from chunktape.views.drift import DriftReport
    from chunktape.views.drift_page import Compared

_UNSAFE = re.compile(r"[^\w.=+@-]+")
_WORKER_KEY = "chunktape_drift"
DRIFT_KEY = pytest.StashKey["DriftRun"]()


@dataclass
class DriftOfTest:
    nodeid: str
    report: DriftReport
    page: str | None = None


@dataclass
class DriftRun:
    """The drift of every test this process ran with `--chunktape-drift`."""

    directory: str | None
    tests: list[DriftOfTest] = field(default_factory=list)
    from_workers: list[str] = field(default_factory=list)
    """Summary lines xdist workers handed over."""

    def check(self, handle: ChunktapeFixture, nodeid: str) -> None:
        """Send the test's recorded requests to its upstream and keep what drifted; a test that
        recorded afresh, or has no upstream, is noted and skipped."""
        from chunktape.matching import describe_request
        from chunktape.recorder.fetch import LiveError, fetch, live_request
        from chunktape.views.drift import DriftReport, compare
        from chunktape.views.drift_page import Compared

        report = DriftReport()
        if handle.player is None or handle.recording:
            return
        if handle.upstream is None:
            report.error = "not checked: the test has no upstream= to compare with"
            self.tests.append(DriftOfTest(nodeid, report))
            return
        compared: list[Compared] = []
        redactor = handle.rules.redactor
        for cassette in handle.player.cassettes:
            for interaction in cassette.interactions:
                shown = describe_request(interaction.request, redactor)
                try:
                    live = live_request(interaction.request, handle.upstream, os.environ, shown=shown)
                    answer = fetch(interaction.request, live, timeout_s=60.0, shown=shown)
                except LiveError as exc:
                    report.error = str(exc)
                    break
                drift = compare(shown, interaction.response, answer.response)
                report.interactions.append(drift)
                compared.append(Compared(drift, interaction, answer))
        self.tests.append(DriftOfTest(nodeid, report, self._page(nodeid, report, compared)))

    def _page(self, nodeid: str, report: DriftReport, compared: list[Compared]) -> str | None:
        if self.directory is None or not report.findings():
            return None
        from chunktape.views.drift_page import render_drift_page

        name = "drift-" + (_UNSAFE.sub("_", nodeid).strip("_")[:170] or "test")
        path = os.path.join(self.directory, f"{name}.html")
        try:
            os.makedirs(self.directory, exist_ok=True)
            with open(path, "w", encoding="utf-8") as out:
                out.write(render_drift_page(report, compared, title=f"chunktape drift: {nodeid}"))
        except OSError as exc:
            return f"not written: {path}: {exc.strerror}; check --chunktape-report"
        return path

    def summary_lines(self) -> list[str]:
        lines: list[str] = []
        for test in self.tests:
            findings = test.report.findings()
            if test.report.error is not None and not test.report.interactions:
                lines.append(f"{test.nodeid}: {test.report.error}")
                continue
            counts = ", ".join(
                f"{sum(1 for f in findings if f.severity == severity)} {severity}"
                for severity in ("breaking", "notable", "timing")
                if any(f.severity == severity for f in findings)
            )
            lines.append(
                f"{test.nodeid}: "
                + (f"{len(findings)} finding{'' if len(findings) == 1 else 's'} ({counts})" if findings else "no drift")
            )
            for one in test.report.interactions:
                lines.extend(f"  {one.request}: {finding.line()}" for finding in one.findings)
            if test.report.error is not None:
                lines.append(f"  stopped early: {test.report.error}")
            if test.page is not None:
                lines.append(f"  report: {test.page}")
        return lines


def start(config: pytest.Config) -> bool:
    """Begin a drift run if --chunktape-drift asks for one; whether it does."""
    if not config.getoption("chunktape_drift", False):
        return False
    config.stash[DRIFT_KEY] = DriftRun(config.getoption("chunktape_report", None))
    return True


def run_of(config: pytest.Config) -> DriftRun | None:
    return config.stash.get(DRIFT_KEY, None)


class DriftHooks:
    """The hooks of --chunktape-drift, registered only when it is given."""

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        """On an xdist worker: hand the lines to the controller."""
        run = run_of(session.config)
        workeroutput = getattr(session.config, "workeroutput", None)
        if run is not None and workeroutput is not None:
            workeroutput[_WORKER_KEY] = json.dumps(run.summary_lines())

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        run = run_of(node.config)
        text = getattr(node, "workeroutput", {}).get(_WORKER_KEY)
        if run is not None and text:
            run.from_workers.extend(json.loads(text))

    def pytest_terminal_summary(self, terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
        run = run_of(config)
        if run is None or hasattr(config, "workerinput"):
            return
        terminalreporter.section("chunktape: drift")
        lines = [*run.summary_lines(), *run.from_workers]
        for line in lines or ["no test replayed a cassette with an upstream"]:
            terminalreporter.line(line)
