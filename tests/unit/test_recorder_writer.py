"""The cassette file as the recording journal: appended, never rewritten; an append a crash
interrupted (its `.recording` marker left behind) is recovered and reported, and nothing
else is; files written by chunktape 0.1 keep working."""

from __future__ import annotations

import logging
import os
import shutil
import warnings
from pathlib import Path

import pytest

from chunktape import Cassette, CassetteError, CassetteWarning, Chunk, Interaction, Request, Response, load_cassette
from chunktape.persist import dumps, save_cassette
from chunktape.recorder.writer import CassetteWriter

LEGACY = Path(__file__).resolve().parents[1] / "support" / "legacy"


def interaction(n: int, events: int = 3) -> Interaction:
    chunks = tuple(
        Chunk(round(0.1 * (i + 1), 6), f'data: {{"n":{n},"i":{i},"t":"第{i}段"}}\n\n'.encode()) for i in range(events)
    )
    return Interaction(
        Request("POST", f"https://api.example.test/v1/chat?n={n}", (("content-type", "application/json"),), b"{}"),
        Response(200, (("content-type", "text/event-stream"),), 0.05, chunks, ended_at_s=round(0.1 * events, 6)),
    )


def record(path: Path, items: list[Interaction], *, append: bool = False) -> None:
    writer = CassetteWriter(str(path), append=append)
    try:
        for item in items:
            writer.add(item).result(10)
    finally:
        writer.close()


def test_each_interaction_is_appended_without_rewriting_what_is_there(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    writer = CassetteWriter(str(path))
    try:
        writer.add(interaction(0)).result(10)
        inode, before = os.stat(path).st_ino, path.read_bytes()
        for n in range(1, 4):
            writer.add(interaction(n)).result(10)
            assert os.stat(path).st_ino == inode  # the same file: never replaced
            after = path.read_bytes()
            assert after.startswith(before)  # what was there is untouched
            before = after
    finally:
        writer.close()
    assert load_cassette(str(path)).interactions == [interaction(n) for n in range(4)]
    assert path.read_text(encoding="utf-8") == dumps(Cassette([interaction(n) for n in range(4)]))


def test_a_recording_that_captured_nothing_writes_no_file(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    CassetteWriter(str(path)).close()
    assert not path.exists()
    save_cassette(Cassette([interaction(1)]), str(path))
    before = path.read_bytes()
    CassetteWriter(str(path)).close()
    assert path.read_bytes() == before


def tear(path: Path, cut_at: int) -> None:
    """What a recorder killed mid-append leaves: the marker saying where the append began
    (the last item here), and the file cut at `cut_at`."""
    data = path.read_bytes()
    Path(str(path) + ".recording").write_text(f"{last_item_offset(path)}\n")
    path.write_bytes(data[:cut_at])


def last_item_offset(path: Path) -> int:
    return path.read_bytes().rindex(b"\n- ") + 1


def test_an_interrupted_append_is_set_aside_with_a_warning_that_says_what_and_where(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    save_cassette(Cassette([interaction(n) for n in range(3)]), str(path))
    start = last_item_offset(path)
    line = path.read_bytes()[:start].count(b"\n") + 1
    tear(path, start + 40)
    with pytest.warns(CassetteWarning, match=rf"c\.yaml:{line}: an interrupted recording left an incomplete") as caught:
        loaded = load_cassette(str(path))
    assert loaded.interactions == [interaction(0), interaction(1)]
    assert "40 bytes from byte" in str(caught[0].message)
    assert "kept the 2 interactions before" in str(caught[0].message)


def test_a_torn_tail_without_a_marker_is_refused_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    save_cassette(Cassette([interaction(n) for n in range(3)]), str(path))
    start = last_item_offset(path)
    path.write_bytes(path.read_bytes()[: start + 40])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(CassetteError, match=r"c\.yaml:\d+: "):
            load_cassette(str(path))


def test_a_marker_whose_append_had_finished_loses_nothing(tmp_path: Path) -> None:
    """The recorder died after its append was synced, before it removed the marker."""
    path = tmp_path / "c.yaml"
    save_cassette(Cassette([interaction(n) for n in range(3)]), str(path))
    tear(path, path.stat().st_size)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(load_cassette(str(path))) == 3


def test_a_tear_on_a_page_boundary_is_recovered_too(tmp_path: Path) -> None:
    """A killed process's write stops between 4 KiB pages: the file may then end on a line break."""
    path = tmp_path / "c.yaml"
    items = [interaction(n, events=40) for n in range(4)]
    save_cassette(Cassette(items), str(path))
    start = last_item_offset(path)
    page_end = (start // 4096 + 1) * 4096
    assert page_end < path.stat().st_size, "the last interaction must span a page boundary"
    tear(path, page_end)
    with pytest.warns(CassetteWarning, match="an interrupted recording left an incomplete interaction"):
        assert load_cassette(str(path)).interactions == items[:3]


def test_a_broken_last_interaction_in_a_whole_file_is_an_error_not_a_tear(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    save_cassette(Cassette([interaction(n) for n in range(2)]), str(path))
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("method: POST", "method: [POST]", 2)[:-1] + "\n", encoding="utf-8")
    assert path.stat().st_size % 4096
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(CassetteError, match="field 'method' must be an HTTP method"):
            load_cassette(str(path))


def test_appending_removes_a_torn_tail_and_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # an earlier test in the same worker may have configured logging (uvicorn, mitmproxy): the
    # recorder's lines must still reach caplog's handler on the root logger
    for name in ("chunktape", "chunktape.recorder"):
        monkeypatch.setattr(logging.getLogger(name), "propagate", True)
        monkeypatch.setattr(logging.getLogger(name), "disabled", False)
    path = tmp_path / "c.yaml"
    save_cassette(Cassette([interaction(n) for n in range(3)]), str(path))
    tear(path, last_item_offset(path) + 25)
    with caplog.at_level(logging.WARNING, logger="chunktape.recorder"):
        record(path, [interaction(9)], append=True)
    assert "an interrupted recording left an incomplete interaction here" in caplog.text
    assert "cut them off" in caplog.text
    assert not Path(str(path) + ".recording").exists()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load_cassette(str(path)).interactions == [interaction(0), interaction(1), interaction(9)]


@pytest.mark.parametrize("name", ["gemini_stream_chunktape_0_1.yaml", "openai_chat_chunktape_0_1.yaml"])
def test_appending_to_a_cassette_written_by_chunktape_0_1_keeps_it_and_adds_after(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    shutil.copy(LEGACY / name, path)
    old_bytes = path.read_bytes()
    old = load_cassette(str(path)).interactions
    assert old
    record(path, [interaction(7)], append=True)
    assert path.read_bytes().startswith(old_bytes)
    assert load_cassette(str(path)).interactions == [*old, interaction(7)]


def test_a_cassette_in_another_layout_is_rewritten_once_then_appended(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(
        "interactions:\n- request: {method: GET, url: 'http://x.test/'}\n"
        "  response: {status: 200, headers_at_s: 0.0, chunks: []}\nversion: 1\n",
        encoding="utf-8",
    )
    record(path, [interaction(1)], append=True)
    loaded = load_cassette(str(path)).interactions
    assert [i.request.url for i in loaded] == ["http://x.test/", interaction(1).request.url]
    assert path.read_text(encoding="utf-8").startswith("version: 1\ninteractions:\n- request:")


def test_new_redact_names_are_applied_to_what_was_already_written(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    secret = Interaction(
        Request("GET", "https://x.test/?session=S3CRET-VALUE", (("x-session", "S3CRET-VALUE"),)),
        Response(200, (), 0.0),
    )
    writer = CassetteWriter(str(path))
    try:
        writer.add(secret).result(10)
        assert "S3CRET-VALUE" in path.read_text()
        writer.redact = ("x-session", "session")
        writer.add(interaction(1)).result(10)
    finally:
        writer.close()
    assert "S3CRET-VALUE" not in path.read_text()
    assert len(load_cassette(str(path))) == 2
