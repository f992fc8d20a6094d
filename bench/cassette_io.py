"""5. Cassette I/O: load and save a cassette of thousands of chunks with chunktape's own
reader and emitter, against a bare libyaml (C) parse and dump of the same YAML.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from bench.common import median
from bench.report import Section, Target
from bench.session_scale import big_cassette


def run(work: Path, rounds: int) -> Section:
    import yaml

    from chunktape import load_cassette, save_cassette
    from chunktape.persist.schema import document_head, interaction_node

    cassette = big_cassette(260, 100)  # ~10 MB of Gemini-shaped streams, CJK and emoji
    path = work / "big.yaml"
    save_cassette(cassette, str(path))
    size_mb = os.path.getsize(path) / 1e6
    chunks = sum(len(i.response.chunks) for i in cassette.interactions)
    text = path.read_text(encoding="utf-8")
    # plain dicts and lists (chunktape's FlowMap is its own emitter's hint, unknown to PyYAML)
    document = json.loads(
        json.dumps({**document_head(), "interactions": [interaction_node(i) for i in cassette.interactions]})
    )
    times: dict[str, list[float]] = {"load_ours": [], "load_libyaml": [], "save_ours": [], "save_libyaml": []}
    same_file = True
    for _ in range(rounds):
        started = time.perf_counter()
        loaded = load_cassette(str(path))
        times["load_ours"].append(time.perf_counter() - started)
        started = time.perf_counter()
        yaml.load(text, Loader=yaml.CSafeLoader)
        times["load_libyaml"].append(time.perf_counter() - started)
        out = work / "big-again.yaml"
        started = time.perf_counter()
        save_cassette(loaded, str(out))
        times["save_ours"].append(time.perf_counter() - started)
        started = time.perf_counter()
        yaml.dump(document, Dumper=yaml.CSafeDumper, allow_unicode=True, sort_keys=False, width=1_000_000)
        times["save_libyaml"].append(time.perf_counter() - started)
        same_file = same_file and loaded == cassette and out.read_bytes() == path.read_bytes()

    section = Section(
        "cassette_io",
        f"5. Cassette I/O: {size_mb:.1f} MB, {len(cassette)} interactions, {chunks:,} chunks, {rounds} rounds",
        ["operation", "chunktape s", "libyaml (C) s", "chunktape vs libyaml (speed-up)", "MB/s chunktape"],
    )
    stats: dict[str, Any] = {"size_mb": size_mb, "chunks": chunks, "libyaml": bool(yaml.__with_libyaml__)}
    for op in ("load", "save"):
        ours, peer = median(times[f"{op}_ours"]), median(times[f"{op}_libyaml"])
        stats[op] = {"ours_s": ours, "libyaml_s": peer, "speedup": peer / ours}
        section.add(op, ours, peer, f"{peer / ours:.1f}x", size_mb / ours)
    stats["round_trip_identical"] = same_file
    section.data = stats
    section.targets.append(
        Target("cassette load: chunktape's reader vs a bare libyaml parse", stats["load"]["speedup"], 2.0, True, "x")
    )
    section.notes.append(
        "libyaml's save is a bare yaml.dump of the same document (it escapes emoji; chunktape keeps them as text). "
        f"load -> save gives a byte-identical file: {'yes' if same_file else 'NO'}."
    )
    return section
