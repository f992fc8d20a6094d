"""1. Replay timing fidelity: |replayed gap - recorded gap| for a 50-chunk stream with
uneven 5-80 ms gaps, through the replay server, the async and the sync transport; and the
same stream replayed by vcrpy and by mitmproxy --server-replay (recorded through each once).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from pathlib import Path
from typing import Any

import httpx

from bench.clients import afetch, fetch, loopback_client
from bench.common import (
    VENV_BIN,
    Arrivals,
    Service,
    Stream,
    gap_errors_ms,
    now_ns,
    stream_cassette,
    summary,
    uneven_stream,
)
from bench.mitm import mitm_record, mitm_replay
from bench.report import Section, Target


def run(work: Path, rounds: int) -> Section:
    from chunktape import AsyncReplayTransport, ReplayTransport, save_cassette

    stream = uneven_stream()
    cassette = stream_cassette(stream)
    cassette_path = work / "fidelity.yaml"
    save_cassette(cassette, str(cassette_path))
    response = cassette.interactions[0].response
    offsets = [c.at_s for c in response.chunks]
    sizes = [len(c.data) for c in response.chunks]
    streams_json = work / "fidelity-upstream.json"
    streams_json.write_text(json.dumps([stream.to_json()]))

    seen: dict[str, list[Arrivals]] = {"floor": [], "direct": [], "server": [], "async": [], "sync": []}
    server = Service("chunktape serve", [str(VENV_BIN / "chunktape"), "serve", str(cassette_path), "--port", "0"])
    upstream = Service("bench upstream", [str(VENV_BIN / "python"), "-m", "bench.upstream", str(streams_json)])
    with upstream, server, loopback_client() as client:
        url = server.base_url + stream.path
        direct_url = upstream.base_url + stream.path
        fetch(client, url, stream.request_body)  # warm: imports, connection
        for _ in range(rounds):  # interleaved, so machine noise falls on all of them alike
            seen["floor"].append(_sleeper(stream.headers_gap_s, offsets, cassette.interactions[0].response.chunks))
            seen["direct"].append(fetch(client, direct_url, stream.request_body))
            seen["server"].append(fetch(client, url, stream.request_body))
            seen["async"].append(asyncio.run(_async_once(AsyncReplayTransport, str(cassette_path), stream)))
            with httpx.Client(transport=ReplayTransport(str(cassette_path)), base_url="http://replay") as local:
                seen["sync"].append(fetch(local, "http://replay" + stream.path, stream.request_body))
        seen["vcrpy"] = _vcrpy(work, direct_url, stream.request_body, rounds)
        flows = work / "fidelity.mitm"
        mitm_record(upstream.base_url, flows, [(stream.path, stream.request_body)])
        seen["mitmproxy"] = mitm_replay(upstream.base_url, flows, stream.path, stream.request_body, rounds)

    section = Section(
        "fidelity",
        f"1. Replay timing fidelity: {len(sizes)} chunks, gaps 5-80 ms, {rounds} streams each",
        ["emitter", "chunks", "boundaries kept", "gaps within 1 ms", "err p50 ms", "p90 ms", "p99 ms", "max ms"],
    )
    labels = {
        "floor": "floor: time.sleep to each offset, no I/O",
        "direct": "live upstream, direct (recording source)",
        "server": "chunktape serve (HTTP, loopback)",
        "async": "chunktape AsyncReplayTransport",
        "sync": "chunktape ReplayTransport",
        "vcrpy": "vcrpy replay (httpx)",
        "mitmproxy": "mitmdump --server-replay",
    }
    stats: dict[str, Any] = {}
    for key, runs in seen.items():
        errors = [e for one in runs for e in gap_errors_ms(offsets, sizes, one)]
        delivered = sorted(len(one.pieces) for one in runs)[len(runs) // 2]
        kept = all(one.sizes() == sizes for one in runs)
        within = sum(1 for e in errors if e <= 1.0) / len(errors)
        stats[key] = {
            "gap_error_ms": summary(errors),
            "within_1ms": within,
            "chunks_delivered": delivered,
            "boundaries_kept": kept,
        }
    for key, item in stats.items():
        err = item["gap_error_ms"]
        section.add(
            labels[key],
            item["chunks_delivered"],
            item["boundaries_kept"],
            f"{100 * item['within_1ms']:.1f}%",
            err["p50"],
            err["p90"],
            err["p99"],
            err["max"],
        )
    section.data = {"recorded_gaps_ms": [round((b - a) * 1000, 3) for a, b in itertools.pairwise(offsets)], **stats}
    floor = stats["floor"]["gap_error_ms"]
    for key in ("server", "async", "sync"):
        section.targets.append(
            Target(
                f"replay gap error p99, {labels[key]}",
                stats[key]["gap_error_ms"]["p99"],
                1.0,
                False,
                " ms",
                note=f"floor p99 {floor['p99']:.2f} ms; {100 * stats[key]['within_1ms']:.1f}% of gaps within 1 ms "
                f"(floor {100 * stats['floor']['within_1ms']:.1f}%)",
            )
        )
    section.notes.append(
        "floor: a thread that only time.sleep()s to each recorded offset, in the same run: what this machine "
        "allows any Python emitter; its tail is the machine's (other tenants, the hypervisor), not chunktape's."
    )
    section.notes.append(
        "vcrpy and mitmproxy hand the whole body over at once, so every replayed gap is 0 and the "
        "error equals the recorded gap."
    )
    return section


async def _async_once(transport_cls: Any, cassette_path: str, stream: Stream) -> Arrivals:
    async with httpx.AsyncClient(transport=transport_cls(cassette_path), base_url="http://replay") as client:
        return await afetch(client, "http://replay" + stream.path, stream.request_body)


def _sleeper(headers_at_s: float, offsets: list[float], chunks: Any) -> Arrivals:
    """The floor: a thread that only sleeps to each recorded offset and notes when it woke."""
    seen = Arrivals(started_ns=now_ns())
    time.sleep(headers_at_s)
    for at_s, chunk in zip(offsets, chunks, strict=True):
        delay = seen.started_ns / 1e9 + at_s - now_ns() / 1e9
        if delay > 0:
            time.sleep(delay)
        seen.pieces.append((now_ns(), chunk.data))
    return seen


def _vcrpy(work: Path, url: str, body: bytes, rounds: int) -> list[Arrivals]:
    import vcr

    cassette = str(work / "fidelity-vcrpy.yaml")
    with loopback_client() as client:
        with vcr.VCR(record_mode="all").use_cassette(cassette):
            fetch(client, url, body)
        replay = vcr.VCR(record_mode="none")
        out = []
        for _ in range(rounds):
            with replay.use_cassette(cassette):
                out.append(fetch(client, url, body))
    return out
