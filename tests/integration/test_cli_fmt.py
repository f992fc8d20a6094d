"""`chunktape fmt [--check]`: cassettes in the one layout chunktape writes, in the convention of
`ruff format --check`, never changing what a cassette holds."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest

from chunktape import Cassette, Chunk, Interaction, Request, Response, load_cassette
from chunktape.commands.fmt import canonical_text
from chunktape.persist import dumps, dumps_items
from chunktape.redaction import Redactor
from tests.support.builders import layout_0_1, sse_cassette
from tests.support.serving import chunktape, invoke

ROOT = Path(__file__).resolve().parents[2]
CASSETTES = ROOT / "cassettes"


def _commented() -> str:
    return dumps(sse_cassette()).replace("status: 200", "status: 200  # OK").replace("version: 1", "# hi\nversion: 1")


def _write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def test_check_lists_the_files_it_would_change_and_exits_1(tmp_path: Path) -> None:
    old = _write(tmp_path, "a_old.yaml", layout_0_1(sse_cassette()))
    commented = _write(tmp_path, "b_commented.yaml", _commented())
    canonical = _write(tmp_path, "c_canonical.yaml", dumps(sse_cassette()))
    before = {path: path.read_bytes() for path in (old, commented, canonical)}
    result = invoke("fmt", "--check", str(tmp_path))
    assert result.exit_code == 1
    assert result.output == (
        f"Would reformat: {old}\nWould reformat: {commented}\n2 files would be reformatted, 1 file already formatted\n"
    )
    assert {path: path.read_bytes() for path in before} == before  # --check writes nothing


def test_check_passes_with_exit_0_when_all_are_canonical(tmp_path: Path) -> None:
    path = sse_cassette().save(str(tmp_path / "saved.yaml"))
    result = invoke("fmt", "--check", path)
    assert (result.exit_code, result.output) == (0, "1 file already formatted\n")


@pytest.mark.parametrize("make", [lambda: layout_0_1(sse_cassette()), _commented], ids=["0.1-layout", "comments"])
def test_fmt_rewrites_the_layout_and_the_loaded_cassette_is_unchanged(tmp_path: Path, make: object) -> None:
    path = _write(tmp_path, "cassette.yaml", make())  # type: ignore[operator]
    before = load_cassette(str(path))
    result = invoke("fmt", str(path))
    assert (result.exit_code, result.output) == (0, "1 file reformatted\n")
    assert load_cassette(str(path)) == before
    assert path.read_text(encoding="utf-8") == dumps(before)
    assert invoke("fmt", "--check", str(path)).exit_code == 0
    assert invoke("validate", str(path)).exit_code == 0


def test_fmt_keeps_the_files_mode(tmp_path: Path) -> None:
    path = _write(tmp_path, "cassette.yaml", _commented())
    path.chmod(0o664)
    assert invoke("fmt", str(path)).exit_code == 0
    assert stat.S_IMODE(path.stat().st_mode) == 0o664
    assert "# OK" not in path.read_text(encoding="utf-8")


def test_fmt_says_how_many_files_it_changed_and_left_alone(tmp_path: Path) -> None:
    _write(tmp_path, "a.yaml", _commented())
    sse_cassette().save(str(tmp_path / "b.yaml"))
    sse_cassette().save(str(tmp_path / "c.yaml"))
    result = invoke("fmt", str(tmp_path))
    assert (result.exit_code, result.output) == (0, "1 file reformatted, 2 files left unchanged\n")


def test_the_bundled_cassettes_are_already_formatted() -> None:
    result = chunktape("fmt", "--check", str(CASSETTES))
    count = len(list(CASSETTES.glob("*.yaml")))
    assert (result.returncode, result.stdout) == (0, f"{count} files already formatted\n")


def test_a_file_that_does_not_load_is_one_line_and_exit_2_and_the_others_are_still_done(tmp_path: Path) -> None:
    broken = _write(tmp_path, "a.yaml", dumps(sse_cassette()).replace("size_bytes: 52", "size_bytes: 0"))
    commented = _write(tmp_path, "b.yaml", _commented())
    result = chunktape("fmt", str(broken), str(commented), str(tmp_path / "missing.yaml"))
    assert result.returncode == 2
    errors = result.stderr.splitlines()
    assert len(errors) == 2
    assert re.fullmatch(
        rf"chunktape: error: {re.escape(str(broken))}:\d+: chunk size_bytes must be at least 1, not 0", errors[0]
    )
    assert (
        errors[1]
        == f"chunktape: error: {tmp_path / 'missing.yaml'}: no such cassette file; record it first or check the path"
    )
    assert result.stdout == "1 file reformatted\n"
    assert "# OK" not in commented.read_text(encoding="utf-8")
    assert "size_bytes: 0" in broken.read_text(encoding="utf-8")


def test_a_value_the_canonical_layout_would_change_is_refused_not_rounded(tmp_path: Path) -> None:
    text = _commented().replace("{at_s: 0.14, size_bytes: 40}", "{at_s: 0.1400004, size_bytes: 40}")
    path = _write(tmp_path, "precise.yaml", text)
    result = invoke("fmt", str(path))
    assert result.exit_code == 2
    assert path.read_text(encoding="utf-8") == text
    assert "formatting would change item #1 (response.chunks[1].at_s: 0.1400004 becomes 0.14)" in result.output


def test_a_directory_without_cassettes_is_exit_2(tmp_path: Path) -> None:
    result = chunktape("fmt", "--check", str(tmp_path))
    assert result.returncode == 2
    assert result.stderr == f"chunktape: error: {tmp_path}: is a directory with no *.yaml or *.yml cassettes in it\n"


def test_sessions_and_interactions_keep_their_order_in_the_file(tmp_path: Path) -> None:
    realtime = (ROOT / "docs" / "realtime.md").read_text(encoding="utf-8").split("```yaml\n", 1)[1].split("```")[0]
    session_item = realtime.split("interactions:\n", 1)[1]
    interaction_item = dumps(sse_cassette()).split("interactions:\n", 1)[1]
    path = _write(tmp_path, "mixed.yaml", "version: 1\ninteractions:\n" + interaction_item + session_item)
    before = load_cassette(str(path))
    assert invoke("fmt", str(path)).exit_code == 0
    formatted = path.read_text(encoding="utf-8")
    assert formatted.index("- request:") < formatted.index("- session:")
    assert load_cassette(str(path)) == before


def test_canonical_text_is_what_saving_writes() -> None:
    http = Interaction(Request("GET", "http://x.test/"), Response(200, (), 0.1, (Chunk(0.2, b"hi"),)))
    items = [http, *(Redactor().interaction(interaction) for interaction in sse_cassette().interactions)]
    assert canonical_text(items) == dumps_items(items)  # the same text, where saving has nothing to redact
    assert canonical_text([]) == dumps(Cassette())


def test_help_shows_an_example_and_the_command_is_listed() -> None:
    result = invoke("fmt", "--help")
    assert result.exit_code == 0
    assert "chunktape fmt --check cassettes/" in result.output
    assert re.search(r"^\s+fmt\s", invoke("--help").output, re.MULTILINE)
