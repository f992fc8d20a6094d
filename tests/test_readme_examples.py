"""The README's code examples run as written: a user copies them first."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def python_block_after(heading: str) -> str:
    section = README.split(f"## {heading}", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match is not None, f"no python example under {heading!r}"
    return match.group(1)


def test_the_in_process_example_streams_the_recorded_chat(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    namespace: dict[str, object] = {}
    exec(python_block_after("Replay in-process (no sockets)"), namespace)
    client = namespace["client"]
    stream = client.chat.completions.create(  # type: ignore[attr-defined]
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "用中文打个招呼，再提一下 OpenAI。"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    assert "OpenAI" in text


def test_the_use_it_in_your_tests_example_passes(pytester: pytest.Pytester) -> None:
    (pytester.path / "cassettes").mkdir()
    shutil.copy(ROOT / "cassettes" / "gemini_stream.yaml", pytester.path / "cassettes" / "gemini_stream.yaml")
    pytester.makepyfile(test_readme=python_block_after("Use it in your tests"))
    result = pytester.runpytest_subprocess("-k", "test_renders_every_chunk", "-p", "no:randomly")
    result.assert_outcomes(passed=1, deselected=1)
