"""The append/recover protocol: the marker holds an offset only while an append is in flight,
starting afresh happens once (per recording, or per run), and recovery is exact."""

from __future__ import annotations

from pathlib import Path

import pytest

from chunktape import Cassette, Chunk, Interaction, Request, Response, load_cassette, save_cassette
from chunktape.persist import Journal, interaction_text, read_file
from chunktape.persist import journal as journal_module


def item(n: int) -> Interaction:
    return Interaction(
        Request("GET", f"https://x.test/{n}"), Response(200, (), 0.0, (Chunk(0.1, f"body {n}".encode()),))
    )


def test_the_marker_holds_the_offset_while_the_append_runs_and_is_empty_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "c.yaml"
    save_cassette(Cassette([item(0)]), str(path))
    size = path.stat().st_size
    seen: list[str] = []
    real = journal_module.append_text

    def watching(target: str, text: str) -> None:
        seen.append(Path(f"{target}.recording").read_text())
        real(target, text)

    monkeypatch.setattr(journal_module, "append_text", watching)
    journal = Journal(str(path), append=True)
    journal.add(interaction_text(item(1)))
    assert seen == [f"{size}\n"]
    assert Path(f"{path}.recording").read_text() == ""
    journal.close()
    assert not Path(f"{path}.recording").exists()
    assert [i.request.url for i in load_cassette(str(path)).interactions] == ["https://x.test/0", "https://x.test/1"]


def test_an_empty_marker_means_nothing_in_flight_and_the_file_is_read_strictly(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    save_cassette(Cassette([item(0)]), str(path))
    Path(f"{path}.recording").write_text("")
    path.write_bytes(path.read_bytes()[:-5])
    with pytest.raises(Exception, match=r"c\.yaml:\d+: "):
        read_file(str(path))


def test_once_per_run_only_the_first_writer_of_the_run_starts_afresh(tmp_path: Path) -> None:
    path, run = tmp_path / "c.yaml", tmp_path / "run"
    run.mkdir()
    save_cassette(Cassette([item(9)]), str(path))  # from an earlier run
    for n in range(3):
        journal = Journal(str(path), once_per_run=str(run))
        journal.add(interaction_text(item(n)))
        journal.close()
    assert [i.request.url for i in load_cassette(str(path)).interactions] == [f"https://x.test/{n}" for n in range(3)]


def test_starting_afresh_without_a_run_replaces_the_file_found_at_the_start_only(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    save_cassette(Cassette([item(9)]), str(path))
    first = Journal(str(path))
    first.add(interaction_text(item(0)))
    later = Journal(str(path))  # began after the first wrote: its file is the one to replace
    later.add(interaction_text(item(1)))
    assert [i.request.url for i in load_cassette(str(path)).interactions] == ["https://x.test/1"]


def test_a_journal_that_never_wrote_leaves_no_file(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    Journal(str(path)).close()
    assert not path.exists()
