"""A realtime session the cassette lacks, relayed to the mount's fallback (what `new_episodes`
does with the recorder as the fallback): here the fallback is the fake upstream itself, so
what the relay passes on is seen without a recorder in between."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Iterator

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosedError, InvalidStatus
from websockets.http11 import Request as WsRequest
from websockets.http11 import Response as WsResponse

from chunktape import Cassette, CassettePlayer, ReplayPolicy
from chunktape.replay import ws_protocol
from chunktape.replay.server import ReplayServer
from tests.integration.test_realtime_sdks import openai_turn
from tests.support.fakes.realtime import FAIL_CLOSE_REASON, OPENAI_DELTAS, PCM, FakeRealtime, gemini, openai

pytestmark = pytest.mark.timeout(60)
WAIT_S = 20.0
GEMINI_PATH = "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"


@pytest.fixture(scope="module")
def server() -> Iterator[ReplayServer]:
    with ReplayServer() as started:
        yield started


def relaying_to(server: ReplayServer, fallback_url: str) -> str:
    """A ws:// base URL whose every upgrade misses (an empty cassette) and goes to `fallback_url`."""
    mounted = server.mount(CassettePlayer([Cassette()], ReplayPolicy()), fallback_url=fallback_url, log_misses=False)
    return "ws" + mounted.removeprefix("http")


def test_a_missing_session_is_relayed_message_for_message(server: ReplayServer) -> None:
    with FakeRealtime(openai) as upstream:
        seen = asyncio.run(openai_turn(relaying_to(server, upstream.base_url)))
    assert seen.text == "".join(OPENAI_DELTAS)
    assert seen.audio == PCM
    assert seen.kinds[-1] == "response.done"


def test_binary_frames_stay_binary_through_the_relay(server: ReplayServer) -> None:
    async def setup(url: str) -> str | bytes:
        async with connect(url + GEMINI_PATH, open_timeout=WAIT_S) as websocket:
            await websocket.send(json.dumps({"setup": {"model": "models/gemini-live-test"}}))
            return await asyncio.wait_for(websocket.recv(), WAIT_S)

    with FakeRealtime(gemini) as upstream:
        answer = asyncio.run(setup(relaying_to(server, upstream.base_url)))
    assert answer == b'{"setupComplete": {}}'


async def read_until_closed(websocket: ClientConnection) -> None:
    while True:
        await asyncio.wait_for(websocket.recv(), WAIT_S)


def test_the_upstreams_close_reaches_the_client_with_its_code_and_reason(
    server: ReplayServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # neither side gives up on a close that never completes: if one did not, the test times out
    monkeypatch.setattr(ws_protocol, "CLOSE_TIMEOUT_S", 3600.0)
    item = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "please fail"}]}

    async def failing_turn(url: str) -> ConnectionClosedError:
        async with connect(url + "/v1/realtime?model=m", open_timeout=WAIT_S, close_timeout=3600) as websocket:
            await websocket.send(json.dumps({"type": "conversation.item.create", "item": item}))
            await websocket.send(json.dumps({"type": "response.create"}))
            with pytest.raises(ConnectionClosedError) as caught:
                await read_until_closed(websocket)
        return caught.value

    with FakeRealtime(openai) as upstream:
        closed = asyncio.run(failing_turn(relaying_to(server, upstream.base_url)))
    assert closed.rcvd is not None
    assert (closed.rcvd.code, closed.rcvd.reason) == (1011, FAIL_CLOSE_REASON)


def test_an_upstream_refusal_reaches_the_client_as_its_http_status_and_body(server: ReplayServer) -> None:
    body = b'{"error": {"code": 403, "message": "no key"}}'

    def refuse(connection: ServerConnection, request: WsRequest) -> WsResponse:
        return WsResponse(403, "Forbidden", Headers([("Content-Type", "application/json")]), body)

    async def attempt(url: str) -> InvalidStatus:
        async with serve(lambda _: asyncio.sleep(0), "127.0.0.1", 0, process_request=refuse) as upstream:
            port = upstream.sockets[0].getsockname()[1]
            with pytest.raises(InvalidStatus) as caught:
                await connect(relaying_to(server, f"http://127.0.0.1:{port}") + "/v1/realtime", open_timeout=WAIT_S)
        return caught.value

    refused = asyncio.run(attempt(server.ws_url))
    assert refused.response.status_code == 403
    assert json.loads(refused.response.body) == json.loads(body)


def test_an_unreachable_fallback_is_a_502_that_names_it_without_the_key(server: ReplayServer) -> None:
    key = "AIzaSyTestTestTestTestTestTestTestTest00"
    free = socket.socket()
    free.bind(("127.0.0.1", 0))
    port = free.getsockname()[1]
    free.close()  # nothing listens there now

    async def attempt(url: str) -> InvalidStatus:
        with pytest.raises(InvalidStatus) as caught:
            await connect(url + GEMINI_PATH + f"?key={key}", open_timeout=WAIT_S)
        return caught.value

    refused = asyncio.run(attempt(relaying_to(server, f"http://127.0.0.1:{port}")))
    assert refused.response.status_code == 502
    message = json.loads(refused.response.body)["error"]["message"]
    assert f"127.0.0.1:{port}" in message
    assert key not in message
