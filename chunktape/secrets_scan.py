"""Finds what looks like a leaked secret in text: API keys by their shape, bearer tokens,
and the values of secret headers and query parameters that were not redacted.

Pure: text in, findings out, so `chunktape validate`, the recorder and tests can share it.
Findings never carry the whole secret, only a masked hint to locate it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from chunktape.redaction import REDACTED, Redactor


@dataclass(frozen=True)
class Finding:
    """One suspected secret: where (1-based line), what kind, and a masked hint."""

    line: int
    kind: str
    hint: str

    def __str__(self) -> str:
        return f"{self.kind} at line {self.line} ({self.hint})"


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
_QUERY = re.compile(r"[?&]([A-Za-z0-9_.\-]+)=([^&\s#'\"]*)")
_MAPPING_LINE = re.compile(r"^(\s*)(?:-\s+)?[\"']?([A-Za-z0-9_.\-]+)[\"']?\s*:\s*(.*?)\s*$")
_MAPPING_KEY = re.compile(r"\s*(?:-\s+)?[\"']?([A-Za-z0-9_.\-]+)[\"']?\s*:")
_LIST_ITEM = re.compile(r"^\s*-\s+(.*?)\s*$")
_HARMLESS = {"", REDACTED, "%3Credacted%3E", "null", "~", "[]"}
_BLOCK_OR_FLOW = ("|", ">", "{", "[")  # a nested YAML value, not a header value


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


def secret_values(text: str, redactor: Redactor | None = None) -> list[tuple[str, str]]:
    """(kind, secret) for every key-shaped string in `text`, and every value of a secret query
    parameter (`?key=...`, as an error body quoting the request URL shows it)."""
    found = token_secrets(text)
    if "=" in text:
        names = redactor or Redactor()
        found += [
            (f"query parameter {name}= value", value)
            for name, value in _QUERY.findall(text)
            if names.is_secret_query_param(name) and value not in _HARMLESS
        ]
    return found


def body_secrets(data: bytes, redactor: Redactor | None = None) -> list[tuple[str, str]]:
    """(kind, secret) for every secret in a body's bytes, whatever way the cassette writes that
    body (base64, JSON, SSE events) and wherever its chunk boundaries fall."""
    return secret_values(data.decode("utf-8", errors="replace"), redactor) if data else []


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


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def scan_text(text: str, redactor: Redactor | None = None) -> list[Finding]:
    """Every suspected secret in `text`, in line order; names come from `redactor`
    (the default secret headers and query parameters, plus any user-given ones)."""
    names = redactor or Redactor()
    lines = text.splitlines()
    findings: list[Finding] = []
    for number, line in enumerate(lines, start=1):
        found = [Finding(number, kind, mask(secret)) for kind, secret in token_secrets(line)]
        if not found:
            found = _secret_query_values(number, line, names) + _secret_header_values(number, lines, names)
        findings.extend(found)
    return findings


def _secret_query_values(number: int, line: str, names: Redactor) -> list[Finding]:
    if "=" not in line:
        return []
    return [
        Finding(number, f"query parameter {name}= not redacted", mask(value))
        for name, value in _QUERY.findall(line)
        if names.is_secret_query_param(name) and value not in _HARMLESS
    ]


def _secret_header_values(number: int, lines: list[str], names: Redactor) -> list[Finding]:
    """`name: value` for a secret name, or `name:` followed by a list of values."""
    key = _MAPPING_KEY.match(lines[number - 1])  # cheap: the full match backtracks on long lines
    if key is None or not names.is_secret_header(key.group(1)):
        return []
    match = _MAPPING_LINE.match(lines[number - 1])
    if match is None:
        return []
    name = match.group(2)
    value = _unquote(match.group(3))
    if value:
        values = [value]
    else:
        values = []
        for following in lines[number:]:
            item = _LIST_ITEM.match(following)
            if item is None:
                break
            values.append(_unquote(item.group(1)))
    return [
        Finding(number, f"{name} not redacted", mask(one))
        for one in values
        if one not in _HARMLESS and not one.startswith(_BLOCK_OR_FLOW)
    ]
