"""Cassette files on disk: read whole, replace atomically, append durably, as any editor would.

Replacing writes a temp file beside the target, fsyncs it and renames it over: a crash
leaves the old file or the new one, never half of one. A new file takes the umask (0644
under umask 022) and a rewritten one keeps its mode (a `chmod 664` survives re-recording).
Appending adds text at the end with one write and an fsync; if the write fails (a full
disk), the file is cut back to its old length, so a failed append leaves the file as it was.
Every writer creates the folders it is missing.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile

from chunktape.errors import CassetteError


def read_bytes(path: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except IsADirectoryError:
        raise CassetteError(path, None, "is a directory, not a cassette file; pass a .yaml file") from None
    except FileNotFoundError:
        raise CassetteError(path, None, "no such cassette file; record it first or check the path") from None
    except OSError as exc:
        raise CassetteError(path, None, f"cannot read the cassette ({exc.strerror})") from None


def _cannot_write(path: str, exc: OSError, outcome: str) -> CassetteError:
    return CassetteError(path, None, f"cannot write the cassette ({exc.strerror}); {outcome}")


def replace_file(path: str, text: str) -> None:
    """Write `text` as the whole file, atomically and durably."""
    directory = os.path.dirname(os.path.abspath(path))
    tmp_path = os.path.join(directory, f".{os.path.basename(path)}.{secrets.token_hex(6)}.tmp")
    try:
        os.makedirs(directory, exist_ok=True)
        # 0o666 here lets the kernel apply the umask, as it does for any editor's new file
        fd = os.open(tmp_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as exc:
        raise _cannot_write(path, exc, "check the directory exists and is writable") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            with contextlib.suppress(FileNotFoundError):
                os.fchmod(handle.fileno(), os.stat(path).st_mode & 0o7777)  # a rewrite keeps the mode
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_path, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp_path)
        raise _cannot_write(path, exc, "the previous file, if any, is untouched") from None
    sync_directory(directory)


def sync_directory(directory: str) -> None:
    """Make a created, renamed or removed name in `directory` durable."""
    with contextlib.suppress(OSError):
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def append_text(path: str, text: str) -> None:
    """Add `text` at the end of the file and fsync; on failure the file keeps its old length."""
    data = text.encode("utf-8")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    except OSError as exc:
        raise _cannot_write(path, exc, "the previous file, if any, is untouched") from None
    try:
        size = os.fstat(fd).st_size
        try:
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, size)
                os.fsync(fd)
            raise _cannot_write(path, exc, "the previous file, if any, is untouched") from None
    finally:
        os.close(fd)


def truncate_file(path: str, size: int) -> None:
    """Cut the file to `size` bytes, durably (drops an interrupted append)."""
    try:
        with open(path, "r+b") as handle:
            handle.truncate(size)
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as exc:
        raise _cannot_write(path, exc, "the previous file is untouched") from None


def check_writable(path: str) -> None:
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
