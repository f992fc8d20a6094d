"""Which recorded interaction answers a live request, and why the others do not.

Default: method, path, query (secret parameters ignored) and body (JSON compared
canonically). Volatile JSON fields and query parameters can be ignored by name, and volatile
values inside strings (uuids, timestamps, ids) replaced by placeholders on both sides
(`normalize`, chunktape/normalizers.py). Keys of a known format in the live request's query
values, JSON strings and matched headers are redacted as the recorder redacted them, so a
recorded `<redacted:openai-key>` matches.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from chunktape.cassette import Request
from chunktape.errors import KnobError
from chunktape.key_formats import candidates_in, redact_keys
from chunktape.normalizers import Normalizers
from chunktape.redaction import Redactor, body_candidates, redact_json_strings

MATCH_FIELDS = ("method", "host", "path", "query", "body", "headers")
DEFAULT_MATCH_ON = ("method", "path", "query", "body")


@dataclass(frozen=True)
class MatchRules:
    """What must agree between a live request and a recorded one."""

    match_on: tuple[str, ...] = DEFAULT_MATCH_ON
    ignore_query: frozenset[str] = frozenset()
    ignore_json_fields: frozenset[str] = frozenset()
    match_headers: tuple[str, ...] = ()
    redactor: Redactor = field(default_factory=Redactor)
    normalize: Normalizers = field(default_factory=Normalizers)

    @classmethod
    def build(
        cls,
        match_on: Iterable[str] | str | None = None,
        ignore: Iterable[str] = (),
        redact: Iterable[str] = (),
        match_headers: Iterable[str] = (),
        normalize: Iterable[str] | str | None = None,
    ) -> MatchRules:
        """`ignore` names query parameters or JSON body fields (any depth) to leave out;
        `normalize` names normalizers (uuid, timestamp, epoch, id, re:PATTERN). Each
        list of names may also be one comma-separated string; anything else is a KnobError."""
        fields = tuple(_texts(match_on, "match_on")) if match_on is not None else DEFAULT_MATCH_ON
        for name in fields:
            if name not in MATCH_FIELDS:
                close = difflib.get_close_matches(name, MATCH_FIELDS, n=1, cutoff=0.6)
                advice = f"did you mean {close[0]}?" if close else f"use any of {', '.join(MATCH_FIELDS)}"
                raise KnobError.refuse("unknown", "match field", name, advice)
        ignored = frozenset(name.lower() for name in _texts(ignore, "ignore"))
        redactor = Redactor(_texts(redact, "redact"))
        return cls(
            match_on=fields,
            ignore_query=ignored,
            ignore_json_fields=ignored | redactor.json_field_names,
            match_headers=tuple(name.lower() for name in _texts(match_headers, "match_headers")),
            redactor=redactor,
            normalize=Normalizers.parse(normalize),
        )

    def differences(self, recorded: Request, live: Request) -> list[str]:
        """Human-readable reasons the two requests differ; empty when they match."""
        reasons: list[str] = []
        for name in self.match_on:
            reason = getattr(self, f"_diff_{name}")(recorded, live)
            if reason:
                reasons.append(reason)
        return reasons

    def distance(self, recorded: Request, live: Request) -> int:
        """How much differs, for ranking the closest recorded requests of a miss: 1 for each of
        method, host and path, the number of differing query parameters and matched headers,
        and for the body the number of lines (of canonical JSON) that differ. A body that
        differs by one string is closer than one that differs in many fields."""
        total = 0
        for name in self.match_on:
            if name == "body":
                total += self._body_distance(recorded, live)
            elif name == "query":
                want, got = self._query(recorded), self._query(live)
                total += len(set(want) ^ set(got)) if want != got else 0
            elif name == "headers":
                total += sum(_header(recorded, header) != _header(live, header) for header in self.match_headers)
            elif getattr(self, f"_diff_{name}")(recorded, live):
                total += 1
        return total

    def _body_distance(self, recorded: Request, live: Request) -> int:
        if recorded.body == live.body:
            return 0
        want, got = self.canonical_body(recorded).splitlines(), self.canonical_body(live).splitlines()
        if want == got:
            return 0
        matcher = difflib.SequenceMatcher(None, want, got, autojunk=False)
        return sum(max(i2 - i1, j2 - j1) for tag, i1, i2, j1, j2 in matcher.get_opcodes() if tag != "equal")

    def key(self, request: Request) -> tuple[str, ...]:
        """What matching compares, as one value: two requests with equal keys match each other
        (used to pair interactions across two cassettes)."""
        parts: list[str] = []
        for name in self.match_on:
            if name == "method":
                parts.append(request.method.upper())
            elif name == "host":
                parts.append(request.url.split("/")[2] if "://" in request.url else "")
            elif name == "path":
                parts.append(request.path)
            elif name == "query":
                parts.append(_show_query(self._query(request)))
            elif name == "body":
                parts.append(self.canonical_body(request))
            else:
                parts.extend(f"{header}={_header(request, header)}" for header in self.match_headers)
        return tuple(parts)

    def _diff_method(self, recorded: Request, live: Request) -> str | None:
        if recorded.method.upper() != live.method.upper():
            return f"method {live.method} != recorded {recorded.method}"
        return None

    def _diff_host(self, recorded: Request, live: Request) -> str | None:
        def host(url: str) -> str:
            return url.split("/")[2] if "://" in url else ""

        if host(recorded.url) != host(live.url):
            return f"host {host(live.url)} != recorded {host(recorded.url)}"
        return None

    def _diff_path(self, recorded: Request, live: Request) -> str | None:
        if recorded.path != live.path:
            return f"path {live.path} != recorded {recorded.path}"
        return None

    def _query(self, request: Request) -> list[tuple[str, str]]:
        pairs = parse_qsl(request.query, keep_blank_values=True)
        candidates = candidates_in(request.query)
        return sorted(
            (k, self.normalize.text(redact_keys(v, candidates)[0] if candidates else v))
            for k, v in pairs
            if not self.redactor.is_secret_query_param(k) and k.lower() not in self.ignore_query
        )

    def _diff_query(self, recorded: Request, live: Request) -> str | None:
        want, got = self._query(recorded), self._query(live)
        if want != got:
            return f"query {_show_query(got)} != recorded {_show_query(want)}"
        return None

    def _diff_headers(self, recorded: Request, live: Request) -> str | None:
        for name in self.match_headers:
            if _header(recorded, name) != _header(live, name):
                if self.redactor.is_secret_header(name):  # a miss message never shows a live key
                    return f"header {name} differs from the recorded one (a secret: its values are not shown)"
                return f"header {name}: {live.header(name)!r} != recorded {recorded.header(name)!r}"
        return None

    def canonical_body(self, request: Request) -> str:
        """JSON bodies as sorted, indented text without ignored fields; other bodies as text."""
        body = request.body
        if body.lstrip()[:1] in (b"{", b"["):
            try:
                value = json.loads(body)
            except ValueError:
                pass
            else:
                value = self._without_ignored(value)
                candidates = body_candidates(body)
                if candidates != ():
                    value = redact_json_strings(value, candidates)
                kept = self.normalize.json(value)
                return json.dumps(kept, sort_keys=True, indent=1, ensure_ascii=False)
        return self.normalize.text(body.decode("utf-8", errors="backslashreplace"))

    def _without_ignored(self, value: Any) -> Any:
        if not self.ignore_json_fields:
            return value
        if isinstance(value, dict):
            return {k: self._without_ignored(v) for k, v in value.items() if k.lower() not in self.ignore_json_fields}
        if isinstance(value, list):
            return [self._without_ignored(item) for item in value]
        return value

    def _diff_body(self, recorded: Request, live: Request) -> str | None:
        if recorded.body == live.body:  # the usual hit, and no need to parse a large body
            return None
        want, got = self.canonical_body(recorded), self.canonical_body(live)
        if want == got:
            return None
        diff = difflib.unified_diff(want.splitlines(), got.splitlines(), "recorded body", "live body", lineterm="", n=1)
        lines = list(diff)
        shown = "\n".join("    " + _clip(line) for line in lines[:40])
        more = f"\n    ... {len(lines) - 40} more diff lines" if len(lines) > 40 else ""
        return f"body differs:\n{shown}{more}"


_MAX_DIFF_LINE = 200


def _clip(line: str) -> str:
    """A diff line short enough for a log: a miss with a 32 MB one-line body logged it all."""
    if len(line) <= _MAX_DIFF_LINE:
        return line
    return f"{line[:_MAX_DIFF_LINE]}… ({len(line) - _MAX_DIFF_LINE} more characters)"


def _texts(values: object, what: str) -> list[str]:
    """Names given as a list of strings, or as one comma-separated string."""
    if isinstance(values, str):
        return [part.strip() for part in values.split(",") if part.strip()]
    if isinstance(values, (bytes, dict)) or not isinstance(values, Iterable):
        raise KnobError(f"bad {what} {values!r}: give a list of names")
    names = list(values)
    for name in names:
        if not isinstance(name, str):
            raise KnobError(f"bad {what} {name!r}: each name is a string")
    return names


def _header(request: Request, name: str) -> str | None:
    """A header's value with its keys redacted, as the recorder stored it."""
    value = request.header(name)
    return redact_keys(value)[0] if value is not None else None


def _show_query(pairs: Sequence[tuple[str, str]]) -> str:
    return "&".join(f"{k}={v}" for k, v in pairs) or "(none)"


def describe_request(request: Request, redactor: Redactor, normalize: Normalizers | None = None) -> str:
    """`METHOD /path?query` with secrets redacted (and volatile values normalized), for messages and logs."""
    url = redactor.url(request.url)
    if normalize and "?" in url:  # query values are normalized for matching; the path is not
        head, _, query = url.partition("?")
        url = f"{head}?{normalize.text(query)}"
    rest = url.split("/", 3)[3] if url.count("/") >= 3 and "://" in url else url.lstrip("/")
    return f"{request.method} /{rest}"
