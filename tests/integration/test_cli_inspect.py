"""`chunktape inspect`: a summary table and a timeline of chunk arrivals, in plain text."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.serving import chunktape, invoke

CASSETTES = Path(__file__).resolve().parents[2] / "cassettes"


def test_the_table_has_one_row_per_interaction_with_every_column() -> None:
    result = invoke("inspect", str(CASSETTES / "gemini_stream.yaml"), "--width", "120")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    header = next(line for line in lines if line.startswith("#  method"))
    for column in ("status", "chunks", "bytes", "first byte", "total", "ended"):
        assert column in header
    row = lines[lines.index(header) + 1].split()
    assert row[:4] == ["1", "POST", "/v1/models/gemini-2.5-flash:streamGenerateContent?alt=sse", "200"]
    assert row[4:] == ["7", "2,630", "381", "ms", "689", "ms", "complete"]


def test_each_chunk_is_listed_with_its_gap_size_and_both_ends() -> None:
    result = invoke("inspect", str(CASSETTES / "gemini_stream.yaml"), "--width", "120")
    lines = result.output.splitlines()
    chunk_rows = [line.split() for line in lines if line.strip()[:1].isdigit() and "+" in line]
    assert [row[0] for row in chunk_rows] == ["1", "2", "3", "4", "5", "6", "7"]
    assert chunk_rows[1][1:6] == ["402", "ms", "+21", "ms", "306"]
    assert "\\xe8\\xbf" in lines[lines.index(next(line for line in lines if "+350 ms" in line))]
    assert any(row[-1] == "\\r\\n" for row in chunk_rows)  # the last chunk is a lone CRLF


def test_a_directory_shows_every_cassette() -> None:
    result = invoke("inspect", str(CASSETTES), "--width", "100")
    assert result.exit_code == 0
    for name in ("anthropic_messages", "gemini_generate", "gemini_stream", "openai_chat", "openai_responses"):
        assert f"{name}.yaml: 1 interaction" in result.output


def test_an_ascii_terminal_gets_ascii_and_escaped_text() -> None:
    environment = {**os.environ, "PYTHONIOENCODING": "ascii"}
    result = subprocess.run(
        [sys.executable, "-m", "chunktape", "inspect", str(CASSETTES / "gemini_stream.yaml"), "--width", "100"],
        capture_output=True,
        env=environment,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.isascii()
    assert b"H---" in result.stdout


def test_a_broken_cassette_is_one_line_and_exit_2(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("version: 1\ninteractions:\n- request: {method: GET}\n  response: {status: 200}\n")
    result = invoke("inspect", str(broken))
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        f"chunktape: error: {broken}:3: missing field 'url' (the full request URL)"
    ]


@pytest.mark.parametrize("args", [(), ("a.yaml", "b.yaml")], ids=["none", "two"])
def test_inspect_takes_exactly_one_path(args: tuple[str, ...]) -> None:
    assert invoke("inspect", *args).exit_code == 2


def test_help_shows_an_example() -> None:
    result = chunktape("inspect", "--help")
    assert result.returncode == 0
    assert "Example:" in result.stdout
    assert "chunktape inspect cassettes/gemini_stream.yaml" in result.stdout
