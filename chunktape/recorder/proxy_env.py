"""The environment variables that send a program's HTTP through a local proxy: pure values.

Every common HTTP stack (httpx, requests, urllib, curl, Node's `undici` with
`NODE_USE_ENV_PROXY`, Go's net/http) reads the proxy from `HTTPS_PROXY`/`HTTP_PROXY` and
trusts the CA bundle named by one of the CA variables; `NO_PROXY` is dropped so that
nothing bypasses the proxy. `chunktape record` (forward mode), `chunktape serve --proxy`
and the pytest plugin's forward recording all set the same variables.
"""

from __future__ import annotations

from collections.abc import Mapping

PROXY_VARIABLES: tuple[str, ...] = ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy")
CA_VARIABLES: tuple[str, ...] = ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "NODE_EXTRA_CA_CERTS")
BYPASS_VARIABLES: tuple[str, ...] = ("NO_PROXY", "no_proxy")
NODE_PROXY_SWITCH = "NODE_USE_ENV_PROXY"
"""Node 24+ (and 22.21+) make their built-in fetch and https honour HTTP(S)_PROXY when this is 1."""


def proxy_changes(proxy_url: str, ca_path: str) -> dict[str, str | None]:
    """What to set (a value) or remove (None) so every request goes through `proxy_url`,
    trusting the proxy's CA at `ca_path`."""
    changes: dict[str, str | None] = dict.fromkeys(PROXY_VARIABLES, proxy_url)
    changes.update(dict.fromkeys(CA_VARIABLES, ca_path))
    changes.update(dict.fromkeys(BYPASS_VARIABLES, None))
    changes[NODE_PROXY_SWITCH] = "1"
    return changes


def bypass_changes(host: str, environ: Mapping[str, str]) -> dict[str, str | None]:
    """Add `host` to NO_PROXY/no_proxy (when a proxy is configured) so that a local server
    is reached directly, not through the user's proxy."""
    if not any(environ.get(name) for name in (*PROXY_VARIABLES, "ALL_PROXY", "all_proxy")):
        return {}
    changes: dict[str, str | None] = {}
    for name in BYPASS_VARIABLES:
        hosts = [part.strip() for part in environ.get(name, "").split(",") if part.strip()]
        if "*" not in hosts and host not in hosts:
            changes[name] = ",".join([*hosts, host])
    return changes


def apply(changes: Mapping[str, str | None], environ: dict[str, str]) -> dict[str, str]:
    """`environ` with `changes` applied (a new dict)."""
    result = dict(environ)
    for name, value in changes.items():
        if value is None:
            result.pop(name, None)
        else:
            result[name] = value
    return result
