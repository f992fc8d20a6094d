"""Finds what looks like a leaked secret in text: API keys by their shape, bearer tokens,
and the values of secret headers and query parameters that were not redacted.

Pure: text in, findings out, so `chunktape validate`, the recorder and tests can share it.
Findings never carry the whole secret, only a masked hint to locate it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from chunktape.secret_names import REDACTED, SecretNames, mask, mask_secrets, token_secrets

__all__ = ["Finding", "body_secrets", "mask", "mask_secrets", "scan_text", "secret_values", "token_secrets"]


@dataclass(frozen=True)
class Finding:
    """One suspected secret: where (1-based line), what kind, and a masked hint."""

    line: int
    kind: str
    hint: str

    def __str__(self) -> str:
        return f"{self.kind} at line {self.line} ({self.hint})"


_QUERY = re.compile(r"[?&]([A-Za-z0-9_.\-]+)=([^&\s#'\"]*)")
_MAPPING_LINE = re.compile(r"^(\s*)(?:-\s+)?[\"']?([A-Za-z0-9_.\-]+)[\"']?\s*:\s*(.*?)\s*$")
_MAPPING_KEY = re.compile(r"\s*(?:-\s+)?[\"']?([A-Za-z0-9_.\-]+)[\"']?\s*:")
_LIST_ITEM = re.compile(r"^\s*-\s+(.*?)\s*$")
_HARMLESS = {"", REDACTED, "%3Credacted%3E", "null", "~", "[]"}
_BLOCK_OR_FLOW = ("|", ">", "{", "[")  # a nested YAML value, not a header value


def secret_values(text: str, redactor: SecretNames | None = None) -> list[tuple[str, str]]:
    """(kind, secret) for every key-shaped string in `text`, and every value of a secret query
    parameter (`?key=...`, as an error body quoting the request URL shows it)."""
    found = token_secrets(text)
    if "=" in text:
        names = redactor or SecretNames()
        found += [
            (f"query parameter {name}= value", value)
            for name, value in _QUERY.findall(text)
            if names.is_secret_query_param(name) and value not in _HARMLESS
        ]
    return found


def body_secrets(data: bytes, redactor: SecretNames | None = None) -> list[tuple[str, str]]:
    """(kind, secret) for every secret in a body's bytes, whatever way the cassette writes that
    body (base64, JSON, SSE events) and wherever its chunk boundaries fall."""
    return secret_values(data.decode("utf-8", errors="replace"), redactor) if data else []


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def scan_text(text: str, redactor: SecretNames | None = None) -> list[Finding]:
    """Every suspected secret in `text`, in line order; names come from `redactor`
    (the default secret headers and query parameters, plus any user-given ones)."""
    names = redactor or SecretNames()
    lines = text.splitlines()
    findings: list[Finding] = []
    any_tokens = bool(token_secrets(text))  # one pass over the whole text; usually there are none
    for number in _lines_to_check(text, lines, names, any_tokens):
        line = lines[number - 1]
        found = [Finding(number, kind, mask(secret)) for kind, secret in token_secrets(line)] if any_tokens else []
        if not found:
            found = _secret_query_values(number, line, names) + _secret_header_values(number, lines, names)
        findings.extend(found)
    return findings


_OTHER_LINE_BREAKS = re.compile("[\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")


def _lines_to_check(text: str, lines: list[str], names: SecretNames, any_tokens: bool) -> list[int]:
    """The numbers of the lines that may hold a finding: those naming a secret header or query
    parameter, found by byte searches over the whole text (C speed) instead of regexes on each
    line. Every line, where line numbers could not be counted by line feeds, a name is not
    ASCII, or a token was seen."""
    if any_tokens or _OTHER_LINE_BREAKS.search(text):
        return list(range(1, len(lines) + 1))
    needles = [*names.header_names, *(f"{name}=" for name in names.query_names)]
    if not all(needle.isascii() for needle in needles):
        return list(range(1, len(lines) + 1))
    data = text.encode("utf-8", "surrogatepass")
    lowered = data.lower()  # ASCII only: the same length, so offsets and line feeds stay put
    positions: list[int] = []
    for needle in needles:
        wanted = needle.encode("ascii")
        found = lowered.find(wanted)
        while found >= 0:
            positions.append(found)
            found = lowered.find(wanted, found + 1)
    numbers: list[int] = []
    line, position = 1, 0
    for at in sorted(positions):
        line += data.count(b"\n", position, at)
        position = at
        if not numbers or numbers[-1] != line:
            numbers.append(line)
    return numbers


def _secret_query_values(number: int, line: str, names: SecretNames) -> list[Finding]:
    if "=" not in line:
        return []
    return [
        Finding(number, f"query parameter {name}= not redacted", mask(value))
        for name, value in _QUERY.findall(line)
        if names.is_secret_query_param(name) and value not in _HARMLESS
    ]


def _secret_header_values(number: int, lines: list[str], names: SecretNames) -> list[Finding]:
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
