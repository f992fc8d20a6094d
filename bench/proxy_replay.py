"""Replay through `chunktape serve --proxy`: does the forward proxy keep the chunk timing?

The same 50-chunk stream (uneven 5-80 ms gaps) replayed by `chunktape serve` directly, and
through `chunktape serve --proxy` over plain HTTP and over HTTPS (CONNECT, the local CA),
interleaved; |replayed gap - recorded gap| per chunk, and whether chunk boundaries survive.
"""

from __future__ import annotations

import os
import ssl
from pathlib import Path
from typing import Any

import httpx

from bench.clients import fetch, loopback_client
from bench.common import VENV_BIN, Arrivals, Service, gap_errors_ms, stream_cassette, summary, uneven_stream
from bench.report import Section


def run(work: Path, rounds: int) -> Section:
    from chunktape import save_cassette

    stream = uneven_stream()
    cassette = stream_cassette(stream)  # recorded at https://api.openai.com
    cassette_path = work / "proxy-replay.yaml"
    save_cassette(cassette, str(cassette_path))
    response = cassette.interactions[0].response
    offsets = [c.at_s for c in response.chunks]
    sizes = [len(c.data) for c in response.chunks]
    confdir = work / "proxy-mitmproxy"
    os.environ["CHUNKTAPE_MITMPROXY_CONFDIR"] = str(confdir)  # the children inherit it

    seen: dict[str, list[Arrivals]] = {"server": [], "proxy_http": [], "proxy_https": []}
    chunktape = str(VENV_BIN / "chunktape")
    server = Service("chunktape serve", [chunktape, "serve", str(cassette_path), "--port", "0"])
    proxy = Service("chunktape serve --proxy", [chunktape, "serve", str(cassette_path), "--proxy", "--port", "0"])
    with server, proxy:
        trust = ssl.create_default_context(cafile=str(confdir / "mitmproxy-ca-cert.pem"))
        with (
            loopback_client() as direct,
            httpx.Client(proxy=proxy.base_url, timeout=30.0, trust_env=False) as plain,
            httpx.Client(proxy=proxy.base_url, verify=trust, timeout=30.0, trust_env=False) as tls,
        ):
            clients: dict[str, tuple[httpx.Client, str]] = {
                "server": (direct, server.base_url + stream.path),
                "proxy_http": (plain, "http://api.openai.com" + stream.path),
                "proxy_https": (tls, "https://api.openai.com" + stream.path),
            }
            for client, url in clients.values():
                fetch(client, url, stream.request_body)  # warm: imports, connection, certificate
            for _ in range(rounds):  # interleaved, so machine noise falls on all of them alike
                for key, (client, url) in clients.items():
                    seen[key].append(fetch(client, url, stream.request_body))

    section = Section(
        "proxy_replay",
        f"Replay through serve --proxy: {len(sizes)} chunks, gaps 5-80 ms, {rounds} streams each",
        ["emitter", "boundaries kept", "gaps within 1 ms", "err p50 ms", "p90 ms", "p99 ms", "max ms"],
    )
    labels = {
        "server": "chunktape serve (HTTP, loopback)",
        "proxy_http": "chunktape serve --proxy, http:// URL",
        "proxy_https": "chunktape serve --proxy, https:// URL (CONNECT, local CA)",
    }
    stats: dict[str, Any] = {}
    for key, runs in seen.items():
        errors = [e for one in runs for e in gap_errors_ms(offsets, sizes, one)]
        stats[key] = {
            "gap_error_ms": summary(errors),
            "within_1ms": sum(1 for e in errors if e <= 1.0) / len(errors),
            "boundaries_kept": all(one.sizes() == sizes for one in runs),
        }
        err = stats[key]["gap_error_ms"]
        section.add(
            labels[key],
            stats[key]["boundaries_kept"],
            f"{100 * stats[key]['within_1ms']:.1f}%",
            err["p50"],
            err["p90"],
            err["p99"],
            err["max"],
        )
    section.data = stats
    section.notes.append(
        "The proxy is mitmproxy relaying the replay server's chunks as they arrive: one extra loopback hop "
        "and a pass through mitmproxy's event loop per chunk. Compare its rows with the direct row of the same run."
    )
    return section
