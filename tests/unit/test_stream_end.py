"""A stream's final event, by protocol: what the recorder keeps as complete when the client
hangs up before the upstream's end marker arrives."""

from __future__ import annotations

import pytest

from chunktape.stream_end import has_final_event
from tests.support.fakes.wire import EXCHANGES, body

SSE = "text/event-stream"


@pytest.mark.parametrize("name", ["openai_chat", "openai_responses", "anthropic_messages", "gemini_stream"])
def test_every_provider_stream_ends_on_its_final_event_and_no_prefix_does(name: str) -> None:
    exchange = EXCHANGES[name]
    whole = body(exchange)
    assert has_final_event(whole, SSE)
    sent = b""
    for _, data in exchange.chunks[:-1]:
        sent += data
        assert not has_final_event(sent, SSE), sent[-120:]


@pytest.mark.parametrize(
    ("data", "content_type", "final"),
    [
        (b"data: [DONE]\n\n", SSE, True),
        (b"data: [DONE]\n", SSE, False),  # the event is not over yet
        (b"event: message_stop\r\ndata: {}\r\n\r\n", SSE, True),
        (b'data: {"candidates":[{"content":{}}]}\n\n', SSE, False),
        (b'{"message":{"content":"hi"},"done":false}\n{"done":true}\n', "application/x-ndjson", True),
        (b'{"message":{"content":"hi"},"done":false}\n', "application/x-ndjson", False),
        (b'[{"a":1}\n,\r\n{"a":2}]', "application/json", True),
        (b'[{"a":1}\n,\r\n', "application/json", False),
        (b"", SSE, False),
    ],
)
def test_final_events_by_format(data: bytes, content_type: str, final: bool) -> None:
    assert has_final_event(data, content_type) is final
