"""The recorder's side of a cassette file: every finished interaction goes to disk at once,
by appending it, so the cost of each is the same whether the cassette holds 10 or 5,000.

How the file is appended to, started afresh, and recovered after a crash is the journal's
(`chunktape.persist.journal`): this module only queues and batches. That I/O must never run on mitmproxy's event loop, where it would stall every other
stream's chunks, so a single writer thread does it; interactions that finish while a write
is running go out together in the next one. Each `add` returns a future that resolves once
that interaction is on disk; the addon awaits it before letting the client see the end of
the response, so a client that saw a response end knows it survives a SIGKILL of the recorder.

Redaction happens once, on the writer thread, as an interaction's YAML is made: nothing
unredacted reaches the file, and mitmproxy's loop pays only for queueing. A write that fails (a full disk) leaves the file as it was, and the interaction
waits for the next write, so nothing finished is lost once there is room again.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable
from concurrent.futures import Future
from typing import ClassVar

from chunktape.cassette import Interaction, Session
from chunktape.errors import WriterClosedError
from chunktape.persist import Journal, dumps_items, interaction_text
from chunktape.redaction import Redactor

logger = logging.getLogger("chunktape.recorder")


class _Pending:
    """One item waiting for the file; its YAML is made once, on the writer thread."""

    def __init__(self, item: Interaction | Session, redact: tuple[str, ...], future: Future[None]) -> None:
        self.item = item
        self.redact = redact
        self.future = future
        self._text: str | None = None

    def text(self) -> str:
        if self._text is None:
            self._text = interaction_text(Redactor(self.redact).item(self.item))
        return self._text


class CassetteWriter:
    """Appends interactions to one cassette file; thread-safe, one background writer thread."""

    opened_paths: ClassVar[set[str]] = set()
    """Every cassette opened in this process, so mitmproxy re-configuring (or reloading)
    the addon appends to what it already recorded instead of starting over."""

    def __init__(
        self, path: str, *, redact: Iterable[str] = (), append: bool = False, once_per_run: str | None = None
    ) -> None:
        """Opens the cassette: checks the directory is writable; with `append`, checks what the
        file holds (CassetteError on bad input) and adds to it. Else the first write starts the
        cassette afresh (once per run with `once_per_run`; see the journal), and a recording
        that captures nothing writes no file."""
        self.path = path
        self._redact = tuple(redact)
        self._redo_redaction = False
        self._journal = Journal(path, append=append, once_per_run=once_per_run)
        self._pending: list[_Pending] = []
        self._added = 0
        self._closing = False
        self._failures = 0
        self._cond = threading.Condition()
        CassetteWriter.opened_paths.add(os.path.abspath(path))
        self._thread = threading.Thread(target=self._run, name="chunktape-cassette-writer", daemon=True)
        self._thread.start()

    @property
    def redact(self) -> tuple[str, ...]:
        """The extra secret names; setting new ones (mitmproxy's options changed while
        recording) also redacts them in what is already written, with one rewrite."""
        return self._redact

    @redact.setter
    def redact(self, names: Iterable[str]) -> None:
        names = tuple(names)
        with self._cond:
            if names == self._redact:
                return
            self._redact = names
            self._redo_redaction = True
            self._cond.notify_all()

    @property
    def recorded(self) -> int:
        """How many interactions this recording added (not counting appended-to ones)."""
        with self._cond:
            return self._added

    @property
    def failures(self) -> int:
        """How many writes failed (disk full, directory removed...); each was logged."""
        with self._cond:
            return self._failures

    def add(self, interaction: Interaction | Session) -> Future[None]:
        """Queue `interaction` for the file; the future resolves once it is on disk. Cheap for
        the caller (mitmproxy's event loop): redacting and writing YAML happen on the writer
        thread, with the secret names in force now."""
        future: Future[None] = Future()
        with self._cond:
            if self._closing:
                future.set_exception(WriterClosedError("the cassette writer is closed"))
                return future
            self._added += 1
            self._pending.append(_Pending(interaction, self._redact, future))
            self._cond.notify_all()
        return future

    def flush(self, timeout_s: float | None = None) -> bool:
        """Wait until everything added so far is on disk (or failed to get there)."""
        with self._cond:
            return self._cond.wait_for(lambda: all(entry.future.done() for entry in self._pending), timeout=timeout_s)

    def close(self, timeout_s: float | None = 30.0) -> None:
        """Flush, then stop the writer thread. Idempotent."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout_s)
        if not self._thread.is_alive():
            self._journal.close()

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._has_new_work() or self._redo_redaction or self._closing)
                if not self._has_new_work() and not self._redo_redaction:
                    return  # closing, and nothing new to write
                batch = list(self._pending)
                redo, self._redo_redaction = self._redo_redaction, False
                names = self._redact
            error: Exception | None = None
            try:
                if redo:
                    self._redact_what_is_written(names)
                if batch:
                    self._write("".join(entry.text() for entry in batch))
            except Exception as exc:
                error = exc
                logger.error("%s", exc)
            with self._cond:
                if error is None:
                    del self._pending[: len(batch)]
                else:
                    self._failures += 1
                    if self._closing:
                        self._pending.clear()  # tried once more at the close: give up, it was logged
                self._cond.notify_all()
            for entry in batch:
                future = entry.future
                if future.done():
                    continue  # failed before; written now with the rest
                if error is None:
                    future.set_result(None)
                else:
                    future.set_exception(error)

    def _has_new_work(self) -> bool:
        """Something never tried yet. Interactions whose write failed wait for the next
        new one (or the close) to be tried again, rather than spinning on a full disk."""
        return any(not entry.future.done() for entry in self._pending) or (self._closing and bool(self._pending))

    def _redact_what_is_written(self, names: tuple[str, ...]) -> None:
        self._journal.rewrite(lambda written: dumps_items(written, redact=names))

    def _write(self, text: str) -> None:
        self._journal.add(text)
