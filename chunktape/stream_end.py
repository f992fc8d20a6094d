"""Whether a streamed body already holds its final event, by the stream's own protocol.

The recorder asks when a client hangs up the moment it has what it wants (the OpenAI SDK
closes right after `data: [DONE]`): the upstream's end marker may not have reached the proxy
yet, but the exchange was complete. Pure: bytes and a content type in, a yes or no out.
"""

from __future__ import annotations

import json

from chunktape.bodies.framing import event_ends, stream_format

_SSE_FINAL_EVENTS = (
    "message_stop",  # Anthropic messages
    "response.completed",  # OpenAI Responses
    "response.failed",
    "response.incomplete",
    "error",
)


def has_final_event(body: bytes, content_type: str | None) -> bool:
    """True when `body` ends on an event boundary and its last event is one that only ever
    comes last: `data: [DONE]`, Anthropic's `message_stop`, a Responses `response.completed`,
    a Gemini chunk with a finishReason, Ollama's `"done": true`, a closed JSON array."""
    if not body:
        return False
    found = stream_format(content_type, body)
    ends = event_ends(body, content_type)
    if found == "json_array":
        return body.rstrip().endswith(b"]")
    if not ends or ends[-1] != len(body):
        return False
    start = ends[-2] if len(ends) > 1 else 0
    last = body[start:].decode("utf-8", errors="replace")
    if found == "ndjson":
        return _json_field(last.strip(), "done") is True
    if found != "sse":
        return False
    return _sse_is_final(last)


def _sse_is_final(event: str) -> bool:
    data_lines: list[str] = []
    for line in event.splitlines():
        if line.startswith("event:") and line[6:].strip() in _SSE_FINAL_EVENTS:
            return True
        if line.startswith("data:"):
            data_lines.append(line[5:].strip())
    data = "\n".join(data_lines)
    if data == "[DONE]":
        return True
    candidates = _json_field(data, "candidates")
    return isinstance(candidates, list) and any(isinstance(c, dict) and c.get("finishReason") for c in candidates)


def _json_field(text: str, name: str) -> object:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value.get(name) if isinstance(value, dict) else None
