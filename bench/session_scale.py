"""9. Sessions that scale: what recording and cassette I/O cost once a cassette is big.

- Durable write per interaction (what the recorder adds to the end of every stream) with the
  cassette already holding 10, 100, 1,000 and 5,000 interactions: chunktape's appending
  writer beside a peer that rewrites the whole file each time (chunktape 0.1's design, with
  today's emitter, so the difference is the design alone).
- End to end: a client streaming through `chunktape record --append` onto a cassette of 9 and
  of 4,999 interactions, end of stream against the same stream fetched direct.
- `record --append` start (spawn to URL line) on an empty and on a 10 MB cassette.
- A 10 MB cassette (CJK and emoji): load and validate against a bare libyaml parse of the
  same file, their peak RSS against the file size, save with and without emoji,
  validate/inspect/serve commands against start + load.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from bench.clients import fetch, loopback_client
from bench.common import VENV_BIN, Service, median, percentile, services, summary, uneven_stream
from bench.report import Section, Target

_WORDS = ("流式", "输出", "测试", "分块", "边界", "the", "stream", "arrives", "token", "by", "and", "each", "chunk")
_EMOJI = ("🚀", "😀", "✨")


def _interaction(n: int, events: int, rng: random.Random, emoji: bool) -> Any:
    from chunktape import Chunk, Interaction, Request, Response

    words = (*_WORDS, *_EMOJI) if emoji else _WORDS
    chunks, at = [], 0.3
    for i in range(events):
        text = " ".join(rng.choice(words) for _ in range(rng.randint(5, 25)))
        event = {
            "candidates": [{"content": {"parts": [{"text": text}], "role": "model"}, "index": 0}],
            "usageMetadata": {"promptTokenCount": 14, "candidatesTokenCount": i, "totalTokenCount": 14 + i},
            "modelVersion": "gemini-2.5-flash",
            "responseId": f"r{n:05d}",
        }
        at = round(at + rng.uniform(0.005, 0.08), 6)
        chunks.append(Chunk(at, b"data: " + json.dumps(event, ensure_ascii=False).encode() + b"\r\n\r\n"))
    request = Request(
        "POST",
        f"https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse&n={n}",
        (("content-type", "application/json"),),
        json.dumps({"contents": [{"parts": [{"text": f"question {n} 你好"}], "role": "user"}]}).encode(),
    )
    return Interaction(
        request, Response(200, (("content-type", "text/event-stream"),), 0.3, tuple(chunks), ended_at_s=at)
    )


def big_cassette(count: int, events: int, *, emoji: bool = True, seed: int = 5) -> Any:
    from chunktape import Cassette

    rng = random.Random(seed)
    return Cassette([_interaction(n, events, rng, emoji) for n in range(count)])


# ---------------------------------------------------------------- A. the writer, by size


def _rewriting_writer(path: str) -> Any:
    """The peer: every write replaces the whole file with everything recorded so far."""
    from chunktape import Cassette, load_cassette
    from chunktape.persist import dumps
    from chunktape.persist.storage import replace_file
    from chunktape.recorder.writer import CassetteWriter

    class RewritingWriter(CassetteWriter):
        def __init__(self, target: str) -> None:
            self.everything = list(load_cassette(target).interactions)
            super().__init__(target, append=True)

        def add(self, interaction: Any) -> Future[None]:
            self.everything.append(interaction)
            return super().add(interaction)

        def _write(self, text: str) -> None:
            replace_file(self.path, dumps(Cassette(list(self.everything))))

    return RewritingWriter(path)


def _write_latencies(work: Path, size: int, samples: int, rewrite: bool) -> list[float]:
    from chunktape import save_cassette
    from chunktape.recorder.writer import CassetteWriter

    path = work / f"scale-{size}-{'rewrite' if rewrite else 'append'}.yaml"
    save_cassette(big_cassette(size - 1, 20), str(path))
    writer = _rewriting_writer(str(path)) if rewrite else CassetteWriter(str(path), append=True)
    extra = big_cassette(samples, 20, seed=9).interactions
    latencies = []
    try:
        for interaction in extra:
            started = time.perf_counter()
            writer.add(interaction).result(120)
            latencies.append((time.perf_counter() - started) * 1000)
    finally:
        writer.close()
        path.unlink()
    return latencies


# ---------------------------------------------------------------- B. end to end


def _end_to_end(work: Path, prefill: int, rounds: int) -> dict[str, list[float]]:
    from chunktape import save_cassette

    stream = uneven_stream(chunks=20, min_gap_ms=2, max_gap_ms=10, seed=12)
    streams_json = work / "scale-upstream.json"
    streams_json.write_text(json.dumps([stream.to_json()]))
    cassette = work / f"scale-e2e-{prefill}.yaml"
    save_cassette(big_cassette(prefill, 20), str(cassette))
    upstream = Service("bench upstream", [str(VENV_BIN / "python"), "-m", "bench.upstream", str(streams_json)])
    ends: dict[str, list[float]] = {"direct": [], "record": []}
    with upstream:
        recorder = Service(
            "chunktape record --append",
            [str(VENV_BIN / "chunktape"), "record", "--upstream", upstream.base_url, "--cassette", str(cassette),
             "--append", "--port", "0"],
        )  # fmt: skip
        with services(recorder), loopback_client() as client:
            urls = {"direct": upstream.base_url + stream.path, "record": recorder.base_url + stream.path}
            for url in urls.values():
                fetch(client, url, stream.request_body)
            for _ in range(rounds):
                for key, url in urls.items():
                    started = time.perf_counter()
                    fetch(client, url, stream.request_body)  # returns once the client saw the end
                    ends[key].append((time.perf_counter() - started) * 1000)
    cassette.unlink()
    return ends


def _start_s(cassette: Path) -> float:
    started = time.perf_counter()
    process = subprocess.Popen(
        [str(VENV_BIN / "chunktape"), "record", "--upstream", "http://127.0.0.1:9", "--cassette", str(cassette),
         "--append", "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    assert process.stdout is not None
    line = process.stdout.readline()
    took = time.perf_counter() - started
    process.terminate()
    process.wait(30)
    if "recording to" not in line:
        raise RuntimeError(f"record did not start: {line!r}")
    return took


# ---------------------------------------------------------------- C. cassette I/O at 10 MB


# ru_maxrss survives exec (a child of a big parent reports the parent's peak); VmHWM does not
_PEAK_RSS = "print(next(line.split()[1] for line in open('/proc/self/status') if line.startswith('VmHWM')))"


def _child(code: str) -> tuple[float, int]:
    """Run `code` in a fresh interpreter; (seconds it printed, peak RSS in KiB)."""
    result = subprocess.run(
        [sys.executable, "-c", "import time\n" + code + "\n" + _PEAK_RSS],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    seconds, rss = result.stdout.split()[-2:]
    return float(seconds), int(rss)


def validate_s(path: Path) -> float:
    """Seconds `chunktape validate` spends checking the file (what the command runs, no start-up);
    the file must pass, so every check ran to its end."""
    from chunktape.commands.validation import validate_file

    started = time.perf_counter()
    report = validate_file(str(path))
    took = time.perf_counter() - started
    if report.problems or report.framing:
        raise RuntimeError(f"the bench cassette does not validate: {report}")
    return took


def validate_rss_ratio(path: Path) -> float:
    """Peak RSS of checking the file, over the same fresh interpreter with the modules imported,
    as a multiple of the file's size."""
    imports = "import chunktape\nfrom chunktape.commands.validation import validate_file\n"
    _, base_kib = _child(imports + "print(0.0)")
    _, kib = _child(
        imports + f"started = time.perf_counter()\nvalidate_file({str(path)!r})\nprint(time.perf_counter() - started)"
    )
    return (kib - base_kib) * 1024 / path.stat().st_size


def _command_s(*args: str) -> float:
    started = time.perf_counter()
    subprocess.run([str(VENV_BIN / "chunktape"), *args], capture_output=True, check=False)
    return time.perf_counter() - started


def _serve_start_s(path: Path) -> float:
    started = time.perf_counter()
    process = subprocess.Popen(
        [str(VENV_BIN / "chunktape"), "serve", str(path), "--port", "0"], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    process.stdout.readline()
    took = time.perf_counter() - started
    process.terminate()
    process.wait(30)
    return took


def run(work: Path, rounds: int, samples: int = 15) -> Section:
    import yaml

    from chunktape import load_cassette, save_cassette

    section = Section(
        "session_scale",
        "9. Sessions that scale: the cost of one more interaction, and 10 MB cassettes",
        ["what", "chunktape", "peer", "chunktape vs peer", "note"],
    )
    stats: dict[str, Any] = {"writer": {}}

    # A
    sizes = (10, 100, 1000, 5000)
    for size in sizes:
        ours = _write_latencies(work, size, samples, rewrite=False)
        peer = _write_latencies(work, size, max(3, samples // 5) if size >= 1000 else samples, rewrite=True)
        stats["writer"][size] = {"append": summary(ours), "rewrite": summary(peer)}
        section.add(
            f"durable write of interaction #{size:,}, p50 / p99 ms",
            f"{median(ours):.2f} / {percentile(ours, 99):.2f}",
            f"{median(peer):.1f} / {percentile(peer, 99):.1f}",
            f"{median(peer) / max(median(ours), 1e-6):.0f}x faster",
            "peer rewrites the whole file",
        )
    first, last = stats["writer"][10]["append"], stats["writer"][5000]["append"]
    section.targets.append(
        Target("recording: write p50 at #5,000 minus at #10 (flat)", last["p50"] - first["p50"], 1.0, False, " ms")
    )
    section.targets.append(Target("recording: write p99 at #5,000", last["p99"], 5.0, False, " ms"))

    # B
    e2e: dict[int, dict[str, float]] = {}
    for prefill in (9, 4999):
        ends = _end_to_end(work, prefill, rounds=max(10, rounds * 5))
        extra = [r - d for r, d in zip(ends["record"], ends["direct"], strict=True)]
        e2e[prefill + 1] = {"p50": median(extra), "p99": percentile(extra, 99)}
        section.add(
            f"end of stream through record --append, interaction #{prefill + 1:,}: extra ms p50 / p99",
            f"{median(extra):.2f} / {percentile(extra, 99):.2f}",
            "direct",
            "",
            "same stream, direct vs through the recorder, interleaved",
        )
    stats["end_to_end_extra_ms"] = e2e
    section.targets.append(
        Target("recording: end-of-stream extra p99 at #5,000 (vs direct)", e2e[5000]["p99"], 5.0, False, " ms")
    )

    # C
    ten = work / "ten.yaml"
    plain = work / "ten-no-emoji.yaml"
    count = 260
    cassette = big_cassette(count, 100)
    started = time.perf_counter()
    save_cassette(cassette, str(ten))
    save_emoji_s = time.perf_counter() - started
    no_emoji = big_cassette(count, 100, emoji=False)
    started = time.perf_counter()
    save_cassette(no_emoji, str(plain))
    save_plain_s = time.perf_counter() - started
    size_mb = ten.stat().st_size / 1e6
    loads, parses, validates = [], [], []
    text = ten.read_text(encoding="utf-8")
    for _ in range(rounds):
        started = time.perf_counter()
        load_cassette(str(ten))
        loads.append(time.perf_counter() - started)
        started = time.perf_counter()
        yaml.load(text, Loader=yaml.CSafeLoader)
        parses.append(time.perf_counter() - started)
        validates.append(validate_s(ten))
    del text
    base_s, base_kib = _child("import chunktape\nprint(0.0)")
    load_child_s, load_kib = _child(
        f"import chunktape\nstarted = time.perf_counter()\nchunktape.load_cassette({str(ten)!r})\n"
        "print(time.perf_counter() - started)"
    )
    rss_ratio = (load_kib - base_kib) * 1024 / 1e6 / size_mb
    load_s, parse_s = median(loads), median(parses)
    section.add(f"load {size_mb:.1f} MB, s", f"{load_s:.2f}", f"{parse_s:.2f} (bare libyaml parse)",
                f"{load_s / parse_s:.2f}x the time", "")  # fmt: skip
    section.add("load peak RSS over `import chunktape`, MB", f"{(load_kib - base_kib) / 1024:.0f}", "",
                f"{rss_ratio:.1f}x the file", f"file {size_mb:.1f} MB")  # fmt: skip
    validate_rss = validate_rss_ratio(ten)
    validate_time = median(validates)
    section.add(f"validate {size_mb:.1f} MB (the command's check, in process), s", f"{validate_time:.2f}",
                f"{parse_s:.2f} (bare libyaml parse)", f"{validate_time / parse_s:.2f}x the time", "")  # fmt: skip
    section.add("validate peak RSS over its imports, MB", f"{validate_rss * size_mb:.0f}", "",
                f"{validate_rss:.1f}x the file", f"file {size_mb:.1f} MB")  # fmt: skip
    section.add("save, s", f"{save_emoji_s:.2f} with emoji", f"{save_plain_s:.2f} without", f"{save_emoji_s / save_plain_s:.2f}x", "")  # fmt: skip
    empty = work / "empty.yaml"
    empty.write_text("version: 1\ninteractions: []\n")
    start_empty = median([_start_s(empty) for _ in range(3)])
    start_big = median([_start_s(ten) for _ in range(3)])
    section.add("record --append: spawn to URL line, s", f"{start_big:.2f} (10 MB)", f"{start_empty:.2f} (empty)",
                f"+{start_big - start_empty:.2f} s", "the empty run is mitmproxy's own start")  # fmt: skip
    commands = {
        "validate": median([_command_s("validate", str(ten)) for _ in range(rounds)]),
        "inspect": median([_command_s("inspect", str(ten)) for _ in range(rounds)]),
        "serve (to URL line)": median([_serve_start_s(ten) for _ in range(rounds)]),
    }
    load_process_s = median([_command_s("validate", str(empty)) for _ in range(rounds)]) + load_s  # start + load
    for name, seconds in commands.items():
        section.add(f"{name} on 10 MB, s", f"{seconds:.2f}", f"{load_process_s:.2f} (start + load)",
                    f"{seconds / load_process_s:.2f}x", "")  # fmt: skip
    stats.update(
        size_mb=size_mb, load_s=load_s, libyaml_parse_s=parse_s, rss_ratio=rss_ratio,
        validate_s=validate_time, validate_rss_ratio=validate_rss,
        save_emoji_s=save_emoji_s, save_plain_s=save_plain_s, record_start_s={"empty": start_empty, "10MB": start_big},
        commands_s=commands, start_and_load_s=load_process_s,
    )  # fmt: skip
    section.targets.append(Target("10 MB load time vs bare libyaml parse", load_s / parse_s, 0.5, False, "x"))
    section.targets.append(Target("10 MB load peak RSS vs file size", rss_ratio, 4.0, False, "x"))
    section.targets.append(
        Target("10 MB validate time vs bare libyaml parse", validate_time / parse_s, 0.5, False, "x")
    )
    section.targets.append(Target("10 MB validate peak RSS vs file size", validate_rss, 4.0, False, "x"))
    section.targets.append(
        Target("record --append on 10 MB: start beyond an empty cassette's", start_big - start_empty, 1.0, False, " s")
    )
    section.targets.append(Target("save with emoji vs without", save_emoji_s / save_plain_s, 2.0, False, "x"))
    for name, seconds in commands.items():
        section.targets.append(Target(f"{name} on 10 MB vs start + load", seconds / load_process_s, 2.0, False, "x"))
    for path in (ten, plain, empty):
        path.unlink()
    del base_s, load_child_s
    section.data = stats
    section.notes.append(
        "The writer rows time writer.add() until the interaction is fsynced: exactly what the recorder holds "
        "back from the end of each stream. The peer keeps chunktape's own emitter, so the gap is the design."
    )
    os.sync()
    return section
