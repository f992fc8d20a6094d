"""Cassettes as YAML files on disk, in the vcrpy sense: what `Cassette.load` and `Cassette.save` use."""

from __future__ import annotations

from collections.abc import Iterable

from chunktape.cassette import Cassette
from chunktape.persist.journal import load_items, replace_cassette
from chunktape.persist.text import cassette_of, dumps


def load_cassette(path: str) -> Cassette:
    """Read and validate a cassette file; any problem raises CassetteError with `path:line`.
    An append a crashed recorder left unfinished is set aside with a CassetteWarning."""
    return cassette_of(load_items(path), path=path)


def save_cassette(cassette: Cassette, path: str, *, redact: Iterable[str] = ()) -> None:
    """Write atomically: a crash leaves either the old file or the new one, never half of one."""
    replace_cassette(path, dumps(cassette, redact=redact))


class FilesystemPersister:
    """Cassettes as YAML files on disk: what `Cassette.load` and `Cassette.save` use."""

    def load(self, path: str) -> Cassette:
        return load_cassette(path)

    def save(self, cassette: Cassette, path: str, *, redact: Iterable[str] = ()) -> None:
        save_cassette(cassette, path, redact=redact)
