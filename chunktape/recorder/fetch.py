"""One recorded request sent again to the live upstream, its answer captured with chunk
timing, as `chunktape drift` compares it (and `--rerecord` keeps it).

Cassettes hold `<redacted>` where a key was, so the live request fills exactly those places
from the environment: the providers' own variables (`OPENAI_API_KEY` -> `Authorization:
Bearer`, `ANTHROPIC_API_KEY` -> `x-api-key`, `GEMINI_API_KEY` / `GOOGLE_API_KEY` ->
`x-goog-api-key` or `?key=`), or `--header NAME=env:VAR` for others. A key only ever goes
where the recorded request had one, so an OpenAI key never reaches another host's request;
keys are never printed, and the captured exchange keeps the recorded (redacted) request.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx

from chunktape.cassette import Chunk, Ending, Headers, Interaction, Request, Response
from chunktape.errors import ChunktapeError
from chunktape.recorder.decoding import decoded_response
from chunktape.secret_names import REDACTED, SECRET_QUERY_PARAMS, mask_secrets

_PROVIDER_KEYS: dict[str, tuple[tuple[str, ...], str]] = {
    "authorization": (("OPENAI_API_KEY",), "Bearer {}"),
    "x-api-key": (("ANTHROPIC_API_KEY",), "{}"),
    "x-goog-api-key": (("GEMINI_API_KEY", "GOOGLE_API_KEY"), "{}"),
}
"""A redacted header -> the environment variables that fill it, first set wins, and its form."""
_QUERY_KEYS = ("GEMINI_API_KEY", "GOOGLE_API_KEY")
_NOT_SENT = frozenset({"host", "content-length", "transfer-encoding", "connection", "keep-alive", "accept-encoding"})


class LiveError(ChunktapeError):
    """The live upstream could not be asked or did not answer."""


@dataclass(frozen=True)
class HeaderSource:
    """`--header NAME=env:VAR`: the live request's header NAME comes from variable VAR."""

    name: str
    variable: str

    @classmethod
    def parse(cls, text: str) -> HeaderSource:
        name, equals, source = text.partition("=")
        if not equals or not name.strip() or not source.startswith("env:") or not source[4:].strip():
            raise ChunktapeError(
                f"--header {text.split('=')[0]}=...: write NAME=env:VAR, as in --header x-api-key=env:MY_KEY "
                "(the value is read from the environment, never given on the command line)"
            )
        return cls(name.strip().lower(), source[4:].strip())


def live_request(
    request: Request,
    upstream: str | None,
    environ: Mapping[str, str],
    header_sources: Sequence[HeaderSource] = (),
    *,
    shown: str = "",
) -> Request:
    """`request` aimed at `upstream` (None: its own URL), its redacted keys filled from
    `environ`. LiveError naming the variable to set when a redacted key has no source."""
    url = _aimed(request.url, upstream)
    chosen = {source.name: source for source in header_sources}
    headers: list[tuple[str, str]] = []
    for name, value in request.headers:
        lower = name.lower()
        if lower in _NOT_SENT or lower in chosen:
            continue
        if REDACTED in value:
            value = _from_environment(lower, environ, shown)
        headers.append((name, value))
    for source in header_sources:
        given = environ.get(source.variable)
        if not given:
            raise LiveError(f"{shown}: --header {source.name}=env:{source.variable}, but {source.variable} is not set")
        headers.append((source.name, given))
    return Request(request.method, _filled_query(url, environ, shown), tuple(headers), request.body)


def _from_environment(header: str, environ: Mapping[str, str], shown: str) -> str:
    known = _PROVIDER_KEYS.get(header)
    if known is not None:
        variables, form = known
        for variable in variables:
            if environ.get(variable):
                return form.format(environ[variable])
        wanted = " or ".join(variables)
        raise LiveError(
            f"{shown}: the recorded request sent {header}, which the cassette holds redacted; set {wanted}, "
            f"or pass --header {header}=env:VAR"
        )
    raise LiveError(
        f"{shown}: the recorded request sent {header}, which the cassette holds redacted; "
        f"pass --header {header}=env:VAR naming the variable that holds it"
    )


def _filled_query(url: str, environ: Mapping[str, str], shown: str) -> str:
    parts = urlsplit(url)
    if REDACTED not in parts.query and "%3Credacted%3E" not in parts.query:
        return url
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    filled = []
    for name, value in pairs:
        if value == REDACTED and name.lower() in SECRET_QUERY_PARAMS:
            key = next((environ[v] for v in _QUERY_KEYS if environ.get(v)), None)
            if key is None:
                raise LiveError(
                    f"{shown}: the recorded request sent ?{name}=, which the cassette holds redacted; "
                    f"set {' or '.join(_QUERY_KEYS)}"
                )
            value = key
        filled.append((name, value))
    return urlunsplit(parts._replace(query=urlencode(filled)))


def _aimed(url: str, upstream: str | None) -> str:
    if upstream is None:
        return url
    target, recorded = urlsplit(upstream), urlsplit(url)
    if target.scheme not in ("http", "https") or not target.netloc:
        raise ChunktapeError(f"--upstream {upstream!r} is not an http(s) URL; write it like https://api.openai.com")
    prefix = target.path.rstrip("/")
    path = recorded.path if not prefix or recorded.path.startswith(prefix + "/") else prefix + recorded.path
    return urlunsplit((target.scheme, target.netloc, path, recorded.query, ""))


def fetch(request: Request, live: Request, *, timeout_s: float, shown: str) -> Interaction:
    """Send `live` and capture the answer as it arrives: the head's and every chunk's time since
    sending, a compressed body decoded (as recording does). The interaction keeps the recorded
    `request` (keys redacted), dated now. LiveError, naming `shown` and never a key, when the
    upstream cannot be reached or stops answering before the head."""
    recorded_at = datetime.now(UTC).replace(microsecond=0)
    pieces: list[Chunk] = []
    ended: Ending = "complete"
    try:
        with httpx.Client(timeout=timeout_s, follow_redirects=False) as client:
            started = time.perf_counter()
            with client.stream(live.method, live.url, headers=list(live.headers), content=live.body) as answer:
                headers_at_s = time.perf_counter() - started
                try:
                    for data in answer.iter_raw():
                        if data:
                            pieces.append(Chunk(time.perf_counter() - started, data))
                except (httpx.RemoteProtocolError, httpx.ReadError):
                    ended = "cut"
                ended_at_s = time.perf_counter() - started
                status, headers, version = answer.status_code, _headers(answer), answer.http_version
    except httpx.HTTPError as exc:
        where = urlsplit(live.url).netloc
        raise LiveError(
            f"{shown}: the upstream {where} did not answer ({mask_secrets(_reason(exc))}); "
            "check --upstream and the network"
        ) from None
    response = Response(
        status=status,
        headers=headers,
        headers_at_s=headers_at_s,
        chunks=tuple(pieces),
        ended=ended,
        ended_at_s=max(ended_at_s, pieces[-1].at_s if pieces else headers_at_s),
        http_version=version,
    )
    return Interaction(request=request, response=decoded_response(response), recorded_at=recorded_at)


def _headers(answer: httpx.Response) -> Headers:
    return tuple((name.decode("latin-1"), value.decode("latin-1")) for name, value in answer.headers.raw)


def _reason(exc: httpx.HTTPError) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]
