"""The one owner of a cassette file while recording: every finished interaction goes to disk at once,
by appending it, so the cost of each is the same whether the cassette holds 10 or 5,000.

The file is the journal: a cassette's interactions are the last thing in it, one YAML item
each, so a new one is added with one write and an fsync, never by rewriting what is already
there. That I/O must never run on mitmproxy's event loop, where it would stall every other
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
from chunktape.persist import (
    TornTail,
    appendable_end,
    dumps_items,
    interaction_text,
    read_cassette,
    stream_cassette,
)
from chunktape.persist.storage import append_text, check_writable, read_bytes, replace_file, truncate_file
from chunktape.redaction import Redactor

logger = logging.getLogger("chunktape.recorder")

_EMPTY = "version: 1\ninteractions: []\n"
_SAY_READING_FROM_BYTES = 1_000_000
_HEAD = "version: 1\ninteractions:\n"


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

    def __init__(self, path: str, *, redact: Iterable[str] = (), append: bool = False) -> None:
        """Opens the cassette: checks the directory is writable; with `append`, checks what the
        file holds (CassetteError on bad input) and keeps it, else starts an empty cassette,
        written at once so a recording always leaves a valid file."""
        self.path = path
        self._redact = tuple(redact)
        self._redo_redaction = False
        check_writable(path)
        self._appendable = False
        if append and os.path.exists(path):
            self._open_existing()
        else:
            replace_file(path, _EMPTY)
        self._pending: list[_Pending] = []
        self._added = 0
        self._closing = False
        self._failures = 0
        self._cond = threading.Condition()
        CassetteWriter.opened_paths.add(os.path.abspath(path))
        self._thread = threading.Thread(target=self._run, name="chunktape-cassette-writer", daemon=True)
        self._thread.start()

    def _open_existing(self) -> None:
        size = os.path.getsize(self.path)
        if size >= _SAY_READING_FROM_BYTES:  # it takes a moment: say what is happening
            logger.info("reading %s (%.1f MB) to append to it", self.path, size / 1e6)
        streamed = stream_cassette(self.path)  # the usual case: chunktape's layout, read fast
        if streamed is not None:
            self._appendable = bool(streamed)
            return
        raw = read_bytes(self.path)
        loaded = read_cassette(raw, self.path)
        if loaded.torn is not None:
            _drop_torn_tail(self.path, loaded.torn, len(loaded.interactions))
            raw = raw[: loaded.torn.offset]
        text = raw.decode("utf-8")
        if appendable_end(text):
            self._appendable = True
        elif loaded.interactions:
            # another layout (hand-written, flow style...): rewritten once in chunktape's own
            replace_file(self.path, dumps_items(loaded.interactions))
            self._appendable = True
        # an empty cassette gets its first interaction by a (small) rewrite

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
        if not self._appendable:
            return  # nothing written yet
        written = stream_cassette(self.path)
        if written is None:
            written = read_cassette(read_bytes(self.path), self.path).interactions
        replace_file(self.path, dumps_items(written, redact=names))

    def _write(self, text: str) -> None:
        if self._appendable:
            append_text(self.path, text)
            return
        replace_file(self.path, _HEAD + text)  # the first interaction of an empty cassette
        self._appendable = True


def _drop_torn_tail(path: str, torn: TornTail, kept: int) -> None:
    logger.warning(
        "%s:%d: the last interaction was cut off mid-write by an earlier crash (%s); removed its %d bytes, "
        "kept the %d before it",
        path,
        torn.line,
        torn.problem,
        torn.size_bytes,
        kept,
    )
    truncate_file(path, torn.offset)
