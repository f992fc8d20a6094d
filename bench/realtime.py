"""Realtime sessions: how far each replayed server message lands from its recorded gap.

A session shaped like OpenAI Realtime (session.created, then one client `response.create`
answered by uneven text and audio deltas and `response.done`) is served by `chunktape serve`
(its own process) and read by a websockets client here. Each server message's gap is timed
from the moment the client sent the message it answers, as the causal replay promises;
error = replayed gap - recorded gap.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from pathlib import Path
from typing import Any

from bench.common import VENV_BIN, Service, median, percentile
from bench.report import Section, Target

MESSAGES = 24
CLIENT_AT_S = 0.05


def _session() -> Any:
    from chunktape import Close, Handshake, Message, Request, Session

    rng = random.Random(7)
    messages = [Message(0.01, "server", "text", b'{"type":"session.created"}')]
    messages.append(Message(CLIENT_AT_S, "client", "text", b'{"type":"response.create"}'))
    at = CLIENT_AT_S
    for index in range(MESSAGES):
        at += rng.choice((0.002, 0.005, 0.011, 0.03, 0.004))
        payload = json.dumps({"type": "response.output_text.delta", "delta": f"片段{index}"}, ensure_ascii=False)
        messages.append(Message(round(at, 6), "server", "text", payload.encode()))
    return Session(
        Request("GET", "wss://api.openai.com/v1/realtime?model=gpt-realtime"),
        Handshake(101, (), 0.005),
        tuple(messages),
        Close(round(at + 0.01, 6), "client", 1000),
    )


async def _one_round(url: str) -> list[float]:
    from websockets.asyncio.client import connect

    async with connect(url, open_timeout=10, compression=None) as websocket:
        await asyncio.wait_for(websocket.recv(), 10)
        await websocket.send('{"type":"response.create"}')
        sent = time.perf_counter()
        gaps = []
        for _ in range(MESSAGES):
            await asyncio.wait_for(websocket.recv(), 10)
            gaps.append(time.perf_counter() - sent)
    return gaps


def run(work: Path, rounds: int) -> Section:
    from chunktape import Cassette, save_cassette

    session = _session()
    path = work / "realtime.yaml"
    save_cassette(Cassette(sessions=[session]), str(path))
    recorded = [m.at_s - CLIENT_AT_S for m in session.messages if m.sender == "server"][1:]
    errors_ms: list[float] = []
    with Service("chunktape serve", [str(VENV_BIN / "chunktape"), "serve", str(path), "--port", "0"]) as server:
        url = "ws" + server.base_url.removeprefix("http") + "/v1/realtime?model=gpt-realtime"
        for _ in range(rounds):
            replayed = asyncio.run(_one_round(url))
            errors_ms += [(got - want) * 1000 for got, want in zip(replayed, recorded, strict=True)]
    section = Section(
        "realtime",
        "Realtime sessions: replayed server-message gap minus recorded, timed from the client message answered (ms)",
        ["emitter", "messages", "p50", "p90", "p99", "max", "min"],
    )
    section.add(
        "chunktape serve (WebSocket)",
        len(errors_ms),
        round(median(errors_ms), 3),
        round(percentile(errors_ms, 90), 3),
        round(percentile(errors_ms, 99), 3),
        round(max(errors_ms), 3),
        round(min(errors_ms), 3),
    )
    section.targets.append(
        Target("realtime gap error p90", round(percentile(errors_ms, 90), 3), 5.0, higher_is_better=False, unit="ms")
    )
    section.notes.append(
        f"{rounds} sessions of {MESSAGES} server messages each, gaps 2-30 ms, one client message; "
        "a negative error would be a message sent before its recorded gap (never expected)."
    )
    section.data = {"errors_ms": [round(value, 3) for value in errors_ms]}
    return section
