"""Kept for imports written against chunktape 0.1: the cassette file functions now live in
`chunktape.persist` (emitter, reader, schema, storage); use `chunktape.load_cassette` and
`chunktape.save_cassette`."""

from __future__ import annotations

from chunktape.persist import FORMAT_VERSION, dumps, load_cassette, loads, save_cassette

__all__ = ["FORMAT_VERSION", "dumps", "load_cassette", "loads", "save_cassette"]
