"""Provider-exact wire data for the fake upstreams.

Every exchange below is written byte for byte the way the provider puts it on
the wire, and then cut into network chunks at deliberately awkward places.

Wire facts these fixtures rely on (checked against captured traffic):

* Gemini (``generativelanguage.googleapis.com``), ``streamGenerateContent?alt=sse``:
  each event is ``data: <json>\\r\\n\\r\\n`` (CRLF line endings, unlike OpenAI and
  Anthropic).  The JSON uses Google's odd separators: ``", "`` is never used
  between members, only ``","``; the key separator is ``": "`` (for example
  ``{"candidates": [{"content": {"parts": [{"text": "Hi"}],"role": "model"},"index": 0}]``).
  Non-ASCII text is sent as raw UTF-8.  Members follow proto field order
  (``parts`` before ``role``; ``finishReason``, ``index``, ``safetyRatings``).
  ``finishReason`` only appears in the last event; every event carries
  ``usageMetadata`` (running ``candidatesTokenCount``), ``modelVersion`` and
  ``responseId``.  Current 2.5 models usually leave ``safetyRatings`` out of
  benign answers; the last event here carries them so that consumers see the
  field.
* Gemini ``generateContent``: pretty-printed JSON, 2-space indent, ``": "``
  key separator, raw UTF-8, and a trailing ``\\n``;
  ``Content-Type: application/json; charset=UTF-8``.
* OpenAI chat completions / responses and Anthropic messages: compact JSON
  (``","`` and ``":"``), raw UTF-8, events end in ``\\n\\n``.  Anthropic's ``ping``
  is the exception: ``{"type": "ping"}`` (with a space).
* OpenAI's error bodies are pretty-printed with a 4-space indent plus ``\\n``;
  Gemini's use a 2-space indent plus ``\\n``; Anthropic's are compact.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

__all__ = [
    "EXCHANGES",
    "PROVIDERS",
    "Provider",
    "WireExchange",
    "body",
    "error_body",
    "provider_of",
]

Provider = Literal["gemini", "openai", "anthropic"]
PROVIDERS: tuple[Provider, ...] = ("gemini", "openai", "anthropic")


@dataclass(frozen=True)
class WireExchange:
    """One HTTP exchange as a provider really sends it."""

    name: str
    method: str
    path: str
    request_json: dict[str, Any]
    status: int
    headers: tuple[tuple[str, str], ...]
    chunks: tuple[tuple[float, bytes], ...]
    text: str
    streamed: bool


def body(exchange: WireExchange) -> bytes:
    """The exchange's whole response body: its chunks joined."""
    return b"".join(data for _, data in exchange.chunks)


def provider_of(exchange: WireExchange | str) -> Provider:
    """Which provider an exchange (or exchange name) belongs to."""
    name = exchange if isinstance(exchange, str) else exchange.name
    prefix = name.split("_", 1)[0]
    if prefix == "gemini":
        return "gemini"
    if prefix == "openai":
        return "openai"
    if prefix == "anthropic":
        return "anthropic"
    raise ValueError(f"no provider for exchange {name!r}")


# ---------------------------------------------------------------------------
# serialisation helpers


def _compact(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()


def _google_line(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ": ")).encode()


def _google_pretty(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, indent=2).encode() + b"\n"


def _gemini_event(obj: Any) -> bytes:
    return b"data: " + _google_line(obj) + b"\r\n\r\n"


def _data_event(obj: Any) -> bytes:
    return b"data: " + _compact(obj) + b"\n\n"


def _named_event(event: str, obj: Any) -> bytes:
    return b"event: " + event.encode() + b"\ndata: " + _compact(obj) + b"\n\n"


def _at(data: bytes, marker: str | bytes, *, start: int = 0, plus: int = 0) -> int:
    """Offset just after ``marker`` (searched from ``start``), moved by ``plus``."""
    raw = marker.encode() if isinstance(marker, str) else marker
    found = data.find(raw, start)
    if found < 0:
        raise ValueError(f"marker {raw!r} not found")
    return found + len(raw) + plus


def _split(data: bytes, cuts: list[int], gaps: list[float]) -> tuple[tuple[float, bytes], ...]:
    if len(gaps) != len(cuts) + 1:
        raise ValueError("need one gap per chunk")
    bounds = [0, *cuts, len(data)]
    if bounds != sorted(set(bounds)):
        raise ValueError(f"cuts must be strictly increasing inside the body: {cuts}")
    return tuple((gap, data[lo:hi]) for gap, lo, hi in zip(gaps, bounds[:-1], bounds[1:], strict=True))


# ---------------------------------------------------------------------------
# Gemini

_GEMINI_MODEL = "gemini-2.5-flash"
_GEMINI_PROMPT = "用两种语言写三段很短的话，测试流式输出。"

_GEMINI_STREAM_HEADERS: tuple[tuple[str, str], ...] = (
    ("Content-Type", "text/event-stream"),
    ("Content-Disposition", "attachment"),
    ("Vary", "Origin"),
    ("Vary", "X-Origin"),
    ("Vary", "Referer"),
    ("Date", "Tue, 14 Oct 2025 09:21:07 GMT"),
    ("Server", "scaffolding on HTTPServer2"),
    ("X-XSS-Protection", "0"),
    ("X-Frame-Options", "SAMEORIGIN"),
    ("X-Content-Type-Options", "nosniff"),
    ("Server-Timing", "gfet4t7; dur=1184"),
    ("Alt-Svc", 'h3=":443"; ma=2592000,h3-29=":443"; ma=2592000'),
)

_GEMINI_JSON_HEADERS: tuple[tuple[str, str], ...] = (
    ("Content-Type", "application/json; charset=UTF-8"),
    ("Vary", "Origin"),
    ("Vary", "X-Origin"),
    ("Vary", "Referer"),
    ("Date", "Tue, 14 Oct 2025 09:21:12 GMT"),
    ("Server", "scaffolding on HTTPServer2"),
    ("X-XSS-Protection", "0"),
    ("X-Frame-Options", "SAMEORIGIN"),
    ("X-Content-Type-Options", "nosniff"),
    ("Server-Timing", "gfet4t7; dur=2391"),
    ("Alt-Svc", 'h3=":443"; ma=2592000,h3-29=":443"; ma=2592000'),
)

_GEMINI_SAFETY = [
    {"category": "HARM_CATEGORY_SEXUALLY_EXPLICIT", "probability": "NEGLIGIBLE"},
    {"category": "HARM_CATEGORY_HATE_SPEECH", "probability": "NEGLIGIBLE"},
    {"category": "HARM_CATEGORY_HARASSMENT", "probability": "NEGLIGIBLE"},
    {"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "NEGLIGIBLE"},
]

_GEMINI_PROMPT_TOKENS = 14
_GEMINI_THOUGHT_TOKENS = 389


def _gemini_usage(candidates: int) -> dict[str, Any]:
    return {
        "promptTokenCount": _GEMINI_PROMPT_TOKENS,
        "candidatesTokenCount": candidates,
        "totalTokenCount": _GEMINI_PROMPT_TOKENS + candidates + _GEMINI_THOUGHT_TOKENS,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": _GEMINI_PROMPT_TOKENS}],
        "thoughtsTokenCount": _GEMINI_THOUGHT_TOKENS,
    }


def _gemini_chunk(text: str, candidates: int, *, final: bool, response_id: str) -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"parts": [{"text": text}], "role": "model"}}
    if final:
        candidate["finishReason"] = "STOP"
    candidate["index"] = 0
    if final:
        candidate["safetyRatings"] = _GEMINI_SAFETY
    return {
        "candidates": [candidate],
        "usageMetadata": _gemini_usage(candidates),
        "modelVersion": _GEMINI_MODEL,
        "responseId": response_id,
    }


def _gemini_stream() -> WireExchange:
    response_id = "k2ruaO3TEJOn1e8PvfyLyQw"
    pieces = [
        ("这里是第一段", 4),
        ("：我们正在测试流式输出的分块边界。", 15),
        ("\n\nThe second paragraph mixes English with 中文字符", 27),
        (" and an emoji 🚀, just to be safe.", 37),
        ("\n\n最后一段：一切正常，完毕", 46),
        ("。", 47),
    ]
    events = [
        _gemini_event(_gemini_chunk(text, tokens, final=i == len(pieces) - 1, response_id=response_id))
        for i, (text, tokens) in enumerate(pieces)
    ]
    data = b"".join(events)
    ends = [sum(len(e) for e in events[: i + 1]) for i in range(len(events))]
    cuts = [
        # 1: two bytes into 这 (E8 BF | 99): a cut inside a UTF-8 character
        _at(data, '"text": "', plus=2),
        # 2: between the \r and \n that end event 1's data line
        ends[0] - 3,
        # 3: event 2 completes; 4 then carries events 3 and 4 whole
        ends[1],
        ends[3],
        # 5: cuts event 5 in two, mid-JSON
        _at(data, '"usageMetadata": {', start=ends[3]),
        # 6: event 6 arrives without its blank line; 7 is the final \r\n alone
        len(data) - 2,
    ]
    return WireExchange(
        name="gemini_stream",
        method="POST",
        path=f"/v1/models/{_GEMINI_MODEL}:streamGenerateContent?alt=sse",
        request_json={"contents": [{"parts": [{"text": _GEMINI_PROMPT}], "role": "user"}]},
        status=200,
        headers=_GEMINI_STREAM_HEADERS,
        chunks=_split(data, cuts, [0.35, 0.021, 0.047, 0.118, 0.063, 0.035, 0.024]),
        text="".join(text for text, _ in pieces),
        streamed=True,
    )


def _gemini_generate() -> WireExchange:
    text = "这里是完整的回答：Gemini 一次性返回整段文字。\n\nNon-streamed answers arrive as one pretty-printed JSON document."
    doc = {
        "candidates": [
            {
                "content": {"parts": [{"text": text}], "role": "model"},
                "finishReason": "STOP",
                "index": 0,
            }
        ],
        "usageMetadata": {
            "promptTokenCount": 9,
            "candidatesTokenCount": 29,
            "totalTokenCount": 265,
            "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 9}],
            "thoughtsTokenCount": 227,
        },
        "modelVersion": _GEMINI_MODEL,
        "responseId": "uHruaNXuFqCW1e8P5Jfj8Qc",
    }
    data = _google_pretty(doc)
    return WireExchange(
        name="gemini_generate",
        method="POST",
        path=f"/v1/models/{_GEMINI_MODEL}:generateContent",
        request_json={"contents": [{"parts": [{"text": "用一句话回答，然后换成英文。"}], "role": "user"}]},
        status=200,
        headers=_GEMINI_JSON_HEADERS,
        # GFE flushes big documents in pieces; cut inside 这 (E8 | BF 99)
        chunks=_split(data, [_at(data, '"text": "', plus=1)], [0.61, 0.004]),
        text=text,
        streamed=False,
    )


# ---------------------------------------------------------------------------
# OpenAI

_OPENAI_DATE = "Tue, 14 Oct 2025 09:21:09 GMT"


def _openai_headers(request_id: str, processing_ms: int, cf_ray: str) -> tuple[tuple[str, str], ...]:
    return (
        ("date", _OPENAI_DATE),
        ("content-type", "text/event-stream; charset=utf-8"),
        ("access-control-expose-headers", "X-Request-ID"),
        ("openai-organization", "user-chunktape0fixture0000000"),
        ("openai-processing-ms", str(processing_ms)),
        ("openai-project", "proj_ChunktapeFixture00000000"),
        ("openai-version", "2020-10-01"),
        ("x-envoy-upstream-service-time", str(processing_ms + 5)),
        ("x-ratelimit-limit-requests", "10000"),
        ("x-ratelimit-limit-tokens", "10000000"),
        ("x-ratelimit-remaining-requests", "9999"),
        ("x-ratelimit-remaining-tokens", "9999982"),
        ("x-ratelimit-reset-requests", "6ms"),
        ("x-ratelimit-reset-tokens", "0s"),
        ("x-request-id", request_id),
        ("x-openai-proxy-wasm", "v0.1"),
        ("cf-cache-status", "DYNAMIC"),
        ("strict-transport-security", "max-age=31536000; includeSubDomains; preload"),
        ("x-content-type-options", "nosniff"),
        ("server", "cloudflare"),
        ("cf-ray", cf_ray),
        ("alt-svc", 'h3=":443"; ma=86400'),
    )


def _openai_chat() -> WireExchange:
    base: dict[str, Any] = {
        "id": "chatcmpl-CQXw2kTf9jyNQb7Hc1uVwRz8mLpEa",
        "object": "chat.completion.chunk",
        "created": 1760433669,
        "model": "gpt-4o-mini-2024-07-18",
        "service_tier": "default",
        "system_fingerprint": "fp_560af6e559",
    }

    def chunk(choices: list[Any], obfuscation: str, usage: Any = None) -> bytes:
        return _data_event({**base, "choices": choices, "usage": usage, "obfuscation": obfuscation})

    def delta(content: str, obfuscation: str) -> bytes:
        return chunk(
            [{"index": 0, "delta": {"content": content}, "logprobs": None, "finish_reason": None}],
            obfuscation,
        )

    pieces = ["你好", "！这是", " OpenAI", " 的流式", "回答。"]
    obfuscations = ["e8Zk", "Hq1", "UJ3x9", "w", "mPq"]
    events = [
        chunk(
            [
                {
                    "index": 0,
                    "delta": {"role": "assistant", "content": "", "refusal": None},
                    "logprobs": None,
                    "finish_reason": None,
                }
            ],
            "2VxIr",
        ),
        *(delta(p, o) for p, o in zip(pieces, obfuscations, strict=True)),
        chunk([{"index": 0, "delta": {}, "logprobs": None, "finish_reason": "stop"}], "Hu1w"),
        chunk(
            [],
            "NaYsDNt6iW",
            {
                "prompt_tokens": 13,
                "completion_tokens": 11,
                "total_tokens": 24,
                "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
                "completion_tokens_details": {
                    "reasoning_tokens": 0,
                    "audio_tokens": 0,
                    "accepted_prediction_tokens": 0,
                    "rejected_prediction_tokens": 0,
                },
            },
        ),
        b"data: [DONE]\n\n",
    ]
    data = b"".join(events)
    ends = [sum(len(e) for e in events[: i + 1]) for i in range(len(events))]
    cuts = [
        # 1: role chunk plus the start of "你好", cut one byte into 你 (E4 | BD A0)
        _at(data, '"content":"', start=ends[0], plus=1),
        # 2: rest of event 2 and event 3 whole
        ends[2],
        # 3: event 4 and half of event 5 (mid-JSON)
        _at(data, '"delta":', start=ends[3]),
        # 4: rest of 5 and all of 6 except the final "\n" (between \n and \n)
        ends[5] - 1,
        # 5: that "\n" plus the finish_reason chunk
        ends[6],
        # 6: the usage chunk; 7: [DONE]
        ends[7],
    ]
    request_id = "req_5f0c9e3b7d2a4c61a8e9b0f1d2c3e4a5"
    return WireExchange(
        name="openai_chat",
        method="POST",
        path="/v1/chat/completions",
        request_json={
            "model": "gpt-4o-mini",
            "stream": True,
            "messages": [{"role": "user", "content": "用中文打个招呼，再提一下 OpenAI。"}],
            "stream_options": {"include_usage": True},
        },
        status=200,
        headers=_openai_headers(request_id, 231, "98e4c1a2bd3f2a7c-SJC"),
        chunks=_split(data, cuts, [0.42, 0.031, 0.054, 0.089, 0.043, 0.022, 0.002]),
        text="".join(pieces),
        streamed=True,
    )


def _openai_responses() -> WireExchange:
    resp_id = "resp_0d3f5b1a2c4e6a7b0068ee1f05a9c081909e7d4b3c2a1f0e9d"
    msg_id = "msg_0d3f5b1a2c4e6a7b0068ee1f06b3f88190b8c7d6e5f4a3b2c1"
    model = "gpt-4.1-mini-2025-04-14"
    created_at = 1760433670
    pieces = ["Hello", "，世界", "！流式", " Responses", " API 的回答。"]
    obfuscations = ["k2Wv1cGLy5c", "3Hhxk0XBmdo", "W3q9uR2", "lOZ", "u1"]
    text = "".join(pieces)

    def response(status: str, output: list[Any], usage: Any, completed_at: Any) -> dict[str, Any]:
        return {
            "id": resp_id,
            "object": "response",
            "created_at": created_at,
            "status": status,
            "background": False,
            "completed_at": completed_at,
            "error": None,
            "incomplete_details": None,
            "instructions": None,
            "max_output_tokens": None,
            "max_tool_calls": None,
            "model": model,
            "output": output,
            "parallel_tool_calls": True,
            "previous_response_id": None,
            "prompt_cache_key": None,
            "prompt_cache_retention": None,
            "reasoning": {"effort": None, "summary": None},
            "safety_identifier": None,
            "service_tier": "auto" if status == "in_progress" else "default",
            "store": True,
            "temperature": 1.0,
            "text": {"format": {"type": "text"}, "verbosity": "medium"},
            "tool_choice": "auto",
            "tools": [],
            "top_logprobs": 0,
            "top_p": 1.0,
            "truncation": "disabled",
            "usage": usage,
            "user": None,
            "metadata": {},
        }

    part_empty = {"type": "output_text", "annotations": [], "logprobs": [], "text": ""}
    part_full = {"type": "output_text", "annotations": [], "logprobs": [], "text": text}
    item_done = {
        "id": msg_id,
        "type": "message",
        "status": "completed",
        "content": [part_full],
        "role": "assistant",
    }
    usage = {
        "input_tokens": 16,
        "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
        "output_tokens": 14,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 30,
    }
    seq = iter(range(10_000))
    events = [
        _named_event(
            "response.created",
            {
                "type": "response.created",
                "sequence_number": next(seq),
                "response": response("in_progress", [], None, None),
            },
        ),
        _named_event(
            "response.in_progress",
            {
                "type": "response.in_progress",
                "sequence_number": next(seq),
                "response": response("in_progress", [], None, None),
            },
        ),
        _named_event(
            "response.output_item.added",
            {
                "type": "response.output_item.added",
                "sequence_number": next(seq),
                "output_index": 0,
                "item": {"id": msg_id, "type": "message", "status": "in_progress", "content": [], "role": "assistant"},
            },
        ),
        _named_event(
            "response.content_part.added",
            {
                "type": "response.content_part.added",
                "sequence_number": next(seq),
                "item_id": msg_id,
                "output_index": 0,
                "content_index": 0,
                "part": part_empty,
            },
        ),
        *(
            _named_event(
                "response.output_text.delta",
                {
                    "type": "response.output_text.delta",
                    "sequence_number": next(seq),
                    "item_id": msg_id,
                    "output_index": 0,
                    "content_index": 0,
                    "delta": piece,
                    "logprobs": [],
                    "obfuscation": obf,
                },
            )
            for piece, obf in zip(pieces, obfuscations, strict=True)
        ),
        _named_event(
            "response.output_text.done",
            {
                "type": "response.output_text.done",
                "sequence_number": next(seq),
                "item_id": msg_id,
                "output_index": 0,
                "content_index": 0,
                "text": text,
                "logprobs": [],
            },
        ),
        _named_event(
            "response.content_part.done",
            {
                "type": "response.content_part.done",
                "sequence_number": next(seq),
                "item_id": msg_id,
                "output_index": 0,
                "content_index": 0,
                "part": part_full,
            },
        ),
        _named_event(
            "response.output_item.done",
            {"type": "response.output_item.done", "sequence_number": next(seq), "output_index": 0, "item": item_done},
        ),
        _named_event(
            "response.completed",
            {
                "type": "response.completed",
                "sequence_number": next(seq),
                "response": response("completed", [item_done], usage, 1760433671),
            },
        ),
    ]
    data = b"".join(events)
    ends = [sum(len(e) for e in events[: i + 1]) for i in range(len(events))]
    cuts = [
        # 1: created + in_progress arrive together
        ends[1],
        # 2: output_item.added, content_part.added and the first delta
        ends[4],
        # 3: second delta cut one byte into "，" (EF | BC 8C)
        _at(data, '"delta":"', start=ends[4], plus=1),
        # 4: rest of it, the third delta, and the fourth delta's "event:" line only
        _at(data, b"\n", start=ends[6]),
        # 5: the rest of the deltas and output_text.done, cut between its two "\n"
        ends[9] - 1,
        # 6: "\n", content_part.done, output_item.done; 7: response.completed
        ends[11],
    ]
    request_id = "req_b7a1c2d3e4f5061728394a5b6c7d8e9f"
    return WireExchange(
        name="openai_responses",
        method="POST",
        path="/v1/responses",
        request_json={"model": "gpt-4.1-mini", "stream": True, "input": "Say hello to the world, half in Chinese."},
        status=200,
        headers=_openai_headers(request_id, 118, "98e4c1b0fa6e2a7c-SJC"),
        chunks=_split(data, cuts, [0.28, 0.19, 0.036, 0.041, 0.077, 0.029, 0.065]),
        text=text,
        streamed=True,
    )


# ---------------------------------------------------------------------------
# Anthropic

_ANTHROPIC_DATE = "Tue, 14 Oct 2025 09:21:11 GMT"


def _anthropic_common(request_id: str, cf_ray: str) -> tuple[tuple[str, str], ...]:
    return (
        ("request-id", request_id),
        ("strict-transport-security", "max-age=31536000; includeSubDomains; preload"),
        ("anthropic-organization-id", "1f3c5e7a-0b2d-4f6a-8c9e-0a1b2c3d4e5f"),
        ("via", "1.1 google"),
        ("cf-cache-status", "DYNAMIC"),
        ("x-robots-tag", "none"),
        ("server", "cloudflare"),
        ("cf-ray", cf_ray),
    )


def _anthropic_messages() -> WireExchange:
    model = "claude-sonnet-4-6"
    pieces = ["Bonjour", " 世界", "！这是", " Claude 的流式回答。"]
    text = "".join(pieces)
    events = [
        _named_event(
            "message_start",
            {
                "type": "message_start",
                "message": {
                    "model": model,
                    "id": "msg_01HmRr6v7uG4TqjW1aBNk5Zc",
                    "type": "message",
                    "role": "assistant",
                    "content": [],
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": {
                        "input_tokens": 21,
                        "cache_creation_input_tokens": 0,
                        "cache_read_input_tokens": 0,
                        "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
                        "output_tokens": 1,
                        "service_tier": "standard",
                    },
                },
            },
        ),
        _named_event(
            "content_block_start",
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        ),
        b'event: ping\ndata: {"type": "ping"}\n\n',
        *(
            _named_event(
                "content_block_delta",
                {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": piece}},
            )
            for piece in pieces
        ),
        _named_event("content_block_stop", {"type": "content_block_stop", "index": 0}),
        _named_event(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {
                    "input_tokens": 21,
                    "cache_creation_input_tokens": 0,
                    "cache_read_input_tokens": 0,
                    "output_tokens": 19,
                },
            },
        ),
        _named_event("message_stop", {"type": "message_stop"}),
    ]
    data = b"".join(events)
    ends = [sum(len(e) for e in events[: i + 1]) for i in range(len(events))]
    cuts = [
        # 1: message_start alone; 2: content_block_start + ping
        ends[0],
        ends[2],
        # 3: first delta and the second cut two bytes into 世 (E4 B8 | 96)
        _at(data, '"text":" ', start=ends[3], plus=2),
        # 4: rest of it, third delta, fourth delta up to the middle of "data:"
        _at(data, b"\nda", start=ends[5]),
        # 5: the rest and content_block_stop cut between its "\n\n"
        ends[7] - 1,
        # 6: "\n" + message_delta; 7: message_stop
        ends[8],
    ]
    headers = (
        ("date", _ANTHROPIC_DATE),
        ("content-type", "text/event-stream; charset=utf-8"),
        ("cache-control", "no-cache"),
        ("anthropic-ratelimit-input-tokens-limit", "2000000"),
        ("anthropic-ratelimit-input-tokens-remaining", "2000000"),
        ("anthropic-ratelimit-input-tokens-reset", "2025-10-14T09:21:11Z"),
        ("anthropic-ratelimit-output-tokens-limit", "400000"),
        ("anthropic-ratelimit-output-tokens-remaining", "400000"),
        ("anthropic-ratelimit-output-tokens-reset", "2025-10-14T09:21:11Z"),
        ("anthropic-ratelimit-requests-limit", "4000"),
        ("anthropic-ratelimit-requests-remaining", "3999"),
        ("anthropic-ratelimit-requests-reset", "2025-10-14T09:21:10Z"),
        ("anthropic-ratelimit-tokens-limit", "2400000"),
        ("anthropic-ratelimit-tokens-remaining", "2400000"),
        ("anthropic-ratelimit-tokens-reset", "2025-10-14T09:21:11Z"),
        *_anthropic_common("req_011CU7mZp3hXb9Qw2Ekf4Rt6", "98e4c1c6d9b52a7c-SJC"),
    )
    return WireExchange(
        name="anthropic_messages",
        method="POST",
        path="/v1/messages",
        request_json={
            "max_tokens": 256,
            "messages": [{"role": "user", "content": "Greet the world in French, then continue in Chinese."}],
            "model": "claude-sonnet-4-6",
            "stream": True,
        },
        status=200,
        headers=headers,
        chunks=_split(data, cuts, [0.52, 0.012, 0.066, 0.094, 0.051, 0.038, 0.017]),
        text=text,
        streamed=True,
    )


EXCHANGES: dict[str, WireExchange] = {
    exchange.name: exchange
    for exchange in (
        _gemini_stream(),
        _gemini_generate(),
        _openai_chat(),
        _openai_responses(),
        _anthropic_messages(),
    )
}


# ---------------------------------------------------------------------------
# errors

_GOOGLE_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "NOT_IMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}

_GOOGLE_MESSAGE = {
    429: (
        "You exceeded your current quota, please check your plan and billing details. "
        "For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits."
    ),
    500: (
        "An internal error has occurred. Please retry or report in "
        "https://developers.generativeai.google/guide/troubleshooting"
    ),
    503: "The model is overloaded. Please try again later.",
}

_OPENAI_ERROR: dict[int, tuple[str, str, str | None]] = {
    400: ("Invalid request.", "invalid_request_error", None),
    401: (
        "Incorrect API key provided: sk-test. You can find your API key at https://platform.openai.com/account/api-keys.",
        "invalid_request_error",
        "invalid_api_key",
    ),
    404: (
        "The model `gpt-4o-mini` does not exist or you do not have access to it.",
        "invalid_request_error",
        "model_not_found",
    ),
    429: (
        "Rate limit reached for gpt-4o-mini in organization org-ChunktapeFixture0000000 on requests per min (RPM): "
        "Limit 500, Used 500, Requested 1. Please try again in 120ms. "
        "Visit https://platform.openai.com/account/rate-limits to learn more.",
        "requests",
        "rate_limit_exceeded",
    ),
    500: ("The server had an error while processing your request. Sorry about that!", "server_error", None),
    503: (
        "That model is currently overloaded with other requests. You can retry your request, or contact us "
        "through our help center at help.openai.com if the error persists.",
        "server_error",
        None,
    ),
}

_ANTHROPIC_ERROR: dict[int, tuple[str, str]] = {
    400: ("invalid_request_error", "Invalid request"),
    401: ("authentication_error", "invalid x-api-key"),
    403: ("permission_error", "Your API key does not have permission to use the specified resource."),
    404: ("not_found_error", "Not found"),
    413: ("request_too_large", "Request exceeds the maximum allowed number of bytes."),
    429: (
        "rate_limit_error",
        "This request would exceed the rate limit for your organization (1f3c5e7a-0b2d-4f6a-8c9e-0a1b2c3d4e5f) "
        "of 50 requests per minute. For details, refer to: https://docs.claude.com/en/api/rate-limits. "
        "You can see the response headers for current usage. Please reduce the prompt length or the maximum "
        "tokens requested, or try again later. You may also contact sales at https://www.anthropic.com/contact-sales "
        "to discuss your options for a rate limit increase.",
    ),
    500: ("api_error", "Internal server error"),
    503: ("overloaded_error", "Overloaded"),
    529: ("overloaded_error", "Overloaded"),
}


def error_body(provider: Provider, status: int) -> tuple[tuple[tuple[str, str], ...], bytes]:
    """Response headers and body of the error ``provider`` answers with ``status``.

    The headers carry no Content-Length; the server adds it.
    """
    if provider == "gemini":
        doc: dict[str, dict[str, Any]] = {
            "error": {
                "code": status,
                "message": _GOOGLE_MESSAGE.get(status, "Request failed."),
                "status": _GOOGLE_STATUS.get(status, "UNKNOWN"),
            }
        }
        if status == 429:
            doc["error"]["details"] = [
                {
                    "@type": "type.googleapis.com/google.rpc.Help",
                    "links": [
                        {
                            "description": "Learn more about Gemini API quotas",
                            "url": "https://ai.google.dev/gemini-api/docs/rate-limits",
                        }
                    ],
                },
                {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "17s"},
            ]
        headers = (
            *((k, v) for k, v in _GEMINI_JSON_HEADERS if k != "Server-Timing"),
            ("Server-Timing", "gfet4t7; dur=37"),
        )
        return headers, _google_pretty(doc)

    if provider == "openai":
        message, kind, code = _OPENAI_ERROR.get(status, ("Request failed.", "server_error", None))
        payload = {"error": {"message": message, "type": kind, "param": None, "code": code}}
        openai_headers: list[tuple[str, str]] = [
            ("date", _OPENAI_DATE),
            ("content-type", "application/json; charset=utf-8"),
            ("vary", "Origin"),
            ("x-request-id", "req_e1d2c3b4a5968778695a4b3c2d1e0f9a"),
        ]
        if status == 429:
            openai_headers += [
                ("x-ratelimit-limit-requests", "500"),
                ("x-ratelimit-remaining-requests", "0"),
                ("x-ratelimit-reset-requests", "120ms"),
            ]
        openai_headers += [
            ("x-envoy-upstream-service-time", "4"),
            ("cf-cache-status", "DYNAMIC"),
            ("strict-transport-security", "max-age=31536000; includeSubDomains; preload"),
            ("x-content-type-options", "nosniff"),
            ("server", "cloudflare"),
            ("cf-ray", "98e4c1d7a0c32a7c-SJC"),
            ("alt-svc", 'h3=":443"; ma=86400'),
        ]
        return tuple(openai_headers), json.dumps(payload, ensure_ascii=False, indent=4).encode() + b"\n"

    if provider == "anthropic":
        kind, message = _ANTHROPIC_ERROR.get(status, ("api_error", "Request failed"))
        request_id = "req_011CU7n4Yq8LwT2vJd5Gx9Ks"
        anthropic_headers: list[tuple[str, str]] = [
            ("date", _ANTHROPIC_DATE),
            ("content-type", "application/json"),
            ("content-security-policy", "default-src 'none'; frame-ancestors 'none'"),
        ]
        if status == 429:
            anthropic_headers += [
                ("retry-after", "13"),
                ("anthropic-ratelimit-requests-limit", "50"),
                ("anthropic-ratelimit-requests-remaining", "0"),
                ("anthropic-ratelimit-requests-reset", "2025-10-14T09:21:24Z"),
            ]
        anthropic_headers.append(("x-should-retry", "true" if status in (408, 409, 429) or status >= 500 else "false"))
        anthropic_headers += list(_anthropic_common(request_id, "98e4c1e2f7a12a7c-SJC"))
        anthropic_payload = {"type": "error", "error": {"type": kind, "message": message}, "request_id": request_id}
        return tuple(anthropic_headers), _compact(anthropic_payload)

    raise ValueError(f"unknown provider {provider!r}")
