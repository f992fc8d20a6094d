"""The session's seed: what `--chunktape-seed=random` stands for in this run, chosen once
(by the xdist controller, then handed to every worker). Light on purpose: the report
header reads it on every pytest run, chunktape tests or not.
"""

from __future__ import annotations

import pytest

from chunktape.vocabulary import word

RANDOM_SEED = "random"
DEFAULT_SEED = int(word("seed").default or 0)
"""The seed when nothing sets one (`chunktape.knobs.DEFAULT_SEED` is the same table entry)."""

_SEED = pytest.StashKey[int]()


def chosen_seed(config: pytest.Config) -> str | None:
    """The seed as the command line or ini gives it (lowercased), or None."""
    value = config.getoption("chunktape_seed") or config.getini("chunktape_seed") or None
    return str(value).strip().lower() if value is not None else None


def session_seed(config: pytest.Config) -> int:
    """The seed that `random` stands for in this run: the xdist controller's, or one drawn
    once per session (then handed to every worker)."""
    known = config.stash.get(_SEED, None)
    if known is not None:
        return known
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None and "chunktape_seed" in workerinput:
        seed = int(workerinput["chunktape_seed"])
    elif chosen_seed(config) == RANDOM_SEED:
        import random

        seed = random.SystemRandom().randrange(1, 2**31)
    else:
        seed = DEFAULT_SEED
    config.stash[_SEED] = seed
    return seed
