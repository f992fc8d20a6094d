"""chunktape: record streaming HTTP exchanges with every chunk's boundaries and timing,
and replay them deterministically, at the recorded rhythm or with chaos injected.

Data flows one way:

    wire -> recorder/ -> Interaction -> redaction -> persist/ (cassette file)
    persist/ -> matching -> schedule (policy + seed) -> replay/ (server or transport) -> client
"""

from typing import TYPE_CHECKING

from chunktape.cassette import Cassette, Chunk, Close, Handshake, Interaction, Message, Request, Response, Session
from chunktape.errors import CassetteError, CassetteWarning, ChunktapeError, KnobError, NoMatchError, RecordingError
from chunktape.knobs import Delay, Fault, ReplayPolicy, Split
from chunktape.matching import MatchRules
from chunktape.persist import FilesystemPersister, load_cassette, save_cassette
from chunktape.redaction import Redactor
from chunktape.replay.player import CassettePlayer
from chunktape.replay.transport import AsyncReplayTransport, ReplayTransport
from chunktape.schedule import Schedule, Step, build_schedule

if TYPE_CHECKING:
    from chunktape.pytest_plugin.assertions import StreamClock, observe
    from chunktape.recorder import Recorder
    from chunktape.replay.server import ReplayServer

__version__ = "0.1.0"

# The model receives its storage: cassettes load and save as YAML files unless told otherwise.
Cassette.persister = FilesystemPersister()

# The edges load on first use, so `import chunktape` never pulls in uvicorn or pytest.
_LAZY = {
    "ReplayServer": "chunktape.replay.server",
    "Recorder": "chunktape.recorder",
    "StreamClock": "chunktape.pytest_plugin.assertions",
    "observe": "chunktape.pytest_plugin.assertions",
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'chunktape' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


__all__ = [
    "AsyncReplayTransport",
    "Cassette",
    "CassetteError",
    "CassettePlayer",
    "CassetteWarning",
    "Chunk",
    "ChunktapeError",
    "Close",
    "Delay",
    "Fault",
    "FilesystemPersister",
    "Handshake",
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
    "load_cassette",
    "observe",
    "save_cassette",
]
