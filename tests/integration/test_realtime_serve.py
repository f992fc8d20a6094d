"""`chunktape serve` answers realtime sessions: ws:// by default, wss:// with `--tls DIR`."""

from __future__ import annotations

import asyncio
import json
import ssl
from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from chunktape import Cassette, Close, Handshake, Message, Request, Session
from chunktape.persist import save_cassette
from tests.support.serving import serving

pytestmark = pytest.mark.timeout(60)
WAIT_S = 10.0

SESSION = Session(
    Request("GET", "wss://api.openai.com/v1/realtime?model=gpt-realtime"),
    Handshake(101, (("upgrade", "websocket"),), 0.01),
    (
        Message(0.02, "server", "text", b'{"type":"session.created","event_id":"event_1"}'),
        Message(0.2, "client", "text", b'{"type":"response.create","event_id":"evt_client"}'),
        Message(0.25, "server", "text", '{"type":"response.output_text.delta","delta":"你好"}'.encode()),
        Message(0.3, "server", "binary", b"\x00\x01\x02"),
    ),
    Close(0.35, "server", 1011, "mid-turn"),
)


async def converse(url: str, context: ssl.SSLContext | None) -> tuple[list[str | bytes], int | None, str]:
    received: list[str | bytes] = []
    async with connect(url, ssl=context, open_timeout=WAIT_S) as websocket:
        received.append(await asyncio.wait_for(websocket.recv(), WAIT_S))
        await websocket.send(json.dumps({"type": "response.create", "event_id": "a-fresh-id"}))
        try:
            while True:
                received.append(await asyncio.wait_for(websocket.recv(), WAIT_S))
        except ConnectionClosed as closed:
            close = closed.rcvd
    return received, close.code if close else None, close.reason if close else ""


@pytest.fixture
def cassette_file(tmp_path: Path) -> str:
    path = tmp_path / "realtime.yaml"
    save_cassette(Cassette(sessions=[SESSION]), str(path))
    return str(path)


def test_serve_plays_a_session_over_ws(cassette_file: str) -> None:
    with serving(cassette_file, "--speed", "0") as served:
        url = "ws" + served.base_url.removeprefix("http") + "/v1/realtime?model=gpt-realtime"
        received, code, reason = asyncio.run(converse(url, None))
    assert received == ['{"type":"session.created","event_id":"event_1"}', '{"type":"response.output_text.delta","delta":"你好"}', b"\x00\x01\x02"]  # fmt: skip
    assert (code, reason) == (1011, "mid-turn")


def test_serve_tls_serves_wss_with_a_ca_the_client_trusts(cassette_file: str, tmp_path: Path) -> None:
    tls_dir = tmp_path / "tls"
    with serving(cassette_file, "--speed", "0", "--tls", str(tls_dir)) as served:
        assert served.base_url.startswith("https://127.0.0.1:")
        context = ssl.create_default_context(cafile=str(tls_dir / "ca.pem"))
        url = "wss" + served.base_url.removeprefix("https") + "/v1/realtime?model=gpt-realtime"
        received, code, _ = asyncio.run(converse(url, context))
        assert f"SSL_CERT_FILE={tls_dir / 'ca.pem'}" in served.stderr()
        with pytest.raises(ssl.SSLCertVerificationError):  # not trusted without the CA: TLS is real
            asyncio.run(converse(url, ssl.create_default_context()))
    assert len(received) == 3
    assert code == 1011
