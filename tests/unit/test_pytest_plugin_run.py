"""One pytest run's folder: made once by the controller, handed to every xdist worker,
removed by the process that made it."""

from __future__ import annotations

import os
from types import SimpleNamespace
from typing import Any

import pytest

from chunktape.pytest_plugin.run import end_run, hand_to_worker, run_folder


def config(**extra: Any) -> Any:
    return SimpleNamespace(stash=pytest.Stash(), **extra)


def test_the_controller_makes_one_folder_and_hands_it_to_each_worker() -> None:
    controller = config()
    folder = run_folder(controller)
    assert run_folder(controller) == folder
    nodes = [SimpleNamespace(config=controller, workerinput={}) for _ in range(2)]
    for node in nodes:
        hand_to_worker(node)
    workers = [config(workerinput=node.workerinput) for node in nodes]
    assert [run_folder(worker) for worker in workers] == [folder, folder]
    for worker in workers:
        end_run(worker)
    assert os.path.isdir(folder)  # a worker never removes the controller's folder
    end_run(controller)
    assert not os.path.exists(folder)


def test_a_run_that_never_records_in_all_mode_makes_no_folder() -> None:
    controller = config()
    end_run(controller)  # nothing made, nothing to remove
