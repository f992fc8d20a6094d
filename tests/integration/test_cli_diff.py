"""`chunktape diff OLD NEW`: pairs by match key, tells differences as events and JSON fields,
summarizes timing, exits 0 equal / 1 different / 2 bad input. Output is snapshot-stable."""

from __future__ import annotations

import dataclasses
import subprocess
from pathlib import Path

import pytest

from chunktape import Cassette, Interaction
from chunktape.cassette import Chunk, Response
from chunktape.persist import load_cassette, save_cassette
from tests.support.serving import invoke

ROOT = Path(__file__).resolve().parents[2]
GEMINI = ROOT / "cassettes" / "gemini_stream.yaml"
TITLE = "POST /v1/models/gemini-2.5-flash:streamGenerateContent?alt=sse"


def gemini() -> Interaction:
    return load_cassette(str(GEMINI)).interactions[0]


def with_response(interaction: Interaction, **changes: object) -> Interaction:
    return dataclasses.replace(interaction, response=dataclasses.replace(interaction.response, **changes))


def rebody(response: Response, body: bytes) -> tuple[Chunk, ...]:
    """`body` in chunks at the response's recorded times (the last takes the rest)."""
    chunks = response.chunks
    out, start = [], 0
    for index, chunk in enumerate(chunks):
        end = len(body) if index == len(chunks) - 1 else min(len(body), start + len(chunk.data))
        out.append(Chunk(chunk.at_s, body[start:end]))
        start = end
    return tuple(piece for piece in out if piece.data)


def write(tmp_path: Path, name: str, *interactions: Interaction) -> str:
    path = str(tmp_path / name)
    save_cassette(Cassette(list(interactions)), path)
    return path


def diff(*args: str) -> tuple[int, list[str]]:
    result = invoke("diff", *args)
    return result.exit_code, result.output.splitlines()[2:]  # past the ---/+++ lines naming the files


def test_identical_cassettes_are_equal_and_exit_0(tmp_path: Path) -> None:
    code, lines = diff(str(GEMINI), write(tmp_path, "same.yaml", gemini()))
    assert code == 0
    assert lines == ["1 paired, 0 only in OLD, 0 only in NEW; no differences", f"= {TITLE} (#1 -> #1)"]


def test_one_event_text_changed_is_one_field_line(tmp_path: Path) -> None:
    old = gemini()
    body = old.response.body.replace("这里是第一段".encode(), "这是第一段".encode())
    new = with_response(old, chunks=rebody(old.response, body))
    code, lines = diff(write(tmp_path, "old.yaml", old), write(tmp_path, "new.yaml", new))
    assert code == 1
    assert lines == [
        "1 paired, 0 only in OLD, 0 only in NEW; 1 differ",
        f"~ {TITLE} (#1 -> #1)",
        '    event 1 (message) changed: field changed: candidates[0].content.parts[0].text: "这里是第一段" -> "这是第一段"',
    ]


def test_an_added_event_is_named_with_its_data(tmp_path: Path) -> None:
    old = gemini()
    extra = b'data: {"candidates": [{"content": {"parts": [{"text": "\xe5\x86\x8d\xe8\xa7\x81"}]}}]}\r\n\r\n'
    new = with_response(old, chunks=(*old.response.chunks, Chunk(old.response.chunks[-1].at_s, extra)))
    code, lines = diff(write(tmp_path, "old.yaml", old), write(tmp_path, "new.yaml", new))
    assert code == 1
    assert lines[2] == '    event 7 (message) added: {"candidates": [{"content": {"parts": [{"text": "再见"}]}}]}'
    assert lines[3:] == ["    timing: gap p50 47 ms -> 35 ms"]  # one more chunk, at the same moment


def test_a_timing_shift_shows_without_a_tolerance_and_hides_under_one(tmp_path: Path) -> None:
    old = gemini()
    later = tuple(Chunk(chunk.at_s + 0.02, chunk.data) for chunk in old.response.chunks)
    new = with_response(old, chunks=later, ended_at_s=old.response.end_s + 0.02)
    old_path, new_path = write(tmp_path, "old.yaml", old), write(tmp_path, "new.yaml", new)
    code, lines = diff(old_path, new_path)
    assert code == 1
    assert lines[2:] == ["    timing: first byte 381 ms -> 401 ms, total 689 ms -> 709 ms, gap p99 350 ms -> 370 ms"]
    code, lines = diff(old_path, new_path, "--timing-tolerance", "50ms")
    assert code == 0
    assert lines == ["1 paired, 0 only in OLD, 0 only in NEW; no differences", f"= {TITLE} (#1 -> #1)"]
    code, lines = diff(old_path, new_path, "--timing-tolerance", "10ms")
    assert code == 1
    assert lines[2] == "    timing: first byte 381 ms -> 401 ms, total 689 ms -> 709 ms, gap p99 350 ms -> 370 ms"
    code, lines = diff(old_path, new_path, "--timing-tolerance", "20ms")  # a shift of exactly the tolerance hides
    assert code == 0


def test_a_changed_status_is_reported(tmp_path: Path) -> None:
    old = gemini()
    new = with_response(old, status=429)
    code, lines = diff(write(tmp_path, "old.yaml", old), write(tmp_path, "new.yaml", new))
    assert code == 1
    assert "    status: 200 -> 429" in lines


def test_cut_against_complete_is_an_ending_change(tmp_path: Path) -> None:
    old = gemini()
    new = with_response(old, chunks=old.response.chunks[:3], ended="cut", ended_at_s=0.5)
    code, lines = diff(write(tmp_path, "old.yaml", old), write(tmp_path, "new.yaml", new))
    assert code == 1
    assert "    ended: complete -> cut" in lines
    assert any(line.startswith("    event 6 (message) removed:") for line in lines)
    assert any(line.startswith("    timing: ") and "total 689 ms -> 500 ms" in line for line in lines)


def test_requests_that_pair_with_nothing_are_only_in_one_side(tmp_path: Path) -> None:
    old = gemini()
    other = dataclasses.replace(old, request=dataclasses.replace(old.request, body=b'{"contents": []}'))
    code, lines = diff(write(tmp_path, "old.yaml", old), write(tmp_path, "new.yaml", other))
    assert code == 1
    assert lines == [
        "0 paired, 1 only in OLD, 1 only in NEW; 2 differ",
        f"- {TITLE}: only in OLD (#1)",
        f"+ {TITLE}: only in NEW (#1)",
    ]


def test_the_output_is_the_same_every_run(tmp_path: Path) -> None:
    old = gemini()
    new = with_response(old, status=500, ended="cut")
    paths = write(tmp_path, "old.yaml", old, old), write(tmp_path, "new.yaml", new, old)
    assert invoke("diff", *paths).output == invoke("diff", *paths).output


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["nope.yaml", str(GEMINI)], "nope.yaml: no such cassette file"),
        ([str(GEMINI), str(GEMINI), "--timing-tolerance", "soon"], "--timing-tolerance: bad timing-tolerance duration"),
        ([str(GEMINI)], "diff takes OLD NEW"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: list[str], expected: str) -> None:
    result = invoke("diff", *args)
    assert result.exit_code == 2
    assert expected in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_git_uses_it_as_a_diff_driver(tmp_path: Path) -> None:
    """The documented .gitattributes line and diff.chunktape.command, run by real git."""
    repo = tmp_path / "repo"
    (repo / "cassettes").mkdir(parents=True)
    env_args = ["-c", "user.name=t", "-c", "user.email=t@example.com"]

    def git(*args: str) -> str:
        return subprocess.run(["git", *env_args, *args], cwd=repo, capture_output=True, text=True, check=True).stdout

    git("init", "-q")
    (repo / ".gitattributes").write_text("cassettes/**/*.yaml diff=chunktape\n")
    chunktape = str(ROOT / ".venv" / "bin" / "chunktape")
    git("config", "diff.chunktape.command", f"{chunktape} diff --timing-tolerance 50ms")
    old = gemini()
    save_cassette(Cassette([old]), str(repo / "cassettes" / "chat.yaml"))
    git("add", ".")
    git("commit", "-qm", "one")
    save_cassette(Cassette([with_response(old, status=429)]), str(repo / "cassettes" / "chat.yaml"))
    shown = git("diff")
    assert "--- cassettes/chat.yaml" in shown
    assert "    status: 200 -> 429" in shown
