"""The chunktape mitmproxy addon: streams every response through untouched and records it.

Long on purpose: mitmproxy calls an addon's hooks by name on one object, so the HTTP and
WebSocket hooks share this class; capture, writing and redaction live in their own modules.

Use it from the CLI (`chunktape record`), from Python (`chunktape.recorder.Recorder`), or
load it into mitmproxy yourself::

    mitmdump -s chunktape/recorder/addon.py --mode reverse:https://generativelanguage.googleapis.com \\
        --set chunktape_cassette=cassettes/gemini.yaml --set chunktape_redact=x-session-id,user_id

Options (declared in `load`, listed by scripts/make_docs.py):

- `chunktape_cassette` (str, default `''`): Cassette file (YAML) that chunktape records into.
- `chunktape_redact` (str, default `''`): Comma-separated header, query and JSON field names to redact, on top of the default secrets.
- `chunktape_append` (bool, default `False`): Keep the interactions already in the cassette and add new ones after.
- `chunktape_keep_preflights` (bool, default `False`): Record browsers' CORS preflights (OPTIONS) too; by default they pass through unrecorded.

mitmproxy's own `ssl_insecure=true` skips upstream certificate checks (local test servers).
Loaded with `-s`, the addon runs after mitmproxy's built-in addons, so a response header
they rewrite is recorded rewritten: in reverse mode that is Alt-Svc, unless
`keep_alt_svc_header=true`. (`chunktape record` puts the addon first instead.)

How it works: in `responseheaders` the addon sets `flow.response.stream` to a callable
that notes each chunk's arrival time and returns its bytes unchanged, so the client gets
every chunk when the upstream sends it (nothing is buffered). When the response ends
(`response` hook) or the upstream cuts it (`error` hook after the head arrived, recorded
as `ended: cut`), the interaction is saved atomically, redacted, before the client sees
the end of the response (for chunked and HTTP/2 bodies; a Content-Length body is complete
for the client at its last byte, a moment before the write lands). A client that hangs up
mid-stream also leaves a cut recording: replay gives what the upstream had sent by then,
and a client that stopped reading there never notices the difference. Exchanges still
open when the recorder stops are not recorded.

WebSocket upgrades (Gemini Live, OpenAI Realtime) are recorded as realtime sessions
(docs/realtime.md): `websocket_message` notes each whole message with its time as
mitmproxy passes it on untouched, and `websocket_end` saves the session with its close.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

from mitmproxy import ctx, http
from mitmproxy.proxy.mode_specs import ReverseMode
from mitmproxy.proxy.server_hooks import ServerConnectionHookData

from chunktape.cassette import Headers, Interaction, Request, Session
from chunktape.errors import ChunktapeError, WriterClosedError
from chunktape.preflight import is_preflight
from chunktape.recorder.capture import ExchangeCapture
from chunktape.recorder.session_capture import SessionCapture
from chunktape.recorder.settings import KEY_REDACTED
from chunktape.recorder.unreachable import unreachable_line, unreachable_reason
from chunktape.recorder.writer import CassetteWriter
from chunktape.redaction import Redactor
from chunktape.secrets_scan import body_secrets, mask, mask_secrets

logger = logging.getLogger("chunktape.recorder")


def _headers(fields: tuple[tuple[bytes, bytes], ...]) -> Headers:
    """Header pairs in wire order; latin-1 keeps every byte, as the replay transports do."""
    return tuple((name.decode("latin-1"), value.decode("latin-1")) for name, value in fields)


def _request(flow: http.HTTPFlow) -> Request:
    request = flow.request
    return Request(
        method=request.method,
        url=request.url,
        headers=_headers(request.headers.fields),
        body=request.raw_content or b"",
    )


def _frame_for_http1_client(flow: http.HTTPFlow) -> None:
    """Give an HTTP/2 upstream's body chunked framing towards an HTTP/1.1 client.

    mitmproxy passes such a response on with neither Content-Length nor chunked framing,
    so the body ends when the connection closes: a stream the upstream cut would look
    complete to the client, and the end could not wait for the cassette write. Chunked
    framing is what an HTTP/1.1 upstream would have sent. Only the client's copy of the
    head changes; the cassette keeps the upstream's headers as they arrived.
    """
    response = flow.response
    if (
        response is not None
        and (response.is_http2 or response.is_http3)
        and flow.request.http_version.startswith("HTTP/1")
        and flow.request.method.upper() != "HEAD"
        and response.status_code >= 200
        and response.status_code not in (204, 304)
        and "content-length" not in response.headers
        and "transfer-encoding" not in response.headers
    ):
        response.headers["transfer-encoding"] = "chunked"


def _shown_url(url: str, redactor: Redactor) -> str:
    """The URL as a log line may show it: secret query parameters and key-shaped strings masked."""
    return mask_secrets(redactor.url(url))


def _describe(interaction: Interaction | Session, redactor: Redactor) -> str:
    if isinstance(interaction, Session):
        close = interaction.close
        ending = "dropped" if close is None or close.code is None else f"closed {close.code} by the {close.by}"
        shown = _shown_url(interaction.request.url, redactor)
        return f"realtime session {shown} ({len(interaction.messages)} messages, {ending})"
    request, response = interaction.request, interaction.response
    ending = "" if response.ended == "complete" else ", cut"
    shown = _shown_url(request.url, redactor)
    return f"{request.method} {shown} -> {response.status} ({len(response.chunks)} chunks{ending})"


def _warn_of_secrets(item: Interaction | Session, redactor: Redactor) -> None:
    """Say which keys were found by their format (in a header, query value or JSON string
    nobody named as secret) and redacted, masked. Bodies are stored byte-exact, so a key left
    in one (a response echoing it, even split across chunks) reaches the cassette: say so too,
    rather than let it slip into a commit."""
    stored, keys = redactor.redacted_item(item)
    what = f"{item.request.method if isinstance(item, Interaction) else 'realtime session'} {item.request.path}"
    for key in keys:
        logger.warning("%s: %s, %s, stored as <redacted:%s>", KEY_REDACTED, what, key, key.kind)
    if not isinstance(stored, Interaction):
        return
    for side, data in (("request", stored.request.body), ("response", stored.response.body)):
        for kind, secret in body_secrets(data, redactor):
            logger.warning(
                "the %s body of %s holds what looks like a secret: %s (%s); bodies are stored byte-exact, "
                "so it is in the cassette: check it with chunktape validate",
                side,
                _describe(item, redactor),
                kind,
                mask(secret),
            )


class ChunktapeRecorder:
    """Records every HTTP exchange into one cassette. Pass a writer to use it programmatically;
    without one it opens the cassette named by the `chunktape_cassette` option."""

    def __init__(self, writer: CassetteWriter | None = None, *, keep_preflights: bool = False) -> None:
        self._writer = writer
        self._keep_preflights = keep_preflights
        self._owns_writer = writer is None
        self._captures: dict[str, ExchangeCapture] = {}
        self._sessions: dict[str, tuple[SessionCapture, http.HTTPFlow]] = {}

    @property
    def writer(self) -> CassetteWriter | None:
        return self._writer

    # ------------------------------------------------------------ lifecycle

    def load(self, loader: Any) -> None:
        loader.add_option("chunktape_cassette", str, "", "Cassette file (YAML) that chunktape records into.")
        loader.add_option(
            "chunktape_redact",
            str,
            "",
            "Comma-separated header, query and JSON field names to redact, on top of the default secrets.",
        )
        loader.add_option(
            "chunktape_append", bool, False, "Keep the interactions already in the cassette and add new ones after."
        )
        loader.add_option(
            "chunktape_keep_preflights",
            bool,
            False,
            "Record browsers' CORS preflights (OPTIONS) too; by default they pass through unrecorded.",
        )

    def configure(self, updated: set[str]) -> None:
        if not self._owns_writer:
            return
        self._keep_preflights = ctx.options.chunktape_keep_preflights
        path = ctx.options.chunktape_cassette
        redact = tuple(name.strip() for name in ctx.options.chunktape_redact.split(",") if name.strip())
        if self._writer is not None and "chunktape_redact" in updated:
            self._writer.redact = redact
        if not path or not updated & {"chunktape_cassette", "chunktape_append"}:
            return
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        # a cassette this process already recorded into is continued, never started over
        append = ctx.options.chunktape_append or os.path.abspath(path) in CassetteWriter.opened_paths
        try:
            self._writer = CassetteWriter(path, redact=redact, append=append)
        except ChunktapeError as exc:
            logger.error("chunktape: %s", exc)  # an error at startup makes mitmdump exit

    def running(self) -> None:
        if self._writer is None and not ctx.options.chunktape_cassette:
            logger.error("chunktape: no cassette to record into; add --set chunktape_cassette=PATH")

    def done(self) -> None:
        if self._writer is not None:
            self._save_closed_sessions(self._writer)
            self._writer.close()
            if self._owns_writer:
                logger.info("%d interactions written to %s", self._writer.recorded, self._writer.path)

    def _save_closed_sessions(self, writer: CassetteWriter) -> None:
        """Sessions whose close was relayed but whose `websocket_end` had not run yet when the
        recorder stopped (the client saw the close first): kept, not lost to a race."""
        for capture, flow in self._sessions.values():
            data = flow.websocket
            if data is not None and data.timestamp_end is not None:
                writer.add(capture.finish(data.close_code, data.close_reason, data.closed_by_client))
        self._sessions.clear()

    # ------------------------------------------------------------ connections

    def server_connect(self, data: ServerConnectionHookData) -> None:
        """Offer HTTP/2 to TLS upstreams in reverse mode.

        mitmproxy mirrors the client's ALPN upstream; a plain-HTTP client (the usual case in
        reverse mode) offers none, so the upstream would fall back to HTTP/1.1 and an
        h2-only upstream would fail. mitmproxy translates HTTP/1.1 <-> HTTP/2 per stream.
        """
        server, client = data.server, data.client
        if (
            ctx.options.http2
            and isinstance(client.proxy_mode, ReverseMode)
            and client.proxy_mode.scheme == "https"
            and not client.tls
            and not server.alpn_offers
        ):
            server.alpn_offers = (b"h2", b"http/1.1")

    # ------------------------------------------------------------ exchanges

    def request(self, flow: http.HTTPFlow) -> None:
        if self._writer is None:
            return
        request = _request(flow)
        if is_preflight(request) and not self._keep_preflights:
            # the browser's question to the backend, not the app's exchange: it passes through, and
            # replay answers preflights itself (cors); keep_preflights records the backend's answers
            logger.debug("passed through, not recorded (CORS preflight): %s", _shown_url(request.url, self._redactor()))
            return
        self._captures[flow.id] = ExchangeCapture(request)

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        capture = self._captures.get(flow.id)
        response = flow.response
        if capture is None or response is None:
            return
        capture.response_head(response.status_code, _headers(response.headers.fields), response.http_version)
        response.stream = capture.on_chunk
        _frame_for_http1_client(flow)

    async def response(self, flow: http.HTTPFlow) -> None:
        capture = self._captures.pop(flow.id, None)
        if capture is None or not capture.has_response_head:
            return
        if capture.status == 101:
            if flow.websocket is None:
                logger.warning("not recorded (protocol upgrade): %s", _shown_url(capture.request.url, self._redactor()))
            else:
                self._sessions[flow.id] = (SessionCapture(capture), flow)
            return
        await self._save(capture.finish("complete"))

    # ------------------------------------------------------------ realtime sessions

    def websocket_message(self, flow: http.HTTPFlow) -> None:
        """Note the message mitmproxy is about to pass on, untouched."""
        entry = self._sessions.get(flow.id)
        if entry is None or flow.websocket is None or not flow.websocket.messages:
            return
        message = flow.websocket.messages[-1]
        entry[0].on_message(message.from_client, message.is_text, message.content)

    async def websocket_end(self, flow: http.HTTPFlow) -> None:
        entry = self._sessions.pop(flow.id, None)
        if entry is None or flow.websocket is None:
            return
        data = flow.websocket
        await self._save(entry[0].finish(data.close_code, data.close_reason, data.closed_by_client))

    async def error(self, flow: http.HTTPFlow) -> None:
        capture = self._captures.pop(flow.id, None)
        if capture is None:
            return
        message = flow.error.msg if flow.error else "unknown error"
        if not capture.has_response_head:
            shown = _shown_url(flow.request.url, self._redactor())
            reason = unreachable_reason(message)
            if reason is not None:
                upstream = f"{flow.request.scheme}://{flow.request.host}:{flow.request.port}"
                request = f"{flow.request.method} {shown}"
                logger.warning("%s", unreachable_line(upstream, mask_secrets(reason), request))
                return
            logger.warning("not recorded, no response: %s %s (%s)", flow.request.method, shown, mask_secrets(message))
            return
        if message.startswith("Client disconnected"):
            interaction = capture.finish_after_the_client_left()
            note = "" if interaction.response.ended == "complete" else f" ({message})"
            await self._save(interaction, note)
            return
        await self._save(capture.finish("cut"), f" ({message})")

    async def _save(self, interaction: Interaction | Session, note: str = "") -> None:
        """Wait until it is on disk (off the event loop), so a client that saw the end knows it is kept."""
        if self._writer is None:
            return
        try:
            await asyncio.wrap_future(self._writer.add(interaction))
        except WriterClosedError:
            logger.info(
                "not recorded, the recorder stopped before the end: %s", _describe(interaction, self._redactor())
            )
        except Exception:
            return  # the writer has logged why
        else:
            logger.info("recorded %s%s", _describe(interaction, self._redactor()), mask_secrets(note))
            _warn_of_secrets(interaction, self._redactor())  # cheap: long base64 runs are skipped

    def _redactor(self) -> Redactor:
        return Redactor(self._writer.redact if self._writer is not None else ())


addons = [ChunktapeRecorder()]
