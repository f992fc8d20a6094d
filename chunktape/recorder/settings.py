"""What a recording session needs to know, checked before anything listens: pure values, no I/O."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from chunktape.errors import RecordingError

CONFDIR_ENV = "CHUNKTAPE_MITMPROXY_CONFDIR"
"""Where mitmproxy keeps its CA; default ~/.chunktape/mitmproxy, never the user's ~/.mitmproxy."""

CA_CERT_NAME = "mitmproxy-ca-cert.pem"

KEY_REDACTED = "redacted a key nobody named"
"""How the recorder's warning about a key found by its format begins, so that `Recorder` can
hand those lines on (the pytest plugin warns with them, naming the test)."""


def default_confdir() -> str:
    return os.environ.get(CONFDIR_ENV) or os.path.join(os.path.expanduser("~"), ".chunktape", "mitmproxy")


def parse_upstream(url: str) -> str:
    """The upstream as mitmproxy's reverse-mode spec `scheme://host:port`; RecordingError if unusable."""
    example = "expected http(s)://host[:port], e.g. https://generativelanguage.googleapis.com"
    shown = re.sub(r"//[^/?#]*@", "//<redacted>@", url)  # an error never repeats credentials
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise RecordingError(f"bad --upstream URL {shown!r}: {example}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise RecordingError(f"bad --upstream URL {shown!r}: {example}")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise RecordingError(f"bad --upstream URL {shown!r}: no credentials, query or fragment; {example}")
    if parts.path not in ("", "/"):
        raise RecordingError(
            f"bad --upstream URL {shown!r}: a path is not supported; record the host and add the path "
            f"to the client's base URL instead (e.g. http://127.0.0.1:PORT{parts.path})"
        )
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{parts.scheme}://{host}:{port or (443 if parts.scheme == 'https' else 80)}"


def local_url(host: str, port: int) -> str:
    """The URL clients use to reach a listener; a wildcard address is reached on loopback."""
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


@dataclass(frozen=True)
class RecordSettings:
    """One `chunktape record` session. `upstream` None means forward-proxy mode."""

    cassette: str
    upstream: str | None = None
    host: str = "127.0.0.1"
    port: int = 0
    redact: tuple[str, ...] = ()
    append: bool = False
    ssl_insecure: bool = False
    confdir: str = ""
    keep_preflights: bool = False
    """Record browsers' CORS preflights too (by default they pass through unrecorded)."""
    once_per_run: str | None = None
    """Start the cassette afresh only if no other recording of this run (a shared folder) has."""

    @property
    def reverse(self) -> bool:
        return self.upstream is not None

    @property
    def mode(self) -> str:
        """mitmproxy's `mode` option for this session."""
        return f"reverse:{parse_upstream(self.upstream)}" if self.upstream is not None else "regular"

    @property
    def ca_cert_path(self) -> str:
        return os.path.join(self.confdir or default_confdir(), CA_CERT_NAME)
