"""The main job: the official google-genai SDK streams a bundled Gemini cassette from
`chunktape serve`, and the text is printed as it arrives, at the recorded rhythm.

    scripts/demo.sh                       # recorded rhythm
    scripts/demo.sh --split utf8          # any `chunktape serve` knob passes through
    scripts/demo.sh --fault disconnect:3  # and the SDK's own error shows

It also writes the HTML timeline of what it played (`chunktape inspect --html` with the same
knobs) and prints its path.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from google import genai
from google.genai import types

ROOT = Path(__file__).resolve().parent.parent
CASSETTE = ROOT / "cassettes" / "gemini_stream.yaml"
PROMPT = "用两种语言写三段很短的话，测试流式输出。"  # the request the cassette recorded


def start_server(knobs: list[str]) -> tuple[subprocess.Popen[str], str]:
    command = [sys.executable, "-m", "chunktape", "serve", str(CASSETTE), "--port", "0", *knobs]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert server.stdout is not None
    line = server.stdout.readline()
    if not line:
        server.wait()
        sys.exit(f"demo: chunktape serve did not start (exit {server.returncode})")
    print(f"[server] {line.strip()}")
    return server, line.split()[-1]


def write_timeline(knobs: list[str]) -> None:
    """The HTML timeline of the cassette as these knobs play it, beside the demo's output."""
    out = Path(tempfile.gettempdir()) / "chunktape-demo-timeline.html"
    command = [sys.executable, "-m", "chunktape", "inspect", str(CASSETTE), "--html", str(out), *knobs]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode == 0:
        print(f"[timeline] what was played, as a picture: {out}")
    else:
        print(f"[timeline] not written: {done.stderr.strip()}")


def main() -> int:
    server, base_url = start_server(sys.argv[1:])
    try:
        client = genai.Client(api_key="demo-key-not-secret", http_options=types.HttpOptions(base_url=base_url))
        started = time.perf_counter()
        print("[client] generate_content_stream(model='gemini-2.5-flash') ...\n")
        last = None
        try:
            for chunk in client.models.generate_content_stream(model="gemini-2.5-flash", contents=PROMPT):
                at_ms = (time.perf_counter() - started) * 1000
                print(f"  +{at_ms:7.1f} ms  {chunk.text!r}", flush=True)
                last = chunk
        except Exception as exc:  # the demo shows what the SDK raises under a fault
            print(f"\n[client] the SDK raised {type(exc).__module__}.{type(exc).__name__}: {exc}")
            return 1
        if last is not None and last.candidates:
            usage = last.usage_metadata
            print(
                f"\n[client] finish_reason={last.candidates[0].finish_reason} total_tokens={usage and usage.total_token_count}"
            )
        print(f"[client] done in {(time.perf_counter() - started) * 1000:.0f} ms")
        return 0
    finally:
        server.terminate()
        server.wait(timeout=10)
        write_timeline(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
