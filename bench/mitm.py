"""mitmproxy as a peer: plain reverse proxying, streaming, saving flows, --server-replay."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from bench.clients import fetch, loopback_client
from bench.common import VENV_BIN, Arrivals, Service

_LISTENING = r"listening at ([\d.]+:\d+)"


def mitmdump(name: str, upstream: str, *args: str) -> Service:
    """mitmdump in reverse mode in front of `upstream`, on a free loopback port, quiet."""
    argv = [
        str(VENV_BIN / "mitmdump"),
        "--mode",
        f"reverse:{upstream}",
        "--listen-host",
        "127.0.0.1",
        "--listen-port",
        "0",
        "--set",
        "flow_detail=0",
        "--set",
        "termlog_verbosity=info",
        *args,
    ]
    return Service(name, argv, pattern=_LISTENING)


def mitm_record(upstream: str, flows: Path, requests: Sequence[tuple[str, bytes]]) -> None:
    """Save one flow per request with `mitmdump -w` (default buffering, so the body is kept)."""
    with mitmdump("mitmdump -w", upstream, "-w", str(flows)) as proxy, loopback_client() as client:
        for path, body in requests:
            fetch(client, proxy.base_url + path, body)
    if not flows.exists() or flows.stat().st_size == 0:
        raise RuntimeError("mitmdump -w saved no flow")


def replay_service(upstream: str, flows: Path) -> Service:
    """mitmdump --server-replay of saved flows, answering repeats, never forwarding a miss."""
    return mitmdump(
        "mitmdump --server-replay",
        upstream,
        "--server-replay",
        str(flows),
        "--set",
        "server_replay_reuse=true",
        "--set",
        "server_replay_extra=kill",
        "--set",
        "connection_strategy=lazy",
    )


def mitm_replay(upstream: str, flows: Path, path: str, body: bytes, rounds: int) -> list[Arrivals]:
    with replay_service(upstream, flows) as proxy, loopback_client() as client:
        return [fetch(client, proxy.base_url + path, body) for _ in range(rounds)]
