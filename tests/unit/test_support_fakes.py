"""The fake upstreams are faithful to the providers.

A raw client sees exactly the chunk boundaries and (roughly) the gaps of each
WireExchange, every event is accepted by the official SDK's own types, and the
official SDKs pointed at the fake yield the exchange's text.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import socket
import ssl
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import httpx
import httpx2
import openai
import pydantic
import pytest
from anthropic.types import RawMessageStreamEvent
from google import genai
from google.genai import errors as genai_errors
from google.genai import types as genai_types
from openai.types.chat import ChatCompletionChunk
from openai.types.responses import ResponseStreamEvent

from tests.support.fakes.tls import self_signed_cert
from tests.support.fakes.upstream import FakeUpstream
from tests.support.fakes.wire import EXCHANGES, PROVIDERS, Provider, WireExchange, body, error_body, provider_of

STREAMED = [name for name, ex in EXCHANGES.items() if ex.streamed]

# Fields the real APIs send that the SDK types do not declare.
UNTYPED_BUT_REAL = {"obfuscation", "store"}

_RESPONSE_EVENT: pydantic.TypeAdapter[Any] = pydantic.TypeAdapter(ResponseStreamEvent)
_ANTHROPIC_EVENT: pydantic.TypeAdapter[Any] = pydantic.TypeAdapter(RawMessageStreamEvent)


# ---------------------------------------------------------------------------
# helpers


def sse_events(data: bytes) -> list[tuple[str | None, str]]:
    """(event name, data) of each SSE event; CRLF and LF both accepted."""
    text = data.decode("utf-8").replace("\r\n", "\n")
    events: list[tuple[str | None, str]] = []
    for block in text.split("\n\n"):
        if not block:
            continue
        name: str | None = None
        lines: list[str] = []
        for line in block.split("\n"):
            if line.startswith("event: "):
                name = line[len("event: ") :]
            elif line.startswith("data: "):
                lines.append(line[len("data: ") :])
            else:
                raise AssertionError(f"unexpected SSE line {line!r}")
        events.append((name, "\n".join(lines)))
    return events


def event_json(exchange: WireExchange) -> list[tuple[str | None, dict[str, Any]]]:
    return [(name, json.loads(data)) for name, data in sse_events(body(exchange)) if data != "[DONE]"]


def text_of(exchange: WireExchange) -> str:
    """The generated text, read back from the wire bytes alone."""
    if exchange.name == "gemini_generate":
        doc = json.loads(body(exchange))
        return "".join(p["text"] for p in doc["candidates"][0]["content"]["parts"])
    parts: list[str] = []
    for _, obj in event_json(exchange):
        if exchange.name == "gemini_stream":
            parts += [p["text"] for p in obj["candidates"][0]["content"]["parts"]]
        elif exchange.name == "openai_chat":
            parts += [c["delta"].get("content") or "" for c in obj["choices"]]
        elif exchange.name == "openai_responses" and obj["type"] == "response.output_text.delta":
            parts.append(obj["delta"])
        elif exchange.name == "anthropic_messages" and obj["type"] == "content_block_delta":
            parts.append(obj["delta"]["text"])
    return "".join(parts)


def undeclared_fields(value: Any, where: str = "$") -> list[str]:
    """Paths of fields a parsed SDK model kept as extras (not in its type)."""
    found: list[str] = []
    if isinstance(value, pydantic.BaseModel):
        for key in value.model_extra or {}:
            if key not in UNTYPED_BUT_REAL:
                found.append(f"{where}.{key}")
        for field in type(value).model_fields:
            found += undeclared_fields(getattr(value, field), f"{where}.{field}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found += undeclared_fields(item, f"{where}[{i}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            found += undeclared_fields(item, f"{where}.{key}")
    return found


def pieces(exchange: WireExchange) -> list[bytes]:
    return [data for _, data in exchange.chunks]


def gemini_client(up: FakeUpstream) -> genai.Client:
    return genai.Client(api_key="test-key", http_options=genai_types.HttpOptions(base_url=up.base_url))


def prompt(exchange: WireExchange) -> str:
    text: str = exchange.request_json["contents"][0]["parts"][0]["text"]
    return text


@pytest.fixture
def up() -> Iterator[FakeUpstream]:
    with FakeUpstream(speed=0) as server:
        yield server


# ---------------------------------------------------------------------------
# the wire data itself


@pytest.mark.parametrize("name", list(EXCHANGES))
def test_wire_text_and_encoding(name: str) -> None:
    exchange = EXCHANGES[name]
    data = body(exchange)
    decoded = data.decode("utf-8")
    assert text_of(exchange) == exchange.text
    assert "这" in exchange.text or "世" in exchange.text or "你" in exchange.text
    assert "\\u" not in decoded, "providers send raw UTF-8, not \\u escapes"
    assert all(gap >= 0 for gap, _ in exchange.chunks)
    assert all(chunk for _, chunk in exchange.chunks)
    keys = {k.lower() for k, _ in exchange.headers}
    assert "content-type" in keys
    assert not keys & {"content-length", "transfer-encoding", "connection"}


@pytest.mark.parametrize("name", list(EXCHANGES))
def test_wire_json_is_serialized_like_the_provider(name: str) -> None:
    exchange = EXCHANGES[name]
    data = body(exchange)
    provider = provider_of(exchange)
    if name == "gemini_generate":
        doc = json.loads(data)
        assert data == json.dumps(doc, ensure_ascii=False, indent=2).encode() + b"\n"
        return
    if provider == "gemini":
        assert data.count(b"\r\n\r\n") == len(sse_events(data))
        assert b"\n\n" not in data.replace(b"\r\n\r\n", b"")
        for _, raw in sse_events(data):
            assert raw == json.dumps(json.loads(raw), ensure_ascii=False, separators=(",", ": "))
        return
    assert b"\r" not in data
    for event, raw in sse_events(data):
        if raw == "[DONE]":
            continue
        if event == "ping":
            assert raw == '{"type": "ping"}'
            continue
        assert raw == json.dumps(json.loads(raw), ensure_ascii=False, separators=(",", ":"))


@pytest.mark.parametrize("name", STREAMED)
def test_wire_chunk_boundaries_are_awkward(name: str) -> None:
    exchange = EXCHANGES[name]
    chunks = pieces(exchange)
    gaps = [gap for gap, _ in exchange.chunks]
    assert 6 <= len(chunks) <= 8
    assert gaps[0] >= 0.25, "slow first token"
    assert all(0.0 < gap <= 0.2 for gap in gaps[1:])
    assert len(set(gaps)) > len(gaps) // 2, "uneven gaps"

    def splits_a_character(chunk: bytes) -> bool:
        try:
            chunk.decode("utf-8")
        except UnicodeDecodeError:
            return True
        return False

    assert any(splits_a_character(c) for c in chunks)
    sep = b"\r\n\r\n" if provider_of(exchange) == "gemini" else b"\n\n"
    assert any(not c.endswith(sep) for c in chunks[:-1]), "an event cut in two"
    assert any(c.count(sep) >= 2 for c in chunks), "a chunk carrying two events"


def test_gemini_stream_has_the_required_cuts() -> None:
    exchange = EXCHANGES["gemini_stream"]
    chunks = pieces(exchange)
    zhe = "这".encode()
    assert any(c.endswith(zhe[:1]) or c.endswith(zhe[:2]) for c in chunks), "cut inside 这"
    assert any(a.endswith(b"\r") and b.startswith(b"\n") for a, b in itertools.pairwise(chunks)), "cut in CRLF"
    assert any(c.startswith(b"data: ") and c.count(b"\r\n\r\n") == 2 and c.endswith(b"\r\n\r\n") for c in chunks)
    events = event_json(exchange)
    assert all("finishReason" not in obj["candidates"][0] for _, obj in events[:-1])
    last = events[-1][1]["candidates"][0]
    assert last["finishReason"] == "STOP"
    assert [r["probability"] for r in last["safetyRatings"]] == ["NEGLIGIBLE"] * 4
    for _, obj in events:
        assert obj["candidates"][0]["content"]["role"] == "model"
        assert {"promptTokenCount", "candidatesTokenCount", "totalTokenCount"} <= set(obj["usageMetadata"])
        assert obj["modelVersion"] == "gemini-2.5-flash"
        assert obj["responseId"] == events[0][1]["responseId"]


@pytest.mark.parametrize("name", list(EXCHANGES))
def test_sdk_types_accept_every_event(name: str) -> None:
    exchange = EXCHANGES[name]
    provider = provider_of(exchange)
    if name == "gemini_generate":
        parsed = genai_types.GenerateContentResponse.model_validate(json.loads(body(exchange)))
        assert parsed.text == exchange.text
        return
    events = event_json(exchange)
    for index, (event, obj) in enumerate(events):
        model: pydantic.BaseModel
        if provider == "gemini":
            # google-genai's models forbid unknown fields outright
            model = genai_types.GenerateContentResponse.model_validate(obj)
        elif name == "openai_chat":
            assert event is None
            model = ChatCompletionChunk.model_validate(obj)
        elif name == "openai_responses":
            assert event == obj["type"]
            assert obj["sequence_number"] == index
            model = _RESPONSE_EVENT.validate_python(obj)
        else:
            assert event == obj["type"]
            if event == "ping":
                continue
            model = _ANTHROPIC_EVENT.validate_python(obj)
        assert undeclared_fields(model) == [], f"event {index} has fields the SDK does not know"
    if name == "openai_chat":
        assert sse_events(body(exchange))[-1] == (None, "[DONE]")
        assert events[0][1]["choices"][0]["delta"]["role"] == "assistant"
        assert events[-2][1]["choices"][0]["finish_reason"] == "stop"
        assert events[-1][1]["choices"] == []
        assert events[-1][1]["usage"]["total_tokens"] == 24
    if name == "anthropic_messages":
        kinds = [event for event, _ in events]
        assert kinds[:3] == ["message_start", "content_block_start", "ping"]
        assert kinds[-3:] == ["content_block_stop", "message_delta", "message_stop"]


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("status", [429, 500, 503])
def test_error_bodies_are_provider_shaped(provider: Provider, status: int) -> None:
    headers, payload = error_body(provider, status)
    assert not {k.lower() for k, _ in headers} & {"content-length", "transfer-encoding"}
    assert {k.lower(): v for k, v in headers}["content-type"].startswith("application/json")
    doc = json.loads(payload)
    if provider == "gemini":
        assert payload == json.dumps(doc, ensure_ascii=False, indent=2).encode() + b"\n"
        assert {"code", "message", "status"} <= set(doc["error"])
        assert doc["error"]["code"] == status
        assert doc["error"]["status"] == {429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE"}[status]
    elif provider == "openai":
        assert payload == json.dumps(doc, indent=4).encode() + b"\n"
        assert list(doc["error"]) == ["message", "type", "param", "code"]
    else:
        assert payload == json.dumps(doc, separators=(",", ":")).encode()
        assert doc["type"] == "error"
        assert set(doc["error"]) == {"type", "message"}
        assert doc["error"]["type"] == {429: "rate_limit_error", 500: "api_error", 503: "overloaded_error"}[status]


# ---------------------------------------------------------------------------
# the server, seen by a raw client


@pytest.mark.parametrize("client_cls", [httpx.Client, httpx2.Client], ids=["httpx", "httpx2"])
def test_raw_client_sees_exact_chunks(up: FakeUpstream, client_cls: Any) -> None:
    with client_cls(timeout=10) as client:
        for name in STREAMED:
            exchange = EXCHANGES[name]
            with client.stream(exchange.method, up.url(exchange), json=exchange.request_json) as response:
                assert response.status_code == exchange.status
                for key, value in exchange.headers:
                    assert value in response.headers.get_list(key)
                assert response.headers["transfer-encoding"] == "chunked"
                assert "content-length" not in response.headers
                got = list(response.iter_raw())
            assert got == pieces(exchange), name
        exchange = EXCHANGES["gemini_generate"]
        response = client.request(exchange.method, up.url(exchange), json=exchange.request_json)
        assert response.content == body(exchange)
        assert response.headers["content-length"] == str(len(body(exchange)))
    assert [r.path for r in up.requests] == [EXCHANGES[n].path for n in STREAMED] + [exchange.path]
    assert len({r.connection for r in up.requests}) == 1, "keep-alive: one connection for all"
    assert up.requests[0].json() == EXCHANGES[STREAMED[0]].request_json


@pytest.mark.parametrize("name", ["gemini_stream", "anthropic_messages"])
def test_gaps_are_replayed(name: str) -> None:
    exchange = EXCHANGES[name]
    measured: list[float] = []
    got: list[bytes] = []
    with (
        FakeUpstream() as server,
        httpx.Client(timeout=10) as client,
        client.stream(exchange.method, server.url(exchange), json=exchange.request_json) as response,
    ):
        head_at = time.perf_counter()
        for piece in response.iter_raw():
            measured.append(time.perf_counter() - head_at)
            got.append(piece)
    assert got == pieces(exchange)
    # each chunk waits for the gaps before it: never sooner (a busy machine only makes it later)
    sent_at = 0.0
    for (gap, _), seen in zip(exchange.chunks, measured, strict=True):
        sent_at += gap
        assert seen >= sent_at - 0.005, (sent_at, seen)


def test_speed_scales_gaps() -> None:
    exchange = EXCHANGES["gemini_stream"]
    total = sum(gap for gap, _ in exchange.chunks)
    with FakeUpstream(speed=4) as server, httpx.Client(timeout=10) as client:
        start = time.perf_counter()
        response = client.post(server.url(exchange), json=exchange.request_json)
        elapsed = time.perf_counter() - start
    assert response.content == body(exchange)
    assert total / 4 - 0.01 <= elapsed <= total / 4 + 1.0  # a quarter of the recorded time (and load)


def test_cut_after_breaks_the_body_mid_stream() -> None:
    exchange = EXCHANGES["openai_chat"]
    got: list[bytes] = []

    def read(client: httpx.Client, url: str) -> None:
        with client.stream("POST", url, json={}) as response:
            got.extend(response.iter_raw())

    with FakeUpstream(speed=0, cut_after=3) as server, httpx.Client(timeout=10) as client:
        with pytest.raises(httpx.RemoteProtocolError):
            read(client, server.url(exchange))
        assert got == pieces(exchange)[:3]
        # a fixed-length body cut short fails too
        generate = EXCHANGES["gemini_generate"]
        server.overrides["gemini_generate"] = {"cut_after": 1}
        with pytest.raises(httpx.RemoteProtocolError):
            client.post(server.url(generate), json={})


def test_gzip_is_streamed_piece_by_piece() -> None:
    exchange = EXCHANGES["gemini_stream"]
    with FakeUpstream(speed=0, gzip=True) as server, httpx.Client(timeout=10) as client:
        with client.stream("POST", server.url(exchange), json={}) as response:
            assert response.headers["content-encoding"] == "gzip"
            raw = list(response.iter_raw())
        assert len(raw) == len(exchange.chunks)
        with client.stream("POST", server.url(exchange), json={}) as response:
            assert b"".join(response.iter_bytes()) == body(exchange)
        generate = EXCHANGES["gemini_generate"]
        assert client.post(server.url(generate), json={}).content == body(generate)


def test_unknown_path_is_a_json_404(up: FakeUpstream) -> None:
    response = httpx.post(up.base_url + "/v1/nowhere", json={})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == 404
    assert up.requests[-1].path == "/v1/nowhere"


def test_routing_ignores_gemini_api_version_and_uses_the_query(up: FakeUpstream) -> None:
    stream = EXCHANGES["gemini_stream"]
    assert up.route("POST", stream.path) is stream
    assert up.route("POST", stream.path.replace("/v1/", "/v1beta/")) is stream
    assert up.route("POST", "/v1beta/models/gemini-2.5-flash:streamGenerateContent?key=k&alt=sse") is stream
    assert up.route("POST", "/v1/models/gemini-2.5-flash:generateContent") is EXCHANGES["gemini_generate"]
    assert up.route("GET", "/v1/chat/completions") is None


def test_overrides_apply_per_exchange() -> None:
    chat, responses = EXCHANGES["openai_chat"], EXCHANGES["openai_responses"]
    with FakeUpstream(speed=0, overrides={"openai_chat": {"status": 503}}) as server, httpx.Client() as client:
        assert client.post(server.url(chat), json={}).status_code == 503
        assert client.post(server.url(responses), json={}).content == body(responses)
        server.status = 429
        assert client.post(server.url(responses), json={}).status_code == 429


def test_tls(tmp_path: Path) -> None:
    cert_path, key_path = self_signed_cert(tmp_path)
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert_path, key_path)
    client_ctx = ssl.create_default_context(cafile=str(cert_path))
    exchange = EXCHANGES["anthropic_messages"]
    with FakeUpstream(speed=0, tls=server_ctx) as server, httpx.Client(verify=client_ctx) as client:
        assert server.base_url.startswith("https://127.0.0.1:")
        with client.stream("POST", server.url(exchange), json={}) as response:
            assert list(response.iter_raw()) == pieces(exchange)


def test_stop_does_not_wait_for_a_slow_stream() -> None:
    exchange = EXCHANGES["gemini_stream"]
    server = FakeUpstream(speed=0.001).start()  # first gap: 350 s
    sock = socket.create_connection(("127.0.0.1", server.port))
    request = f"POST {exchange.path} HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{{}}".encode()
    sock.sendall(request)
    assert sock.recv(65536).startswith(b"HTTP/1.1 200 OK\r\n")
    start = time.perf_counter()
    server.stop()
    assert time.perf_counter() - start < 3
    sock.settimeout(3)
    try:
        tail = sock.recv(65536)
    except ConnectionResetError:
        tail = b""
    assert tail == b""
    sock.close()


# ---------------------------------------------------------------------------
# the official SDKs against the fakes


def test_genai_stream(up: FakeUpstream) -> None:
    exchange = EXCHANGES["gemini_stream"]
    client = gemini_client(up)
    try:
        chunks = list(client.models.generate_content_stream(model="gemini-2.5-flash", contents=prompt(exchange)))
    finally:
        client.close()
    assert "".join(chunk.text or "" for chunk in chunks) == exchange.text
    assert len(chunks) == len(event_json(exchange))
    assert all(chunk.candidates and chunk.candidates[0].finish_reason is None for chunk in chunks[:-1])
    last = chunks[-1]
    assert last.candidates is not None
    assert last.candidates[0].finish_reason == genai_types.FinishReason.STOP
    assert last.candidates[0].safety_ratings is not None
    assert len(last.candidates[0].safety_ratings) == 4
    assert last.usage_metadata is not None
    assert last.usage_metadata.candidates_token_count == 47
    assert last.usage_metadata.total_token_count == 450
    assert last.model_version == "gemini-2.5-flash"
    assert last.response_id == "k2ruaO3TEJOn1e8PvfyLyQw"
    request = up.requests[-1]
    assert request.path == exchange.path == "/v1/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
    assert request.query == {"alt": "sse"}
    assert request.header("x-goog-api-key") == "test-key"
    assert request.json() == exchange.request_json


def test_genai_async_stream(up: FakeUpstream) -> None:
    exchange = EXCHANGES["gemini_stream"]

    async def collect() -> list[str]:
        client = gemini_client(up)
        try:
            stream = await client.aio.models.generate_content_stream(
                model="gemini-2.5-flash", contents=prompt(exchange)
            )
            return [chunk.text or "" async for chunk in stream]
        finally:
            await client.aio.aclose()

    assert "".join(asyncio.run(collect())) == exchange.text


def test_genai_generate(up: FakeUpstream) -> None:
    exchange = EXCHANGES["gemini_generate"]
    client = gemini_client(up)
    try:
        response = client.models.generate_content(model="gemini-2.5-flash", contents=prompt(exchange))
    finally:
        client.close()
    assert response.text == exchange.text
    assert response.candidates is not None
    assert response.candidates[0].finish_reason == genai_types.FinishReason.STOP
    assert response.usage_metadata is not None
    assert response.usage_metadata.total_token_count == 265
    assert up.requests[-1].json() == exchange.request_json
    assert up.requests[-1].header("x-goog-api-key") == "test-key"


def test_openai_chat_stream(up: FakeUpstream) -> None:
    exchange = EXCHANGES["openai_chat"]
    with openai.OpenAI(api_key="sk-test", base_url=up.base_url + "/v1") as client:
        stream = client.chat.completions.create(
            model="gpt-4o-mini",
            messages=exchange.request_json["messages"],
            stream=True,
            stream_options={"include_usage": True},
        )
        chunks = list(stream)
        # a second call on the same client works too (the sync Stream closes
        # the response at [DONE] without reading the last chunk, so it cannot
        # hand that connection back to the pool)
        again = list(client.chat.completions.create(model="gpt-4o-mini", messages=[], stream=True))
    assert len(again) == len(chunks)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == exchange.text
    assert chunks[0].choices[0].delta.role == "assistant"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].choices == []
    usage = chunks[-1].usage
    assert usage is not None
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (13, 11, 24)
    request = up.requests[0]
    assert request.path == "/v1/chat/completions"
    assert request.header("authorization") == "Bearer sk-test"
    assert request.json() == exchange.request_json


def test_openai_responses_stream(up: FakeUpstream) -> None:
    exchange = EXCHANGES["openai_responses"]
    with openai.OpenAI(api_key="sk-test", base_url=up.base_url + "/v1") as client:
        events = list(client.responses.create(model="gpt-4.1-mini", input=exchange.request_json["input"], stream=True))
        with client.responses.stream(model="gpt-4.1-mini", input=exchange.request_json["input"]) as helper:
            final = helper.get_final_response()
    deltas = [e.delta for e in events if e.type == "response.output_text.delta"]
    assert "".join(deltas) == exchange.text
    assert [e.sequence_number for e in events] == list(range(len(events)))
    completed = events[-1]
    assert completed.type == "response.completed"
    assert completed.response.status == "completed"
    assert completed.response.output_text == exchange.text
    assert completed.response.usage is not None
    assert completed.response.usage.total_tokens == 30
    assert final.output_text == exchange.text
    assert up.requests[0].json() == exchange.request_json
    assert up.requests[0].header("authorization") == "Bearer sk-test"


def test_anthropic_messages_stream(up: FakeUpstream) -> None:
    exchange = EXCHANGES["anthropic_messages"]
    request_json = exchange.request_json
    with anthropic.Anthropic(api_key="sk-ant-test", base_url=up.base_url) as client:
        with client.messages.stream(
            model=request_json["model"], max_tokens=request_json["max_tokens"], messages=request_json["messages"]
        ) as stream:
            text = "".join(stream.text_stream)
            message = stream.get_final_message()
        raw = list(
            client.messages.create(
                model=request_json["model"],
                max_tokens=request_json["max_tokens"],
                messages=request_json["messages"],
                stream=True,
            )
        )
    assert text == exchange.text
    assert message.stop_reason == "end_turn"
    assert (message.usage.input_tokens, message.usage.output_tokens) == (21, 19)
    assert message.model == "claude-sonnet-4-6"
    assert [e.type for e in raw] == [
        "message_start",
        "content_block_start",
        *["content_block_delta"] * 4,
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    request = up.requests[-1]
    assert request.path == "/v1/messages"
    assert request.json() == request_json
    # anthropic 2.x sends the key as a bearer token; older SDKs used x-api-key
    assert "sk-ant-test" in (request.header("authorization") or "") + (request.header("x-api-key") or "")
    assert request.header("anthropic-version") is not None


def test_sdks_read_gzipped_streams() -> None:
    with FakeUpstream(speed=0, gzip=True) as server:
        with openai.OpenAI(api_key="sk-test", base_url=server.base_url + "/v1") as client:
            chunks = list(client.chat.completions.create(model="gpt-4o-mini", messages=[], stream=True))
        client_g = gemini_client(server)
        try:
            gem = list(client_g.models.generate_content_stream(model="gemini-2.5-flash", contents="x"))
        finally:
            client_g.close()
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == EXCHANGES["openai_chat"].text
    assert "".join(c.text or "" for c in gem) == EXCHANGES["gemini_stream"].text


# ---------------------------------------------------------------------------
# failures as the SDKs see them


def _gemini_stream_into(base_url: str, seen: list[str]) -> None:
    client = genai.Client(api_key="test-key", http_options=genai_types.HttpOptions(base_url=base_url))
    try:
        for chunk in client.models.generate_content_stream(model="gemini-2.5-flash", contents="x"):
            seen.append(chunk.text or "")
    finally:
        client.close()


def _gemini_generate(base_url: str) -> str:
    client = genai.Client(api_key="test-key", http_options=genai_types.HttpOptions(base_url=base_url))
    try:
        return client.models.generate_content(model="gemini-2.5-flash", contents="x").text or ""
    finally:
        client.close()


def _openai_chat(base_url: str) -> list[Any]:
    with openai.OpenAI(api_key="sk-test", base_url=base_url + "/v1", max_retries=0) as client:
        return list(client.chat.completions.create(model="gpt-4o-mini", messages=[], stream=True))


def _openai_responses(base_url: str) -> list[Any]:
    with openai.OpenAI(api_key="sk-test", base_url=base_url + "/v1", max_retries=0) as client:
        return list(client.responses.create(model="gpt-4.1-mini", input="x", stream=True))


def _anthropic_messages(base_url: str) -> list[Any]:
    with anthropic.Anthropic(api_key="sk-ant-test", base_url=base_url, max_retries=0) as client:
        stream = client.messages.create(
            model="claude-sonnet-4-6", max_tokens=16, messages=[{"role": "user", "content": "x"}], stream=True
        )
        return list(stream)


def _release(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split(".")[:2])


# anthropic 2.17 wraps a failed read in the middle of a stream into its own APIConnectionError
# (its `iter_response_bytes`); older releases let the transport's RemoteProtocolError through.
# The locked environment runs one side, the lowest run in CONTRIBUTING.md the other.
ANTHROPIC_WRAPS_CUT_STREAMS = _release(anthropic.__version__) >= (2, 17)
ANTHROPIC_CUT_STREAM_ERROR: type[Exception] = (
    anthropic.APIConnectionError if ANTHROPIC_WRAPS_CUT_STREAMS else httpx2.RemoteProtocolError
)


def test_sdks_raise_when_the_stream_is_cut() -> None:
    with FakeUpstream(speed=0, cut_after=3) as server:
        seen: list[str] = []
        # google-genai 3.x reads through httpx2 and lets its error through
        with pytest.raises((httpx2.RemoteProtocolError, httpx.RemoteProtocolError)):
            _gemini_stream_into(server.base_url, seen)
        # chunks 1-3 complete events 1 and 2 only
        assert "".join(seen) == "这里是第一段：我们正在测试流式输出的分块边界。"

        with pytest.raises(openai.APIConnectionError) as caught:
            _openai_chat(server.base_url)
        assert isinstance(caught.value.__cause__, httpx2.RemoteProtocolError)
        with pytest.raises(openai.APIConnectionError):
            _openai_responses(server.base_url)

        with pytest.raises(ANTHROPIC_CUT_STREAM_ERROR) as anthropic_cut:
            _anthropic_messages(server.base_url)
        transport_error = anthropic_cut.value.__cause__ if ANTHROPIC_WRAPS_CUT_STREAMS else anthropic_cut.value
        assert isinstance(transport_error, httpx2.RemoteProtocolError)

        server.cut_after = 1
        with pytest.raises((httpx2.RemoteProtocolError, httpx.RemoteProtocolError)):
            _gemini_generate(server.base_url)


def test_sdks_raise_their_rate_limit_errors() -> None:
    with FakeUpstream(speed=0, status=429) as server:
        with pytest.raises(genai_errors.ClientError) as gemini_error:
            _gemini_stream_into(server.base_url, [])
        assert gemini_error.value.code == 429
        assert gemini_error.value.status == "RESOURCE_EXHAUSTED"
        with pytest.raises(genai_errors.ClientError):
            _gemini_generate(server.base_url)

        with pytest.raises(openai.RateLimitError) as openai_error:
            _openai_chat(server.base_url)
        assert openai_error.value.code == "rate_limit_exceeded"
        assert openai_error.value.type == "requests"
        with pytest.raises(openai.RateLimitError):
            _openai_responses(server.base_url)

        with pytest.raises(anthropic.RateLimitError) as anthropic_error:
            _anthropic_messages(server.base_url)
        assert isinstance(anthropic_error.value.body, dict)
        assert anthropic_error.value.body["error"]["type"] == "rate_limit_error"

        assert len(server.requests) == 5, "no retries"


@pytest.mark.parametrize("status", [500, 503])
def test_sdks_raise_server_errors(status: int) -> None:
    with FakeUpstream(speed=0, status=status) as server:
        with pytest.raises(genai_errors.ServerError) as gemini_error:
            _gemini_generate(server.base_url)
        assert gemini_error.value.code == status
        with pytest.raises(openai.InternalServerError) as openai_error:
            _openai_chat(server.base_url)
        assert openai_error.value.status_code == status
        with pytest.raises(anthropic.InternalServerError) as anthropic_error:
            _anthropic_messages(server.base_url)
        assert anthropic_error.value.status_code == status
