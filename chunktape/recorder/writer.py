"""The one owner of a cassette file while recording: every finished interaction goes to disk at once.

Saving rewrites the whole file atomically (save_cassette), which costs a YAML dump and an
fsync. That must never run on mitmproxy's event loop, where it would stall every other
stream's chunks, so a single writer thread does it. Interactions that finish while a save
is running are coalesced into the next save, so 20 streams ending together cost a couple
of writes, not 20. Each `add` returns a future that resolves once that interaction is on
disk; the addon awaits it before letting the client see the end of the response, so a
client that saw a response end knows it survives a SIGKILL of the recorder.
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
from collections.abc import Iterable
from concurrent.futures import Future
from typing import ClassVar

from chunktape.cassette import Cassette, Interaction
from chunktape.cassette_file import load_cassette, save_cassette
from chunktape.errors import CassetteError

logger = logging.getLogger("chunktape.recorder")


class WriterClosed(RuntimeError):
    """An interaction arrived after the writer closed: the recorder is stopping."""


class CassetteWriter:
    """Appends interactions to one cassette file; thread-safe, one background writer thread."""

    opened_paths: ClassVar[set[str]] = set()
    """Every cassette opened in this process, so mitmproxy re-configuring (or reloading)
    the addon appends to what it already recorded instead of starting over."""

    def __init__(self, path: str, *, redact: Iterable[str] = (), append: bool = False) -> None:
        """Opens the cassette: checks the directory is writable, keeps the existing
        interactions when `append` is true, and writes the file once right away so a
        recording always leaves a valid cassette. Raises CassetteError on bad input."""
        self.path = path
        self.redact = tuple(redact)  # may be replaced while recording; read at each save
        existing: list[Interaction] = []
        if append and os.path.exists(path):
            existing = list(load_cassette(path).interactions)
        _check_writable(path)
        self._interactions = existing
        self._kept = len(existing)
        self._added = 0
        self._written = 0
        self._waiters: list[tuple[int, Future[None]]] = []
        self._closing = False
        self._failures = 0
        self._cond = threading.Condition()
        save_cassette(Cassette(list(existing)), path, redact=self.redact)
        CassetteWriter.opened_paths.add(os.path.abspath(path))
        self._thread = threading.Thread(target=self._run, name="chunktape-cassette-writer", daemon=True)
        self._thread.start()

    @property
    def recorded(self) -> int:
        """How many interactions this recording added (not counting appended-to ones)."""
        with self._cond:
            return len(self._interactions) - self._kept

    @property
    def failures(self) -> int:
        """How many saves failed (disk full, directory removed...); each was logged."""
        with self._cond:
            return self._failures

    def add(self, interaction: Interaction) -> Future[None]:
        """Queue `interaction` for the file; the future resolves once it is on disk."""
        future: Future[None] = Future()
        with self._cond:
            if self._closing:
                future.set_exception(WriterClosed("the cassette writer is closed"))
                return future
            self._interactions.append(interaction)
            self._added += 1
            self._waiters.append((self._added, future))
            self._cond.notify_all()
        return future

    def flush(self, timeout_s: float | None = None) -> bool:
        """Wait until everything added so far is on disk (or failed to get there)."""
        with self._cond:
            target = self._added
            return self._cond.wait_for(lambda: self._written >= target, timeout=timeout_s)

    def close(self, timeout_s: float | None = 30.0) -> None:
        """Flush, then stop the writer thread. Idempotent."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout_s)

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._added > self._written or self._closing)
                if self._added == self._written:
                    return  # closing, and nothing left to write
                generation = self._added
                snapshot = list(self._interactions)
            error: BaseException | None = None
            try:
                save_cassette(Cassette(snapshot), self.path, redact=self.redact)
            except Exception as exc:
                error = exc
                logger.error("%s", exc)
            with self._cond:
                if error is not None:
                    self._failures += 1
                self._written = generation
                done = [future for gen, future in self._waiters if gen <= generation]
                self._waiters = [(gen, future) for gen, future in self._waiters if gen > generation]
                self._cond.notify_all()
            for future in done:
                if error is None:
                    future.set_result(None)
                else:
                    future.set_exception(error)


def _check_writable(path: str) -> None:
    """Fail early and clearly, before any client connects, if the cassette cannot be written."""
    if os.path.isdir(path):
        raise CassetteError(path, None, "is a directory; give the cassette a file name such as cassettes/chat.yaml")
    directory = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(directory, exist_ok=True)
        with tempfile.TemporaryFile(dir=directory):
            pass
    except OSError as exc:
        raise CassetteError(
            path, None, f"cannot write the cassette here ({exc.strerror}); check the directory exists and is writable"
        ) from None
