"""Real clients consuming the non-SSE stream formats, as a user's code would: raw httpx for
Gemini's REST JSON array, the `ollama` client for NDJSON, boto3's `bedrock-runtime` for the
AWS event stream. Each takes a base URL and, where the client accepts one, an httpx
transport; each returns the text the client yielded. Errors are the client's own."""

from __future__ import annotations

import codecs
import json
from collections.abc import Callable, Iterable
from typing import Any

import boto3
import httpx
import ollama
from botocore.config import Config

from tests.support.fakes.formats import FORMAT_EXCHANGES

GEMINI_ARRAY = FORMAT_EXCHANGES["gemini_array"]
OLLAMA_CHAT = FORMAT_EXCHANGES["ollama_chat"]
CONVERSE = FORMAT_EXCHANGES["bedrock_converse_stream"]
INVOKE = FORMAT_EXCHANGES["bedrock_invoke_stream"]
MODEL_ID = "anthropic.claude-3-haiku-20240307-v1:0"

Call = Callable[[str, httpx.BaseTransport | None], str]


def json_array_elements(chunks: Iterable[bytes]) -> list[Any]:
    """A streamed JSON array read incrementally, as a client that cannot wait for `]` must:
    each element is parsed as soon as all of its bytes are in."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    buffer, elements, opened = "", [], False
    for chunk in chunks:
        buffer += decoder.decode(chunk)
        while True:
            rest = buffer.lstrip(" \t\r\n")
            if not opened:
                if not rest.startswith("["):
                    break
                rest, opened = rest[1:], True
            rest = rest.lstrip(" \t\r\n,")
            try:
                value, end = json.JSONDecoder().raw_decode(rest)
            except ValueError:
                buffer = rest
                break
            elements.append(value)
            buffer = rest[end:]
    if buffer.strip() != "]":
        raise ValueError(f"the JSON array stream did not close: {buffer[:40]!r}")
    return elements


def gemini_array(base_url: str, transport: httpx.BaseTransport | None = None) -> str:
    with (
        httpx.Client(transport=transport) as client,
        client.stream(
            "POST",
            base_url + GEMINI_ARRAY.path,
            json=GEMINI_ARRAY.request_json,
            headers={"x-goog-api-key": "test-key-not-secret"},
        ) as response,
    ):
        response.raise_for_status()
        elements = json_array_elements(response.iter_bytes())
    return "".join(part["text"] for e in elements for part in e["candidates"][0]["content"]["parts"])


def ollama_chat(base_url: str, transport: httpx.BaseTransport | None = None) -> str:
    options: dict[str, Any] = {} if transport is None else {"transport": transport}
    client = ollama.Client(host=base_url, **options)
    request = OLLAMA_CHAT.request_json
    parts = list(client.chat(model=request["model"], messages=request["messages"], stream=True))
    assert parts[-1].done
    assert parts[-1].done_reason == "stop"
    assert parts[-1].eval_count == 5
    return "".join(part.message.content or "" for part in parts)


def bedrock_client(base_url: str) -> Any:
    return boto3.client(
        "bedrock-runtime",
        region_name="us-east-1",
        endpoint_url=base_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"total_max_attempts": 1}, connect_timeout=5, read_timeout=10),
    )


def bedrock_converse_stream(base_url: str, transport: httpx.BaseTransport | None = None) -> str:
    assert transport is None, "boto3 has its own HTTP stack"
    response = bedrock_client(base_url).converse_stream(modelId=MODEL_ID, messages=CONVERSE.request_json["messages"])
    events = list(response["stream"])
    assert next(iter(events[-1])) == "metadata"
    assert events[-1]["metadata"]["usage"]["totalTokens"] == 28
    return "".join(e["contentBlockDelta"]["delta"]["text"] for e in events if "contentBlockDelta" in e)


def bedrock_invoke_stream(base_url: str, transport: httpx.BaseTransport | None = None) -> str:
    assert transport is None, "boto3 has its own HTTP stack"
    response = bedrock_client(base_url).invoke_model_with_response_stream(
        modelId=MODEL_ID, body=json.dumps(INVOKE.request_json), contentType="application/json"
    )
    text = ""
    for event in response["body"]:
        inner = json.loads(event["chunk"]["bytes"])
        if inner["type"] == "content_block_delta":
            text += inner["delta"]["text"]
    return text


CALLS: dict[str, tuple[Call, str]] = {
    "gemini_array": (gemini_array, GEMINI_ARRAY.text),
    "ollama_chat": (ollama_chat, OLLAMA_CHAT.text),
    "bedrock_converse_stream": (bedrock_converse_stream, CONVERSE.text),
    "bedrock_invoke_stream": (bedrock_invoke_stream, INVOKE.text),
}
TAKES_A_TRANSPORT = ("gemini_array", "ollama_chat")
