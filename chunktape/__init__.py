"""chunktape: record streaming HTTP exchanges with every chunk's boundaries and timing,
and replay them deterministically, at the recorded rhythm or with chaos injected.

Data flows one way:

    wire -> recorder/ -> Interaction -> redaction -> cassette file
    cassette file -> matching -> schedule (policy + seed) -> replay/ (server or transport) -> client
"""

from chunktape.cassette import Cassette, Chunk, Interaction, Request, Response
from chunktape.cassette_file import load_cassette, save_cassette
from chunktape.errors import CassetteError, ChunktapeError, KnobError, NoMatchError, RecordingError
from chunktape.knobs import Delay, Fault, ReplayPolicy, Split
from chunktape.matching import MatchRules
from chunktape.redaction import Redactor
from chunktape.replay.player import CassettePlayer
from chunktape.replay.transport import AsyncReplayTransport, ReplayTransport
from chunktape.schedule import Schedule, Step, build_schedule

__version__ = "0.1.0"

__all__ = [
    "AsyncReplayTransport",
    "Cassette",
    "CassetteError",
    "CassettePlayer",
    "Chunk",
    "ChunktapeError",
    "Delay",
    "Fault",
    "Interaction",
    "KnobError",
    "MatchRules",
    "NoMatchError",
    "RecordingError",
    "Redactor",
    "ReplayPolicy",
    "ReplayTransport",
    "Request",
    "Response",
    "Schedule",
    "Split",
    "Step",
    "build_schedule",
    "load_cassette",
    "save_cassette",
]
