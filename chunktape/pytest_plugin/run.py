"""One pytest run, shared by the xdist controller and its workers: a folder where record
mode `all` notes which cassettes this run has already started afresh, so the first test of
the run that records into a cassette replaces it and every later one, in any worker, adds
to it (`chunktape.persist.journal` decides, under its lock)."""

from __future__ import annotations

import shutil
import tempfile
from typing import Any

import pytest

_FOLDER = pytest.StashKey[str]()
_OWNED = pytest.StashKey[bool]()
_WORKER_KEY = "chunktape_run"


def run_folder(config: pytest.Config) -> str:
    """This run's folder: the controller's (handed to each worker), made on first use."""
    known = config.stash.get(_FOLDER, None)
    if known is not None:
        return known
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None and _WORKER_KEY in workerinput:
        folder = str(workerinput[_WORKER_KEY])
    else:
        folder = tempfile.mkdtemp(prefix="chunktape-run-")
        config.stash[_OWNED] = True
    config.stash[_FOLDER] = folder
    return folder


def hand_to_worker(node: Any) -> None:
    """pytest-xdist's `pytest_configure_node`: the worker shares the controller's run."""
    node.workerinput[_WORKER_KEY] = run_folder(node.config)


def end_run(config: pytest.Config) -> None:
    """Remove the folder, in the process that made it."""
    if config.stash.get(_OWNED, False):
        shutil.rmtree(config.stash[_FOLDER], ignore_errors=True)
