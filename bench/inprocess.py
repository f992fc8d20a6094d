"""4. In-process cost per test: open the cassette and make one streamed request through
ReplayTransport, against vcrpy replaying the same interaction (use_cassette + httpx), both
through the same pre-built httpx client, many iterations, interleaved in blocks.

The client's transport is a slot: for chunktape the slot holds a fresh ReplayTransport each
iteration (that is what opens the cassette); for vcrpy it holds one httpx.HTTPTransport,
whose handle_request vcrpy patches while its cassette is in use.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from bench.common import ROOT, median, percentile
from bench.report import Section, Target

_EXCHANGE = "gemini_stream"


class _Slot(httpx.BaseTransport):
    """A transport that hands each request to whichever transport it holds right now."""

    def __init__(self) -> None:
        self.inner: httpx.BaseTransport = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self.inner.handle_request(request)


def run(work: Path, iterations: int, block: int = 25) -> Section:
    import vcr

    from chunktape import ReplayTransport
    from tests.support.fakes.upstream import FakeUpstream
    from tests.support.fakes.wire import EXCHANGES

    exchange = EXCHANGES[_EXCHANGE]
    cassette = str(ROOT / "cassettes" / f"{_EXCHANGE}.yaml")
    body = json.dumps(exchange.request_json, ensure_ascii=False).encode()
    headers = {"content-type": "application/json", "x-goog-api-key": "bench-key"}
    vcr_cassette = str(work / "inprocess-vcrpy.yaml")
    slot = _Slot()
    direct = slot.inner
    client = httpx.Client(transport=slot, trust_env=False, timeout=10.0)
    with FakeUpstream(speed=0) as upstream:  # vcrpy records the interaction once, from a live server
        url = upstream.url(exchange)
        with vcr.VCR(record_mode="all").use_cassette(vcr_cassette):
            _one(client, url, body, headers)
    # the upstream is gone: both replay with no network
    replay = vcr.VCR(record_mode="none")

    def chunktape_prebuilt() -> int:
        slot.inner = ReplayTransport(cassette, speed=0)
        return _one(client, url, body, headers)

    def chunktape_new_client() -> int:
        with httpx.Client(transport=ReplayTransport(cassette, speed=0), trust_env=False) as fresh:
            return _one(fresh, url, body, headers)

    def vcrpy() -> int:
        slot.inner = direct
        with replay.use_cassette(vcr_cassette):
            return _one(client, url, body, headers)

    cases: dict[str, Callable[[], int]] = {
        "chunktape": chunktape_prebuilt,
        "chunktape_new_client": chunktape_new_client,
        "vcrpy": vcrpy,
    }
    wall: dict[str, list[float]] = {key: [] for key in cases}
    cpu: dict[str, list[float]] = {key: [] for key in cases}
    pieces: dict[str, int] = {}
    for key, case in cases.items():  # warm: imports, first-call caches
        pieces[key] = case()
    for _ in range(max(1, iterations // block)):
        for key, case in cases.items():
            cpu_before = time.process_time()
            for _ in range(block):
                started = time.perf_counter()
                case()
                wall[key].append(time.perf_counter() - started)
            cpu[key].append((time.process_time() - cpu_before) / block)
    client.close()

    labels = {
        "chunktape": "chunktape ReplayTransport, pre-built client",
        "chunktape_new_client": "chunktape, new httpx.Client per test",
        "vcrpy": "vcrpy use_cassette, pre-built client",
    }
    section = Section(
        "inprocess",
        f"4. In-process cost per test: open cassette + one streamed request ({_EXCHANGE}, 7 chunks), "
        f"{len(wall['vcrpy'])} iterations each",
        [
            "replay",
            "chunks to client",
            "wall p50 ms",
            "wall p90 ms",
            "CPU ms/test",
            "vs vcrpy (wall)",
            "vs vcrpy (CPU)",
        ],
    )
    stats: dict[str, Any] = {}
    base_wall, base_cpu = median(wall["vcrpy"]), median(cpu["vcrpy"])
    for key in cases:
        item = {
            "wall_p50_ms": median(wall[key]) * 1000,
            "wall_p90_ms": percentile(wall[key], 90) * 1000,
            "cpu_ms": median(cpu[key]) * 1000,
            "chunks": pieces[key],
        }
        item["vs_vcrpy_wall"] = median(wall[key]) / base_wall
        item["vs_vcrpy_cpu"] = median(cpu[key]) / base_cpu
        stats[key] = item
        section.add(
            labels[key],
            item["chunks"],
            item["wall_p50_ms"],
            item["wall_p90_ms"],
            item["cpu_ms"],
            f"{item['vs_vcrpy_wall']:.2f}x",
            f"{item['vs_vcrpy_cpu']:.2f}x",
        )
    section.data = stats
    section.targets.append(
        Target(
            "in-process cost per test vs vcrpy (wall, lower is better)",
            stats["chunktape"]["vs_vcrpy_wall"],
            1.0,
            False,
            "x",
        )
    )
    section.notes.append(
        "Both replays load their YAML cassette each test; vcrpy hands the body over as one piece, "
        "chunktape as the recorded chunks."
    )
    return section


def _one(client: httpx.Client, url: str, body: bytes, headers: dict[str, str]) -> int:
    with client.stream("POST", url, content=body, headers=headers) as response:
        response.raise_for_status()
        return sum(1 for _ in response.iter_raw())
