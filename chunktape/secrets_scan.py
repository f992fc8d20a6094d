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
    ("OpenAI-style API key", re.compile(r"(?<![A-Za-z0-9])sk-(?!ant-)[A-Za-z0-9_\-]{20,}")),
    ("bearer token", re.compile(r"(?i)\bbearer\s+(?!<redacted>)([A-Za-z0-9._~+/=\-]{12,})")),
)
_QUERY = re.compile(r"[?&]([A-Za-z0-9_.\-]+)=([^&\s#'\"]*)")
_MAPPING_LINE = re.compile(r"^(\s*)(?:-\s+)?[\"']?([A-Za-z0-9_.\-]+)[\"']?\s*:\s*(.*?)\s*$")
_LIST_ITEM = re.compile(r"^\s*-\s+(.*?)\s*$")
_HARMLESS = {"", REDACTED, "%3Credacted%3E", "null", "~", "[]"}
_BLOCK_OR_FLOW = ("|", ">", "{", "[")  # a nested YAML value, not a header value


def mask(secret: str) -> str:
    """Enough to find it in the file, not enough to use it."""
    return f"{secret[: min(4, len(secret) // 4)]}… {len(secret)} chars"


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
        found = [
            Finding(number, kind, mask(match.group(match.lastindex or 0)))
            for kind, pattern in _TOKEN_PATTERNS
            for match in pattern.finditer(line)
        ]
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
    match = _MAPPING_LINE.match(lines[number - 1])
    if match is None or not names.is_secret_header(match.group(2)):
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
