"""The pytest plugin (loaded through the `pytest11` entry point; tests need no import).

Import from here only for type hints and helpers outside fixtures:

    from chunktape.pytest_plugin import ChunktapeFixture, StreamClock, observe
"""

from chunktape.pytest_plugin.assertions import StreamClock, observe
from chunktape.pytest_plugin.fixture import ChunktapeFixture

__all__ = ["ChunktapeFixture", "StreamClock", "observe"]
