"""An OpenAI chat-completions stream in several versions, as a provider drifts over time, for
`chunktape drift` tests: the same wire format as ``wire.py``'s ``openai_chat`` (compact JSON
``data:`` events, ``[DONE]``), one event per network chunk.

* ``v1``: what the cassette recorded; time to first chunk 150 ms, then 60 ms gaps (wide
  enough that a stall of a busy machine does not double one).
* ``words``: other words, ids and timestamps; the same structure and rhythm.
* ``drifted``: ``finish_reason`` renamed ``stop_reason``, ``created`` a string, a new
  ``choices[].delta.reasoning`` field, a new ``event: ping`` kind, and the first chunk at
  450 ms (three times later: far beyond the noise of a busy machine).
* ``added_field``: v1 plus a ``service_tier`` field, nothing else.

``recorded(version)`` is the interaction a recording of that version holds.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

from chunktape import Chunk, Interaction, Request, Response
from chunktape.secret_names import REDACTED

from .wire import WireExchange

VERSIONS = ("v1", "words", "drifted", "added_field")
PATH = "/v1/chat/completions"
REQUEST_JSON = {"model": "gpt-4o-mini", "stream": True, "messages": [{"role": "user", "content": "Say hi"}]}
TTFT_S = {"v1": 0.15, "words": 0.15, "drifted": 0.45, "added_field": 0.15}
GAP_S = 0.06


def _event(value: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode() + b"\n\n"


def events(version: str) -> list[bytes]:
    words = ["Hello", " there", "!"] if version != "words" else ["Hi", ", how are", " you?"]
    ident = "chatcmpl-AAA111" if version != "words" else "chatcmpl-ZZZ999"
    created: Any = 1760433669 if version != "words" else 1770000000
    if version == "drifted":
        created = "2026-12-06T09:00:00Z"
    finish = "stop_reason" if version == "drifted" else "finish_reason"
    base: dict[str, Any] = {"id": ident, "object": "chat.completion.chunk", "created": created, "model": "gpt-4o-mini"}
    if version == "added_field":
        base["service_tier"] = "default"

    def chunk(delta: dict[str, Any], reason: str | None) -> bytes:
        return _event({**base, "choices": [{"index": 0, "delta": delta, finish: reason}]})

    def delta(text: str) -> dict[str, Any]:
        return {"content": text, "reasoning": "..."} if version == "drifted" else {"content": text}

    out = [chunk({"role": "assistant", "content": ""}, None), *(chunk(delta(word), None) for word in words)]
    if version == "drifted":
        out.append(b'event: ping\ndata: {"type":"ping"}\n\n')
    out += [chunk({}, "stop"), b"data: [DONE]\n\n"]
    return out


def exchange(version: str) -> WireExchange:
    """The version as the fake upstream sends it: the head at once, then each event after its gap."""
    pieces = events(version)
    gaps = [TTFT_S[version], *[GAP_S] * (len(pieces) - 1)]
    return WireExchange(
        name=f"openai_chat_{version}",
        method="POST",
        path=PATH,
        request_json=REQUEST_JSON,
        status=200,
        headers=(("content-type", "text/event-stream; charset=utf-8"), ("x-request-id", f"req_{version}")),
        chunks=tuple(zip(gaps, pieces, strict=True)),
        text="",
        streamed=True,
    )


def recorded(version: str = "v1", base_url: str = "https://api.openai.com") -> Interaction:
    """What a recording of `version` holds: the request with its key redacted, the events at
    their arrival times."""
    wire = exchange(version)
    arrivals = list(itertools.accumulate(gap for gap, _ in wire.chunks))
    chunks = tuple(Chunk(round(at, 6), data) for at, (_, data) in zip(arrivals, wire.chunks, strict=True))
    request = Request(
        "POST",
        base_url + PATH,
        (("content-type", "application/json"), ("authorization", REDACTED)),
        json.dumps(REQUEST_JSON).encode(),
    )
    response = Response(200, wire.headers, 0.002, chunks, "complete", arrivals[-1] + 0.001)
    return Interaction(request, response)
