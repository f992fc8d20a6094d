"""Build the example cassettes in cassettes/ from provider-exact wire data.

The bytes and chunk boundaries come from tests/support/fakes/wire.py (the same sequences the fake
upstreams send), so each example is shaped exactly like the provider's wire format, with
uneven gaps and chunks cut inside UTF-8 characters and between CR and LF. Run:

    .venv/bin/python scripts/make_example_cassettes.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from chunktape import Cassette, Chunk, Interaction, Request, Response, save_cassette  # noqa: E402
from tests.support.fakes.formats import FORMAT_EXCHANGES  # noqa: E402
from tests.support.fakes.wire import EXCHANGES, WireExchange  # noqa: E402

HOSTS = {
    "gemini": "https://generativelanguage.googleapis.com",
    "ollama": "http://localhost:11434",
    "bedrock": "https://bedrock-runtime.us-east-1.amazonaws.com",
    "openai": "https://api.openai.com",
    "anthropic": "https://api.anthropic.com",
}
# what each official SDK sends besides the body; the key values are redacted on write
REQUEST_HEADERS = {
    "gemini": (("content-type", "application/json"), ("x-goog-api-key", "demo-key")),
    "openai": (("content-type", "application/json"), ("authorization", "Bearer sk-demo")),
    "anthropic": (
        ("content-type", "application/json"),
        ("anthropic-version", "2026-10-21"),
        ("authorization", "Bearer sk-ant-demo"),
    ),
    "ollama": (("content-type", "application/json"), ("accept", "application/json")),
    "bedrock": (
        ("content-type", "application/json"),
        ("x-amz-date", "20251014T092117Z"),
        ("authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20251014/us-east-1/bedrock/aws4_request"),
    ),
}
HEADERS_AT_S = 0.031  # one round trip on a good connection before the response head


def interaction_for(exchange: WireExchange) -> Interaction:
    provider = exchange.name.split("_", 1)[0]
    at = HEADERS_AT_S
    chunks = []
    for gap_s, data in exchange.chunks:
        at = round(at + gap_s, 6)
        chunks.append(Chunk(at_s=at, data=data))
    request_body = json.dumps(exchange.request_json, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Interaction(
        request=Request("POST", HOSTS[provider] + exchange.path, REQUEST_HEADERS[provider], request_body),
        response=Response(
            status=exchange.status,
            headers=exchange.headers,
            headers_at_s=HEADERS_AT_S,
            chunks=tuple(chunks),
            ended_at_s=at,
        ),
    )


def main() -> None:
    out = ROOT / "cassettes"
    for name, exchange in {**EXCHANGES, **FORMAT_EXCHANGES}.items():
        path = out / f"{name}.yaml"
        save_cassette(Cassette([interaction_for(exchange)]), str(path))
        print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
