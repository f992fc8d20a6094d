"""`@pytest.mark.chunktape(..., clock="virtual")` is one switch on an asyncio test: it also
marks the test `@pytest.mark.looptime` (when looptime is installed), so pytest-asyncio's
loop fast-forwards its clock and the replay's recorded gaps pass in no wall time.

Tests on anyio choose their loop in `anyio_backend` (docs/pytest-plugin.md, "Virtual time").
"""

from __future__ import annotations

import inspect

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not config.pluginmanager.hasplugin("looptime_plugin"):
        return
    for item in items:
        clock = next((m.kwargs["clock"] for m in item.iter_markers("chunktape") if "clock" in m.kwargs), None)
        if clock != "virtual" or item.get_closest_marker("looptime") or item.get_closest_marker("anyio"):
            continue
        if inspect.iscoroutinefunction(getattr(item, "obj", None)):
            item.add_marker(pytest.mark.looptime)
