"""The cassette persister: cassette files to and from the model. A front door only:

- `yaml_writer.py` / `reader.py`: the YAML text chunktape writes, and a fast reader for it;
- `yaml_fallback.py`: PyYAML for any other YAML, and the line of a problem;
- `schema.py` (with `fields.py`, `session_schema.py`): the document to and from the model, checked;
- `text.py`: a cassette's text to and from the model, strictly;
- `streaming.py`: a file in chunktape's layout loaded one interaction at a time;
- `journal.py`: the append/recover protocol (the `.recording` marker, the lock, torn tails);
- `storage.py`: files: read, replace atomically, append durably, modes as an editor's;
- `persister.py`: `load_cassette`, `save_cassette`, `FilesystemPersister`.
"""

from __future__ import annotations

from chunktape.persist.journal import Journal, Loaded, TornTail, read_cassette, read_file
from chunktape.persist.persister import FilesystemPersister, load_cassette, save_cassette
from chunktape.persist.schema import FORMAT_VERSION
from chunktape.persist.streaming import stream_cassette
from chunktape.persist.text import appendable_end, cassette_of, dumps, dumps_items, interaction_text, loads

__all__ = [
    "FORMAT_VERSION",
    "FilesystemPersister",
    "Journal",
    "Loaded",
    "TornTail",
    "appendable_end",
    "cassette_of",
    "dumps",
    "dumps_items",
    "interaction_text",
    "load_cassette",
    "loads",
    "read_cassette",
    "read_file",
    "save_cassette",
    "stream_cassette",
]
