"""3. Replay server throughput: streams/s and events/s for a 100-event SSE body at speed 0
with the recorded boundaries, under a bounded load from a separate process, beside a minimal
uvicorn + starlette app streaming the same bytes from memory and mitmproxy --server-replay;
then 1,000 concurrent slow streams held at once, none dropped, and the servers' RSS.

On a shared machine wall-clock throughput moves with the neighbours, so each server also
gets a CPU figure: streams per CPU-second of the server process, which is what bounds
throughput once a single-threaded server is saturated.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from bench.clients import fetch, loopback_client
from bench.common import (
    BENCH,
    PYTHON,
    VENV_BIN,
    Service,
    cpu_seconds,
    fast_stream,
    median,
    rss_kib,
    services,
    slow_stream,
    stream_cassette,
)
from bench.mitm import mitm_record, replay_service
from bench.report import Section, Target

_PEER_PATTERN = r"(http://[\d.:]+)"


def run(work: Path, rounds: int, window_s: int, concurrencies: tuple[int, ...], hold_streams: int) -> Section:
    from chunktape import save_cassette

    fast = fast_stream()
    fast_yaml, fast_json = work / "fast.yaml", work / "fast.json"
    save_cassette(stream_cassette(fast), str(fast_yaml))
    fast_json.write_text(json.dumps([fast.to_json()]))
    flows = work / "fast.mitm"
    with Service("bench upstream", [PYTHON, "-m", "bench.upstream", str(fast_json)]) as upstream:
        mitm_record(upstream.base_url, flows, [(fast.path, fast.request_body)])
        upstream_url = upstream.base_url

    chunktape_cli = str(VENV_BIN / "chunktape")
    servers: dict[str, Service] = {
        "chunktape": Service(
            "chunktape serve", [chunktape_cli, "serve", str(fast_yaml), "--port", "0", "--speed", "0"]
        ),
        "peer": Service("uvicorn+starlette", [PYTHON, "-m", "bench.peer_app", str(fast_json)], pattern=_PEER_PATTERN),
        "mitm": replay_service(upstream_url, flows),
        "chunktape_whole": Service(
            "chunktape serve --split whole",
            [chunktape_cli, "serve", str(fast_yaml), "--port", "0", "--speed", "0", "--split", "whole"],
        ),
    }
    labels = {
        "chunktape": "chunktape serve --speed 0",
        "chunktape_whole": "chunktape serve --speed 0 --split whole",
        "peer": "uvicorn + starlette, bytes from memory",
        "mitm": "mitmdump --server-replay",
    }
    wrk = None if os.environ.get("CHUNKTAPE_BENCH_NO_WRK") else shutil.which("wrk")
    samples: dict[tuple[str, int], list[dict[str, float]]] = {}
    shape: dict[str, dict[str, Any]] = {}
    with services(*servers.values()), loopback_client() as client:
        for key, server in servers.items():
            seen = fetch(client, server.base_url + fast.path, fast.request_body)
            body = seen.body
            shape[key] = {
                "events": body.count(b"\n\n"),
                "chunks": len(seen.pieces),
                "same_bytes": len(body) == len(fast.body),
            }
            for _ in range(20):  # warm, unmeasured
                fetch(client, server.base_url + fast.path, fast.request_body)
        for concurrency in concurrencies:
            for _ in range(rounds):
                for key, server in servers.items():
                    one = _load(wrk, server, fast.path, fast.request_body, concurrency, window_s, 100_000)
                    samples.setdefault((key, concurrency), []).append(one)

    section = Section(
        "throughput",
        f"3. Replay server throughput: 100-event SSE body, speed 0; {rounds} interleaved "
        f"{window_s:g} s windows per server and concurrency; load: {'wrk' if wrk else 'bench.loadclient'}",
        [
            "server",
            "conns",
            "chunks/stream",
            "streams/s",
            "events/s",
            "streams/CPU-s",
            "vs peer (wall)",
            "vs peer (CPU)",
            "errors",
        ],
    )
    stats: dict[str, Any] = {"shape": shape, "load_generator": "wrk" if wrk else "bench.loadclient", "runs": {}}
    for concurrency in concurrencies:
        peer = _medians(samples[("peer", concurrency)])
        for key in servers:
            item = _medians(samples[(key, concurrency)])
            item["vs_peer_wall"] = item["streams_per_s"] / peer["streams_per_s"]
            item["vs_peer_cpu"] = item["streams_per_cpu_s"] / peer["streams_per_cpu_s"]
            stats["runs"][f"{key}@{concurrency}"] = {**item, "samples": samples[(key, concurrency)]}
            section.add(
                labels[key],
                concurrency,
                shape[key]["chunks"],
                item["streams_per_s"],
                item["streams_per_s"] * shape[key]["events"],
                item["streams_per_cpu_s"],
                f"{item['vs_peer_wall']:.2f}x",
                f"{item['vs_peer_cpu']:.2f}x",
                int(item["errors"]),
            )
    best = max(concurrencies)
    for concurrency in concurrencies:
        ratio = stats["runs"][f"chunktape@{concurrency}"]["vs_peer_wall"]
        section.targets.append(
            Target(
                f"server throughput vs uvicorn+starlette, {concurrency} conn(s), wall",
                ratio,
                3.0 if concurrency == best else 1.0,
                True,
                "x",
                note="issue #24: at least 3x under load" if concurrency == best else "one connection: latency-bound",
            )
        )
    section.targets.append(
        Target(
            f"server CPU per stream vs uvicorn+starlette, {best} conns",
            stats["runs"][f"chunktape@{best}"]["vs_peer_cpu"],
            3.0,
            True,
            "x",
            note="streams per CPU-second of the server process",
        )
    )
    whole = stats["runs"][f"chunktape_whole@{best}"]["streams_per_s"] / stats["runs"][f"mitm@{best}"]["streams_per_s"]
    section.targets.append(
        Target(
            f"one-chunk throughput: --split whole vs mitmdump --server-replay, {best} conns",
            whole,
            1.0,
            True,
            "x",
            note="like for like: mitmproxy replays the body as one piece",
        )
    )
    hold = _hold(work, hold_streams)
    stats["hold"] = hold
    section.data = stats
    for item in hold.values():
        section.notes.append(
            f"hold {hold_streams} streams, {item['label']}: completed {item['streams']}, failed {item['failed']}, "
            f"peak open together {item['open_peak']}, bytes {item['bytes']:,} of {item['bytes_expected']:,}, "
            f"server RSS {item['rss_before_mib']:.0f} -> {item['rss_peak_mib']:.0f} MiB, "
            f"wall {item['seconds']:.1f} s for a {item['stream_s']:.1f} s stream"
        )
    ct, peer_hold = hold["chunktape"], hold["peer"]
    section.targets.append(
        Target(
            f"{hold_streams} concurrent streams completed (none dropped)",
            float(ct["streams"]) if ct["bytes"] == ct["bytes_expected"] else float("nan"),
            float(hold_streams),
            True,
            note=f"peak {ct['open_peak']} open at once; RSS {ct['rss_peak_mib']:.0f} MiB, "
            f"{ct['rss_peak_mib'] / peer_hold['rss_peak_mib']:.2f}x the peer's; peer completed {peer_hold['streams']}",
        )
    )
    return section


def _medians(runs: list[dict[str, float]]) -> dict[str, float]:
    return {
        "streams_per_s": median([r["streams_per_s"] for r in runs]),
        "streams_per_cpu_s": median([r["streams_per_cpu_s"] for r in runs]),
        "errors": sum(r["errors"] for r in runs),
    }


def _load(
    wrk: str | None, server: Service, path: str, body: bytes, connections: int, seconds: float, max_streams: int
) -> dict[str, float]:
    """One bounded load window: at most `max_streams` streams, at most `seconds` seconds."""
    url = server.base_url + path
    cpu_before = cpu_seconds(server.pid)
    if wrk:
        argv = [
            wrk,
            "-t1",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            "--timeout",
            "10s",
            "-s",
            str(BENCH / "post.lua"),
        ]
        out = subprocess.run(
            [*argv, url, "--", str(max_streams), body.decode()], capture_output=True, text=True, timeout=seconds + 30
        )
        report = json.loads(out.stdout.strip().splitlines()[-1])
        streams, wall = report["requests"], report["duration_us"] / 1e6
        errors = sum(report["errors"].values())
    else:
        argv = [PYTHON, "-m", "bench.loadclient", "throughput", url, "--connections", str(connections)]
        argv += ["--streams", str(max_streams), "--seconds", str(seconds), "--body", body.decode()]
        out = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60, cwd=BENCH.parent)
        report = json.loads(out.stdout)
        streams, wall, errors = report["streams"], report["seconds"], report["failed"]
    cpu = cpu_seconds(server.pid) - cpu_before
    return {
        "streams": streams,
        "seconds": wall,
        "errors": errors,
        "server_cpu_s": cpu,
        "streams_per_s": streams / wall,
        "streams_per_cpu_s": streams / cpu if cpu > 0 else float("nan"),
    }


def _hold(work: Path, count: int) -> dict[str, dict[str, Any]]:
    """`count` slow streams at once against each server, one after the other."""
    from chunktape import save_cassette

    slow = slow_stream()
    slow_yaml, slow_json = work / "slow.yaml", work / "slow.json"
    save_cassette(stream_cassette(slow), str(slow_yaml))
    slow_json.write_text(json.dumps([slow.to_json()]))
    stream_s = slow.headers_gap_s + slow.offsets_s[-1]
    candidates = {
        "chunktape": Service("chunktape serve", [str(VENV_BIN / "chunktape"), "serve", str(slow_yaml), "--port", "0"]),
        "peer": Service(
            "uvicorn+starlette",
            [PYTHON, "-m", "bench.peer_app", str(slow_json), "--speed", "1"],
            pattern=_PEER_PATTERN,
        ),
    }
    labels = {"chunktape": "chunktape serve --speed 1", "peer": "uvicorn + starlette, same rhythm"}
    out: dict[str, dict[str, Any]] = {}
    for key, server in candidates.items():
        with server:
            with loopback_client() as client:  # warm and check one stream first
                fetch(client, server.base_url + slow.path, slow.request_body)
            before = rss_kib(server.pid)
            peak = [before]
            done = threading.Event()

            def sample(pid: int = server.pid, peak: list[int] = peak, done: threading.Event = done) -> None:
                while not done.wait(0.05):
                    peak[0] = max(peak[0], rss_kib(pid))

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            cpu_before = cpu_seconds(server.pid)
            argv = [PYTHON, "-m", "bench.loadclient", "hold", server.base_url + slow.path, "--streams", str(count)]
            argv += ["--seconds", str(stream_s * 4 + 10), "--body", slow.request_body.decode()]
            started = time.monotonic()
            result = subprocess.run(argv, capture_output=True, text=True, timeout=stream_s * 4 + 60, cwd=BENCH.parent)
            elapsed = time.monotonic() - started
            done.set()
            sampler.join()
            tally = json.loads(result.stdout)
            out[key] = {
                **tally,
                "label": labels[key],
                "bytes_expected": count * len(slow.body),
                "rss_before_mib": before / 1024,
                "rss_peak_mib": peak[0] / 1024,
                "server_cpu_s": cpu_seconds(server.pid) - cpu_before,
                "stream_s": stream_s,
                "elapsed_s": elapsed,
            }
    return out
