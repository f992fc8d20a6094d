"""Secrets never reach disk: the values of secret header, query and JSON-field names are
replaced, and so is every known key format (key_formats.py) in any other request header, query
value or JSON string, at any depth, in place: `Bearer <redacted:openai-key>`.

Redaction is applied to every interaction on its way to a cassette file, and matching
ignores the same names and redacts the live request's keys the same way, so a redacted
cassette still matches the live request. `redacted_request` also says what it redacted
and where (masked), for the recorder's warning.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from chunktape.cassette import Headers, Interaction, Request, Response, Session
from chunktape.key_formats import Candidates, candidates_in, redact_keys
from chunktape.secret_names import REDACTED, SECRET_HEADERS, SECRET_QUERY_PARAMS, SecretNames

__all__ = [
    "REDACTED",
    "SECRET_HEADERS",
    "SECRET_QUERY_PARAMS",
    "RedactedKey",
    "Redactor",
    "body_candidates",
    "redact_json_strings",
]


@dataclass(frozen=True)
class RedactedKey:
    """A key found by its format and redacted: where (`header X-Custom-Auth`, `query token`,
    `json $.messages[0].content`), which format, and the key masked."""

    place: str
    kind: str
    hint: str

    def __str__(self) -> str:
        return f"{self.place}: {self.kind} ({self.hint})"


_Found = list[RedactedKey]
_SEARCH_WHOLE_BODY = 65_536
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def body_candidates(body: bytes) -> Candidates | None:
    """The key formats a body may hold, found with one search of its bytes; None for a large
    body (searching all of it would cost more than its strings, once base64 data is skipped,
    so each string is searched alone)."""
    return candidates_in(body) if len(body) <= _SEARCH_WHOLE_BODY else None


def redact_json_strings(value: Any, candidates: Candidates | None, found: _Found | None = None, path: str = "$") -> Any:
    """`value` (parsed JSON) with the keys in every string redacted in place; each one found is
    added to `found`. `candidates` comes from `body_candidates` (None: search each string)."""
    if isinstance(value, str):
        cleaned, keys = redact_keys(value, candidates)
        if found is not None:
            found.extend(RedactedKey(f"json {path}", key.kind, key.hint) for key in keys)
        return cleaned
    if isinstance(value, dict):
        return {key: redact_json_strings(item, candidates, found, _member(path, key)) for key, item in value.items()}
    if isinstance(value, list):
        return [redact_json_strings(item, candidates, found, f"{path}[{n}]") for n, item in enumerate(value)]
    return value


def _member(path: str, key: str) -> str:
    return f"{path}.{key}" if _NAME.fullmatch(key) else f"{path}[{json.dumps(key, ensure_ascii=False)}]"


class Redactor(SecretNames):
    """Replaces the values of secret names in an interaction (see SecretNames for the names),
    and every key of a known format in the request's other headers, query values and JSON
    strings."""

    def headers(self, headers: Headers) -> Headers:
        return self._headers(headers, None)

    def _headers(self, headers: Headers, found: _Found | None) -> Headers:
        out: list[tuple[str, str]] = []
        for name, value in headers:
            if self.is_secret_header(name):
                out.append((name, REDACTED))
                continue
            cleaned, keys = redact_keys(value)
            if found is not None:
                found.extend(RedactedKey(f"header {name}", key.kind, key.hint) for key in keys)
            out.append((name, cleaned))
        return tuple(out)

    def url(self, url: str) -> str:
        return self._url(url, None)

    def _url(self, url: str, found: _Found | None) -> str:
        """Secret query parameters' values replaced, and keys in the other values."""
        parts = urlsplit(url)
        if not parts.query:
            return url
        pairs = parse_qsl(parts.query, keep_blank_values=True)
        candidates = candidates_in(parts.query)
        changed = False
        cleaned: list[tuple[str, str]] = []
        for name, value in pairs:
            if self.is_secret_query_param(name):
                cleaned.append((name, REDACTED))
                changed = True
                continue
            redacted, keys = redact_keys(value, candidates) if candidates else (value, [])
            if keys:
                changed = True
                if found is not None:
                    found.extend(RedactedKey(f"query {name}", key.kind, key.hint) for key in keys)
            cleaned.append((name, redacted))
        if not changed:
            return url
        return urlunsplit(parts._replace(query=urlencode(cleaned, safe="<>:")))

    def json_body(self, body: bytes) -> bytes:
        """Replace named fields anywhere in a JSON body, and keys in its strings; other bodies
        pass unchanged."""
        return self._json_body(body, None)

    def _json_body(self, body: bytes, found: _Found | None) -> bytes:
        if body.lstrip()[:1] not in (b"{", b"["):
            return body
        candidates = body_candidates(body)
        if not self.json_field_names and candidates == ():
            return body
        try:
            value = json.loads(body)
        except ValueError:
            return body
        keys: _Found = []
        cleaned, changed = self._redact_json(value)
        if candidates != ():
            cleaned = redact_json_strings(cleaned, candidates, keys)
        if not changed and not keys:
            return body
        if found is not None:
            found.extend(keys)
        return json.dumps(cleaned, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    def _redact_json(self, value: Any) -> tuple[Any, bool]:
        if not self.json_field_names:
            return value, False
        if isinstance(value, dict):
            changed = False
            out: dict[str, Any] = {}
            for key, item in value.items():
                if key.lower() in self.json_field_names:
                    out[key] = REDACTED
                    changed = True
                else:
                    out[key], sub_changed = self._redact_json(item)
                    changed = changed or sub_changed
            return out, changed
        if isinstance(value, list):
            results = [self._redact_json(item) for item in value]
            return [item for item, _ in results], any(changed for _, changed in results)
        return value, False

    def request(self, request: Request) -> Request:
        return self.redacted_request(request)[0]

    def redacted_request(self, request: Request) -> tuple[Request, list[RedactedKey]]:
        """The request as it is stored, and the keys found by their format (not by a secret
        name) on the way: each one is worth a warning, as nobody said it was there."""
        found: _Found = []
        redacted = replace(
            request,
            url=self._url(request.url, found),
            headers=self._headers(request.headers, found),
            body=self._json_body(request.body, found),
        )
        return redacted, found

    def response(self, response: Response) -> Response:
        return replace(response, headers=self.headers(response.headers))

    def interaction(self, interaction: Interaction) -> Interaction:
        return replace(
            interaction, request=self.request(interaction.request), response=self.response(interaction.response)
        )

    def session(self, session: Session) -> Session:
        return self.redacted_session(session)[0]

    def redacted_session(self, session: Session) -> tuple[Session, list[RedactedKey]]:
        """The handshake's secrets (`?key=`, `x-goog-api-key`, `Authorization`), named JSON fields
        and keys of client messages; server messages are stored as they came, like response bodies."""
        request, found = self.redacted_request(session.request)
        messages = []
        for number, message in enumerate(session.messages, start=1):
            if message.sender != "client":
                messages.append(message)
                continue
            keys: _Found = []
            messages.append(replace(message, data=self._json_body(message.data, keys)))
            found += [replace(key, place=f"message {number} {key.place}") for key in keys]
        return replace(
            session,
            request=request,
            handshake=replace(session.handshake, headers=self._headers(session.handshake.headers, found)),
            messages=tuple(messages),
        ), found

    def item(self, item: Interaction | Session) -> Interaction | Session:
        return self.interaction(item) if isinstance(item, Interaction) else self.session(item)

    def redacted_item(self, item: Interaction | Session) -> tuple[Interaction | Session, list[RedactedKey]]:
        """`item` as it is stored, and the keys found in it by their format."""
        if isinstance(item, Interaction):
            request, found = self.redacted_request(item.request)
            return Interaction(request=request, response=self.response(item.response)), found
        return self.redacted_session(item)
