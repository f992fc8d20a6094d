"""Secrets never reach disk: the header, query and JSON-field names whose values are replaced.

Redaction is applied to every interaction on its way to a cassette file, and matching
ignores the same names, so a redacted cassette still matches the live request.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from chunktape.cassette import Headers, Interaction, Request, Response, Session
from chunktape.secret_names import REDACTED, SECRET_HEADERS, SECRET_QUERY_PARAMS, SecretNames, redact_url

__all__ = ["REDACTED", "SECRET_HEADERS", "SECRET_QUERY_PARAMS", "Redactor"]


class Redactor(SecretNames):
    """Replaces the values of secret names in an interaction (see SecretNames for the names)."""

    def headers(self, headers: Headers) -> Headers:
        return tuple((k, REDACTED if self.is_secret_header(k) else v) for k, v in headers)

    def url(self, url: str) -> str:
        return redact_url(url, self)

    def json_body(self, body: bytes) -> bytes:
        """Replace named fields anywhere in a JSON body; other bodies pass unchanged."""
        if not self.json_field_names or body.lstrip()[:1] not in (b"{", b"["):
            return body
        try:
            value = json.loads(body)
        except ValueError:
            return body
        cleaned, changed = self._redact_json(value)
        if not changed:
            return body
        return json.dumps(cleaned, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    def _redact_json(self, value: Any) -> tuple[Any, bool]:
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
        return replace(
            request,
            url=self.url(request.url),
            headers=self.headers(request.headers),
            body=self.json_body(request.body),
        )

    def response(self, response: Response) -> Response:
        return replace(response, headers=self.headers(response.headers))

    def interaction(self, interaction: Interaction) -> Interaction:
        return replace(
            interaction, request=self.request(interaction.request), response=self.response(interaction.response)
        )

    def session(self, session: Session) -> Session:
        """The handshake's secrets (`?key=`, `x-goog-api-key`, `Authorization`) and named JSON
        fields of client messages; server messages are stored as they came, like response bodies."""
        messages = tuple(
            replace(message, data=self.json_body(message.data)) if message.sender == "client" else message
            for message in session.messages
        )
        return replace(
            session,
            request=self.request(session.request),
            handshake=replace(session.handshake, headers=self.headers(session.handshake.headers)),
            messages=messages,
        )

    def item(self, item: Interaction | Session) -> Interaction | Session:
        return self.interaction(item) if isinstance(item, Interaction) else self.session(item)
