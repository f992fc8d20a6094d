"""The pytest plugin's one switch for virtual time, as users write it: clock="virtual" on
the chunktape marker, with pytest-asyncio (looptime is turned on for the test) or with
anyio on a test clock; and what sync tests get from it."""

from __future__ import annotations

import time

import pytest

from tests.support.builders import sse_cassette

pytest_plugins = ["pytester"]

INI = """
[pytest]
asyncio_default_fixture_loop_scope = function
addopts = -p no:cacheprovider
"""
# recorded: first chunk at 1 s, then ten minutes of silence, then the rest
TIMES = [1.0, 601.0, 601.25, 601.3]

STREAM_TEST = """
import httpx2
import pytest

URL = "http://replay.test/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
BODY = {"contents": [{"parts": [{"text": "hi"}], "role": "user"}]}


async def replay(chunktape, timeout=None):
    async with httpx2.AsyncClient(transport=chunktape.async_transport(), timeout=timeout) as client:
        clock = chunktape.clock()
        try:
            async with client.stream("POST", URL, json=BODY) as response:
                await clock.observe(response.aiter_raw()).adrain()
        except httpx2.ReadTimeout:
            pass
    return clock
"""


def project(pytester: pytest.Pytester, conftest: str = "") -> None:
    pytester.makeini(INI)
    cassettes = pytester.path / "cassettes"
    cassettes.mkdir()
    sse_cassette(times=TIMES, headers_at_s=0.5).save(str(cassettes / "stall.yaml"))
    pytester.makepyfile(replaying=STREAM_TEST)
    if conftest:
        pytester.makeconftest(conftest)


def run_quickly(pytester: pytest.Pytester, *args: str, passed: int) -> pytest.RunResult:
    started = time.perf_counter()
    result = pytester.runpytest_subprocess(*args)
    result.assert_outcomes(passed=passed)
    assert time.perf_counter() - started < 60  # a ten-minute stall, replayed in seconds at most
    return result


def test_clock_virtual_on_a_pytest_asyncio_test_fast_forwards_with_looptime(pytester: pytest.Pytester) -> None:
    project(pytester)
    pytester.makepyfile(
        test_stall="""
        import pytest
        from replaying import replay


        @pytest.mark.asyncio
        @pytest.mark.chunktape("stall.yaml", clock="virtual")
        async def test_ten_minutes_of_silence(chunktape):
            clock = await replay(chunktape)
            assert clock.arrivals_s == [1.0, 601.0, 601.25, 601.3]


        @pytest.mark.asyncio
        @pytest.mark.chunktape("stall.yaml", clock="virtual")
        async def test_the_read_timeout_fires_at_stall_start_plus_timeout(chunktape):
            clock = await replay(chunktape, timeout=10.0)
            assert clock.arrivals_s == [1.0]
            assert type(clock.error).__name__ == "ReadTimeout" and clock.total_s == 11.0
        """
    )
    run_quickly(pytester, passed=2)


def test_clock_virtual_with_anyio_on_trio_mock_clock_and_on_looptime(pytester: pytest.Pytester) -> None:
    project(
        pytester,
        conftest="""
        import looptime
        import pytest
        from trio.testing import MockClock


        @pytest.fixture(params=["asyncio", "trio"])
        def anyio_backend(request):
            if request.param == "trio":
                return ("trio", {"clock": MockClock(autojump_threshold=0)})
            return ("asyncio", {"loop_factory": looptime.new_event_loop})
        """,
    )
    pytester.makepyfile(
        test_stall="""
        import pytest
        from replaying import replay


        @pytest.mark.anyio
        @pytest.mark.chunktape("stall.yaml", clock="virtual")
        async def test_ten_minutes_of_silence(chunktape):
            clock = await replay(chunktape)
            assert clock.arrivals_s == pytest.approx([1.0, 601.0, 601.25, 601.3], abs=1e-6)
        """
    )
    run_quickly(pytester, passed=2)


def test_clock_virtual_on_a_real_loop_fails_with_the_fix(pytester: pytest.Pytester) -> None:
    project(pytester, conftest="import pytest\n\n@pytest.fixture\ndef anyio_backend():\n    return 'asyncio'\n")
    pytester.makepyfile(
        test_stall="""
        import pytest
        from replaying import replay


        @pytest.mark.anyio
        @pytest.mark.chunktape("stall.yaml", clock="virtual")
        async def test_on_real_time(chunktape):
            await replay(chunktape)
        """
    )
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*clock 'virtual' needs an event loop on a test clock*@pytest.mark.looptime*"])


def test_clock_virtual_in_a_sync_test_steps_through_the_beats_without_waiting(pytester: pytest.Pytester) -> None:
    project(pytester)
    pytester.makepyfile(
        test_stall="""
        import time

        import httpx2
        import pytest
        from replaying import BODY, URL


        def replay(chunktape, timeout=None):
            with httpx2.Client(transport=chunktape.transport(), timeout=timeout) as client:
                clock = chunktape.clock()
                try:
                    with client.stream("POST", URL, json=BODY) as response:
                        clock.observe(response.iter_raw()).drain()
                except httpx2.ReadTimeout:
                    pass
            return clock


        @pytest.mark.chunktape("stall.yaml", clock="virtual")
        def test_beats_land_on_the_recorded_times(chunktape):
            started = time.perf_counter()
            clock = replay(chunktape)
            assert clock.arrivals_s == [1.0, 601.0, 601.25, 601.3]
            assert time.perf_counter() - started < 30


        @pytest.mark.chunktape("stall.yaml", clock="virtual")
        def test_the_read_timeout_is_decided_by_the_recorded_rhythm(chunktape):
            clock = replay(chunktape, timeout=10.0)
            assert clock.arrivals_s == [1.0] and clock.total_s == 11.0
        """
    )
    run_quickly(pytester, passed=2)


def test_an_unknown_clock_is_one_clear_line(pytester: pytest.Pytester) -> None:
    project(pytester)
    pytester.makepyfile(
        test_bad="""
        import pytest


        @pytest.mark.chunktape("stall.yaml", clock="fast")
        def test_bad(chunktape):
            pass
        """
    )
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*chunktape: *(clock='fast'): unknown clock; use one of auto, real, virtual"])
