"""Provider-exact wire data for the stream formats besides SSE.

* Gemini REST ``streamGenerateContent`` *without* ``alt=sse`` (what its reference shows):
  one JSON array sent element by element. Each element is pretty-printed (2-space indent,
  ``": "``, raw UTF-8); the array opens with ``[`` right before the first ``{``, elements are
  separated by ``\\n,\\r\\n`` and it closes with ``\\n]``. Google flushes each element with the
  newline after it; the ``,\\r\\n`` leads the next flush. ``application/json; charset=UTF-8``.
* Ollama ``POST /api/chat``: NDJSON (``application/x-ndjson``), one compact JSON object per
  ``\\n``-terminated line, Go's member order; ``done: false`` while streaming, then one
  ``done: true`` object with ``done_reason`` and the timing/count stats.
* Amazon Bedrock ``ConverseStream`` / ``InvokeModelWithResponseStream``: the binary AWS event
  stream (``application/vnd.amazon.eventstream``): per message a prelude (total length,
  headers length, CRC32), string headers ``:event-type``, ``:content-type``,
  ``:message-type`` in that order, a compact JSON payload padded with a ``p`` member
  (letters of ``abc...XYZ0-9`` of random length), and a CRC32 of the whole message.
  InvokeModel chunks carry the model's own JSON base64-encoded in ``bytes``.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from .wire import WireExchange, _at, _compact, _split, error_body, provider_of

__all__ = ["FORMAT_EXCHANGES", "error_for", "event_message"]

# ---------------------------------------------------------------------------
# Gemini REST: a streamed JSON array

_GEMINI_MODEL = "gemini-2.5-flash"


def _gemini_element(text: str, tokens: int, *, final: bool) -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"parts": [{"text": text}], "role": "model"}}
    if final:
        candidate["finishReason"] = "STOP"
    candidate["index"] = 0
    return {
        "candidates": [candidate],
        "usageMetadata": {
            "promptTokenCount": 11,
            "candidatesTokenCount": tokens,
            "totalTokenCount": 11 + tokens + 301,
            "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 11}],
            "thoughtsTokenCount": 301,
        },
        "modelVersion": _GEMINI_MODEL,
        "responseId": "Q3ruaPyhN4Sc1e8PqYbT8Qc",
    }


def _gemini_array() -> WireExchange:
    pieces = [("这里是第一段", 4), ("，数组流的第二个元素。", 12), ("\n\nThe last element ends the array 🚀", 21)]
    elements = [
        json.dumps(_gemini_element(text, tokens, final=i == len(pieces) - 1), ensure_ascii=False, indent=2).encode()
        for i, (text, tokens) in enumerate(pieces)
    ]
    data = b"[" + b"\n,\r\n".join(elements) + b"\n]"
    first_end = data.index(b"\n,\r\n")
    cuts = [
        # 1: "[" + the first element and its "\n" (Google's flush); 2 starts with ",\r\n"
        first_end + 1,
        # 3: the second element cut two bytes into 数 (E6 95 | B0)
        _at(data, "数", start=first_end, plus=-1),
        # 4: the rest of it and the separator up to between \r and \n
        _at(data, b"\n,\r", start=first_end + 4),
        # 5: "\n" + the last element; 6: "\n]" alone
        len(data) - 2,
    ]
    return WireExchange(
        name="gemini_array",
        method="POST",
        path=f"/v1beta/models/{_GEMINI_MODEL}:streamGenerateContent",
        request_json={"contents": [{"parts": [{"text": "三段短话：数组流测试。"}], "role": "user"}]},
        status=200,
        headers=(
            ("Content-Type", "application/json; charset=UTF-8"),
            ("Vary", "Origin"),
            ("Vary", "X-Origin"),
            ("Vary", "Referer"),
            ("Date", "Tue, 14 Oct 2025 09:21:15 GMT"),
            ("Server", "scaffolding on HTTPServer2"),
            ("X-XSS-Protection", "0"),
            ("X-Frame-Options", "SAMEORIGIN"),
            ("X-Content-Type-Options", "nosniff"),
            ("Server-Timing", "gfet4t7; dur=977"),
            ("Alt-Svc", 'h3=":443"; ma=2592000,h3-29=":443"; ma=2592000'),
        ),
        chunks=_split(data, cuts, [0.41, 0.088, 0.019, 0.006, 0.131]),
        text="".join(text for text, _ in pieces),
        streamed=True,
    )


# ---------------------------------------------------------------------------
# Ollama: NDJSON

_OLLAMA_MODEL = "llama3.2"


def _ollama_chat() -> WireExchange:
    pieces = ["你好", "！我是", " Llama", "，本地运行。"]
    stamps = [
        "2025-10-14T09:21:16.214071Z",
        "2025-10-14T09:21:16.239718Z",
        "2025-10-14T09:21:16.265120Z",
        "2025-10-14T09:21:16.290874Z",
        "2025-10-14T09:21:16.316402Z",
    ]
    lines = [
        _compact(
            {
                "model": _OLLAMA_MODEL,
                "created_at": stamp,
                "message": {"role": "assistant", "content": piece},
                "done": False,
            }
        )
        + b"\n"
        for stamp, piece in zip(stamps, pieces, strict=False)
    ]
    lines.append(
        _compact(
            {
                "model": _OLLAMA_MODEL,
                "created_at": stamps[-1],
                "message": {"role": "assistant", "content": ""},
                "done_reason": "stop",
                "done": True,
                "total_duration": 412870042,
                "load_duration": 21154958,
                "prompt_eval_count": 31,
                "prompt_eval_duration": 86415000,
                "eval_count": 5,
                "eval_duration": 102548000,
            }
        )
        + b"\n"
    )
    data = b"".join(lines)
    ends = [sum(len(line) for line in lines[: i + 1]) for i in range(len(lines))]
    cuts = [
        ends[0],
        # 2: line 2 cut one byte into ！ (EF | BC 81)
        _at(data, '"content":"', start=ends[0], plus=1),
        ends[1],
        # 4: lines 3 and 4 together, and line 5 without its "\n"
        ends[4] - 1,
    ]
    return WireExchange(
        name="ollama_chat",
        method="POST",
        path="/api/chat",
        request_json={
            "model": _OLLAMA_MODEL,
            "messages": [{"role": "user", "content": "用中文打个招呼。"}],
            "tools": [],
            "stream": True,
        },
        status=200,
        headers=(("Content-Type", "application/x-ndjson"), ("Date", "Tue, 14 Oct 2025 09:21:16 GMT")),
        chunks=_split(data, cuts, [0.19, 0.026, 0.025, 0.051, 0.027]),
        text="".join(pieces),
        streamed=True,
    )


# ---------------------------------------------------------------------------
# Amazon Bedrock: the AWS event stream

_PADDING = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def event_message(event_type: str, payload: bytes, *, message_type: str = "event") -> bytes:
    """One AWS event-stream message, framed and checksummed as AWS sends it."""
    headers = b""
    for name, value in (
        (":event-type", event_type),
        (":content-type", "application/json"),
        (":message-type", message_type),
    ):
        headers += bytes([len(name)]) + name.encode() + b"\x07" + len(value).to_bytes(2, "big") + value.encode()
    total = 12 + len(headers) + len(payload) + 4
    prelude = total.to_bytes(4, "big") + len(headers).to_bytes(4, "big")
    prelude += binascii.crc32(prelude).to_bytes(4, "big")
    message = prelude + headers + payload
    return message + binascii.crc32(message).to_bytes(4, "big")


def _padded(obj: dict[str, Any], pad: int) -> dict[str, Any]:
    return dict(sorted({**obj, "p": _PADDING[:pad]}.items()))  # AWS writes members in name order


_BEDROCK_HEADERS = (
    ("Date", "Tue, 14 Oct 2025 09:21:17 GMT"),
    ("Content-Type", "application/vnd.amazon.eventstream"),
    ("Connection", "keep-alive"),
    ("x-amzn-RequestId", "8c0f5d1e-3b7a-4f2c-9e61-0a2b4c6d8e0f"),
)
_CLAUDE = "anthropic.claude-3-haiku-20240307-v1:0"


def _bedrock_converse_stream() -> WireExchange:
    pieces = ["Hello", " from Bedrock", "，世界", "！"]
    messages = [
        event_message("messageStart", _compact(_padded({"role": "assistant"}, 23))),
        *(
            event_message(
                "contentBlockDelta", _compact(_padded({"contentBlockIndex": 0, "delta": {"text": piece}}, pad))
            )
            for piece, pad in zip(pieces, [9, 31, 4, 17], strict=True)
        ),
        event_message("contentBlockStop", _compact(_padded({"contentBlockIndex": 0}, 12))),
        event_message("messageStop", _compact(_padded({"stopReason": "end_turn"}, 40))),
        event_message(
            "metadata",
            _compact(
                _padded(
                    {
                        "metrics": {"latencyMs": 684},
                        "usage": {"inputTokens": 17, "outputTokens": 11, "totalTokens": 28},
                    },
                    2,
                )
            ),
        ),
    ]
    data = b"".join(messages)
    ends = [sum(len(m) for m in messages[: i + 1]) for i in range(len(messages))]
    cuts = [
        ends[0],
        # 2: the first delta and 7 bytes of the next one: a cut inside its prelude
        ends[1] + 7,
        # 3: the rest of it and the third delta cut one byte into 世 (E4 | B8 96)
        _at(data, "世", start=ends[2], plus=-2),
        ends[4],
        # 5: contentBlockStop and messageStop without their last CRC byte; 6: that byte + metadata
        ends[6] - 1,
    ]
    return WireExchange(
        name="bedrock_converse_stream",
        method="POST",
        path="/model/" + _CLAUDE.replace(":", "%3A") + "/converse-stream",
        request_json={"messages": [{"role": "user", "content": [{"text": "Greet the world, end in Chinese."}]}]},
        status=200,
        headers=_BEDROCK_HEADERS,
        chunks=_split(data, cuts, [0.37, 0.044, 0.052, 0.038, 0.021, 0.009]),
        text="".join(pieces),
        streamed=True,
    )


def _bedrock_invoke_stream() -> WireExchange:
    pieces = ["Bonjour", "，Bedrock", " 的流。"]
    inner = [
        {
            "type": "message_start",
            "message": {
                "id": "msg_bdrk_01Xq8Lz3Vn5Tc7Rb9Pm2Kd4J",
                "type": "message",
                "role": "assistant",
                "model": "claude-3-haiku-20240307",
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": {"input_tokens": 15, "output_tokens": 1},
            },
        },
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        *(
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": piece}}
            for piece in pieces
        ),
        {"type": "content_block_stop", "index": 0},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn", "stop_sequence": None},
            "usage": {"output_tokens": 9},
        },
        {
            "type": "message_stop",
            "amazon-bedrock-invocationMetrics": {
                "inputTokenCount": 15,
                "outputTokenCount": 9,
                "invocationLatency": 511,
                "firstByteLatency": 302,
            },
        },
    ]
    messages = [
        event_message(
            "chunk", _compact({"bytes": base64.b64encode(_compact(obj)).decode(), "p": _PADDING[: 3 + 5 * i % 41]})
        )
        for i, obj in enumerate(inner)
    ]
    data = b"".join(messages)
    ends = [sum(len(m) for m in messages[: i + 1]) for i in range(len(messages))]
    cuts = [ends[0], ends[2] + 3, ends[5], ends[6] - 2]
    return WireExchange(
        name="bedrock_invoke_stream",
        method="POST",
        path="/model/" + _CLAUDE.replace(":", "%3A") + "/invoke-with-response-stream",
        request_json={
            "anthropic_version": "bedrock-2023-05-31",
            "max_tokens": 128,
            "messages": [{"role": "user", "content": "Bonjour, in two languages."}],
        },
        status=200,
        headers=(*_BEDROCK_HEADERS, ("X-Amzn-Bedrock-Content-Type", "application/json")),
        chunks=_split(data, cuts, [0.33, 0.041, 0.036, 0.027, 0.012]),
        text="".join(pieces),
        streamed=True,
    )


FORMAT_EXCHANGES: dict[str, WireExchange] = {
    exchange.name: exchange
    for exchange in (_gemini_array(), _ollama_chat(), _bedrock_converse_stream(), _bedrock_invoke_stream())
}


def error_for(exchange: WireExchange, status: int) -> tuple[tuple[tuple[str, str], ...], bytes]:
    """Headers and body of the error the exchange's provider answers with `status`."""
    prefix = exchange.name.split("_", 1)[0]
    if prefix == "ollama":
        return (("Content-Type", "application/json; charset=utf-8"),), _compact({"error": f"status {status}"})
    if prefix == "bedrock":
        kind = {429: "ThrottlingException", 400: "ValidationException", 403: "AccessDeniedException"}.get(
            status, "InternalServerException"
        )
        message = "Too many requests, please wait before trying again." if status == 429 else "Request failed."
        headers = (
            ("Date", "Tue, 14 Oct 2025 09:21:17 GMT"),
            ("Content-Type", "application/json"),
            ("x-amzn-RequestId", "0d9e8f7a-6b5c-4d3e-2f1a-0b9c8d7e6f5a"),
            ("x-amzn-ErrorType", f"{kind}:http://internal.amazon.com/coral/com.amazon.bedrock/"),
        )
        return headers, _compact({"message": message})
    return error_body(provider_of(exchange), status)
