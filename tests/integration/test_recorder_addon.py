"""The addon's hooks, driven in-process with mitmproxy's own test helpers (taddons, tflow)."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from mitmproxy import flow as mitm_flow
from mitmproxy import http

from chunktape import load_cassette
from chunktape.recorder.addon import ChunktapeRecorder

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)  # ldap3, imported by mitmproxy's proxyauth
    from mitmproxy.test import taddons, tflow

pytestmark = pytest.mark.asyncio


async def exchange(addon: ChunktapeRecorder, chunks: list[bytes], *, cut: bool = False, key: str = "k1") -> list[bytes]:
    """One flow through request -> responseheaders -> streamed chunks -> response (or error);
    returns what the stream callable handed on to the client."""
    flow = tflow.tflow()
    flow.request.headers["x-goog-api-key"] = key
    flow.request.headers["x-session"] = "SECRET-SESSION"
    addon.request(flow)
    flow.response = http.Response.make(200, b"", {"content-type": "text/event-stream"})
    addon.responseheaders(flow)
    stream = flow.response.stream
    assert callable(stream)
    passed = [stream(chunk) for chunk in chunks]
    assert stream(b"") == b""
    if cut:
        flow.error = mitm_flow.Error("server closed connection")
        await addon.error(flow)
    else:
        await addon.response(flow)
    return passed  # type: ignore[return-value]


async def test_each_chunk_passes_through_unchanged_and_is_recorded(tmp_path: Path) -> None:
    cassette = tmp_path / "c.yaml"
    addon = ChunktapeRecorder()
    with taddons.context(addon) as tctx:
        tctx.configure(addon, chunktape_cassette=str(cassette))
        chunks = [b"data: \xe4", b"\xb8\xad\r", b"\n\r\n"]
        assert await exchange(addon, chunks) == chunks
        addon.done()
    [interaction] = load_cassette(str(cassette)).interactions
    assert [chunk.data for chunk in interaction.response.chunks] == chunks
    assert interaction.response.ended == "complete"


async def test_an_error_after_the_head_is_recorded_as_cut(tmp_path: Path) -> None:
    cassette = tmp_path / "c.yaml"
    addon = ChunktapeRecorder()
    with taddons.context(addon) as tctx:
        tctx.configure(addon, chunktape_cassette=str(cassette))
        await exchange(addon, [b"data: 1\n\n"], cut=True)
        addon.done()
    [interaction] = load_cassette(str(cassette)).interactions
    assert interaction.response.ended == "cut"
    assert interaction.response.body == b"data: 1\n\n"


async def test_an_error_before_any_response_records_nothing_and_writes_no_file(tmp_path: Path) -> None:
    cassette = tmp_path / "c.yaml"
    addon = ChunktapeRecorder()
    with taddons.context(addon) as tctx:
        tctx.configure(addon, chunktape_cassette=str(cassette))
        flow = tflow.tflow()
        addon.request(flow)
        flow.error = mitm_flow.Error("connection refused")
        await addon.error(flow)
        addon.done()
    assert not cassette.exists()


async def test_changing_options_while_recording_never_loses_what_was_recorded(tmp_path: Path) -> None:
    cassette = tmp_path / "c.yaml"
    addon = ChunktapeRecorder()
    with taddons.context(addon) as tctx:
        tctx.configure(addon, chunktape_cassette=str(cassette))
        await exchange(addon, [b"one"], key="k1")
        tctx.configure(addon, chunktape_redact="x-session")
        await exchange(addon, [b"two"], key="k2")
        tctx.configure(addon, chunktape_append=False, chunktape_cassette=str(cassette))  # as a script reload does
        await exchange(addon, [b"three"], key="k3")
        addon.done()
    interactions = load_cassette(str(cassette)).interactions
    assert [i.response.body for i in interactions] == [b"one", b"two", b"three"]
    assert "SECRET-SESSION" not in cassette.read_text(encoding="utf-8")


async def test_the_addon_file_loads_as_a_mitmproxy_script() -> None:
    with taddons.context() as tctx:
        module = tctx.script(str(Path(__file__).resolve().parents[2] / "chunktape" / "recorder" / "addon.py"))
        assert [type(addon).__name__ for addon in module.addons] == ["ChunktapeRecorder"]


def _upgrade(key: str = "AIzaSyA-secret-in-the-query-0123456789") -> http.HTTPFlow:
    flow = tflow.twebsocketflow(messages=False)
    flow.request.path = f"/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent?key={key}"
    flow.request.headers["x-goog-api-key"] = key
    return flow


async def _message(
    addon: ChunktapeRecorder, flow: http.HTTPFlow, from_client: bool, content: bytes, text: bool
) -> bytes:
    from mitmproxy import websocket
    from wsproto.frame_protocol import Opcode

    assert flow.websocket is not None
    message = websocket.WebSocketMessage(Opcode.TEXT if text else Opcode.BINARY, from_client, content)
    flow.websocket.messages.append(message)
    addon.websocket_message(flow)
    return message.content  # what mitmproxy passes on


async def test_a_websocket_session_is_recorded_with_frames_close_and_no_secret(tmp_path: Path) -> None:
    cassette = tmp_path / "c.yaml"
    addon = ChunktapeRecorder()
    with taddons.context(addon) as tctx:
        tctx.configure(addon, chunktape_cassette=str(cassette))
        flow = _upgrade()
        addon.request(flow)
        addon.responseheaders(flow)
        await addon.response(flow)
        assert await _message(addon, flow, True, b'{"setup":{}}', text=True) == b'{"setup":{}}'
        assert await _message(addon, flow, False, b'{"setupComplete":{}}', text=False) == b'{"setupComplete":{}}'
        assert flow.websocket is not None
        flow.websocket.close_code, flow.websocket.close_reason, flow.websocket.closed_by_client = 1011, "boom", False
        flow.websocket.timestamp_end = 1.0
        await addon.websocket_end(flow)
        addon.done()
    (session,) = load_cassette(str(cassette)).sessions
    assert [(m.sender, m.frame, m.data) for m in session.messages] == [
        ("client", "text", b'{"setup":{}}'),
        ("server", "binary", b'{"setupComplete":{}}'),
    ]
    assert session.close is not None
    assert (session.close.by, session.close.code, session.close.reason) == ("server", 1011, "boom")
    assert session.request.url.startswith("ws://")
    assert "AIzaSy" not in cassette.read_text(encoding="utf-8")


async def test_a_session_closed_before_its_end_hook_ran_is_kept_at_shutdown(tmp_path: Path) -> None:
    cassette = tmp_path / "c.yaml"
    addon = ChunktapeRecorder()
    with taddons.context(addon) as tctx:
        tctx.configure(addon, chunktape_cassette=str(cassette))
        closed, still_open = _upgrade(), _upgrade()
        for flow in (closed, still_open):
            addon.request(flow)
            addon.responseheaders(flow)
            await addon.response(flow)
            await _message(addon, flow, True, b"hi", text=True)
        assert closed.websocket is not None
        assert still_open.websocket is not None
        still_open.websocket.timestamp_end = None  # mitmproxy's test flow comes already ended
        closed.websocket.close_code, closed.websocket.closed_by_client, closed.websocket.timestamp_end = 1000, True, 1.0
        addon.done()  # the recorder stops: websocket_end of `closed` never ran
    (session,) = load_cassette(str(cassette)).sessions
    assert session.close is not None
    assert (session.close.by, session.close.code) == ("client", 1000)
