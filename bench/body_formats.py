"""6. Body formats: how fast each stream format's body is written readably and read back
(encode_body / decode_body), saved and loaded in a cassette, and cut at its events for
`split events`, for ~2 MB bodies of thousands of events each.
"""

from __future__ import annotations

import base64
import binascii
import json
import random
import time
from collections.abc import Callable
from pathlib import Path

from bench.common import median
from bench.report import Section

_WORDS = ("流式", "输出", "the", "stream", "arrives", "token", "by", "token", "边界", "chunk")


def _event_message(event_type: str, payload: bytes) -> bytes:
    headers = b""
    for name, value in ((":event-type", event_type), (":content-type", "application/json"), (":message-type", "event")):
        headers += bytes([len(name)]) + name.encode() + b"\x07" + len(value).to_bytes(2, "big") + value.encode()
    prelude = (12 + len(headers) + len(payload) + 4).to_bytes(4, "big") + len(headers).to_bytes(4, "big")
    message = prelude + binascii.crc32(prelude).to_bytes(4, "big") + headers + payload
    return message + binascii.crc32(message).to_bytes(4, "big")


def bodies(events: int = 6000, seed: int = 6) -> dict[str, tuple[str, bytes]]:
    """Format name -> (content type, body), each event carrying a few words of text."""
    rng = random.Random(seed)
    texts = [" ".join(rng.choice(_WORDS) for _ in range(rng.randint(20, 60))) for _ in range(events)]

    def gemini(text: str) -> dict[str, object]:
        return {"candidates": [{"content": {"parts": [{"text": text}], "role": "model"}, "index": 0}]}

    compact = {"ensure_ascii": False, "separators": (",", ":")}
    return {
        "sse (Gemini alt=sse)": (
            "text/event-stream",
            b"".join(b"data: " + json.dumps(gemini(t), ensure_ascii=False).encode() + b"\r\n\r\n" for t in texts),
        ),
        "json array (Gemini REST)": (
            "application/json; charset=UTF-8",
            ("[" + "\n,\r\n".join(json.dumps(gemini(t), ensure_ascii=False, indent=2) for t in texts) + "\n]").encode(),
        ),
        "ndjson (Ollama)": (
            "application/x-ndjson",
            b"".join(
                json.dumps(
                    {"model": "llama3.2", "message": {"role": "assistant", "content": t}, "done": False}, **compact
                ).encode()  # type: ignore[arg-type]
                + b"\n"
                for t in texts
            ),
        ),
        "event stream (Bedrock chunks)": (
            "application/vnd.amazon.eventstream",
            b"".join(
                _event_message(
                    "chunk",
                    json.dumps(
                        {
                            "bytes": base64.b64encode(
                                json.dumps({"type": "content_block_delta", "delta": {"text": t}}, **compact).encode()  # type: ignore[arg-type]
                            ).decode(),
                            "p": "abcdefgh",
                        },
                        separators=(",", ":"),
                    ).encode(),
                )
                for t in texts
            ),
        ),
    }


def _best_of(rounds: int, work: Callable[[], object]) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return median(times)


def run(work_dir: Path, rounds: int = 3) -> Section:
    from chunktape import Cassette, Chunk, Interaction, ReplayPolicy, Request, Response, build_schedule
    from chunktape.bodies import decode_body, encode_body
    from chunktape.persist import dumps, loads

    section = Section(
        key="body_formats",
        title="Body formats: encode/decode, cassette save/load and the event split, ~2 MB bodies",
        columns=["format", "MB", "events", "kind", "encode MB/s", "decode MB/s", "save+load s", "split events s"],
    )
    policy = ReplayPolicy.from_knobs(speed=0, split="events")
    for name, (content_type, data) in bodies().items():
        megabytes = len(data) / 1e6
        node = encode_body(data, content_type)
        kind = next(
            key for key in node if key in ("json", "sse_events", "json_array", "event_stream", "text", "base64")
        )
        encode_s = _best_of(rounds, lambda: encode_body(data, content_type))  # noqa: B023
        decode_s = _best_of(rounds, lambda: decode_body(node))  # noqa: B023
        cut = max(1, len(data) // 200)
        chunks = tuple(
            Chunk(at_s=0.01 * i, data=data[i * cut : (i + 1) * cut]) for i in range((len(data) + cut - 1) // cut)
        )
        response = Response(200, (("content-type", content_type),), 0.0, chunks)
        cassette = Cassette([Interaction(Request("POST", "http://api.test/x"), response)])
        io_s = _best_of(rounds, lambda: loads(dumps(cassette)))  # noqa: B023
        plan = build_schedule(cassette.interactions[0].request, response, policy)
        split_s = _best_of(rounds, lambda: build_schedule(cassette.interactions[0].request, response, policy))  # noqa: B023
        section.add(
            name,
            round(megabytes, 2),
            len(plan.steps),
            kind,
            round(megabytes / encode_s, 1),
            round(megabytes / decode_s, 1),
            round(io_s, 2),
            round(split_s, 3),
        )
    section.notes.append("median of the rounds; one process, no I/O (dumps/loads in memory)")
    return section
