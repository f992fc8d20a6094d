"""Plays an MCP server recorded over stdio (`chunktape record --stdio`) on stdin and stdout.

The MCP client starts `chunktape serve --stdio mcp.yaml` as if it were the server. Replay is
causal, as for WebSocket sessions (chunktape.session_script): each server line is written a
recorded gap after the client line it followed, so the server's start-up time is part of the
first answer's wait. Each client line must be the recorded one (JSON compared canonically,
its JSON-RPC `id` left out); each reply carries the id of the live request it answers. stdout
carries protocol lines only: whatever chunktape says goes to `log` (stderr).

Exit status: 0 when the client closed stdin (or the recorded server ended cleanly), 1 when the
recorded server crashed or `fault=cut:N` cut it, 2 when the client sent what was not recorded
(after a JSON-RPC error reply naming the difference, so the client raises rather than waits).
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable
from typing import BinaryIO

from chunktape.cassette import Session
from chunktape.jsonrpc import RpcId, reply_id, request_id, with_id
from chunktape.knobs import ReplayPolicy
from chunktape.matching import MatchRules
from chunktape.session_script import build_script, message_differences

EXIT_CLEAN, EXIT_CRASHED, EXIT_MISMATCH = 0, 1, 2
MISMATCH_ERROR_CODE = -32603
"""JSON-RPC internal error: the reply a client gets to a request the recording does not hold."""


class StdioPlayer:
    """One session played once, on `stdin` and `stdout` (binary streams)."""

    def __init__(
        self,
        session: Session,
        policy: ReplayPolicy,
        rules: MatchRules,
        stdin: BinaryIO,
        stdout: BinaryIO,
        log: Callable[[str], None],
    ) -> None:
        self.session, self.policy, self.rules = session, policy, rules
        self.stdin, self.stdout, self.log = stdin, stdout, log
        self.script = build_script(session, policy)
        self._changed = threading.Condition()
        self._arrivals: list[float] = []
        self._ids: dict[RpcId, RpcId] = {}
        """recorded request id -> the live one, for the replies."""
        self._client_gone = False
        self._mismatch: tuple[str, RpcId | None] | None = None

    def run(self) -> int:
        started = time.monotonic()
        threading.Thread(target=self._read_client, name="chunktape-stdio-client", daemon=True).start()
        try:
            for beat in self.script.beats:
                anchor = self._anchor(beat.after_client, started)
                if anchor is None:
                    return self._stopped()
                if not self._sleep_until(anchor + beat.wait_s + beat.extra_s):
                    return self._stopped()
                self._write(self._renumbered(beat.data))
            return self._end(started)
        except BrokenPipeError:  # the client went away mid-answer
            return EXIT_CLEAN
        finally:
            with contextlib.suppress(BrokenPipeError):
                self.stdout.close()  # the client reads the end of the server

    # -- the client's side ----------------------------------------------------------

    def _read_client(self) -> None:
        expected = self.script.client_frames
        for line in iter(self.stdin.readline, b""):
            data = line.rstrip(b"\r\n")
            if not data.strip():
                continue
            with self._changed:
                number = len(self._arrivals)
                if number >= len(expected):
                    reasons = [f"the recording holds only {len(expected)} client messages"]
                else:
                    reasons = message_differences(
                        expected[number],
                        ("text", data),
                        self.rules.ignore_json_fields,
                        self.rules.normalize,
                        rpc_ids=True,
                    )
                if reasons:
                    where = f"{self.session.request.url}, client message #{number + 1}"
                    self._mismatch = (f"{where} is not the recorded one: {'; '.join(reasons)}", request_id(data))
                    self._changed.notify_all()
                    return
                recorded, live = request_id(expected[number][1]), request_id(data)
                if recorded is not None and live is not None:
                    self._ids[recorded] = live
                self._arrivals.append(time.monotonic())
                self._changed.notify_all()
        with self._changed:
            self._client_gone = True
            self._changed.notify_all()

    def _anchor(self, after_client: int, started: float) -> float | None:
        """When the `after_client`-th client message arrived (the start for 0); None if the
        client left or strayed first."""
        with self._changed:
            self._changed.wait_for(
                lambda: len(self._arrivals) >= after_client or self._client_gone or self._mismatch is not None
            )
            if self._mismatch is not None or len(self._arrivals) < after_client:
                return None
            return self._arrivals[after_client - 1] if after_client else started + self.session.handshake.headers_at_s

    def _sleep_until(self, moment: float) -> bool:
        """Wait until `moment`; False if the client strayed meanwhile. A client that closed
        stdin gets the answers it asked for at once: it is shutting down, waiting for us to exit."""
        with self._changed:
            while (remaining := moment - time.monotonic()) > 0 and self._mismatch is None and not self._client_gone:
                self._changed.wait(remaining)
            return self._mismatch is None

    # -- the server's side -----------------------------------------------------------

    def _renumbered(self, data: bytes) -> bytes:
        recorded = reply_id(data)
        if recorded is None or recorded not in self._ids:
            return data
        return with_id(data, recorded, self._ids[recorded])

    def _write(self, data: bytes) -> None:
        self.stdout.write(data + b"\n")
        self.stdout.flush()

    def _stopped(self) -> int:
        """The client closed stdin, or sent what the recording does not hold."""
        if self._mismatch is None:
            return EXIT_CLEAN
        message, live_id = self._mismatch
        self.log(message)
        if live_id is not None:
            error = {"code": MISMATCH_ERROR_CODE, "message": f"chunktape: {message}"}
            reply = {"jsonrpc": "2.0", "id": live_id, "error": error}
            self._write(json.dumps(reply, ensure_ascii=False).encode("utf-8"))
        self.stdout.close()
        return EXIT_MISMATCH

    def _end(self, started: float) -> int:
        fault, ending = self.policy.fault, self.script.ending
        if fault is not None and fault.kind == "cut":
            self.log(f"fault {fault}: the server closed stdout after {len(self.script.beats)} messages, as a crash")
            self.stdout.close()
            return EXIT_CRASHED
        if ending.kind == "await_client":
            with self._changed:
                self._changed.wait_for(lambda: self._client_gone or self._mismatch is not None)
            return self._stopped()
        anchor = self._anchor(ending.after_client, started)
        if anchor is None:
            return self._stopped()
        if not self._sleep_until(anchor + ending.wait_s):
            return self._stopped()
        self.stdout.close()
        return EXIT_CLEAN if ending.kind == "close" else EXIT_CRASHED
