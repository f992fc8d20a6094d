"""chunktape: record streaming HTTP exchanges with every chunk's boundaries and timing,
and replay them deterministically, at the recorded rhythm or with chaos injected.

Data flows one way:

    wire -> recorder/ -> Interaction -> redaction -> persist/ (cassette file)
    persist/ -> matching -> schedule (policy + seed) -> replay/ (server or transport) -> client

Every name below loads on first use: pytest imports this package on every run through the
plugin's entry point, so `import chunktape` costs nothing until a name is used
(tests/contract/test_plugin_startup.py). The first name used also gives the model its
storage: cassettes load and save as YAML files unless told otherwise.
"""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chunktape.assertions import StreamClock, observe
    from chunktape.cassette import Cassette, Chunk, Close, Handshake, Interaction, Message, Request, Response, Session
    from chunktape.errors import (
        CassetteError,
        CassetteWarning,
        ChunktapeError,
        ImportFileError,
        KnobError,
        NoMatchError,
        RecordingError,
    )
    from chunktape.interchange.har import read_har, write_har
    from chunktape.interchange.vcr import read_vcr
    from chunktape.knobs import Delay, Fault, ReplayPolicy, Split
    from chunktape.matching import MatchRules
    from chunktape.persist import FilesystemPersister, load_cassette, save_cassette
    from chunktape.pytest_plugin.fixture import ChunktapeFixture
    from chunktape.recorder import Recorder
    from chunktape.redaction import Redactor
    from chunktape.replay.cors import CorsPolicy
    from chunktape.replay.player import CassettePlayer
    from chunktape.replay.server import ReplayServer
    from chunktape.replay.transport import AsyncReplayTransport, ReplayTransport
    from chunktape.schedule import Schedule, Step, build_schedule
    from chunktape.views.diff import diff_cassettes

__version__ = "0.1.0"

_LAZY = {
    "AsyncReplayTransport": "chunktape.replay.transport",
    "Cassette": "chunktape.cassette",
    "CassetteError": "chunktape.errors",
    "CassettePlayer": "chunktape.replay.player",
    "CassetteWarning": "chunktape.errors",
    "Chunk": "chunktape.cassette",
    "ChunktapeError": "chunktape.errors",
    "ChunktapeFixture": "chunktape.pytest_plugin.fixture",
    "Close": "chunktape.cassette",
    "CorsPolicy": "chunktape.replay.cors",
    "Delay": "chunktape.knobs",
    "Fault": "chunktape.knobs",
    "FilesystemPersister": "chunktape.persist",
    "Handshake": "chunktape.cassette",
    "ImportFileError": "chunktape.errors",
    "Interaction": "chunktape.cassette",
    "KnobError": "chunktape.errors",
    "MatchRules": "chunktape.matching",
    "Message": "chunktape.cassette",
    "NoMatchError": "chunktape.errors",
    "Recorder": "chunktape.recorder",
    "RecordingError": "chunktape.errors",
    "Redactor": "chunktape.redaction",
    "ReplayPolicy": "chunktape.knobs",
    "ReplayServer": "chunktape.replay.server",
    "ReplayTransport": "chunktape.replay.transport",
    "Request": "chunktape.cassette",
    "Response": "chunktape.cassette",
    "Schedule": "chunktape.schedule",
    "Session": "chunktape.cassette",
    "Split": "chunktape.knobs",
    "Step": "chunktape.schedule",
    "StreamClock": "chunktape.assertions",
    "build_schedule": "chunktape.schedule",
    "diff_cassettes": "chunktape.views.diff",
    "load_cassette": "chunktape.persist",
    "observe": "chunktape.assertions",
    "read_har": "chunktape.interchange.har",
    "read_vcr": "chunktape.interchange.vcr",
    "save_cassette": "chunktape.persist",
    "write_har": "chunktape.interchange.har",
}
"""Each public name and the module it lives in (a contract test keeps this, the imports above
and `__all__` the same three lists)."""


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'chunktape' has no attribute {name!r}")
    import importlib

    _give_the_model_its_storage()
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # resolved once
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


def _give_the_model_its_storage() -> None:
    """The model receives its storage (architecture.md): cassettes load and save as YAML files."""
    from chunktape.cassette import Cassette

    if Cassette.persister is None:
        from chunktape.persist import FilesystemPersister

        Cassette.persister = FilesystemPersister()


__all__ = [
    "AsyncReplayTransport",
    "Cassette",
    "CassetteError",
    "CassettePlayer",
    "CassetteWarning",
    "Chunk",
    "ChunktapeError",
    "ChunktapeFixture",
    "Close",
    "CorsPolicy",
    "Delay",
    "Fault",
    "FilesystemPersister",
    "Handshake",
    "ImportFileError",
    "Interaction",
    "KnobError",
    "MatchRules",
    "Message",
    "NoMatchError",
    "Recorder",
    "RecordingError",
    "Redactor",
    "ReplayPolicy",
    "ReplayServer",
    "ReplayTransport",
    "Request",
    "Response",
    "Schedule",
    "Session",
    "Split",
    "Step",
    "StreamClock",
    "build_schedule",
    "diff_cassettes",
    "load_cassette",
    "observe",
    "read_har",
    "read_vcr",
    "save_cassette",
    "write_har",
]
