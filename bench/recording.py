"""2. Recording transparency: how much later each chunk reaches the client through
`chunktape record` than straight from the upstream, beside plain mitmdump (buffered, and
with stream_large_bodies=1); whether the client and the cassette keep the chunk boundaries.

The upstream stamps every chunk with the moment it wrote it (a clock all processes share),
so a chunk's delay is exact: receive time minus send stamp.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.clients import fetch, loopback_client
from bench.common import (
    ROOT,
    STAMP_RE,
    VENV_BIN,
    Arrivals,
    Service,
    services,
    stamp_delays_ms,
    summary,
    uneven_stream,
)
from bench.mitm import mitmdump
from bench.report import Section, Target


def run(work: Path, rounds: int) -> Section:
    stream = uneven_stream(chunks=50, min_gap_ms=5, max_gap_ms=30, seed=11)
    sizes = [len(data) for _, data in stream.chunks]
    streams_json = work / "recording-upstream.json"
    streams_json.write_text(json.dumps([stream.to_json()]))
    cassette = work / "recorded.yaml"
    addon_cassette = work / "recorded-addon.yaml"

    upstream = Service("bench upstream", [str(VENV_BIN / "python"), "-m", "bench.upstream", str(streams_json)])
    with upstream:
        up = upstream.base_url
        recorder = Service(
            "chunktape record",
            [str(VENV_BIN / "chunktape"), "record", "--upstream", up, "--cassette", str(cassette), "--port", "0"],
        )
        addon = mitmdump(
            "mitmdump -s addon",
            up,
            "-s",
            str(ROOT / "chunktape" / "recorder" / "addon.py"),
            "--set",
            f"chunktape_cassette={addon_cassette}",
        )
        buffered = mitmdump("mitmdump (reverse, default)", up)
        streaming = mitmdump("mitmdump stream_large_bodies=1", up, "--set", "stream_large_bodies=1")
        paths: dict[str, Any] = {"direct": None}
        with services(recorder, addon, buffered, streaming), loopback_client() as client:
            paths.update({"record": recorder, "addon": addon, "mitm": buffered, "mitm_stream": streaming})
            urls = {key: (service.base_url if service else up) + stream.path for key, service in paths.items()}
            for url in urls.values():  # warm every path once: connections, imports, first-request costs
                fetch(client, url, stream.request_body)
            seen: dict[str, list[Arrivals]] = {key: [] for key in paths}
            for _ in range(rounds):
                for key, url in urls.items():
                    seen[key].append(fetch(client, url, stream.request_body))

    labels = {
        "direct": "direct to the upstream",
        "record": "chunktape record",
        "addon": "mitmdump -s chunktape addon",
        "mitm": "mitmdump reverse (default, buffers)",
        "mitm_stream": "mitmdump stream_large_bodies=1",
    }
    section = Section(
        "recording",
        f"2. Recording transparency: {len(sizes)} chunks, gaps 5-30 ms, {rounds} streams per path",
        ["path", "chunks seen", "boundaries kept", "delay p50 ms", "p99 ms", "extra p50 ms", "extra p99 ms"],
    )
    stats: dict[str, Any] = {}
    for key, runs in seen.items():
        delays = [d for one in runs for d in stamp_delays_ms(one)]
        stats[key] = {
            "delay_ms": summary(delays),
            "chunks_seen": sorted(len(one.pieces) for one in runs)[len(runs) // 2],
            "boundaries_kept": all(one.sizes() == sizes for one in runs),
        }
    base = stats["direct"]["delay_ms"]
    for key, item in stats.items():
        delay = item["delay_ms"]
        item["extra_p50_ms"] = delay["p50"] - base["p50"]
        item["extra_p99_ms"] = delay["p99"] - base["p99"]
        section.add(
            labels[key],
            item["chunks_seen"],
            item["boundaries_kept"],
            delay["p50"],
            delay["p99"],
            item["extra_p50_ms"],
            item["extra_p99_ms"],
        )
    for key, path in (("record", cassette), ("addon", addon_cassette)):
        stats[key]["cassette"] = _cassette_check(path, sizes)
    section.data = stats
    section.targets.append(
        Target(
            "recording: extra delay per chunk at p50 over direct (chunktape record)",
            stats["record"]["extra_p50_ms"],
            1.0,
            False,
            " ms",
        )
    )
    section.targets.append(
        Target(
            "recording: client sees the upstream's chunk boundaries",
            1.0 if stats["record"]["boundaries_kept"] else 0.0,
            1.0,
            True,
            note="1 = every chunk as sent",
        )
    )
    check = stats["record"]["cassette"]
    section.notes.append(
        f"chunktape record wrote {check['interactions']} interactions; boundaries as sent in "
        f"{check['exact_boundaries']} of them; recorded gap error vs the upstream's send gaps "
        f"p50 {check['gap_error_ms']['p50']:.2f} ms, p99 {check['gap_error_ms']['p99']:.2f} ms."
    )
    return section


def _cassette_check(path: Path, sizes: list[int]) -> dict[str, Any]:
    """Does the cassette hold every exchange with the upstream's boundaries, and how close are
    its recorded gaps to the gaps between the upstream's send stamps?"""
    from chunktape import load_cassette

    if not path.exists():
        return {"interactions": 0, "exact_boundaries": 0, "gap_error_ms": summary([])}
    cassette = load_cassette(str(path))
    exact = 0
    errors: list[float] = []
    for interaction in cassette.interactions:
        chunks = interaction.response.chunks
        if [len(c.data) for c in chunks] == sizes:
            exact += 1
        stamps = [int(m.group(2)) for c in chunks for m in STAMP_RE.finditer(c.data)]
        if len(stamps) == len(chunks):
            for i in range(1, len(chunks)):
                recorded = (chunks[i].at_s - chunks[i - 1].at_s) * 1000
                sent = (stamps[i] - stamps[i - 1]) / 1e6
                errors.append(abs(recorded - sent))
    return {
        "interactions": len(cassette.interactions),
        "exact_boundaries": exact,
        "gap_error_ms": summary(errors),
    }
