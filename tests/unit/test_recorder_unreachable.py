"""An unreachable upstream's reason, in a user's words, from mitmproxy's error text."""

from __future__ import annotations

import pytest

from chunktape.recorder.unreachable import unreachable_line, unreachable_reason


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        ("Multiple exceptions: [Errno 111] Connect call failed ('127.0.0.1', 9)", "connection refused"),
        ("[Errno 111] Connection refused", "connection refused"),
        ("[Errno -2] Name or service not known", "DNS: the host name does not resolve"),
        ("[Errno -3] Temporary failure in name resolution", "DNS: the host name does not resolve"),
        ("TimeoutError: timed out", "connection timed out"),
        ("[Errno 101] Network is unreachable", "network unreachable"),
        ("TLS handshake failed: certificate verify failed", "TLS: TLS handshake failed: certificate verify failed"),
    ],
)
def test_the_reason_is_named_in_a_users_words(message: str, reason: str) -> None:
    assert unreachable_reason(message) == reason


def test_an_error_after_the_upstream_answered_is_not_called_unreachable() -> None:
    assert unreachable_reason("peer closed connection without sending complete message body") is None


def test_the_line_names_the_upstream_the_reason_and_the_request() -> None:
    line = unreachable_line("http://127.0.0.1:9", "connection refused", "POST http://127.0.0.1:9/v1/chat")
    assert line == (
        "could not reach the upstream http://127.0.0.1:9 (connection refused); "
        "POST http://127.0.0.1:9/v1/chat was not recorded"
    )
