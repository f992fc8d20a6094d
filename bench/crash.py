"""10. SIGKILL at 5,000 streams: `chunktape record` is killed the moment the 5,000th stream
through it ended, with more streams in flight from several clients. The cassette must load
and hold every stream whose client saw the end; only an append its `.recording` marker says
was in flight may be set aside (persist/journal.py), anything else would be refused.

Bounded: `--quick` kills at 1,000 streams; either way the run stops after 10 minutes.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
import warnings
from pathlib import Path

import httpx

from bench.clients import loopback_client
from bench.common import VENV_BIN, Service, uneven_stream
from bench.report import Section, Target

_CLIENTS = 6
_LIMIT_S = 600.0


def _one(client: httpx.Client, url: str, body: bytes) -> bool:
    try:
        with client.stream("POST", url, content=body, headers={"content-type": "application/json"}) as response:
            for _ in response.iter_raw():
                pass
            return response.status_code == 200
    except httpx.HTTPError:
        return False


def run(work: Path, kill_at: int = 5000) -> Section:
    from chunktape import CassetteWarning, load_cassette

    section = Section(
        "crash",
        f"10. SIGKILL at {kill_at:,} streams: every stream a client saw end is kept",
        ["what", "value", "note"],
    )
    stream = uneven_stream(chunks=5, min_gap_ms=0.5, max_gap_ms=2, seed=21)
    streams_json = work / "crash-upstream.json"
    streams_json.write_text(json.dumps([stream.to_json()]))
    cassette = work / "crash.yaml"
    cassette.unlink(missing_ok=True)
    ended: set[int] = set()
    lock = threading.Condition()
    counter = iter(range(10**9))
    upstream = Service("bench upstream", [str(VENV_BIN / "python"), "-m", "bench.upstream", str(streams_json)])
    with upstream:
        recorder = Service(
            "chunktape record",
            [str(VENV_BIN / "chunktape"), "record", "--upstream", upstream.base_url, "--cassette", str(cassette),
             "--port", "0"],
        ).spawn().wait_ready()  # fmt: skip
        assert recorder.proc is not None
        stop = threading.Event()

        def client_loop() -> None:
            with loopback_client() as client:
                while not stop.is_set():
                    with lock:
                        n = next(counter)
                    if _one(client, f"{recorder.base_url}{stream.path}?i={n}", stream.request_body):
                        with lock:
                            ended.add(n)
                            lock.notify_all()
                    elif stop.is_set():
                        return

        started = time.perf_counter()
        threads = [threading.Thread(target=client_loop, daemon=True) for _ in range(_CLIENTS)]
        for thread in threads:
            thread.start()
        with lock:
            reached = lock.wait_for(lambda: len(ended) >= kill_at, timeout=_LIMIT_S)
            seen = set(ended)
        os.killpg(recorder.proc.pid, signal.SIGKILL)
        took_s = time.perf_counter() - started
        stop.set()
        recorder.proc.wait(30)
        for thread in threads:
            thread.join(30)
    marker = Path(f"{cassette}.recording")
    in_flight = marker.exists() and marker.stat().st_size > 0
    load_started = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", CassetteWarning)
        kept = load_cassette(str(cassette)).interactions
    load_s = time.perf_counter() - load_started
    indexes = {int(i.request.url.rsplit("?i=", 1)[1]) for i in kept}
    lost = len(seen - indexes)
    set_aside = [str(w.message) for w in caught if issubclass(w.category, CassetteWarning)]
    section.add("streams whose client saw the end before the kill", f"{len(seen):,}", f"{_CLIENTS} clients at once")
    section.add("interactions in the cassette after SIGKILL", f"{len(kept):,}", "some ended unseen: kept too")
    section.add("streams a client saw end but the cassette lacks", lost, "must be 0")
    section.add("append in flight at the kill (marker non-empty)", "yes" if in_flight else "no", "")
    section.add("tail set aside on load", set_aside[0][:120] if set_aside else "none", "only with the marker")
    section.add("recording rate until the kill", f"{len(seen) / took_s:.0f} streams/s", f"{took_s:.1f} s")
    section.add("load after the kill", f"{load_s * 1000:.0f} ms", f"{cassette.stat().st_size / 1e6:.1f} MB")
    section.targets.append(Target(f"SIGKILL at {kill_at:,} streams: streams lost", lost, 0, False))
    section.targets.append(
        Target("SIGKILL: a tail set aside without the marker", float(bool(set_aside) and not in_flight), 0, False)
    )
    section.data = {"seen": len(seen), "kept": len(kept), "lost": lost, "reached": reached, "in_flight": in_flight}
    cassette.unlink(missing_ok=True)
    marker.unlink(missing_ok=True)
    return section
