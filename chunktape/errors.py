"""The one exception hierarchy: every message says what happened, where, and what to do."""

from __future__ import annotations

from chunktape.secret_names import mask_secrets


class ChunktapeError(Exception):
    """Base of every error chunktape raises on purpose."""


class CassetteError(ChunktapeError):
    """A cassette file is missing, unreadable or invalid."""

    def __init__(self, path: str, line: int | None, problem: str) -> None:
        self.path = path
        self.line = line
        # it may quote a value from the file: never a live key, never a line break
        self.problem = mask_secrets(problem).replace("\r", "\\r").replace("\n", "\\n")
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {self.problem}")


class KnobError(ChunktapeError, ValueError):
    """A timing/chaos knob string (speed, split, delay, fault, seed) is malformed.

    `reason` says what is wrong without repeating the value (`unknown split; did you mean
    utf8?`), for a message that names where the value was written (the pytest plugin's)."""

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason if reason is not None else message

    @classmethod
    def refuse(cls, verdict: str, what: str, value: object, advice: str) -> KnobError:
        """`bad split 'bytes:0': must be at least 1...`, with the reason `bad split; must be...`."""
        return cls(f"{verdict} {what} {value!r}: {advice}", reason=f"{verdict} {what}; {advice}")


class NoMatchError(ChunktapeError):
    """A request matched no recorded interaction; the message shows the closest one and the diff.

    `closest` and `differences` carry the same facts structured, for emitters that answer
    the miss in a machine-readable body (the replay server) or list misses (the plugin).
    """

    def __init__(self, message: str, *, closest: str | None = None, differences: tuple[str, ...] = ()) -> None:
        # misses are logged and shown in reports: a key-shaped string in a live body never is
        super().__init__(mask_secrets(message))
        self.closest = mask_secrets(closest) if closest is not None else None
        self.differences = tuple(mask_secrets(difference) for difference in differences)


class RecordingError(ChunktapeError):
    """The recorder could not start, reach the upstream, or write the cassette."""


class ImportFileError(ChunktapeError):
    """A file to import (vcrpy, HAR) is not what its importer reads: `path: where: what, and what to do`."""

    def __init__(self, path: str, where: str, problem: str) -> None:
        super().__init__(f"{path}: {where}: {problem}" if where else f"{path}: {problem}")


class BodyFormatError(ValueError):
    """A body mapping in a cassette cannot be turned back into bytes; the message says why
    (the persister turns it into a CassetteError naming the file and line)."""


class WriterClosedError(RuntimeError):
    """An interaction arrived after the cassette writer closed: the recorder is stopping."""


class CassetteWarning(UserWarning):
    """Something a user should see although nothing failed: a cassette loaded but not whole (a last
    interaction cut off mid-write was left out), or a key nobody named was redacted while recording."""


class CassetteAgeWarning(UserWarning):
    """A replayed cassette is older than its max_age (under max_age_action warn), or has no
    recorded_at to tell its age by."""
