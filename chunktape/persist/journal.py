"""The append/recover protocol of a cassette file: the one place that decides what a crash
left behind, and the one way every process writes a cassette.

Long on purpose: the marker, the lock, recovery and starting afresh are one protocol, and
reading it whole is how one checks it.

The file is its own journal: interactions are its last key, so each new one is added with
one write and an fsync. While an append runs, a marker beside the file, `<cassette>.recording`,
holds the byte offset where the append began; it is written and fsynced before the append
and emptied once the append is synced (SQLite's hot journal), and removed when the recording
ends. So the rule is exact:

- no marker (or an empty one): the file is read strictly; any defect, also in its last interaction, is a
  refusal `path:line: what is wrong`;
- a marker left by a writer that died: the bytes before its offset are read strictly, and
  the bytes from it on are the interrupted append. If the whole file reads, the append had
  finished; if not, those bytes are set aside, and the recovery says what and where
  (`path:LINE`). A recorder appending again cuts them off, saying so.

Every writer of a cassette holds an exclusive `flock` on the cassette's folder while it
appends, creates, replaces or recovers it; readers hold a shared one while they read (a
live append, always short, is waited for, so a marker seen under the lock is a dead
writer's). The folder, because it exists before the file does: two processes creating one
new cassette are then as safe as two appending to it.

A recording starts its cassette afresh (rather than adding to it) at its first write, so a
recording that captured nothing writes no file, and never twice: with `once_per_run`, a
folder shared by every process of one pytest run, only the run's first writer of a cassette
starts it afresh; without, a writer starts afresh only if the file is still the one it found
when it began (another recorder that wrote since is added to, not replaced).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from chunktape.errors import CassetteError, CassetteWarning
from chunktape.persist.schema import Item
from chunktape.persist.storage import (
    append_text,
    check_writable,
    read_bytes,
    replace_file,
    sync_directory,
    truncate_file,
)
from chunktape.persist.streaming import stream_cassette
from chunktape.persist.text import HEAD, appendable_end, dumps_items, items_of

logger = logging.getLogger("chunktape.recorder")

MARKER_SUFFIX = ".recording"


def marker_path(path: str) -> str:
    """Where the marker of an append in flight lives: beside the cassette."""
    return path + MARKER_SUFFIX


@dataclass(frozen=True)
class TornTail:
    """An append a crash interrupted: where it began, its size, and why it does not read."""

    line: int
    offset: int
    size_bytes: int
    problem: str

    def describe(self, path: str, kept: int) -> str:
        return (
            f"{path}:{self.line}: an interrupted recording left an incomplete interaction here "
            f"({self.size_bytes} bytes from byte {self.offset}, where {marker_path(path)} says the append "
            f"began; {self.problem}); set them aside and kept the {kept} interaction{'' if kept == 1 else 's'} before"
        )


@dataclass
class Loaded:
    """What a cassette file holds: its interactions, and an interrupted append set aside, if any."""

    interactions: list[Item] = field(default_factory=list)
    """HTTP interactions and realtime sessions, in file order."""
    torn: TornTail | None = None


# ------------------------------------------------------------------ the lock


@contextlib.contextmanager
def _folder_lock(path: str, *, exclusive: bool) -> Iterator[None]:
    """`flock` on the cassette's folder: exclusive to write the cassette, shared to read it."""
    directory = os.path.dirname(os.path.abspath(path))
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        yield  # no folder: no file either, and the read says so
        return
    try:
        with contextlib.suppress(OSError):  # a filesystem without locks (some network mounts): go on
            fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _marker_offset(path: str) -> int | None:
    """The offset a dead writer's marker holds; None without one, or with an empty one
    (between appends, or the writer died before its append began)."""
    marker = marker_path(path)
    try:
        with open(marker, "rb") as handle:
            content = handle.read(64)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise CassetteError(marker, None, f"cannot read the recording marker ({exc.strerror})") from None
    if not content.strip():
        return None
    text = content.decode("ascii", "replace").strip()
    if not text.isdigit():
        raise CassetteError(
            marker,
            1,
            "is not a chunktape recording marker (it holds the byte offset where an append began); "
            "if no recording is running, delete it",
        )
    return int(text)


# ------------------------------------------------------------------ reading


def _strict(raw: bytes, path: str) -> list[Item]:
    return items_of(raw, path)


def _recovered(raw: bytes, path: str, offset: int) -> Loaded:
    """What a file holds after a writer died while appending at `offset`."""
    if offset >= len(raw):
        return Loaded(_strict(raw, path))
    try:
        return Loaded(_strict(raw, path))  # the append had finished; only the marker was left
    except CassetteError as whole:
        problem = whole.problem
    kept = _strict(raw[:offset], path)
    line = raw[:offset].count(b"\n") + 1
    return Loaded(kept, TornTail(line, offset, len(raw) - offset, problem))


def read_file(path: str) -> Loaded:
    """Read and validate a cassette file by the rule above; CassetteError with `path:line`
    for any defect that no interrupted recording explains."""
    with _folder_lock(path, exclusive=False):
        offset = _marker_offset(path)
        if offset is None:
            streamed = stream_cassette(path)  # the usual case: chunktape's layout, read fast
            if streamed is not None:
                return Loaded(streamed)
            return Loaded(_strict(read_bytes(path), path))
        return _recovered(read_bytes(path), path, offset)


def read_cassette(raw: bytes | str, path: str = "<cassette>") -> Loaded:
    """Read and validate a cassette's text strictly (text has no marker: nothing is torn)."""
    return Loaded(items_of(raw, path))


def load_items(path: str) -> list[Item]:
    """The items of a cassette file; an interrupted append set aside is reported as a
    CassetteWarning that says what and where."""
    loaded = read_file(path)
    if loaded.torn is not None:
        warnings.warn(
            CassetteWarning(
                loaded.torn.describe(path, len(loaded.interactions))
                + "; `chunktape record --append` cuts them off, or delete the file from that line on"
            ),
            stacklevel=3,
        )
    return loaded.interactions


# ------------------------------------------------------------------ writing


def replace_cassette(path: str, text: str) -> None:
    """Write `text` as the whole cassette, under the lock; a dead writer's marker goes with
    the old file."""
    with _folder_lock(path, exclusive=True):
        replace_file(path, text)
        _remove_marker(path)


def _remove_marker(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(marker_path(path))


def _open_marker(path: str) -> int:
    """The marker, empty or as a dead writer left it; created (its name made durable) if missing."""
    marker = marker_path(path)
    try:
        try:
            fd = os.open(marker, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            return os.open(marker, os.O_RDWR)
        sync_directory(os.path.dirname(os.path.abspath(path)))
        return fd
    except OSError as exc:
        raise CassetteError(marker, None, f"cannot write the recording marker ({exc.strerror})") from None


def _append_marked(path: str, text: str) -> None:
    """One append, marked: the offset it begins at is in the marker, synced, before the
    append starts, and the marker is emptied once the append is synced (an empty marker, or
    none, says no append is in flight). Two syncs per append: the marker's and the file's."""
    offset = os.path.getsize(path)
    fd = _open_marker(path)
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{offset}\n".encode("ascii"), 0)
        os.fsync(fd)
        try:
            append_text(path, text)
        except CassetteError:
            with contextlib.suppress(OSError):
                if os.path.getsize(path) == offset:  # cut back to where it was: nothing in flight
                    os.ftruncate(fd, 0)
            raise
        os.ftruncate(fd, 0)  # not synced: a crash that loses this leaves a marker the whole file outreads
    finally:
        os.close(fd)


def _identity(path: str) -> tuple[int, int, int, int] | None:
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return None
    return (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns)


class Journal:
    """One recording's side of the protocol: what the recorder's writer thread calls. Not
    thread-safe (one writer thread uses it); safe against other processes by the lock."""

    def __init__(self, path: str, *, append: bool = False, once_per_run: str | None = None) -> None:
        """Checks the folder is writable; with `append`, checks what the file holds now
        (CassetteError on any defect), cutting off an append a dead writer left."""
        self.path = path
        self._append = append
        self._once_per_run = once_per_run
        check_writable(path)
        self._found = _identity(path)
        self._started = False
        self._appendable_at: tuple[int, int] | None = None  # (dev, inode) known to end appendably
        if append and self._found is not None:
            if self._found[2] >= 1_000_000:  # it takes a moment: say what is happening
                logger.info("reading %s (%.1f MB) to append to it", path, self._found[2] / 1e6)
            with _folder_lock(path, exclusive=True):
                self._recover()
                self._read_strictly()  # bad input is reported before anything records

    def add(self, text: str) -> None:
        """Add the YAML items in `text` to the cassette, durably, under the lock."""
        with _folder_lock(self.path, exclusive=True):
            self._recover()
            if self._starts_afresh() or not os.path.exists(self.path):
                replace_file(self.path, HEAD + text)
                self._started = True
                self._appendable_at = _identity(self.path)[:2]  # type: ignore[index]
                return
            self._started = True
            self._make_appendable()
            _append_marked(self.path, text)

    def rewrite(self, redo: Callable[[list[Item]], str]) -> None:
        """Replace what the file holds by `redo(items)` (new secret names, say); nothing to do
        before this recording's first write, or when there is no file."""
        if not (self._started or self._append):
            return
        with _folder_lock(self.path, exclusive=True):
            self._recover()
            if not os.path.exists(self.path):
                return
            replace_file(self.path, redo(self._read_strictly()))
            self._appendable_at = None

    def close(self) -> None:
        """The recording is over: remove the marker if it is empty (another process still
        recording into the cassette makes it again at its next append)."""
        with _folder_lock(self.path, exclusive=True), contextlib.suppress(OSError):
            if os.path.getsize(marker_path(self.path)) == 0:
                os.unlink(marker_path(self.path))

    # -- internals

    def _starts_afresh(self) -> bool:
        if self._append or self._started:
            return False
        if self._once_per_run is None:
            return _identity(self.path) == self._found  # still the file found at the start
        mark = os.path.join(self._once_per_run, hashlib.sha256(os.path.abspath(self.path).encode()).hexdigest())
        try:
            os.close(os.open(mark, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except FileExistsError:
            return False  # an earlier test of this run started it: add to it
        return True

    def _read_strictly(self) -> list[Item]:
        streamed = stream_cassette(self.path)
        return streamed if streamed is not None else items_of(read_bytes(self.path), self.path)

    def _recover(self) -> None:
        """Cut off an append a dead writer left (under the lock: no live writer is mid-append)."""
        offset = _marker_offset(self.path)
        if offset is None:
            return  # none, or empty: no append in flight
        if os.path.exists(self.path):
            loaded = _recovered(read_bytes(self.path), self.path, offset)
            if loaded.torn is not None:
                logger.warning("%s", loaded.torn.describe(self.path, len(loaded.interactions)) + "; cut them off")
                truncate_file(self.path, offset)
        _remove_marker(self.path)
        self._appendable_at = None

    def _make_appendable(self) -> None:
        """Make sure a new item can simply be appended: a file in another layout (hand-written,
        flow style, `interactions: []`) is checked strictly and rewritten once in chunktape's own."""
        here = _identity(self.path)
        if here is None or here[:2] == self._appendable_at:
            return
        streamed = stream_cassette(self.path)
        if not streamed:  # another layout, or no items yet
            raw = read_bytes(self.path)
            items = items_of(raw, self.path)
            if not (items and appendable_end(raw.decode("utf-8"))):
                replace_file(self.path, dumps_items(items) if items else HEAD)
                here = _identity(self.path)
        self._appendable_at = here[:2] if here is not None else None
