"""`split` on a realtime session, seen frame by frame: a raw client (websockets' Sans-I/O
client protocol over a plain socket) reads every WebSocket frame the replay server sends, with
its opcode and FIN bit, so the fragment boundaries are checked, not just the messages."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from websockets.asyncio.client import connect
from websockets.client import ClientProtocol
from websockets.exceptions import ConnectionClosed
from websockets.frames import Close as WsClose
from websockets.frames import Frame as WsFrame
from websockets.frames import Opcode
from websockets.http11 import Response as WsResponse
from websockets.uri import parse_uri

from chunktape import Cassette, CassettePlayer, Close, Handshake, Message, ReplayPolicy, Request, Session
from chunktape.knobs import Fault, Split
from chunktape.replay.server import ReplayServer

pytestmark = pytest.mark.timeout(60)
WAIT_S = 10.0

TEXT = '{"type":"response.output_text.delta","delta":"你好，世界"}'.encode()
BINARY = bytes(range(10))
QUESTION = b'{"type":"response.create"}'
SESSION = Session(
    Request("GET", "ws://api.example/v1/realtime?model=m"),
    Handshake(101, (("upgrade", "websocket"),), 0.001),
    (
        Message(0.002, "server", "text", TEXT),
        Message(0.003, "client", "text", QUESTION),
        Message(0.004, "server", "binary", BINARY),
    ),
    Close(0.005, "server", 1000, "done"),
)


@dataclass(frozen=True)
class Seen:
    opcode: Opcode
    fin: bool
    data: bytes


async def frames_of(base_ws_url: str, question: list[bytes]) -> tuple[list[Seen], WsClose | None]:
    """Every frame the server sends, the client sending `question` (as these fragments) after
    the first whole message; then the close it got."""
    protocol = ClientProtocol(parse_uri(base_ws_url + "/v1/realtime?model=m"))
    wsuri = parse_uri(base_ws_url)
    reader, writer = await asyncio.open_connection(wsuri.host, wsuri.port)
    protocol.send_request(protocol.connect())
    seen: list[Seen] = []
    asked = False
    try:
        while True:
            writer.write(b"".join(protocol.data_to_send()))
            data = await asyncio.wait_for(reader.read(65536), WAIT_S)
            if not data:
                protocol.receive_eof()
                return seen, protocol.close_rcvd
            protocol.receive_data(data)
            for event in protocol.events_received():
                if isinstance(event, WsResponse):
                    assert event.status_code == 101
                elif isinstance(event, WsFrame) and event.opcode is not Opcode.CLOSE:
                    seen.append(Seen(event.opcode, event.fin, bytes(event.data)))
                    if event.fin and not asked:
                        asked = True
                        for index, piece in enumerate(question):
                            fin = index == len(question) - 1
                            if index == 0:
                                protocol.send_text(piece, fin=fin)
                            else:
                                protocol.send_continuation(piece, fin=fin)
    finally:
        writer.close()


_server: list[ReplayServer] = []


@pytest.fixture(scope="module", autouse=True)
def server() -> Iterator[ReplayServer]:
    with ReplayServer() as started:
        _server.append(started)
        yield started
        _server.clear()


def replay(policy: ReplayPolicy, question: list[bytes] | None = None) -> tuple[list[Seen], WsClose | None]:
    """The session replayed under `policy` from its own mount of the module's server."""
    mounted = _server[0].mount(CassettePlayer([Cassette(sessions=[SESSION])], policy))
    return asyncio.run(frames_of("ws" + mounted.removeprefix("http"), question or [QUESTION]))


def messages(frames: list[Seen]) -> list[list[Seen]]:
    """Frames grouped into messages: each starts with an opcode and ends with FIN."""
    grouped: list[list[Seen]] = []
    for frame in frames:
        if frame.opcode is not Opcode.CONT:
            grouped.append([])
        grouped[-1].append(frame)
    return grouped


def test_split_bytes_sends_a_message_as_its_opcode_frame_then_continuations_with_fin_on_the_last() -> None:
    frames, close = replay(ReplayPolicy(speed=0, split=Split.parse("bytes:4")))
    text, binary = messages(frames)
    for message, opcode, payload in ((text, Opcode.TEXT, TEXT), (binary, Opcode.BINARY, BINARY)):
        assert message[0].opcode is opcode
        assert all(frame.opcode is Opcode.CONT for frame in message[1:])
        assert [frame.fin for frame in message] == [False] * (len(message) - 1) + [True]
        assert all(len(frame.data) == 4 for frame in message[:-1])
        assert b"".join(frame.data for frame in message) == payload
    assert len(text) == -(-len(TEXT) // 4)
    assert close is not None
    assert (close.code, close.reason) == (1000, "done")


def test_split_utf8_cuts_a_text_message_inside_its_characters_and_it_still_joins_whole() -> None:
    frames, _ = replay(ReplayPolicy(speed=0, split=Split.parse("utf8")))
    text = messages(frames)[0]
    assert len(text) == 1 + sum(1 for character in TEXT.decode() if len(character.encode()) > 1)
    assert b"".join(frame.data for frame in text).decode("utf-8") == TEXT.decode()
    with pytest.raises(UnicodeDecodeError):
        text[0].data.decode("utf-8")  # the first frame ends one byte into 你: no frame is valid alone


def test_recorded_and_events_send_every_message_in_one_frame() -> None:
    for split in ("recorded", "events", "whole"):
        frames, _ = replay(ReplayPolicy(speed=0, split=Split.parse(split)))
        assert [(frame.opcode, frame.fin, frame.data) for frame in frames] == [
            (Opcode.TEXT, True, TEXT),
            (Opcode.BINARY, True, BINARY),
        ], split


def test_a_client_message_in_continuation_frames_is_matched_whole() -> None:
    frames, close = replay(ReplayPolicy(speed=0), question=[QUESTION[:5], QUESTION[5:9], QUESTION[9:]])
    assert [frame.data for frame in frames] == [TEXT, BINARY]
    assert close is not None
    assert close.code == 1000


def test_truncate_leaves_out_the_last_server_message_and_closes_normally() -> None:
    frames, close = replay(ReplayPolicy(speed=0, fault=Fault.parse("truncate")))
    assert [frame.data for frame in frames] == [TEXT]
    assert close is not None
    assert close.code == 1000
    assert "truncate" in close.reason


OPEN = Session(  # the client closes first in the recording: the server waits for it
    Request("GET", "ws://api.example/v1/realtime?model=m"),
    Handshake(101, (("upgrade", "websocket"), ("sec-websocket-protocol", "realtime")), 0.001),
    (Message(0.002, "server", "text", TEXT),),
    Close(1.0, "client", 1000, ""),
)


def test_the_recorded_subprotocol_is_chosen_when_the_client_offers_it(server: ReplayServer) -> None:
    async def chosen(url: str, offered: list[str] | None) -> str | None:
        async with connect(url + "/v1/realtime?model=m", subprotocols=offered, open_timeout=WAIT_S) as websocket:  # type: ignore[arg-type]
            await asyncio.wait_for(websocket.recv(), WAIT_S)
            return websocket.subprotocol

    player = CassettePlayer([Cassette(sessions=[OPEN])], ReplayPolicy(speed=0), allow_repeats=True)
    url = "ws" + server.mount(player).removeprefix("http")
    assert asyncio.run(chosen(url, ["other", "realtime"])) == "realtime"
    assert asyncio.run(chosen(url, None)) is None


def test_stopping_the_server_closes_an_open_session_with_1012() -> None:
    async def session_during_stop(replay: ReplayServer) -> int | None:
        async with connect(replay.ws_url + "/v1/realtime?model=m", open_timeout=WAIT_S) as websocket:
            assert await asyncio.wait_for(websocket.recv(), WAIT_S) == TEXT.decode()
            await asyncio.to_thread(replay.stop)
            with pytest.raises(ConnectionClosed) as caught:
                await asyncio.wait_for(websocket.recv(), WAIT_S)
        return caught.value.rcvd.code if caught.value.rcvd else None

    replay = ReplayServer(CassettePlayer([Cassette(sessions=[OPEN])], ReplayPolicy(speed=0)))
    replay.start()
    try:
        assert asyncio.run(session_during_stop(replay)) == 1012
    finally:
        replay.stop()
