"""How the bench reads a stream: httpx, raw pieces as they come (`iter_raw`), each timed."""

from __future__ import annotations

from typing import Any

import httpx

from bench.common import Arrivals, now_ns

JSON_HEADERS = {"content-type": "application/json"}


def fetch(client: httpx.Client, url: str, body: bytes) -> Arrivals:
    seen = Arrivals(started_ns=now_ns())
    with client.stream("POST", url, content=body, headers=JSON_HEADERS) as response:
        seen.headers_ns = now_ns()
        response.raise_for_status()
        for piece in response.iter_raw():
            seen.pieces.append((now_ns(), piece))
    return seen


async def afetch(client: httpx.AsyncClient, url: str, body: bytes) -> Arrivals:
    seen = Arrivals(started_ns=now_ns())
    async with client.stream("POST", url, content=body, headers=JSON_HEADERS) as response:
        seen.headers_ns = now_ns()
        response.raise_for_status()
        async for piece in response.aiter_raw():
            seen.pieces.append((now_ns(), piece))
    return seen


def loopback_client(**kwargs: Any) -> httpx.Client:
    """A client that never picks up proxy settings from the environment."""
    return httpx.Client(trust_env=False, timeout=30.0, **kwargs)
