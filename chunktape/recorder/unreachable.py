"""Why an upstream could not be reached, in the words a user knows: connection refused, a
name that does not resolve (DNS), a TLS failure, a timeout. Pure: mitmproxy's error text in,
one reason out (None when the error is not about reaching the upstream)."""

from __future__ import annotations

import re

NOTE = "could not reach the upstream"
"""How the recorder's line about it starts (after `chunktape: `); the pytest plugin looks for it."""

_REASONS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"refused|Errno 111\b|Connect call failed", re.IGNORECASE), "connection refused"),
    (
        re.compile(r"not known|name resolution|nodename nor servname|No address associated|getaddrinfo", re.I),
        "DNS: the host name does not resolve",
    ),
    (re.compile(r"timed out|timeout", re.IGNORECASE), "connection timed out"),
    (re.compile(r"unreachable|No route to host", re.IGNORECASE), "network unreachable"),
    (re.compile(r"\bTLS\b|\bSSL\b|certificate", re.IGNORECASE), "TLS"),
)


def unreachable_reason(message: str) -> str | None:
    """The reason an upstream could not be reached, from mitmproxy's error message; None
    if the message says something else (the upstream answered, then failed)."""
    for pattern, reason in _REASONS:
        if pattern.search(message):
            return f"TLS: {message.strip()}" if reason == "TLS" else reason
    return None


def unreachable_line(upstream: str, reason: str, request: str) -> str:
    return f"{NOTE} {upstream} ({reason}); {request} was not recorded"
