"""A local OpenAI-compatible upstream for agent runs, and a thread to serve ASGI apps on 127.0.0.1.

It speaks Chat Completions as OpenAI does: asked without a tool result, it calls the `stamp`
tool, the call's arguments streamed in six pieces (one network write cut inside "ü", as TCP
may); given the tool's result, it answers in text that quotes it. `stream: false` gets the
same as one JSON completion. Ids are fresh per answer (`chatcmpl-…`, `call_…`), as upstream.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import AsyncIterator
from typing import Any, Self

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

MODEL = "gpt-4o-mini"
ARGUMENT_PIECES = ('{"la', 'bel": ', '"Z', "ürich", '"', "}")
"""The tool call's arguments as the deltas carry them: `{"label": "Zürich"}`."""
TOOL = "stamp"


def _answer_for(body: dict[str, Any]) -> tuple[str | None, str]:
    """(tool result, or None when the tool is still to be called, and the completion id)."""
    messages = body.get("messages") or []
    results = [message for message in messages if message.get("role") == "tool"]
    if not results:
        return None, "chatcmpl-" + secrets.token_hex(12)
    content = results[-1].get("content")
    if isinstance(content, list):
        content = "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return str(content), "chatcmpl-" + secrets.token_hex(12)


def _chunk(completion_id: str, delta: dict[str, Any], finish: str | None = None) -> bytes:
    choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
    event = {
        "id": completion_id,
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": MODEL,
        "system_fingerprint": "fp_local",
        "choices": [choice],
    }
    return b"data: " + json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode() + b"\n\n"


def _stream(result: str | None, completion_id: str) -> list[bytes]:
    """The writes of one streamed answer."""
    if result is None:
        call = {"index": 0, "id": "call_" + secrets.token_hex(12), "type": "function"}
        call["function"] = {"name": TOOL, "arguments": ""}
        events = [_chunk(completion_id, {"role": "assistant", "content": None, "tool_calls": [call]})]
        for piece in ARGUMENT_PIECES:
            events.append(_chunk(completion_id, {"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}))
        events.append(_chunk(completion_id, {}, "tool_calls"))
    else:
        text = f"Done: {result}"
        events = [_chunk(completion_id, {"role": "assistant", "content": ""})]
        events += [_chunk(completion_id, {"content": text[i : i + 16]}) for i in range(0, len(text), 16)]
        events.append(_chunk(completion_id, {}, "stop"))
    events.append(b"data: [DONE]\n\n")
    writes: list[bytes] = []
    for event in events:
        cut = event.find("ü".encode())
        writes += [event[: cut + 1], event[cut + 1 :]] if cut >= 0 else [event]  # a write ends inside "ü"
    return writes


def _completion(result: str | None, completion_id: str) -> dict[str, Any]:
    if result is None:
        call = {"id": "call_" + secrets.token_hex(12), "type": "function"}
        call["function"] = {"name": TOOL, "arguments": "".join(ARGUMENT_PIECES)}
        message: dict[str, Any] = {"role": "assistant", "content": None, "tool_calls": [call]}
        finish = "tool_calls"
    else:
        message, finish = {"role": "assistant", "content": f"Done: {result}"}, "stop"
    usage = {"prompt_tokens": 40, "completion_tokens": 12, "total_tokens": 52}
    choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": finish}
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": MODEL,
        "choices": [choice],
        "usage": usage,
    }


class AgentLLM:
    """The Chat Completions endpoint; `requests` holds every body it was sent."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.app = Starlette(routes=[Route("/v1/chat/completions", self._complete, methods=["POST"])])

    async def _complete(self, request: Request) -> Response:
        body = json.loads(await request.body())
        self.requests.append(body)
        result, completion_id = _answer_for(body)
        if not body.get("stream"):
            return JSONResponse(_completion(result, completion_id))
        writes = _stream(result, completion_id)

        async def send() -> AsyncIterator[bytes]:
            for data in writes:
                yield data

        return StreamingResponse(send(), media_type="text/event-stream")


class ServedApp:
    """An ASGI app on 127.0.0.1 (a free port) in a thread, with its lifespan; stopped on exit."""

    def __init__(self, app: Any) -> None:
        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="error", lifespan="on")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="served-app", daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the app did not start")
            time.sleep(0.01)
        return self

    @property
    def base_url(self) -> str:
        port = self._server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)

    def __exit__(self, *args: object) -> None:
        self.stop()
