"""`serve --stdio`: an MCP server's recorded session played causally on a pair of pipes."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import pytest

from chunktape import MatchRules, ReplayPolicy
from chunktape.cassette import Close, Handshake, Message, Request, Session
from chunktape.replay.stdio import EXIT_CLEAN, EXIT_CRASHED, EXIT_MISMATCH, StdioPlayer


def rpc(**fields: Any) -> bytes:
    return json.dumps({"jsonrpc": "2.0", **fields}).encode()


SESSION = Session(
    Request("GET", "stdio:python server.py"),
    Handshake(kind="stdio"),
    (
        Message(0.01, "client", "text", rpc(id=0, method="initialize", params={"v": 1})),
        Message(0.30, "server", "text", rpc(id=0, result={"serverInfo": {"name": "stamps"}})),
        Message(0.31, "client", "text", rpc(method="notifications/initialized")),
        Message(0.32, "client", "text", rpc(id=1, method="tools/call", params={"name": "stamp"})),
        Message(0.40, "server", "text", rpc(method="notifications/progress")),
        Message(0.42, "server", "text", rpc(id=1, result={"text": "done"})),
    ),
    Close(0.5, "client", 1000),
)


@dataclass
class Pipes:
    to_server: BinaryIO
    from_server: BinaryIO
    status: list[int] = field(default_factory=list)
    log: list[str] = field(default_factory=list)

    def send(self, data: bytes) -> None:
        self.to_server.write(data + b"\n")
        self.to_server.flush()

    def receive(self) -> dict[str, Any]:
        line = self.from_server.readline()
        assert line, "the server closed stdout"
        value: dict[str, Any] = json.loads(line)
        return value


@contextmanager
def played(policy: ReplayPolicy, rules: MatchRules | None = None) -> Iterator[Pipes]:
    client_read, server_write = os.pipe()
    server_read, client_write = os.pipe()
    with (
        os.fdopen(server_read, "rb") as stdin,
        os.fdopen(server_write, "wb") as stdout,
        os.fdopen(client_write, "wb") as to_server,
        os.fdopen(client_read, "rb") as from_server,
    ):
        pipes = Pipes(to_server, from_server)
        player = StdioPlayer(SESSION, policy, rules or MatchRules(), stdin, stdout, pipes.log.append)
        thread = threading.Thread(target=lambda: pipes.status.append(player.run()), daemon=True)
        thread.start()
        try:
            yield pipes
        finally:
            if not to_server.closed:
                to_server.close()
            thread.join(timeout=10)
            assert not thread.is_alive(), "serve --stdio did not end after the client left"


def test_replies_carry_the_live_ids_whatever_the_client_numbers() -> None:
    with played(ReplayPolicy(speed=0)) as pipes:
        pipes.send(rpc(id="a1b2", method="initialize", params={"v": 1}))
        assert pipes.receive() == {"jsonrpc": "2.0", "id": "a1b2", "result": {"serverInfo": {"name": "stamps"}}}
        pipes.send(rpc(method="notifications/initialized"))
        pipes.send(rpc(id=99, method="tools/call", params={"name": "stamp"}))
        assert pipes.receive() == {"jsonrpc": "2.0", "method": "notifications/progress"}
        assert pipes.receive()["id"] == 99
        pipes.to_server.close()
        assert pipes.from_server.readline() == b""
    assert pipes.status == [EXIT_CLEAN]


def test_each_answer_waits_its_recorded_gap_after_the_question() -> None:
    with played(ReplayPolicy(speed=1)) as pipes:
        time.sleep(0.05)  # a slow client: the first answer is still due 0.29 s after its question
        asked = time.monotonic()
        pipes.send(rpc(id=0, method="initialize", params={"v": 1}))
        pipes.receive()
        assert time.monotonic() - asked >= 0.28


def test_a_client_message_that_was_not_recorded_gets_an_error_reply_naming_the_difference() -> None:
    with played(ReplayPolicy(speed=0)) as pipes:
        pipes.send(rpc(id=5, method="initialize", params={"v": 2}))
        reply = pipes.receive()
        assert reply["id"] == 5
        assert "client message #1 is not the recorded one" in reply["error"]["message"]
        assert "$.params.v is 2, recorded 1" in reply["error"]["message"]
        assert pipes.from_server.readline() == b""
    assert pipes.status == [EXIT_MISMATCH]
    assert pipes.log == [reply["error"]["message"].removeprefix("chunktape: ")]


def test_cut_closes_stdout_after_n_server_messages_and_exits_non_zero() -> None:
    with played(ReplayPolicy.from_knobs(speed=0, fault="cut:1")) as pipes:
        pipes.send(rpc(id=0, method="initialize", params={"v": 1}))
        assert pipes.receive()["id"] == 0
        pipes.send(rpc(method="notifications/initialized"))
        pipes.send(rpc(id=1, method="tools/call", params={"name": "stamp"}))
        assert pipes.from_server.readline() == b""
    assert pipes.status == [EXIT_CRASHED]


def test_normalizers_apply_to_client_messages() -> None:
    rules = MatchRules.build(normalize=["uuid"])
    with played(ReplayPolicy(speed=0), rules) as pipes:
        pipes.send(rpc(id=0, method="initialize", params={"v": 1}))
        pipes.receive()


@pytest.mark.parametrize("fault", ["stall:0:150ms"])
def test_stall_holds_the_first_answer(fault: str) -> None:
    with played(ReplayPolicy.from_knobs(speed=0, fault=fault)) as pipes:
        asked = time.monotonic()
        pipes.send(rpc(id=0, method="initialize", params={"v": 1}))
        pipes.receive()
        assert time.monotonic() - asked >= 0.14
