"""Cassettes that chunktape must refuse: one small file each, and the table of what to expect.

Each file is a valid cassette with one thing broken (or not a cassette at all). The table
gives the line the error must point at and a phrase from its message; every surface that
reads cassettes (loading, `chunktape validate`, `chunktape serve`, the pytest plugin) is
run against every row. Inputs that cannot be committed are made at test time: a directory
where a file is expected, and a 50 MB cassette (`write_big_cassette`).
"""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass
from pathlib import Path

from chunktape import Cassette, Chunk, Interaction, Request, Response
from chunktape.persist import dumps

CORPUS = Path(__file__).resolve().parent


@dataclass(frozen=True)
class BadInput:
    """One bad cassette: its file name, the line its error names (None: no line applies), a
    phrase of the message."""

    name: str
    line: int | None
    message: str


CASES: tuple[BadInput, ...] = (
    BadInput("alias_bomb.yaml", 9, "used again through an alias"),
    BadInput("binary.yaml", 1, "is not UTF-8 text"),
    BadInput("body_on_204.yaml", 21, "a 204 response has no body"),
    BadInput("chunk_of_zero_bytes.yaml", 29, "size_bytes must be at least 1, not 0"),
    BadInput("chunk_time_as_text.yaml", 29, "field 'at_s' must be a number of seconds"),
    BadInput("chunk_time_infinite.yaml", 29, "must be a finite time >= 0"),
    BadInput("chunks_backwards.yaml", 28, "goes back in time"),
    BadInput("chunks_beyond_body.yaml", 30, "chunks cover more bytes than the body has"),
    BadInput("chunks_short_of_body.yaml", 26, "chunk sizes add up to 122 bytes but the body has 209"),
    BadInput("comments_only.yaml", 1, "a cassette is a mapping"),
    BadInput("empty.yaml", 1, "is empty"),
    BadInput("header_as_number.yaml", 19, "header 'x-request-id' must have a text value"),
    BadInput("header_line_break.yaml", 19, "holds a line break"),
    BadInput("impossible_date.yaml", 14, "invalid YAML: cannot read '2024-02-30' as a YAML timestamp"),
    BadInput("invalid_base64.yaml", 21, "not valid base64"),
    BadInput("invalid_escape.yaml", 25, "invalid YAML: found unknown escape character"),
    BadInput("invalid_unicode_escape.yaml", 13, "invalid YAML: found invalid Unicode character escape"),
    BadInput("malformed_yaml.yaml", 17, "invalid YAML"),
    BadInput("missing_response.yaml", 3, "missing field 'response'"),
    BadInput("missing_url.yaml", 3, "missing field 'url'"),
    BadInput("no_version.yaml", 1, "missing field 'version'"),
    BadInput("non_utf8.yaml", 13, "is not UTF-8 text"),
    BadInput("not_a_mapping.yaml", 1, "a cassette is a mapping"),
    BadInput("nul_character.yaml", 13, "unacceptable character #x0000"),
    BadInput("status_as_text.yaml", 16, "field 'status' must be an HTTP status code"),
    BadInput("status_not_final.yaml", 16, "status 101 is not the status of a final HTTP response"),
    BadInput("unknown_field.yaml", 5, "unknown field 'colour'"),
    BadInput("unknown_version.yaml", 1, "unknown cassette version 2"),
    BadInput("url_unusable.yaml", 5, "field 'url' is not a usable URL"),
    BadInput("version_as_text.yaml", 1, "unknown cassette version '1'"),
)
DIRECTORY = BadInput("a_directory.yaml", None, "is a directory")
"""Made at test time: a directory named like a cassette (git keeps no empty directories)."""


def copy_corpus(target: Path) -> Path:
    """Every bad input in `target` (created): the committed files and the directory case."""
    target.mkdir(parents=True, exist_ok=True)
    for case in CASES:
        shutil.copyfile(CORPUS / case.name, target / case.name)
    (target / DIRECTORY.name).mkdir()
    return target


def snapshot(directory: Path) -> dict[str, str]:
    """Every entry under `directory` with a digest of its bytes ("dir" for directories), to
    prove that refusing a bad input wrote nothing: no new file, no changed one."""
    state: dict[str, str] = {}
    for path in sorted(directory.rglob("*")):
        relative = str(path.relative_to(directory))
        state[relative] = "dir" if path.is_dir() else hashlib.sha256(path.read_bytes()).hexdigest()
    return state


BIG_BODY_BYTES = 1_000_000
BIG_EVENT = (
    'data: {"candidates":[{"content":{"parts":[{"text":"%06d 这是一段很长的流式输出，'
    + "mixed with English words " * 70
    + '"}],"role":"model"}}]}\n\n'
)


def big_interaction(number: int) -> Interaction:
    """About 1 MB of SSE events (each ~2 KB, CJK and ASCII), arriving 16 KB at a time."""
    events, size = [], 0
    while size < BIG_BODY_BYTES:
        event = (BIG_EVENT % (number * 1000 + len(events))).encode("utf-8")
        events.append(event)
        size += len(event)
    body = b"".join(events)
    chunks = tuple(
        Chunk(at_s=round(0.05 + 0.001 * index, 6), data=body[start : start + 16_384])
        for index, start in enumerate(range(0, len(body), 16_384))
    )
    request = Request(
        "POST",
        f"http://api.test/v1/stream?n={number}",
        (("content-type", "application/json"),),
        b'{"n":%d}' % number,
    )
    return Interaction(request, Response(200, (("content-type", "text/event-stream"),), 0.04, chunks))


def write_big_cassette(path: Path, size_bytes: int = 50_000_000, *, broken_at_end: bool = False) -> int:
    """A real-shaped cassette of at least `size_bytes` (made at test time: never committed);
    with `broken_at_end`, its very last line is invalid. Returns the interaction count."""
    one = len(dumps(Cassette([big_interaction(0)])).encode("utf-8"))
    count = -(-size_bytes // one)
    text = dumps(Cassette([big_interaction(number) for number in range(count)]))
    if broken_at_end:  # interactions end with their chunks: break the last chunk's time
        last = text.rindex("{at_s: ")
        text = text[:last] + "{at_s: soon" + text[text.index(",", last) :]
    path.write_text(text, encoding="utf-8", newline="\n")
    return count
