"""A cassette means exactly what it says: a defect anywhere, also in the last interaction of a
file without a final line break or of a size a multiple of 4,096 bytes, is refused with
`path:line` (exit 2) by serve, validate, inspect, record --append and the pytest plugin. Only
an append a recorder was making when it died (its `.recording` marker left behind) is set
aside, and the recovery says what and where."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import pytest

from chunktape import CassetteError, CassetteWarning, load_cassette
from chunktape.persist import read_file
from tests.support.serving import invoke

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "cassettes" / "openai_chat.yaml"


def typo_in_last_interaction(path: Path) -> int:
    """A hand edit leaving `size_byts` in the last chunk, and no final line break; its line."""
    text = EXAMPLE.read_text(encoding="utf-8")
    cut = text.rindex("size_bytes")
    path.write_text(text[:cut] + "size_byts" + text[cut + len("size_bytes") :].rstrip("\n"), encoding="utf-8")
    return text[:cut].count("\n") + 1


def interrupted(path: Path, keep: int) -> tuple[int, int]:
    """What a recorder killed mid-append leaves: the marker with the offset where its append
    (the last item) began, and `keep` bytes of that append. Returns (line, offset)."""
    data = EXAMPLE.read_bytes()
    two = data + data[data.index(b"- request:") :]  # the same interaction twice
    offset = len(data)
    path.write_bytes(two[: offset + keep])
    Path(f"{path}.recording").write_text(f"{offset}\n")
    return data.count(b"\n") + 1, offset


@pytest.mark.parametrize("command", [["validate"], ["inspect"], ["serve", "--port", "0"], ["inspect", "--html"]])
def test_a_typo_in_the_last_interaction_of_a_file_without_final_newline_is_exit_2_with_its_line(
    tmp_path: Path, command: list[str]
) -> None:
    path = tmp_path / "chat.yaml"
    line = typo_in_last_interaction(path)
    extra = [str(tmp_path / "out" / "page.html")] if "--html" in command else []
    result = invoke(*command, *extra, str(path))
    assert result.exit_code == 2, result.output
    assert f"{path}:{line}: unknown field 'size_byts'" in result.output


def test_a_defect_in_a_file_of_exactly_4096_bytes_is_refused_not_taken_for_a_tear(tmp_path: Path) -> None:
    path = tmp_path / "page.yaml"
    text = EXAMPLE.read_text(encoding="utf-8").replace("method: POST", "method: [POST]")
    text = text.replace("content-type: application/json\n", "content-type: application/json\n", 1)
    padding = 4096 - len(text.encode()) % 4096 - 1
    text = text.replace("version: 1\n", "version: 1\n" + "#" * padding + "\n", 1)
    path.write_text(text, encoding="utf-8")
    assert path.stat().st_size % 4096 == 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(CassetteError, match=r"page\.yaml:\d+: field 'method' must be an HTTP method"):
            load_cassette(str(path))


def test_record_append_refuses_a_defective_cassette_before_recording(tmp_path: Path) -> None:
    path = tmp_path / "chat.yaml"
    line = typo_in_last_interaction(path)
    before = path.read_bytes()
    result = invoke("record", "--cassette", str(path), "--append", "--upstream", "http://127.0.0.1:9")
    assert result.exit_code == 2, result.output
    assert f"{path}:{line}: unknown field 'size_byts'" in result.output
    assert path.read_bytes() == before


def test_the_plugin_refuses_a_typo_in_the_last_interaction_with_its_line(pytester: pytest.Pytester) -> None:
    target = pytester.path / "cassettes" / "test_typo" / "test_reply.yaml"
    target.parent.mkdir(parents=True)
    line = typo_in_last_interaction(target)
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\naddopts = -p no:cacheprovider\n")
    pytester.makepyfile(test_typo="def test_reply(chunktape):\n    raise AssertionError('never reached')\n")
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([f"*chunktape: {target}:{line}: unknown field 'size_byts'*"])
    assert "never reached" not in result.stdout.str()
    assert "holds no interactions" not in result.stdout.str()


def test_an_interrupted_recording_loads_with_its_tail_set_aside_and_says_what_and_where(tmp_path: Path) -> None:
    path = tmp_path / "chat.yaml"
    line, offset = interrupted(path, keep=300)
    with pytest.warns(CassetteWarning) as caught:
        cassette = load_cassette(str(path))
    assert len(cassette.interactions) == 1
    message = str(caught[0].message)
    assert message.startswith(f"{path}:{line}: an interrupted recording left an incomplete interaction here")
    assert f"300 bytes from byte {offset}" in message
    loaded = read_file(str(path))
    assert loaded.torn is not None
    assert (loaded.torn.line, loaded.torn.offset) == (line, offset)


def test_serve_and_inspect_read_an_interrupted_recording_and_report_the_tail(tmp_path: Path) -> None:
    path = tmp_path / "chat.yaml"
    line, _ = interrupted(path, keep=120)
    result = invoke("inspect", str(path))
    assert result.exit_code == 0, result.output
    assert f"{path}:{line}: an interrupted recording left an incomplete interaction here" in result.output


def test_before_the_marker_the_file_is_still_read_strictly(tmp_path: Path) -> None:
    path = tmp_path / "chat.yaml"
    interrupted(path, keep=120)
    path.write_bytes(path.read_bytes().replace(b"method: POST", b"method: 1234", 1))  # offsets unchanged
    with pytest.raises(CassetteError, match=r"chat\.yaml:\d+: field 'method' must be an HTTP method"):
        load_cassette(str(path))


def test_record_append_cuts_an_interrupted_tail_off_and_removes_the_marker(tmp_path: Path) -> None:
    from chunktape.recorder.writer import CassetteWriter

    path = tmp_path / "chat.yaml"
    _, offset = interrupted(path, keep=200)
    CassetteWriter(str(path), append=True).close()
    assert path.stat().st_size == offset
    assert not Path(f"{path}.recording").exists()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(load_cassette(str(path)).interactions) == 1


def test_a_marker_that_is_not_an_offset_is_refused_with_its_path(tmp_path: Path) -> None:
    path = tmp_path / "chat.yaml"
    shutil.copy(EXAMPLE, path)
    Path(f"{path}.recording").write_text("hello\n")
    with pytest.raises(CassetteError, match=r"chat\.yaml\.recording:1: is not a chunktape recording marker"):
        load_cassette(str(path))
