"""docs/load-testing.md's Locust recipe runs, headless and small, against `serve --pool`."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.serving import serving

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "load-testing.md"


def _locustfile() -> str:
    blocks = re.findall(r"```python\n(# locustfile\.py\n.*?)```", DOC.read_text(), re.DOTALL)
    assert len(blocks) == 1, "docs/load-testing.md holds one ```python block starting with # locustfile.py"
    return blocks[0]


def test_the_locust_recipe_streams_recorded_chats_headless(tmp_path: Path) -> None:
    locust = shutil.which("locust", path=str(Path(sys.executable).parent))
    if locust is None:
        pytest.fail("locust is in the test dependency group: run scripts/bootstrap.sh")
    locustfile = tmp_path / "locustfile.py"
    locustfile.write_text(_locustfile())
    with serving(
        str(ROOT / "cassettes" / "openai_chat.yaml"), "--pool", "--timing", "sampled", "--speed", "4"
    ) as served:
        result = subprocess.run(
            [
                locust,
                "-f",
                str(locustfile),
                "--headless",
                "--users",
                "3",
                "--spawn-rate",
                "3",
                "--run-time",
                "3s",
                "--stop-timeout",
                "5",
                "--host",
                served.base_url,
                "--only-summary",
                "--loglevel",
                "WARNING",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=tmp_path,
        )
    report = result.stdout + result.stderr
    assert result.returncode == 0, report
    streams = re.search(r"POST\s+chat stream\s+(\d+)\s+(\d+)\(", report)
    first_events = re.search(r"SSE\s+time to first event\s+(\d+)\s+(\d+)\(", report)
    assert streams is not None, report
    assert first_events is not None, report
    assert int(streams.group(1)) >= 3  # every user finished a stream at least
    assert int(streams.group(2)) == 0  # and none failed
    assert int(first_events.group(1)) == int(streams.group(1))
