"""Points the SDKs at chunktape through the environment, for one test, so that code which
builds its own clients (`OpenAI()`, `anthropic.Anthropic()`, `genai.Client(api_key=...)`)
needs no change.

The official SDKs read their base URL from a variable when the client is built:

| variable | SDK | the SDK's own default |
|---|---|---|
| `OPENAI_BASE_URL` | openai | `https://api.openai.com/v1` |
| `ANTHROPIC_BASE_URL` | anthropic | `https://api.anthropic.com` |
| `GOOGLE_GEMINI_BASE_URL` | google-genai (Gemini API) | `https://generativelanguage.googleapis.com` |

While replaying (or recording in front of an `upstream=`), each variable is set to
chunktape's URL plus the path the variable already had (else the SDK's default path, such
as OpenAI's `/v1`), so requests keep the path they were recorded with; with `tls=True` the URL
is https:// and `SSL_CERT_FILE` names the local CA that signed its certificate. While recording
without an upstream, the variables stay as they are and the proxy variables send
everything through the recording proxy instead. Either way, every variable is restored
when the test ends. A client built before the test began read the old values: see
`chunktape_route_httpx`.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest

from chunktape.errors import KnobError
from chunktape.recorder.proxy_env import bypass_changes, proxy_changes
from chunktape.vocabulary import ENV_VARS

if TYPE_CHECKING:
    from chunktape.pytest_plugin.fixture import ChunktapeFixture


@dataclass(frozen=True)
class SdkVariable:
    """An environment variable an SDK reads its base URL from, and the path its default URL has."""

    name: str
    default_path: str = ""

    def value(self, base_url: str, current: str | None) -> str:
        """`base_url` plus the path of the current value (else the default path)."""
        path = urlsplit(current).path if current else self.default_path
        return base_url.rstrip("/") + "/" + path.strip("/") if path.strip("/") else base_url.rstrip("/")


SDK_VARIABLES: tuple[SdkVariable, ...] = (
    SdkVariable("OPENAI_BASE_URL", "/v1"),
    SdkVariable("ANTHROPIC_BASE_URL"),
    SdkVariable("GOOGLE_GEMINI_BASE_URL"),
)
"""The variables set for every test; more come from the `chunktape_env_vars` ini setting."""

_ENTRY = re.compile(r"^(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:=(?P<path>/[^\s]*))?$")


def parse_variables(lines: Iterable[str], where: str = "chunktape_env_vars") -> tuple[SdkVariable, ...]:
    """`NAME` or `NAME=/path` entries (the path of the SDK's default base URL); KnobError names the bad one."""
    found: list[SdkVariable] = []
    for line in lines:
        for entry in line.split():
            match = _ENTRY.match(entry)
            if match is None:
                raise KnobError(f"{where}: bad entry {entry!r}; write NAME or NAME=/path, e.g. MISTRAL_BASE_URL=/v1")
            found.append(SdkVariable(match["name"], match["path"] or ""))
    return tuple(found)


def configured_variables(config: pytest.Config) -> tuple[SdkVariable, ...]:
    """The built-in variables and the ini's; KnobError for a bad ini entry."""
    return all_variables(parse_variables(config.getini(f"chunktape_{ENV_VARS.name}")))


def all_variables(extra: Iterable[SdkVariable]) -> tuple[SdkVariable, ...]:
    """The built-in variables, then the extra ones (an extra one of the same name wins)."""
    chosen = {variable.name: variable for variable in (*SDK_VARIABLES, *extra)}
    return tuple(chosen.values())


def base_url_changes(
    base_url: str, variables: Iterable[SdkVariable], environ: Mapping[str, str]
) -> dict[str, str | None]:
    """Every SDK variable pointed at `base_url`, and that host kept off any configured proxy."""
    changes: dict[str, str | None] = {
        variable.name: variable.value(base_url, environ.get(variable.name)) for variable in variables
    }
    host = urlsplit(base_url).hostname
    if host:
        changes.update(bypass_changes(host, environ))
    return changes


def forward_proxy_changes(proxy_url: str, ca_path: str) -> dict[str, str | None]:
    """Everything (in this process and its subprocesses) through the recording proxy."""
    return proxy_changes(proxy_url, ca_path)


@contextlib.contextmanager
def changed_environment(changes: Mapping[str, str | None]) -> Iterator[None]:
    """`os.environ` with `changes` for the block; each touched variable is put back as it
    was (set to its old value, or removed) afterwards, even when the block fails."""
    saved = {name: os.environ.get(name) for name in changes}
    for name, value in changes.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    try:
        yield
    finally:
        for name, old in saved.items():
            if old is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = old


def changes_for(handle: ChunktapeFixture, variables: Iterable[SdkVariable]) -> dict[str, str | None]:
    """What this test's environment needs: nothing (env off), the proxy variables (recording
    without an upstream), or the SDK variables at the replay server or the recorder."""
    if not handle.settings.env:
        return {}
    if handle.forward:
        proxy_url, ca_path = handle.proxy_url, handle.ca_cert_path
        assert proxy_url is not None
        assert ca_path is not None
        return forward_proxy_changes(proxy_url, ca_path)
    changes = base_url_changes(handle.base_url, variables, os.environ)
    if handle.settings.tls and handle.ca_cert_path is not None:
        changes["SSL_CERT_FILE"] = handle.ca_cert_path  # https:// and wss:// to chunktape's local CA
    return changes
