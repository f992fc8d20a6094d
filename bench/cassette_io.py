"""5. Cassette I/O: load and save a ~10 MB cassette (thousands of chunks) with libyaml's C
loader and dumper, which chunktape.cassette_file picks when present, against pure-Python
PyYAML (swapped in here, in the bench only).
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.common import median
from bench.report import Section, Target

_WORDS = (
    "流式",
    "输出",
    "测试",
    "分块",
    "边界",
    "the",
    "stream",
    "arrives",
    "token",
    "by",
    "token",
    "and",
    "each",
    "chunk",
    "keeps",
    "its",
    "time",
)


def big_cassette(interactions: int = 20, events: int = 680, seed: int = 5) -> Any:
    """Gemini-shaped SSE streams, one event per chunk, CJK and ASCII text, uneven offsets."""
    from chunktape import Cassette, Chunk, Interaction, Request, Response

    rng = random.Random(seed)
    items = []
    for n in range(interactions):
        chunks = []
        at = 0.3
        for i in range(events):
            text = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(40, 110)))
            event = {
                "candidates": [{"content": {"parts": [{"text": text}], "role": "model"}, "index": 0}],
                "usageMetadata": {"promptTokenCount": 14, "candidatesTokenCount": i, "totalTokenCount": 14 + i},
                "modelVersion": "gemini-2.5-flash",
                "responseId": f"bench{n:04d}",
            }
            data = b"data: " + json.dumps(event, ensure_ascii=False).encode() + b"\r\n\r\n"
            at = round(at + rng.uniform(0.005, 0.08), 6)
            chunks.append(Chunk(at_s=at, data=data))
        request = Request(
            "POST",
            f"https://generativelanguage.googleapis.com/v1/models/gemini-2.5-flash:streamGenerateContent?alt=sse&n={n}",
            (("content-type", "application/json"),),
            json.dumps({"contents": [{"parts": [{"text": f"question {n}"}], "role": "user"}]}).encode(),
        )
        response = Response(200, (("content-type", "text/event-stream"),), 0.3, tuple(chunks), ended_at_s=at)
        items.append(Interaction(request, response))
    return Cassette(items)


@contextlib.contextmanager
def pure_python_yaml() -> Iterator[None]:
    """chunktape.cassette_file with PyYAML's pure-Python loader and emitter."""
    import yaml

    import chunktape.cassette_file as cassette_file

    saved = (cassette_file._Loader, cassette_file._CassetteDumper)
    cassette_file._Loader = yaml.SafeLoader
    cassette_file._CassetteDumper = cassette_file._PureDumper  # type: ignore[misc]
    try:
        yield
    finally:
        cassette_file._Loader, cassette_file._CassetteDumper = saved  # type: ignore[misc]


def run(work: Path, rounds: int) -> Section:
    import yaml

    from chunktape import load_cassette, save_cassette

    cassette = big_cassette()
    path = work / "big.yaml"
    save_cassette(cassette, str(path))
    size_mb = os.path.getsize(path) / 1e6
    chunks = sum(len(i.response.chunks) for i in cassette.interactions)
    times: dict[str, list[float]] = {"load_c": [], "load_py": [], "save_c": [], "save_py": []}
    same_file = True
    for _ in range(rounds):
        for impl in ("c", "py"):
            with pure_python_yaml() if impl == "py" else contextlib.nullcontext():
                started = time.perf_counter()
                loaded = load_cassette(str(path))
                times[f"load_{impl}"].append(time.perf_counter() - started)
                out = work / f"big-{impl}.yaml"
                started = time.perf_counter()
                save_cassette(loaded, str(out))
                times[f"save_{impl}"].append(time.perf_counter() - started)
            same_file = same_file and loaded == cassette and out.read_bytes() == path.read_bytes()

    section = Section(
        "cassette_io",
        f"5. Cassette I/O: {size_mb:.1f} MB, {len(cassette)} interactions, {chunks:,} chunks, {rounds} rounds",
        ["operation", "libyaml (C) s", "pure Python s", "C vs pure (speed-up)", "MB/s with C"],
    )
    stats: dict[str, Any] = {"size_mb": size_mb, "chunks": chunks, "libyaml": bool(yaml.__with_libyaml__)}
    for op in ("load", "save"):
        c, py = median(times[f"{op}_c"]), median(times[f"{op}_py"])
        stats[op] = {"c_s": c, "py_s": py, "speedup": py / c, "samples": {k: v for k, v in times.items() if op in k}}
        section.add(op, c, py, f"{py / c:.1f}x", size_mb / c)
    stats["round_trip_identical"] = same_file
    section.data = stats
    section.targets.append(
        Target("cassette load: C loader speed-up over pure Python", stats["load"]["speedup"], 1.0, True, "x")
    )
    section.targets.append(
        Target("cassette save: C dumper speed-up over pure Python", stats["save"]["speedup"], 1.0, True, "x")
    )
    section.notes.append(
        f"load -> save gives a byte-identical file with both implementations: {'yes' if same_file else 'NO'}."
    )
    return section
