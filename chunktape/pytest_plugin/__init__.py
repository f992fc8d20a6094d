"""The pytest plugin (loaded through the `pytest11` entry point; tests need no import).

Nothing loads here: every pytest run imports this package, chunktape tests or not. For type
hints and helpers outside fixtures, import from `chunktape` (`ChunktapeFixture`,
`StreamClock`, `observe`); the names below still resolve, on first use.
"""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chunktape.assertions import StreamClock, observe
    from chunktape.pytest_plugin.fixture import ChunktapeFixture

_LAZY = {
    "ChunktapeFixture": "chunktape.pytest_plugin.fixture",
    "StreamClock": "chunktape.assertions",
    "observe": "chunktape.assertions",
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'chunktape.pytest_plugin' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


__all__ = ["ChunktapeFixture", "StreamClock", "observe"]
