"""Fake realtime upstreams: Gemini Live (`BidiGenerateContent`) and OpenAI Realtime (`/v1/realtime`).

Each imitates its protocol as the official SDKs read it (google/genai/live.py,
openai/resources/realtime/): Gemini answers `setup` with `setupComplete` and sends every
server message as a binary frame of UTF-8 JSON; OpenAI greets with `session.created` and
answers in text frames. Gaps are uneven, text is CJK, audio is base64 PCM, and a turn whose
prompt says "fail" is cut mid-turn with close code 1011.
"""

from __future__ import annotations

import asyncio
import base64
import json
import threading
from collections.abc import Awaitable, Callable
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve

GEMINI_METHOD = ".GenerativeService.BidiGenerateContent"
"""The path is /ws/google.ai.generativelanguage.{v1beta,v1alpha,v1}.GenerativeService.BidiGenerateContent."""
PCM = bytes((index * 7) % 256 for index in range(960))  # 20 ms of 24 kHz 16-bit mono
GEMINI_PARTS = ("你好！", "这是实时", "会话的回答。")
GEMINI_GAPS_S = (0.12, 0.03, 0.09, 0.05, 0.04, 0.02)
"""After the client's turn: each text part, the audio, generationComplete, turnComplete."""
OPENAI_DELTAS = ("こんにちは", "、リアルタイム", "です。")
OPENAI_GAPS_S = (0.1, 0.04, 0.08, 0.03, 0.05)
"""After response.create: each text delta, the audio delta, response.done."""
FAIL_CLOSE_REASON = "Internal error encountered."


def _gemini_json(value: dict[str, Any]) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8")


async def gemini(connection: ServerConnection) -> None:
    path = connection.request.path.partition("?")[0] if connection.request is not None else ""
    if not (path.startswith("/ws/google.ai.generativelanguage.") and path.endswith(GEMINI_METHOD)):
        await connection.close(1008, "unknown method")
        return
    setup = json.loads(await connection.recv())
    assert "setup" in setup, setup
    await asyncio.sleep(0.03)
    await connection.send(_gemini_json({"setupComplete": {}}))  # bytes: a binary frame, as Gemini sends
    async for raw in connection:
        message = json.loads(raw)
        content = message.get("clientContent") or message["client_content"]  # protobuf JSON takes both spellings
        prompt = content["turns"][0]["parts"][0]["text"]
        for part, gap in zip(GEMINI_PARTS, GEMINI_GAPS_S, strict=False):
            await asyncio.sleep(gap)
            await connection.send(_gemini_json({"serverContent": {"modelTurn": {"parts": [{"text": part}]}}}))
            if "fail" in prompt:
                await asyncio.sleep(0.02)
                await connection.close(1011, FAIL_CLOSE_REASON)
                return
        await asyncio.sleep(GEMINI_GAPS_S[3])
        audio = {"inlineData": {"mimeType": "audio/pcm;rate=24000", "data": base64.b64encode(PCM).decode()}}
        await connection.send(_gemini_json({"serverContent": {"modelTurn": {"parts": [audio]}}}))
        await asyncio.sleep(GEMINI_GAPS_S[4])
        await connection.send(_gemini_json({"serverContent": {"generationComplete": True}}))
        await asyncio.sleep(GEMINI_GAPS_S[5])
        usage = {"promptTokenCount": 9, "responseTokenCount": 12, "totalTokenCount": 21}
        await connection.send(_gemini_json({"serverContent": {"turnComplete": True}, "usageMetadata": usage}))


async def openai(connection: ServerConnection) -> None:
    if connection.request is None or not connection.request.path.startswith("/v1/realtime"):
        await connection.close(1008, "unknown path")
        return
    counter = iter(range(1, 10_000))

    async def event(kind: str, **fields: Any) -> None:
        await connection.send(json.dumps({"type": kind, "event_id": f"event_{next(counter)}", **fields}))

    session = {"type": "realtime", "id": "sess_1", "model": "gpt-realtime", "output_modalities": ["audio"]}
    await event("session.created", session=session)
    async for raw in connection:
        message = json.loads(raw)
        kind = message["type"]
        if kind == "session.update":
            await asyncio.sleep(0.02)
            await event("session.updated", session={**session, **message["session"]})
        elif kind == "conversation.item.create":
            item = {**message["item"], "id": "item_1", "status": "completed"}
            if "fail" in json.dumps(item):
                connection.fail_next = True  # type: ignore[attr-defined]
            await event("conversation.item.added", previous_item_id=None, item=item)
            await event("conversation.item.done", previous_item_id=None, item=item)
        elif kind == "response.create":
            ids = {"response_id": "resp_1", "item_id": "item_2", "output_index": 0, "content_index": 0}
            await event(
                "response.created", response={"id": "resp_1", "object": "realtime.response", "status": "in_progress"}
            )
            for index, (delta, gap) in enumerate(zip(OPENAI_DELTAS, OPENAI_GAPS_S, strict=False)):
                await asyncio.sleep(gap)
                await event("response.output_text.delta", delta=delta, **ids)
                if index == 0 and getattr(connection, "fail_next", False):
                    await asyncio.sleep(0.02)
                    await connection.close(1011, FAIL_CLOSE_REASON)
                    return
            await asyncio.sleep(OPENAI_GAPS_S[3])
            await event("response.output_audio.delta", delta=base64.b64encode(PCM).decode(), **ids)
            await asyncio.sleep(OPENAI_GAPS_S[4])
            usage = {"total_tokens": 21, "input_tokens": 9, "output_tokens": 12}
            await event(
                "response.done",
                response={"id": "resp_1", "object": "realtime.response", "status": "completed", "usage": usage},
            )


class FakeRealtime:
    """A WebSocket server on 127.0.0.1:0 in a thread of its own, until `stop()`."""

    def __init__(self, handler: Callable[[ServerConnection], Awaitable[None]]) -> None:
        self._handler = handler
        self._loop = asyncio.new_event_loop()
        self._server: Server | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, name="fake-realtime", daemon=True)
        self.port = 0

    def __enter__(self) -> FakeRealtime:
        self._thread.start()
        started = asyncio.run_coroutine_threadsafe(self._start(), self._loop)
        started.result(timeout=10)
        return self

    async def _start(self) -> None:
        self._server = await serve(self._handler, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1] if self._server.sockets else 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self._server is not None:
            server = self._server
            self._server = None

            async def close() -> None:
                server.close()
                await server.wait_closed()

            asyncio.run_coroutine_threadsafe(close(), self._loop).result(timeout=10)
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)

    def __exit__(self, *args: object) -> None:
        self.stop()
