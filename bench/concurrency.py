"""10. Rhythm under load: a 60-event SSE stream, events 20 ms apart, requested by N clients at
once (100 to 10,000), beside a floor measured in the same run.

Lateness of an event = its arrival - its request's send time - its recorded offset, as the
client sees it. The clients are raw asyncio sockets in their own processes (one per 2,500
streams), connected first, then all posting at one moment. The floor (`floor_server.py`) is a
~30-line asyncio server on the same loop that sleeps to the same offsets and writes the same
bytes: what any Python server on this machine can do. The limits: chunktape's p99 at most
1.5x the floor's at 3,000 streams and 2x at 10,000, none dropped.
"""

from __future__ import annotations

import json
import resource
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import BENCH, PYTHON, VENV_BIN, Service, cpu_seconds, raise_fd_limit, rhythm_stream, stream_cassette
from bench.report import Section, Target

_PER_CLIENT = 2500
_LIMITS = {3000: 1.5, 10000: 2.0}


def run(work: Path, levels: tuple[int, ...], rounds: int) -> Section:
    from chunktape import save_cassette

    stream = rhythm_stream()
    cassette_path, stream_json = work / "rhythm.yaml", work / "rhythm.json"
    save_cassette(stream_cassette(stream), str(cassette_path))
    stream_json.write_text(json.dumps([stream.to_json()]))
    offsets = [stream.headers_gap_s + at for at in stream.offsets_s]
    limit = raise_fd_limit(max(levels) + 1024)
    section = Section(
        "concurrency",
        f"10. Rhythm under load: {len(offsets)} SSE events 20 ms apart, N streams requested at once; "
        f"lateness = arrival - request - recorded offset; {rounds} round(s), floor and chunktape interleaved",
        ["streams at once", "server", "p50 ms", "p99 ms", "max ms", "p99 vs floor", "dropped", "server CPU s"],
    )
    if limit < max(levels) + 256:
        section.notes.append(
            f"open-files limit {limit} is too low for {max(levels)} streams (the server holds one per stream, "
            f"plus a few hundred); raise the hard limit (ulimit -Hn) to measure that level"
        )
        levels = tuple(level for level in levels if level + 256 <= limit)
    servers = {
        "floor": lambda: Service("floor", [PYTHON, "-m", "bench.floor_server", str(stream_json)]),
        "chunktape": lambda: Service("chunktape serve", [str(VENV_BIN / "chunktape"), "serve", str(cassette_path)]),
    }
    labels = {"floor": "floor: asyncio sleep + write", "chunktape": "chunktape serve"}
    stats: dict[str, Any] = {}
    for level in levels:
        merged: dict[str, dict[str, Any]] = {key: {"buckets": {}, "dropped": 0, "cpu": 0.0} for key in servers}
        for _ in range(rounds):
            for key, make in servers.items():
                with make().start() as server:
                    one = _one_level(server, stream.path, stream.request_body, level, offsets)
                for bucket, count in one["buckets"].items():
                    merged[key]["buckets"][bucket] = merged[key]["buckets"].get(bucket, 0) + count
                merged[key]["dropped"] += one["dropped"]
                merged[key]["cpu"] += one["server_cpu_s"]
                merged[key].setdefault("first_error", one["first_error"])
        for key in servers:
            item = merged[key]
            item.update(_percentiles(item.pop("buckets")))
            stats[f"{key}@{level}"] = item
        floor_p99 = stats[f"floor@{level}"]["p99"]
        for key in servers:
            item = stats[f"{key}@{level}"]
            ratio = item["p99"] / floor_p99 if floor_p99 > 0 else float("nan")
            section.add(
                f"{level:,}",
                labels[key],
                item["p50"],
                item["p99"],
                item["max"],
                "" if key == "floor" else f"{ratio:.2f}x",
                item["dropped"],
                item["cpu"] / rounds,
            )
        if level in _LIMITS:
            ct = stats[f"chunktape@{level}"]
            section.targets.append(
                Target(
                    f"p99 lateness vs floor, {level:,} streams at once",
                    ct["p99"] / floor_p99 if floor_p99 > 0 else float("nan"),
                    _LIMITS[level],
                    False,
                    "x",
                    note=f"floor p99 {floor_p99:.1f} ms, chunktape {ct['p99']:.1f} ms; dropped {ct['dropped']}",
                )
            )
            section.targets.append(Target(f"streams dropped, {level:,} at once", float(ct["dropped"]), 0.0, False))
    section.data = stats
    section.notes.append(
        "floor: bench/floor_server.py, asyncio.start_server sleeping to each offset and writing the same bytes, "
        "on the same event loop as chunktape (uvloop when installed); both single processes."
    )
    return section


def _one_level(server: Service, path: str, body: bytes, streams: int, offsets: list[float]) -> dict[str, Any]:
    """`streams` requests at one moment from ceil(streams / 2,500) client processes."""
    clients = max(1, -(-streams // _PER_CLIENT))
    start_at = time.monotonic() + 2.0 + streams / 2000  # after every client has connected
    bound_s = offsets[-1] + 30.0 + streams / 500
    argv = [PYTHON, "-m", "bench.loadclient", "lateness", server.base_url + path, "--body", body.decode()]
    argv += ["--start-at", repr(start_at), "--offsets", json.dumps(offsets), "--seconds", repr(bound_s)]
    shares = [streams // clients + (1 if i < streams % clients else 0) for i in range(clients)]
    cpu_before = cpu_seconds(server.pid)
    with tempfile.TemporaryDirectory(prefix="chunktape-lateness-") as folder:
        outs = [Path(folder) / f"client{index}.json" for index in range(clients)]
        procs = [
            subprocess.Popen([*argv, "--streams", str(share), "--out", str(out)], cwd=BENCH.parent)
            for share, out in zip(shares, outs, strict=True)
        ]
        for proc in procs:
            proc.wait(timeout=bound_s + 60)
        reports = [json.loads(out.read_text()) for out in outs]
    buckets: dict[int, int] = {}
    for report in reports:
        for key, count in report["buckets"].items():
            buckets[int(key)] = buckets.get(int(key), 0) + count
    return {
        "buckets": buckets,
        "dropped": sum(report["failed"] for report in reports),
        "first_error": next((r["first_error"] for r in reports if r["first_error"]), ""),
        "server_cpu_s": cpu_seconds(server.pid) - cpu_before,
    }


def _percentiles(buckets: dict[int, int]) -> dict[str, float]:
    total = sum(buckets.values())
    if not total:
        return {"p50": float("nan"), "p99": float("nan"), "max": float("nan"), "events": 0}
    ordered = sorted(buckets.items())
    out: dict[str, float] = {"events": total, "max": ordered[-1][0] / 10}
    for name, fraction in (("p50", 0.5), ("p99", 0.99)):
        seen = 0
        for key, count in ordered:
            seen += count
            if seen >= fraction * total:
                out[name] = key / 10
                break
    return out


def fd_limit_note() -> str:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return f"open files: soft {soft}, hard {hard}"
