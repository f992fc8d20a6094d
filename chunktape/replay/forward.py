"""Passes a request the cassettes cannot answer on to a fallback URL, streaming the answer
back chunk by chunk: the pytest plugin points this at a recording proxy (record mode
new_episodes), so a new request is recorded with its real rhythm.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

import httpx

from chunktape.cassette import Request
from chunktape.replay.emit import HOP_BY_HOP, Outcome, Send

_NOT_FORWARDED = HOP_BY_HOP | {"host", "content-length"}
_TIMEOUT = httpx.Timeout(connect=10.0, read=600.0, write=60.0, pool=None)


def new_client() -> httpx.AsyncClient:
    """One client per server loop: connections to the fallback are pooled across requests."""
    return httpx.AsyncClient(timeout=_TIMEOUT, follow_redirects=False, trust_env=False)


async def forward(
    client: httpx.AsyncClient,
    fallback_url: str,
    target: str,
    request: Request,
    send: Send,
    on_error: Callable[[int, bytes], Awaitable[None]],
) -> Outcome:
    """Send `request` to `fallback_url` + `target` (path and query) and relay the response.

    The body is relayed raw (still compressed if it was), each piece as it arrives. If the
    fallback drops the connection mid-body, so do we; if it cannot be reached, `on_error`
    answers 502.
    """
    url = fallback_url.rstrip("/") + target
    headers = [(k, v) for k, v in request.headers if k.lower() not in _NOT_FORWARDED]
    outgoing = client.build_request(request.method, url, headers=headers, content=request.body)
    try:
        upstream = await client.send(outgoing, stream=True)
    except httpx.HTTPError as exc:
        message = f"chunktape could not reach the fallback {fallback_url}: {exc}"
        await on_error(502, json.dumps({"error": {"message": message}, "chunktape": "fallback failed"}).encode())
        return "complete"
    try:
        response_headers = [
            (k.lower(), v) for k, v in upstream.headers.raw if k.decode("latin-1").lower() not in HOP_BY_HOP
        ]
        await send({"type": "http.response.start", "status": upstream.status_code, "headers": response_headers})
        try:
            async for piece in upstream.aiter_raw():
                await send({"type": "http.response.body", "body": piece, "more_body": True})
        except httpx.HTTPError:
            return "cut"
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        return "complete"
    finally:
        await upstream.aclose()
