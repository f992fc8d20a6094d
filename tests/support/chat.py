"""The chat backend the browser tests replay: an app's own SSE endpoint, as a page reads it.

`POST /api/chat` (the fetch page) and `GET /api/chat/stream?q=hello` (the EventSource page)
answer the same tokens, each event with an `id:`, the first with `retry:`, the last `event: done`.
Tokens mix 3- and 4-byte UTF-8 characters, so `split utf8` cuts inside them.
"""

from __future__ import annotations

import json

from chunktape import Cassette, Chunk, Interaction, Request, Response

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


if __name__ == "__main__":  # python -m tests.support.chat PATH: write the cassette the browser tests replay
    import sys

    chat_cassette().save(sys.argv[1])
