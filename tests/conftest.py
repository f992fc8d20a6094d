"""Shared test settings: hypothesis runs briefly by default and long on demand.

scripts/test.sh --hypothesis-profile=fuzz -k properties   # 20,000 examples per property
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings

settings.register_profile("default", max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("fuzz", max_examples=20_000, deadline=None, suppress_health_check=list(HealthCheck))
settings.load_profile("default")
