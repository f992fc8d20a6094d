"""Recording loses nothing: several processes creating one new cassette keep every interaction;
`--chunktape-record-mode=all` re-records per run, not per test (with and without xdist); a
recording that captured nothing writes no file; files take the umask and keep their mode."""

from __future__ import annotations

import multiprocessing
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from chunktape import Cassette, Chunk, Interaction, Request, Response, load_cassette, save_cassette
from chunktape.recorder.writer import CassetteWriter
from tests.support.fakes.upstream import FakeUpstream
from tests.support.fakes.wire import WireExchange
from tests.support.serving import invoke

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[2]


def interaction(worker: int, n: int) -> Interaction:
    chunks = (Chunk(0.1, f'data: {{"w":{worker},"n":{n}}}\n\n'.encode()),)
    return Interaction(
        Request("POST", f"https://api.example.test/v1/w{worker}/n{n}", (("content-type", "application/json"),), b"{}"),
        Response(200, (("content-type", "text/event-stream"),), 0.05, chunks, ended_at_s=0.2),
    )


def _record_in_a_process(
    path: str, worker: int, count: int, append: bool, start: multiprocessing.synchronize.Barrier
) -> None:  # type: ignore[name-defined]
    writer = CassetteWriter(path, append=append)
    start.wait(30)
    try:
        for n in range(count):
            writer.add(interaction(worker, n)).result(30)
    finally:
        writer.close()


@pytest.mark.parametrize("append", [False, True], ids=["fresh", "append"])
def test_several_processes_recording_into_one_new_cassette_keep_every_interaction(tmp_path: Path, append: bool) -> None:
    """Each process is a recorder's writer (what `record` and every xdist worker's recorder
    run): all open the missing cassette, then race to write their first interactions."""
    path = str(tmp_path / "new" / "shared.yaml")
    workers, count = 4, 6
    context = multiprocessing.get_context("fork")
    start = context.Barrier(workers)
    processes = [
        context.Process(target=_record_in_a_process, args=(path, worker, count, append, start))
        for worker in range(workers)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(60)
        assert process.exitcode == 0
    urls = sorted(i.request.url for i in load_cassette(path).interactions)
    assert urls == sorted(interaction(w, n).request.url for w in range(workers) for n in range(count))
    assert not os.path.exists(path + ".recording")


def test_a_recording_started_afresh_replaces_only_what_was_there_before_it(tmp_path: Path) -> None:
    """Two `record` runs without --append into one old cassette: the old interaction goes,
    both runs' interactions stay."""
    path = str(tmp_path / "c.yaml")
    save_cassette(Cassette([interaction(9, 9)]), path)
    first, second = CassetteWriter(path), CassetteWriter(path)
    try:
        first.add(interaction(1, 0)).result(10)
        second.add(interaction(2, 0)).result(10)
        first.add(interaction(1, 1)).result(10)
    finally:
        first.close()
        second.close()
    urls = [i.request.url for i in load_cassette(path).interactions]
    assert urls == [interaction(w, n).request.url for w, n in [(1, 0), (2, 0), (1, 1)]]


# ---------------------------------------------------------------- modes and folders


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: str | Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.usefixtures("umask_022")
def test_a_new_cassette_takes_the_umask_and_a_chmod_survives_re_recording(tmp_path: Path) -> None:
    path = str(tmp_path / "deep" / "c.yaml")
    writer = CassetteWriter(path)
    writer.add(interaction(0, 0)).result(10)
    writer.close()
    assert mode(path) == 0o644
    os.chmod(path, 0o664)
    again = CassetteWriter(path)  # re-recording from scratch: the file is replaced
    again.add(interaction(0, 1)).result(10)
    again.close()
    assert mode(path) == 0o664
    save_cassette(load_cassette(path), path)
    assert mode(path) == 0o664
    save_cassette(load_cassette(path), str(tmp_path / "other" / "new.yaml"))
    assert mode(tmp_path / "other" / "new.yaml") == 0o644


@pytest.mark.usefixtures("umask_022")
def test_every_output_creates_its_folders_and_takes_the_umask(tmp_path: Path) -> None:
    """`inspect --html`, `export har` and `import har` into folders that do not exist yet."""
    example = str(ROOT / "cassettes" / "openai_chat.yaml")
    page, har, cassette = tmp_path / "pages" / "t.html", tmp_path / "hars" / "c.har", tmp_path / "new" / "c.yaml"
    for args in (
        ["inspect", "--html", str(page), example],
        ["export", "har", example, "-o", str(har)],
        ["import", "har", str(har), "-o", str(cassette)],
    ):
        result = invoke(*args)
        assert result.exit_code == 0, result.output
    assert [mode(path) for path in (page, har, cassette)] == [0o644] * 3
    os.chmod(cassette, 0o664)
    assert invoke("import", "har", str(har), "-o", str(cassette)).exit_code == 0
    assert mode(cassette) == 0o664


# ---------------------------------------------------------------- pytest: all is per run

EVENTS = 3


def exchange(n: int) -> WireExchange:
    return WireExchange(
        name=f"shared_{n}",
        method="POST",
        path=f"/v1/shared/{n}",
        request_json={"n": n},
        status=200,
        headers=(("content-type", "text/event-stream"),),
        chunks=tuple((0.001, f'data: {{"n":{n},"part":{part}}}\n\n'.encode()) for part in range(EVENTS)),
        text="",
        streamed=True,
    )


TESTS = 3


@pytest.fixture(scope="module")
def shared_upstream() -> Iterator[FakeUpstream]:
    with FakeUpstream({f"shared_{n}": exchange(n) for n in range(TESTS)}, speed=0) as server:
        yield server


def shared_project(pytester: pytest.Pytester, upstream: FakeUpstream) -> Path:
    """TESTS tests sharing one cassette, which already holds a stale interaction."""
    pytester.makeini(
        "[pytest]\nasyncio_default_fixture_loop_scope = function\naddopts = -p no:cacheprovider -p no:randomly\n"
    )
    pytester.makepyfile(
        test_shared=f"""
        import httpx
        import pytest

        @pytest.mark.parametrize("n", range({TESTS}))
        @pytest.mark.chunktape("shared.yaml", upstream={upstream.base_url!r}, speed=0)
        def test_stream(chunktape, n):
            with httpx.Client(base_url=chunktape.base_url, timeout=30) as http:
                reply = http.post(f"/v1/shared/{{n}}", json={{"n": n}})
            assert reply.status_code == 200
            assert reply.text.count("data:") == {EVENTS}
        """
    )
    cassette = pytester.path / "cassettes" / "shared.yaml"
    cassette.parent.mkdir()
    stale = Interaction(Request("GET", f"{upstream.base_url}/stale"), Response(200, (), 0.0))
    save_cassette(Cassette([stale]), str(cassette))
    return cassette


def test_record_mode_all_re_records_per_run_and_keeps_every_test_of_it(
    pytester: pytest.Pytester, shared_upstream: FakeUpstream
) -> None:
    """Run 1 in one process, run 2 with two xdist workers: each starts the cassette afresh
    (the stale interaction, then run 1's, are gone) and keeps every test of its own run."""
    cassette = shared_project(pytester, shared_upstream)
    for run in (pytester.runpytest, lambda *args: pytester.runpytest_subprocess("-n", "2", *args)):
        run("--chunktape-record-mode=all").assert_outcomes(passed=TESTS)
        paths = [i.request.url.rsplit("/", 1)[1] for i in load_cassette(str(cassette)).interactions]
        assert sorted(paths) == [str(n) for n in range(TESTS)], paths
    pytester.runpytest().assert_outcomes(passed=TESTS)  # the next plain run replays them all


# ---------------------------------------------------------------- a recording that failed


def test_an_unreachable_upstream_is_one_line_and_the_failed_recording_writes_no_file(
    pytester: pytest.Pytester,
) -> None:
    """Nothing listens on port 9: the test fails with one line naming the upstream and why;
    no cassette is left, so the next `once` run records instead of replaying nothing."""
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\naddopts = -p no:cacheprovider\n")
    pytester.makepyfile(
        test_dead="""
        import httpx
        import pytest

        @pytest.mark.chunktape(upstream="http://127.0.0.1:9")
        def test_chat(chunktape):
            with httpx.Client(base_url=chunktape.base_url, timeout=30) as http:
                http.post("/v1/chat", json={"n": 1}).raise_for_status()
        """
    )
    result = pytester.runpytest("--chunktape-record-mode=once")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*chunktape: could not reach the upstream http://127.0.0.1:9 (connection refused); POST */v1/chat was not*"]
    )
    assert "RemoteProtocolError" not in result.stdout.str()
    assert not (pytester.path / "cassettes" / "test_dead" / "test_chat.yaml").exists()
