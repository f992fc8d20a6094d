"""Records an MCP server spoken to over stdio: `chunktape record --stdio --cassette mcp.yaml -- COMMAND`.

chunktape starts the server COMMAND and stands between it and the client that started
chunktape: each line on our stdin goes to the server's stdin, each line on the server's
stdout to ours, unchanged and flushed at once, and each is noted with its time since the
server was started. The server's stderr is ours. When the server's stdout ends (the client
closed stdin and the server exited, or it crashed) the whole exchange is one session
(`Handshake(kind="stdio")`), written to the cassette with secrets redacted. Nothing of
chunktape's own is ever written to stdout: that is the protocol's.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from types import FrameType
from typing import BinaryIO

from chunktape.cassette import Cassette, Close, Direction, Handshake, Message, Request, Session
from chunktape.errors import RecordingError
from chunktape.persist import load_cassette, save_cassette
from chunktape.secret_names import mask_secrets


def record_stdio(
    command: Sequence[str],
    cassette_path: str,
    *,
    stdin: BinaryIO,
    stdout: BinaryIO,
    log: Callable[[str], None],
    append: bool = False,
    redact: Sequence[str] = (),
) -> int:
    """Run the server `command` between `stdin`/`stdout` and it, record the session, and
    return the server's exit status (128+N when a signal N ended it)."""
    if not command:
        raise RecordingError("record --stdio needs the server's command after --, as in -- python server.py")
    earlier = load_cassette(cassette_path) if append and os.path.exists(cassette_path) else Cassette()
    started = time.perf_counter()
    try:
        server = subprocess.Popen(list(command), stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    except OSError as exc:
        raise RecordingError(
            f"cannot start the MCP server {command[0]!r}: {exc.strerror or exc}; check the command after --"
        ) from None
    shown = mask_secrets(shlex.join(command))  # a key given as an argument stays out of logs and cassettes
    log(f"recording the stdio session of {shown} to {cassette_path}")
    messages: list[Message] = []
    lock = threading.Lock()
    client_closed_at: list[float] = []

    def note(sender: Direction, line: bytes) -> None:
        at = time.perf_counter() - started
        data = line.rstrip(b"\r\n")
        if data.strip():
            with lock:
                messages.append(Message(at_s=at, sender=sender, frame="text", data=data))

    def client_to_server() -> None:
        assert server.stdin is not None
        try:
            for line in iter(stdin.readline, b""):
                note("client", line)
                server.stdin.write(line)
                server.stdin.flush()
        except (BrokenPipeError, ValueError, OSError):
            pass  # the server is gone: its side ends the session
        client_closed_at.append(time.perf_counter() - started)
        with contextlib.suppress(OSError):
            server.stdin.close()

    def stop(signum: int, frame: FrameType | None) -> None:
        """The client gave up waiting (SIGTERM after closing stdin): end the server, keep the session."""
        if server.poll() is None:
            server.terminate()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    threading.Thread(target=client_to_server, name="chunktape-stdio-client", daemon=True).start()
    try:
        assert server.stdout is not None
        for line in iter(server.stdout.readline, b""):
            note("server", line)
            try:
                stdout.write(line)
                stdout.flush()
            except (BrokenPipeError, ValueError):
                pass  # the client is gone; the server's last words are still recorded
        ended_at = time.perf_counter() - started
        status = server.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    with lock:
        recorded = tuple(sorted(messages, key=lambda message: message.at_s))
    by_client = bool(client_closed_at) and client_closed_at[0] <= ended_at
    close = Close(
        at_s=max(ended_at, recorded[-1].at_s if recorded else 0.0),
        by="client" if by_client else "server",
        code=1000 if by_client or status == 0 else None,
        reason="" if by_client or status == 0 else f"the server exited with status {status}",
    )
    url = "stdio:" + shown
    earlier.append(Session(Request("GET", url), Handshake(kind="stdio"), recorded, close))
    save_cassette(earlier, cassette_path, redact=redact)
    count = len(recorded)
    log(f"recorded {count} message{'' if count == 1 else 's'} to {cassette_path}")
    return status if status >= 0 else 128 - status
