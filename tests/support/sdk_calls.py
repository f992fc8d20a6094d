"""Each official SDK consuming one of the example exchanges, as a user's code would.

Every function takes a base URL and, optionally, an httpx2 client (for the in-process
transport), sends the exact request the cassette recorded, and returns the text the SDK
yielded. Errors are the SDK's own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anthropic
import httpx2
import openai
from google import genai
from google.genai import types

from tests.support.fakes.wire import EXCHANGES

GEMINI_STREAM = EXCHANGES["gemini_stream"]
GEMINI_GENERATE = EXCHANGES["gemini_generate"]
OPENAI_CHAT = EXCHANGES["openai_chat"]
OPENAI_RESPONSES = EXCHANGES["openai_responses"]
ANTHROPIC = EXCHANGES["anthropic_messages"]


def _gemini_prompt(request_json: dict[str, Any]) -> str:
    text: str = request_json["contents"][0]["parts"][0]["text"]
    return text


def _gemini_model(path: str) -> str:
    return path.split("/models/")[1].split(":")[0]


def gemini_client(
    base_url: str, http_client: httpx2.Client | None = None, async_client: httpx2.AsyncClient | None = None
) -> genai.Client:
    options = types.HttpOptions(base_url=base_url, httpx_client=http_client, httpx_async_client=async_client)
    return genai.Client(api_key="test-key-not-secret", http_options=options)


def gemini_stream(base_url: str, http_client: httpx2.Client | None = None) -> str:
    client = gemini_client(base_url, http_client)
    stream = client.models.generate_content_stream(
        model=_gemini_model(GEMINI_STREAM.path), contents=_gemini_prompt(GEMINI_STREAM.request_json)
    )
    return "".join(chunk.text or "" for chunk in stream)


async def gemini_stream_async(base_url: str, async_client: httpx2.AsyncClient | None = None) -> str:
    client = gemini_client(base_url, async_client=async_client)
    stream = await client.aio.models.generate_content_stream(
        model=_gemini_model(GEMINI_STREAM.path), contents=_gemini_prompt(GEMINI_STREAM.request_json)
    )
    return "".join([chunk.text or "" async for chunk in stream])


def gemini_generate(base_url: str, http_client: httpx2.Client | None = None) -> str:
    client = gemini_client(base_url, http_client)
    response = client.models.generate_content(
        model=_gemini_model(GEMINI_GENERATE.path), contents=_gemini_prompt(GEMINI_GENERATE.request_json)
    )
    return response.text or ""


def openai_chat(base_url: str, http_client: httpx2.Client | None = None) -> str:
    client = openai.OpenAI(
        api_key="sk-test-not-secret", base_url=base_url + "/v1", http_client=http_client, max_retries=0
    )
    request = OPENAI_CHAT.request_json
    stream = client.chat.completions.create(
        model=request["model"],
        messages=request["messages"],
        stream=True,
        stream_options=request["stream_options"],
    )
    return "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)


def openai_responses(base_url: str, http_client: httpx2.Client | None = None) -> str:
    client = openai.OpenAI(
        api_key="sk-test-not-secret", base_url=base_url + "/v1", http_client=http_client, max_retries=0
    )
    request = OPENAI_RESPONSES.request_json
    stream = client.responses.create(model=request["model"], input=request["input"], stream=True)
    return "".join(event.delta for event in stream if event.type == "response.output_text.delta")


def anthropic_messages(base_url: str, http_client: httpx2.Client | None = None) -> str:
    client = anthropic.Anthropic(
        api_key="sk-ant-test-not-secret", base_url=base_url, http_client=http_client, max_retries=0
    )
    request = ANTHROPIC.request_json
    with client.messages.stream(
        model=request["model"], max_tokens=request["max_tokens"], messages=request["messages"]
    ) as stream:
        return "".join(stream.text_stream)


SYNC_CALLS: dict[str, tuple[Callable[..., str], str]] = {
    "gemini_stream": (gemini_stream, GEMINI_STREAM.text),
    "gemini_generate": (gemini_generate, GEMINI_GENERATE.text),
    "openai_chat": (openai_chat, OPENAI_CHAT.text),
    "openai_responses": (openai_responses, OPENAI_RESPONSES.text),
    "anthropic_messages": (anthropic_messages, ANTHROPIC.text),
}

# what each SDK raises when the stream is cut, and when it gets a 429
CUT_ERRORS: dict[str, tuple[type[BaseException], ...]] = {
    "gemini_stream": (httpx2.RemoteProtocolError,),
    "gemini_generate": (httpx2.RemoteProtocolError,),
    "openai_chat": (httpx2.RemoteProtocolError, openai.APIError),
    "openai_responses": (httpx2.RemoteProtocolError, openai.APIError),
    "anthropic_messages": (httpx2.RemoteProtocolError, anthropic.APIError),
}
RATE_LIMIT_ERRORS: dict[str, type[BaseException]] = {
    "gemini_stream": genai.errors.ClientError,
    "gemini_generate": genai.errors.ClientError,
    "openai_chat": openai.RateLimitError,
    "openai_responses": openai.RateLimitError,
    "anthropic_messages": anthropic.RateLimitError,
}
