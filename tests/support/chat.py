"""The chat backend the browser tests replay: an app's own SSE endpoint, as a page reads it.

`POST /api/chat` (the fetch page) and `GET /api/chat/stream?q=hello` (the EventSource page)
answer the same tokens, each event with an `id:`, the first with `retry:`, the last `event: done`.
Tokens mix 3- and 4-byte UTF-8 characters, so `split utf8` cuts inside them.
"""

from __future__ import annotations

import json

from chunktape import Cassette, Chunk, Interaction, ReplayPolicy, Request, Response
from chunktape.schedule import build_schedule
from chunktape.sse import event_ends

TOKENS = ("你好", "！我是", "一个流式", "回答", "🙂", "，逐字", "显示。")
TEXT = "".join(TOKENS)
HEADERS_AT_S = 0.05
FIRST_TOKEN_AT_S = 0.30
GAP_S = 0.06
RETRY_MS = 200
ORIGIN = "http://backend.test"
CHAT_PATH = "/api/chat"
STREAM_PATH = "/api/chat/stream?q=hello"
CHAT_BODY = b'{"message":"hello"}'


def events() -> list[bytes]:
    """One SSE event per token (ids 1..n), then `event: done`."""
    out = []
    for index, token in enumerate(TOKENS, start=1):
        retry = f"retry: {RETRY_MS}\n" if index == 1 else ""
        out.append(f"{retry}id: {index}\ndata: {json.dumps({'token': token}, ensure_ascii=False)}\n\n".encode())
    out.append(f"id: {len(TOKENS) + 1}\nevent: done\ndata: {{}}\n\n".encode())
    return out


def token_times() -> list[float]:
    """When each event arrived in the recording, seconds after the request."""
    return [FIRST_TOKEN_AT_S + GAP_S * index for index in range(len(TOKENS) + 1)]


def _response() -> Response:
    chunks = tuple(Chunk(at_s=at, data=data) for at, data in zip(token_times(), events(), strict=True))
    headers = (
        ("content-type", "text/event-stream; charset=utf-8"),
        ("cache-control", "no-cache"),
        ("x-request-id", "r-1"),
    )
    return Response(200, headers, HEADERS_AT_S, chunks)


def chat_cassette() -> Cassette:
    """Both endpoints, recorded once each."""
    post = Request("POST", ORIGIN + CHAT_PATH, (("content-type", "application/json"),), CHAT_BODY)
    get = Request("GET", ORIGIN + STREAM_PATH, (("accept", "text/event-stream"),), b"")
    return Cassette([Interaction(post, _response()), Interaction(get, _response())])


def tokens_in(body: bytes) -> list[str]:
    """The tokens of the complete events in `body`, as a page shows them."""
    tokens = []
    start = 0
    for end in event_ends(body):
        lines = body[start:end].decode("utf-8").splitlines()
        start = end
        data = [line[5:].lstrip(" ") for line in lines if line.startswith("data:")]
        if data and not any(line.startswith("event:") for line in lines):
            tokens.append(json.loads("".join(data))["token"])
    return tokens


def first_connection(interaction: Interaction, policy: ReplayPolicy) -> tuple[list[str], float | None]:
    """The tokens a page gets on its first connection under `policy`, and when the first one is
    complete (seconds after the request), None if none is."""
    schedule = build_schedule(interaction.request, interaction.response, policy)
    sent = b""
    first_at: float | None = None
    for step in schedule.steps:
        sent += step.data
        if first_at is None and tokens_in(sent):
            first_at = step.at_s
    return tokens_in(sent), first_at


if (
    __name__ == "__main__"
):  # python -m tests.support.chat tests/integration/cassettes/chat_ui.yaml: write the cassette the browser tests replay
    import sys

    chat_cassette().save(sys.argv[1])
