"""The official SDKs work through the recorder (reverse mode, `Recorder` API), and the
cassette they recorded replays to them through the in-process transport with httpx2."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from chunktape import ReplayTransport, load_cassette
from chunktape.recorder import Recorder
from tests.support.fakes.upstream import FakeUpstream
from tests.support.fakes.wire import EXCHANGES
from tests.support.sdk_calls import SYNC_CALLS

NAMES = sorted(SYNC_CALLS)


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeUpstream]:
    with FakeUpstream(speed=0) as server:
        yield server


@pytest.fixture(scope="module")
def cassette(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sdks") / "sdks.yaml"


@pytest.fixture(scope="module")
def recorder(upstream: FakeUpstream, cassette: Path) -> Iterator[Recorder]:
    with Recorder(str(cassette), upstream=upstream.base_url) as running:
        yield running


def wait_for_path(cassette: Path, path: str) -> None:
    """A Content-Length body is complete for the client a moment before it is on disk."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if any(i.request.path == path for i in load_cassette(str(cassette)).interactions):
            return
        time.sleep(0.01)
    raise AssertionError(f"{path} was not recorded")


@pytest.mark.parametrize("name", NAMES)
def test_the_sdk_works_through_the_recorder_and_its_recording_replays_to_it(
    name: str, recorder: Recorder, upstream: FakeUpstream, cassette: Path
) -> None:
    call, expected = SYNC_CALLS[name]
    assert call(recorder.base_url) == expected
    path = upstream.requests[-1].path_only
    wait_for_path(cassette, path)
    [interaction] = [i for i in load_cassette(str(cassette)).interactions if i.request.path == path]
    assert interaction.response.body == b"".join(data for _, data in EXCHANGES[name].chunks)

    with httpx2.Client(transport=ReplayTransport(str(cassette), speed=0)) as replay_client:
        assert call("http://replay.test", replay_client) == expected


def test_sdk_api_keys_never_reach_the_cassette(recorder: Recorder, cassette: Path) -> None:
    SYNC_CALLS["anthropic_messages"][0](recorder.base_url)
    SYNC_CALLS["openai_chat"][0](recorder.base_url)
    SYNC_CALLS["gemini_stream"][0](recorder.base_url)
    text = cassette.read_text(encoding="utf-8")
    for key in ("test-key-not-secret", "sk-test-not-secret", "sk-ant-test-not-secret"):
        assert key not in text
