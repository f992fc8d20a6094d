"""Run the bench: `python -m bench [--quick] [--only fidelity,recording,...]` (bench/run.sh sets up first).

Prints one table per section and the targets in docs/limits.md, writes
bench/results/latest.json (everything, samples included) and bench/RESULTS.md (the summary).
"""

from __future__ import annotations

import argparse
import datetime
import json
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from bench.common import BENCH, machine, raise_fd_limit
from bench.report import TARGET_COLUMNS, Section, markdown_table, target_rows, text_table

SECTIONS = (
    "fidelity",
    "recording",
    "throughput",
    "inprocess",
    "cassette_io",
    "body_formats",
    "virtual_time",
    "warmup",
    "session_scale",
    "browser_ui",
    "realtime",
    "proxy_replay",
    "redaction",
    "plugin_startup",
    "crash",
    "concurrency",
)


def _runners(work: Path, quick: bool) -> dict[str, Callable[[], Section]]:
    from bench import (
        body_formats,
        browser_ui,
        cassette_io,
        concurrency,
        crash,
        fidelity,
        inprocess,
        plugin_startup,
        proxy_replay,
        realtime,
        recording,
        redaction,
        session_scale,
        throughput,
        virtual_time,
        warmup,
    )

    return {
        "fidelity": lambda: fidelity.run(work, rounds=2 if quick else 4),
        "recording": lambda: recording.run(work, rounds=2 if quick else 4),
        "throughput": lambda: throughput.run(
            work,
            rounds=2 if quick else 3,
            window_s=1 if quick else 2,
            concurrencies=(1, 16),
            hold_streams=1000,
        ),
        "inprocess": lambda: inprocess.run(work, iterations=200 if quick else 600),
        "cassette_io": lambda: cassette_io.run(work, rounds=2 if quick else 3),
        "body_formats": lambda: body_formats.run(work, rounds=2 if quick else 3),
        "virtual_time": lambda: virtual_time.run(
            work, rounds=3 if quick else 10, real_duration_s=10.0 if quick else 60.0
        ),
        "warmup": lambda: warmup.run(work, rounds=3 if quick else 10),
        "session_scale": lambda: session_scale.run(work, rounds=2 if quick else 3, samples=8 if quick else 20),
        "browser_ui": lambda: browser_ui.run(work, rounds=3 if quick else 10),
        "realtime": lambda: realtime.run(work, rounds=5 if quick else 20),
        "proxy_replay": lambda: proxy_replay.run(work, rounds=3 if quick else 10),
        "redaction": lambda: redaction.run(work, rounds=3 if quick else 7),
        "plugin_startup": lambda: plugin_startup.run(work, pairs=10 if quick else 40),
        "crash": lambda: crash.run(work, kill_at=1000 if quick else 5000),
        "concurrency": lambda: concurrency.run(
            work, levels=(100, 1000) if quick else (100, 1000, 3000, 10000), rounds=1
        ),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer rounds: a smoke run, not for RESULTS.md")
    parser.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated sections of {', '.join(SECTIONS)}")
    parser.add_argument("--out", default=str(BENCH / "results" / "latest.json"), help="where the JSON goes")
    parser.add_argument("--no-summary", action="store_true", help="do not rewrite bench/RESULTS.md")
    args = parser.parse_args(argv)
    wanted = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = [name for name in wanted if name not in SECTIONS]
    if unknown:
        parser.error(f"unknown section(s) {', '.join(unknown)}; choose from {', '.join(SECTIONS)}")

    raise_fd_limit(8192)
    info = machine()
    started = time.monotonic()
    date = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(f"chunktape bench, {date}: {info['nproc']} CPUs ({info['cpu_model']}), Python {info['python']}", flush=True)
    work = Path(tempfile.mkdtemp(prefix="chunktape-bench-"))
    runners = _runners(work, args.quick)
    sections: list[Section] = []
    failures: dict[str, str] = {}
    try:
        for name in wanted:
            print(f"\n== {name} ...", flush=True)
            began = time.monotonic()
            try:
                section = runners[name]()
            except Exception:
                failures[name] = traceback.format_exc()
                print(f"{name} FAILED:\n{failures[name]}", file=sys.stderr, flush=True)
                continue
            section.seconds = time.monotonic() - began
            sections.append(section)
            print(_text(section), flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    elapsed = time.monotonic() - started
    print("\n== targets (docs/limits.md)")
    print(text_table(TARGET_COLUMNS, target_rows(sections)))
    print(f"\n{elapsed:.0f} s in all")
    document = {
        "date": date,
        "quick": args.quick,
        "machine": info,
        "seconds": round(elapsed, 1),
        "sections": {s.key: s.to_json() for s in sections},
        "failures": failures,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(document, indent=2, ensure_ascii=False, default=str) + "\n")
    print(f"wrote {out}")
    if not args.no_summary and not args.quick and set(wanted) == set(SECTIONS):
        summary = BENCH / "RESULTS.md"
        summary.write_text(_markdown(sections, info, date, elapsed, failures))
        print(f"wrote {summary}")
    return 1 if failures else 0


def _text(section: Section) -> str:
    lines = [section.title, text_table(section.columns, section.rows)]
    lines += [f"  note: {note}" for note in section.notes]
    return "\n".join(lines)


def _markdown(
    sections: list[Section], info: dict[str, object], date: str, elapsed: float, failures: dict[str, str]
) -> str:
    versions = ", ".join(f"{k} {v}" for k, v in dict(info["versions"]).items())  # type: ignore[call-overload]
    lines = [
        "# chunktape bench results",
        "",
        "Written by `bench/run.sh` (the last full run); the complete figures, samples included,",
        "are in `bench/results/latest.json` (not committed). Every claim is a ratio or a",
        "distribution against a peer measured in the same run: the machine is shared and noisy.",
        "",
        f"- date: {date}; the whole run took {elapsed:.0f} s",
        f"- machine: `nproc` {info['nproc']}, CPU {info['cpu_model']}, {info['platform']}",
        f"- Python {info['python']}; {versions}",
        f"- load average at start: {info['loadavg_at_start']}",
        "",
        "How to run: `bench/run.sh` (sets up `.venv`, the `bench` extra and wrk, then runs everything in",
        "about 3 minutes); `bench/run.sh --quick` for a smoke run; `--only fidelity,throughput` for some sections.",
        "",
        "Method, in short:",
        "",
        "- timing: every process reads the same monotonic clock; gap error is |replayed gap - recorded gap|",
        "  between consecutive recorded chunks, taken when the last byte of each recorded chunk reached the",
        "  client (httpx `iter_raw`); the floor is a thread that only sleeps to the same offsets;",
        "- recording: the upstream stamps every chunk with its send time, so a chunk's delay through a proxy",
        "  is receive time minus stamp, beside the same delay direct;",
        "- throughput: servers in their own processes, load from another (wrk with a Lua POST script and a",
        "  request budget, or `bench/loadclient.py`), interleaved windows, medians; streams per CPU-second of",
        "  the server process too, since wall-clock rates move with the neighbours;",
        "- in-process and cassette I/O: interleaved blocks in one process, medians.",
        "",
        "## Targets (docs/limits.md)",
        "",
        markdown_table(TARGET_COLUMNS, target_rows(sections)),
    ]
    for section in sections:
        lines += ["", f"## {section.title}", "", markdown_table(section.columns, section.rows)]
        if section.notes:
            lines.append("")
            lines += [f"- {note}" for note in section.notes]
    if failures:
        lines += ["", "## Sections that failed", ""]
        lines += [f"- {name}: `{text.strip().splitlines()[-1]}`" for name, text in failures.items()]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
