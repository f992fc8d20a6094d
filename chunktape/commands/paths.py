"""PATH arguments: files as given, directories as every cassette inside them."""

from __future__ import annotations

import os
from collections.abc import Iterable

from chunktape.errors import CassetteError

CASSETTE_SUFFIXES = (".yaml", ".yml")


def cassette_paths(paths: Iterable[str]) -> list[str]:
    """Each file as given; each directory as its *.yaml / *.yml files, recursively, sorted.

    A directory holding no cassette is an error: it is almost always a wrong path.
    """
    found: list[str] = []
    for path in paths:
        if not os.path.isdir(path):
            found.append(path)
            continue
        inside = sorted(
            os.path.join(root, name)
            for root, _, names in os.walk(path)
            for name in names
            if name.endswith(CASSETTE_SUFFIXES) and not name.startswith(".")
        )
        if not inside:
            raise CassetteError(path, None, "is a directory with no *.yaml or *.yml cassettes in it")
        found.extend(inside)
    return found
