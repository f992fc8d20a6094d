"""13. Redaction: what finding and redacting keys by their format costs a recorded request
(the recorder's writer redacts every one before it is written), for a large multimodal
request (5 MB of JSON, almost all of it base64 audio), 5 MB of prose, and a usual chat
request, against a bare `json.loads` of the same body.
"""

from __future__ import annotations

import base64
import json
import random
import time
from pathlib import Path

from bench.common import median
from bench.report import Section

_WORDS = ("the", "stream", "arrives", "token", "by", "token", "流式", "输出", "chunk", "boundary")


def requests() -> dict[str, bytes]:
    """Name -> request body. The fake key is put together here, so no literal sits in the repo."""
    rng = random.Random(13)
    key = "sk-" + "proj-" + "BENCHfake0123456789" * 3
    audio = base64.b64encode(rng.randbytes(3_740_000)).decode()
    prose = " ".join(rng.choice(_WORDS) for _ in range(900_000))
    chat = {"model": "gpt-4o-mini", "stream": True, "messages": [{"role": "user", "content": "hello " * 300}]}
    return {
        "5 MB JSON, base64 audio + a key": json.dumps(
            {
                "model": "gpt-4o-audio-preview",
                "messages": [
                    {"role": "system", "content": f"the key is {key}"},
                    {
                        "role": "user",
                        "content": [{"type": "input_audio", "input_audio": {"data": audio, "format": "wav"}}],
                    },
                ],
            }
        ).encode(),
        "5 MB JSON, prose": json.dumps({"messages": [{"role": "user", "content": prose}]}, ensure_ascii=False).encode(),
        "2 KB chat request": json.dumps(chat).encode(),
    }


def run(work: Path, rounds: int) -> Section:
    from chunktape.cassette import Request
    from chunktape.redaction import Redactor

    section = Section(
        "redaction",
        f"13. Redaction by key format of one recorded request, {rounds} rounds",
        ["request", "body MB", "redact ms", "json.loads ms", "redact / json.loads", "keys found"],
    )
    redactor = Redactor()
    stats: dict[str, dict[str, float]] = {}
    for name, body in requests().items():
        request = Request("POST", "https://api.test/v1/chat/completions?alt=sse", (("x-trace", "abc"),), body)
        ours: list[float] = []
        parse: list[float] = []
        found = 0
        for _ in range(rounds):
            started = time.perf_counter()
            _, keys = redactor.redacted_request(request)
            ours.append(time.perf_counter() - started)
            started = time.perf_counter()
            json.loads(body)
            parse.append(time.perf_counter() - started)
            found = len(keys)
        mine, peer = median(ours), median(parse)
        stats[name] = {"redact_s": mine, "json_loads_s": peer, "keys": found}
        section.add(name, len(body) / 1e6, mine * 1000, peer * 1000, f"{mine / peer:.1f}x", found)
    section.data = stats
    section.notes.append(
        "Runs of 4 KB or more of base64 are data, not keys, and are skipped by byte operations; prose is searched "
        "for every format's needle (about 45 substring searches), then by the regexes of the formats whose needle occurs."
    )
    return section
