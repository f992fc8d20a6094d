"""How late a replayed response head arrives, measured with a bare socket (no client library
whose own first-use costs would blur the figure), and a fresh-process probe of ReplayServer.

    python -m tests.support.punctuality   # prints {"late_ms": [...], "imported_by_first_request": [...]}
"""

from __future__ import annotations

import json
import socket
import sys
import time

from tests.support.builders import GEMINI_URL, sse_cassette

HEADERS_AT_S = 0.002
CASSETTE = sse_cassette(headers_at_s=HEADERS_AT_S, times=[0.004, 0.005, 0.006, 0.007])
PATH = GEMINI_URL.split("googleapis.com", 1)[1]
BODY = CASSETTE.interactions[0].request.body
ROUNDS = 4
FIRST_WITHIN_MS = 10.0
"""How much later than the warm ones the first response may be: generous, for a busy machine
(a cold server was 15-40 ms late, a warm one under 1 ms)."""


def head_lateness_s(port: int, prefix: str = "", host: str = "127.0.0.1") -> float:
    """Seconds between the recorded head time and the head's arrival, on a new connection."""
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        message = (
            f"POST {prefix}{PATH} HTTP/1.1\r\nHost: {host}\r\ncontent-type: application/json\r\n"
            f"content-length: {len(BODY)}\r\nconnection: close\r\n\r\n"
        ).encode() + BODY
        sent = time.perf_counter()
        sock.sendall(message)
        head = sock.recv(65536)
        arrived = time.perf_counter()
        assert head.startswith(b"HTTP/1.1 200"), head[:200]
        while sock.recv(65536):
            pass
    return arrived - sent - HEADERS_AT_S


def first_is_punctual(late_s: list[float]) -> bool:
    """The first response is within FIRST_WITHIN_MS of the best warm one."""
    return late_s[0] <= min(late_s[1:]) + FIRST_WITHIN_MS / 1000


def main() -> None:
    from chunktape import CassettePlayer, ReplayPolicy
    from chunktape.replay.server import ReplayServer

    with ReplayServer(CassettePlayer([CASSETTE], ReplayPolicy())) as server:
        before = set(sys.modules)
        late = [head_lateness_s(server.port)]
        imported = sorted(set(sys.modules) - before)
        late += [head_lateness_s(server.port) for _ in range(ROUNDS - 1)]
    print(json.dumps({"late_ms": [round(s * 1000, 3) for s in late], "imported_by_first_request": imported}))


if __name__ == "__main__":
    main()
