"""The public API is what `chunktape/__init__.py` names, and importing it stays light."""

from __future__ import annotations

import subprocess
import sys

import pytest

import chunktape


def test_every_public_name_resolves() -> None:
    for name in chunktape.__all__:
        assert getattr(chunktape, name) is not None, name


def test_import_chunktape_loads_no_server_proxy_or_test_framework() -> None:
    code = "import sys, chunktape; print(sorted(m for m in ('uvicorn', 'mitmproxy', 'pytest') if m in sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == "[]"


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="DoesNotExist"):
        chunktape.DoesNotExist  # type: ignore[attr-defined]  # noqa: B018
