"""Shared test settings: hypothesis runs briefly by default and long on demand.

scripts/test.sh --hypothesis-profile=fuzz -k properties   # 20,000 examples per property
scripts/test.sh --hypothesis-profile=fuzz --timeout=0 -k fuzz   # the fuzzers: minutes each, past the 120 s timeout
"""

from __future__ import annotations

import gc
import importlib
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

# pytester's in-process runs drop every module first imported inside them when they end. An
# HTTP stack first imported there would be imported again later as new module objects, and
# httpx2 would then no longer recognise httpcore2's exceptions (a cut stream reaching an SDK
# as a raw httpcore2 error). Importing them here keeps one copy for the whole session.
for _library in ("httpx", "httpcore", "httpx2", "httpcore2", "h11", "anyio", "openai", "anthropic", "google.genai"):
    importlib.import_module(_library)

settings.register_profile("default", max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("fuzz", max_examples=20_000, deadline=None, suppress_health_check=list(HealthCheck))
settings.load_profile("default")


@pytest.fixture
def quiet_gc() -> Iterator[None]:
    """For tests that time a stream: collect and freeze what earlier tests left on the heap,
    so a full collection of it cannot land inside the measured window."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
