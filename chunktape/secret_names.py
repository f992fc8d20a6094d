"""Which names and shapes are secret, and how to mask one: the leaf every other module may use.

It imports only key_formats (the other leaf), so the error messages (errors.py), the redaction of
interactions (redaction.py) and the scanner for leaked keys (secrets_scan.py) all read the
same table without depending on each other.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from chunktape.key_formats import find_keys, mask, replace_keys

__all__ = [
    "REDACTED",
    "SECRET_HEADERS",
    "SECRET_QUERY_PARAMS",
    "SecretNames",
    "mask",
    "mask_secrets",
    "redact_url",
    "token_secrets",
]

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


def token_secrets(text: str) -> list[tuple[str, str]]:
    """(kind, secret) for every string of a known key format in `text` (key_formats.py), in order."""
    return [(key.kind, key.secret) for key in find_keys(text)]


def mask_secrets(text: str) -> str:
    """`text` with every string of a known key format replaced by its mask, so an error message
    or a log line can quote a request without handing out a live key."""
    return replace_keys(text, find_keys(text), lambda key: f"<{key.hint}>")
