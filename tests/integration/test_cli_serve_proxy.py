"""`chunktape serve PATH --proxy [-- COMMAND]`: what `chunktape record -- COMMAND` recorded
through its forward proxy replays to the same, unchanged program, with the upstream stopped."""

from __future__ import annotations

import os
import shutil
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from chunktape import Cassette, Chunk, Interaction, Request, Response, load_cassette, save_cassette
from tests.support.fakes.upstream import FakeUpstream
from tests.support.fakes.wire import EXCHANGES
from tests.support.recorder_helpers import record_env
from tests.support.recorder_upstreams import server_tls
from tests.support.serving import serving

OPENAI = EXCHANGES["openai_chat"]
ANTHROPIC = EXCHANGES["anthropic_messages"]

# The program under test: it builds its client with no base URL and knows nothing of chunktape.
TOOL = f"""
import sys
import time
from openai import OpenAI

stream = OpenAI().chat.completions.create(
    model={OPENAI.request_json["model"]!r},
    messages={OPENAI.request_json["messages"]!r},
    stream=True,
    stream_options={OPENAI.request_json["stream_options"]!r},
)
for chunk in stream:
    if chunk.choices and chunk.choices[0].delta.content:
        print(chunk.choices[0].delta.content, end="|", flush=True)
sys.exit(3)
"""

NODE_TOOL = f"""
import OpenAI from "openai";

const client = new OpenAI();
const stream = await client.chat.completions.create({{
  model: {OPENAI.request_json["model"]!r},
  messages: [{{ role: "user", content: {OPENAI.request_json["messages"][0]["content"]!r} }}],
  stream: true,
  stream_options: {{ include_usage: true }},
}});
for await (const chunk of stream) {{
  const text = chunk.choices?.[0]?.delta?.content;
  if (text) process.stdout.write(text + "|");
}}
process.exit(3);
"""

# Node before 22.21 has no NODE_USE_ENV_PROXY: undici's own agent reads the same variables.
NODE_PROXY_PRELOAD = """
import { EnvHttpProxyAgent, setGlobalDispatcher } from "undici";
setGlobalDispatcher(new EnvHttpProxyAgent());
"""


@pytest.fixture
def tls_upstream(tmp_path: Path) -> Iterator[FakeUpstream]:
    with FakeUpstream(speed=0, tls=server_tls(tmp_path)) as upstream:
        yield upstream


def _env(tmp_path: Path, upstream: FakeUpstream, **extra: str) -> dict[str, str]:
    env = record_env(tmp_path / "mitmproxy", OPENAI_BASE_URL=upstream.base_url + "/v1", OPENAI_API_KEY="sk-test-1")
    for name in ("NO_PROXY", "no_proxy", "HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy", "SSL_CERT_FILE"):
        env.pop(name, None)
    env.update(extra)
    return env


def _chunktape(*args: str, env: dict[str, str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "chunktape", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
    )


def _printed(result: subprocess.CompletedProcess[str]) -> str:
    """What the command printed: stdout after chunktape's own first line."""
    first, _, rest = result.stdout.partition("\n")
    assert first.startswith("chunktape: "), result.stdout
    return rest


def _pieces(text: str) -> list[str]:
    return [piece for piece in text.split("|") if piece]


def test_a_program_recorded_through_the_forward_proxy_replays_through_serve_proxy(
    tmp_path: Path, tls_upstream: FakeUpstream
) -> None:
    (tmp_path / "tool.py").write_text(TOOL)
    cassette = tmp_path / "c.yaml"
    env = _env(tmp_path, tls_upstream)
    recorded = _chunktape(
        "record", "--cassette", str(cassette), "--ssl-insecure", "--", sys.executable, "tool.py", env=env, cwd=tmp_path
    )
    assert recorded.returncode == 3, recorded.stderr
    [interaction] = load_cassette(str(cassette)).interactions
    assert interaction.request.url == tls_upstream.url(OPENAI)
    tls_upstream.stop()

    replayed = _chunktape("serve", str(cassette), "--proxy", "--", sys.executable, "tool.py", env=env, cwd=tmp_path)
    assert replayed.returncode == 3, replayed.stderr  # the command's own status
    assert _printed(replayed) == _printed(recorded)
    assert "".join(_pieces(_printed(replayed))) == OPENAI.text
    assert replayed.stdout.splitlines()[0].startswith(
        "chunktape: serving 1 interaction as a proxy on http://127.0.0.1:"
    )
    assert len(tls_upstream.requests) == 1  # only the recording reached it


def test_every_knob_applies_through_the_proxy(tmp_path: Path, tls_upstream: FakeUpstream) -> None:
    (tmp_path / "tool.py").write_text(TOOL)
    cassette = tmp_path / "c.yaml"
    env = _env(tmp_path, tls_upstream)
    recorded = _chunktape(
        "record", "--cassette", str(cassette), "--ssl-insecure", "--", sys.executable, "tool.py", env=env, cwd=tmp_path
    )
    assert recorded.returncode == 3, recorded.stderr
    tls_upstream.stop()
    cut = _chunktape(
        "serve", str(cassette), "--proxy", "--fault", "cut:3", "--", sys.executable, "tool.py", env=env, cwd=tmp_path
    )
    assert cut.returncode == 1  # the SDK raised on the cut stream
    assert len(_pieces(_printed(cut))) < len(_pieces(_printed(recorded)))
    limited = ("serve", str(cassette), "--proxy", "--fault", "status:429", "--", sys.executable, "tool.py")
    status = _chunktape(*limited, env=env, cwd=tmp_path)
    assert status.returncode == 1
    assert "RateLimitError" in status.stderr


def test_a_miss_answers_the_404_diff_and_never_the_network(
    tmp_path: Path, tls_upstream: FakeUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    cassette = tmp_path / "c.yaml"
    shutil.copy(Path(__file__).resolve().parents[2] / "cassettes" / "openai_chat.yaml", cassette)
    monkeypatch.setenv("CHUNKTAPE_MITMPROXY_CONFDIR", str(tmp_path / "mitmproxy"))
    with serving(str(cassette), "--proxy", "--port", "0") as served:
        proxy_url = served.line.split()[-1]
        ca = ssl.create_default_context(cafile=str(tmp_path / "mitmproxy" / "mitmproxy-ca-cert.pem"))
        with httpx.Client(proxy=proxy_url, verify=ca) as client:  # HTTPS through the local CA
            miss = client.post(tls_upstream.url(ANTHROPIC), json={"model": "not-recorded"})
            hit = client.post("https://api.openai.com/v1/chat/completions", json=OPENAI.request_json)
            elsewhere = client.post("https://api.elsewhere.test/v1/chat/completions", json=OPENAI.request_json)
    assert miss.status_code == 404
    assert "closest" in miss.text
    assert tls_upstream.requests == []  # the upstream was running, and never asked
    assert hit.status_code == 200
    assert elsewhere.status_code == 404  # the proxy answers by absolute URL: the host counts
    assert "host api.elsewhere.test != recorded api.openai.com" in elsewhere.text
    assert hit.text.count("data: ") >= 3


NPM_TIMEOUT_S = 300


def _npm_install(directory: Path, *packages: str) -> str | None:
    """Install `packages` into `directory`; the reason it could not, or None."""
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        return "node and npm are not installed"
    (directory / "package.json").write_text('{"type": "module", "private": true}\n')
    try:
        result = subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "--loglevel=error", *packages],
            cwd=directory,
            capture_output=True,
            text=True,
            timeout=NPM_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired:
        return f"npm install {' '.join(packages)} took longer than {NPM_TIMEOUT_S} s"
    if result.returncode != 0:
        return f"npm install {' '.join(packages)} failed: {result.stderr.strip().splitlines()[-1:]}"
    return None


def _node_has_env_proxy() -> bool:
    version = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip().lstrip("v")
    major, minor = (int(part) for part in version.split(".")[:2])
    return major >= 24 or (major == 22 and minor >= 21)


def test_a_node_program_using_the_openai_package_records_and_replays_unchanged(
    tmp_path: Path, tls_upstream: FakeUpstream
) -> None:
    node_dir = tmp_path / "node"
    node_dir.mkdir()
    reason = _npm_install(node_dir, "openai@^6", "undici@^6")
    if reason is not None:
        print(f"skipped: {reason}")
        pytest.skip(reason)
    (node_dir / "tool.mjs").write_text(NODE_TOOL)
    extra: dict[str, str] = {}
    if not _node_has_env_proxy():
        (node_dir / "proxy.mjs").write_text(NODE_PROXY_PRELOAD)
        extra["NODE_OPTIONS"] = "--import ./proxy.mjs"
    env = _env(tmp_path, tls_upstream, **extra)
    cassette = tmp_path / "node.yaml"
    recorded = _chunktape(
        "record", "--cassette", str(cassette), "--ssl-insecure", "--", "node", "tool.mjs", env=env, cwd=node_dir
    )
    assert recorded.returncode == 3, recorded.stderr
    assert "".join(_pieces(_printed(recorded))) == OPENAI.text
    [interaction] = load_cassette(str(cassette)).interactions
    assert interaction.request.url == tls_upstream.url(OPENAI)
    tls_upstream.stop()
    replayed = _chunktape("serve", str(cassette), "--proxy", "--", "node", "tool.mjs", env=env, cwd=node_dir)
    assert replayed.returncode == 3, replayed.stderr
    assert _printed(replayed) == _printed(recorded)


def test_a_command_without_proxy_is_refused(tmp_path: Path) -> None:
    cassette = Path(__file__).resolve().parents[2] / "cassettes" / "openai_chat.yaml"
    result = _chunktape("serve", str(cassette), "--", "true", env=dict(os.environ))
    assert result.returncode == 2
    assert (
        result.stderr
        == "chunktape: error: -- COMMAND needs --proxy (the command reaches the cassettes through HTTPS_PROXY)\n"
    )
    del tmp_path


def _two_chunk_cassette(path: Path, gap_s: float) -> None:
    request = Request(
        "POST", "https://api.openai.com/v1/chat/completions", (("content-type", "application/json"),), b"{}"
    )
    chunks = (Chunk(at_s=0.01, data=b"data: one\n\n"), Chunk(at_s=0.01 + gap_s, data=b"data: two\n\n"))
    response = Response(200, (("content-type", "text/event-stream"),), 0.005, chunks)
    save_cassette(Cassette([Interaction(request, response)]), str(path))


def test_chunks_keep_their_recorded_gap_through_the_proxy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cassette = tmp_path / "gap.yaml"
    _two_chunk_cassette(cassette, gap_s=0.4)
    monkeypatch.setenv("CHUNKTAPE_MITMPROXY_CONFDIR", str(tmp_path / "mitmproxy"))
    with serving(str(cassette), "--proxy") as served:
        ca = ssl.create_default_context(cafile=str(tmp_path / "mitmproxy" / "mitmproxy-ca-cert.pem"))
        with (
            httpx.Client(proxy=served.line.split()[-1], verify=ca) as client,
            client.stream("POST", "https://api.openai.com/v1/chat/completions", content=b"{}") as response,
        ):
            arrivals = [(time.monotonic(), piece) for piece in response.iter_raw()]
    assert [piece for _, piece in arrivals] == [b"data: one\n\n", b"data: two\n\n"]  # not merged
    assert arrivals[1][0] - arrivals[0][0] >= 0.35  # the recorded gap is kept (never shortened)
