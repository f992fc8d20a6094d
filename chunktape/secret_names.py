"""Which names and shapes are secret, and how to mask one: the leaf every other module may use.

It imports nothing of chunktape, so the error messages (errors.py), the redaction of
interactions (redaction.py) and the scanner for leaked keys (secrets_scan.py) all read the
same table without depending on each other.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

REDACTED = "<redacted>"

SECRET_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "x-goog-api-key",
        "x-api-key",
        "api-key",
        "cookie",
        "set-cookie",
    }
)
SECRET_QUERY_PARAMS = frozenset({"key", "api_key", "api-key", "access_token"})


class SecretNames:
    """The secret header, query-parameter and JSON-field names: the defaults plus any the
    user adds (case-insensitive)."""

    def __init__(self, extra_names: Iterable[str] = ()) -> None:
        extra = {name.lower() for name in extra_names}
        self.extra_names = frozenset(extra)
        self.header_names = SECRET_HEADERS | extra
        self.query_names = SECRET_QUERY_PARAMS | extra
        self.json_field_names = frozenset(extra)

    def is_secret_header(self, name: str) -> bool:
        return name.lower() in self.header_names

    def is_secret_query_param(self, name: str) -> bool:
        return name.lower() in self.query_names


def redact_url(url: str, names: SecretNames) -> str:
    """`url` with the values of secret query parameters replaced by REDACTED."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    if not any(names.is_secret_query_param(k) for k, _ in pairs):
        return url
    cleaned = [(k, REDACTED if names.is_secret_query_param(k) else v) for k, v in pairs]
    return urlunsplit(parts._replace(query=urlencode(cleaned, safe="<>")))


_TOKEN_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("Google API key", re.compile(r"AIza[0-9A-Za-z_\-]{35}")),
    ("Anthropic API key", re.compile(r"sk-ant-[A-Za-z0-9_\-]{20,}")),
    ("OpenAI-style API key", re.compile(r"sk-(?<![A-Za-z0-9]sk-)(?!ant-)[A-Za-z0-9_\-]{20,}")),
    ("bearer token", re.compile(r"[Bb](?<=\b[Bb])[Ee][Aa][Rr][Ee][Rr]\s+(?!<redacted>)([A-Za-z0-9._~+/=\-]{12,})")),
)
# Each pattern starts with a literal (or a two-letter class) and checks what comes before it
# afterwards: a leading lookbehind, \b or (?i) makes the regex engine try every position,
# 5-40x slower on a 50 MB cassette. A substring a pattern needs rules most text out sooner.
_TOKEN_HINTS = {"Google API key": "AIza", "Anthropic API key": "sk-ant-", "OpenAI-style API key": "sk-"}


def mask(secret: str) -> str:
    """Enough to find it in the file, not enough to use it."""
    return f"{secret[: min(4, len(secret) // 4)]}… {len(secret)} chars"


def token_secrets(text: str) -> list[tuple[str, str]]:
    """(kind, secret) for every API-key or bearer-token shaped string in `text`, in pattern order."""
    return [
        (kind, match.group(match.lastindex or 0))
        for kind, pattern in _TOKEN_PATTERNS
        if _may_hold(text, kind)
        for match in pattern.finditer(text)
    ]


def _may_hold(text: str, kind: str) -> bool:
    hint = _TOKEN_HINTS.get(kind)
    return hint is None or hint in text


def mask_secrets(text: str) -> str:
    """`text` with every API-key or bearer-token shaped string replaced by its mask, so an
    error message or a log line can quote a request without handing out a live key."""
    for kind, pattern in _TOKEN_PATTERNS:
        if _may_hold(text, kind):
            text = pattern.sub(_masked, text)
    return text


def _masked(match: re.Match[str]) -> str:
    group = match.lastindex or 0
    whole = match.group(0)
    start, end = match.start(group) - match.start(), match.end(group) - match.start()
    return f"{whole[:start]}<{mask(match.group(group))}>{whole[end:]}"
