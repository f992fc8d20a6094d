"""`chunktape record --stdio` and `serve --stdio` as processes: stdout carries protocol lines only."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from chunktape import load_cassette
from tests.support.serving import invoke

ECHO_SERVER = """
import json, sys, time
print("starting", file=sys.stderr, flush=True)
time.sleep(0.2)  # start-up time: part of the first answer's wait
for line in sys.stdin:
    message = json.loads(line)
    if "id" in message:
        print(json.dumps({"jsonrpc": "2.0", "id": message["id"], "result": {"echo": message["params"]}}), flush=True)
"""


def rpc(request_id: object, text: str) -> str:
    return json.dumps({"jsonrpc": "2.0", "id": request_id, "method": "echo", "params": {"text": text}}) + "\n"


def run(*args: str, stdin: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "chunktape", *args], input=stdin, capture_output=True, text=True, timeout=60, check=False
    )


def test_record_then_serve_a_stdio_server_with_protocol_lines_alone_on_stdout(tmp_path: Path) -> None:
    server = tmp_path / "server.py"
    server.write_text(ECHO_SERVER, encoding="utf-8")
    cassette = str(tmp_path / "mcp.yaml")
    asked = rpc(1, "grüße") + rpc(2, "again")

    key = "sk-proj-" + "a1B2c3D4" * 6  # a key handed to the server as an argument
    recorded = run(
        "record", "--stdio", "--cassette", cassette, "--", sys.executable, str(server), "--api-key", key, stdin=asked
    )
    assert recorded.returncode == 0, recorded.stderr
    answers = [json.loads(line) for line in recorded.stdout.splitlines()]
    assert answers == [
        {"jsonrpc": "2.0", "id": n, "result": {"echo": {"text": t}}} for n, t in ((1, "grüße"), (2, "again"))
    ]
    assert "starting" in recorded.stderr
    assert f"chunktape: recorded 4 messages to {cassette}" in recorded.stderr
    assert key not in recorded.stderr
    assert key not in Path(cassette).read_text(encoding="utf-8")
    (session,) = load_cassette(cassette).sessions
    assert session.stdio
    assert (len(session.client_messages()), len(session.server_messages())) == (2, 2)
    assert session.server_messages()[0].at_s >= 0.2

    replayed = run("serve", "--stdio", cassette, "--speed", "0", stdin=rpc("x-1", "grüße") + rpc("x-2", "again"))
    assert replayed.returncode == 0, replayed.stderr
    assert [json.loads(line)["id"] for line in replayed.stdout.splitlines()] == ["x-1", "x-2"]
    assert replayed.stderr.startswith("chunktape: playing stdio:")


def test_stdio_bad_input_is_one_line_and_exit_2(tmp_path: Path) -> None:
    http_only = Path(__file__).resolve().parents[2] / "cassettes" / "openai_chat.yaml"
    cases = [
        (("serve", "--stdio", str(http_only)), "no stdio session; record one with chunktape record --stdio"),
        (("serve", "--stdio", str(http_only), "--split", "bytes:1"), "--stdio plays whole JSON-RPC lines"),
        (("serve", str(http_only), "--normalize", "re:("), "bad normalize 're:(': the pattern does not compile"),
        (("record", "--stdio", "--cassette", str(tmp_path / "x.yaml")), "needs the server's command after --"),
        (
            ("record", "--stdio", "--cassette", str(tmp_path / "x.yaml"), "--", str(tmp_path / "missing-server")),
            "cannot start the MCP server",
        ),
    ]
    for args, says in cases:
        result = invoke(*args)
        assert result.exit_code == 2, (args, result.output)
        assert says in result.output, (args, result.output)
        assert len(result.output.strip().splitlines()) == 1, result.output
