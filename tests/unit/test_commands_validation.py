"""What `validate` checks in one cassette: the same cassette after saving, framing, secrets —
the same findings whether the file is read item by item (chunktape's layout) or as a whole
(any other layout)."""

from __future__ import annotations

import base64
import io
import warnings
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chunktape import Chunk, Interaction, Request, Response
from chunktape.commands.file_items import NotOwnLayout, file_items
from chunktape.commands.validation import Report, first_difference, validate_text
from chunktape.errors import CassetteError, CassetteWarning
from chunktape.persist import dumps, loads
from tests.support.builders import layout_0_1, sse_cassette

OPENAI_KEY = "sk-" + "proj-abcdefghijklmnopqrstuvwxyz012345"  # assembled, so no scanner flags this file


def test_a_saved_cassette_passes_with_its_counts() -> None:
    assert validate_text(dumps(sse_cassette())) == Report(interactions=1)


def test_a_body_written_another_way_passes_when_it_stands_for_the_same_bytes() -> None:
    text = dumps(sse_cassette())
    json_body = "      json:\n        contents:\n        - parts:\n          - text: hi\n          role: user\n"
    assert json_body in text
    as_base64 = base64.b64encode(b'{"contents":[{"parts":[{"text":"hi"}],"role":"user"}]}').decode()
    assert validate_text(text.replace(json_body, f"      base64: {as_base64}\n")) == Report(interactions=1)


def test_a_key_hidden_in_a_base64_body_is_found_and_masked() -> None:
    hidden = base64.b64encode(f'{{"key":"{OPENAI_KEY}"}}'.encode()).decode()
    text = dumps(sse_cassette()).replace(
        "      json:\n        contents:\n        - parts:\n          - text: hi\n          role: user\n",
        f"      base64: {hidden}\n",
    )
    report = validate_text(text)
    assert report.problems == ["leaked secret: openai-key in the request body of interaction #1 (sk-p… 40 chars)"]


def test_the_first_change_saving_makes_is_named_with_its_line() -> None:
    text = "# a comment\n" + dumps(sse_cassette()).replace("headers_at_s: 0.05", "headers_at_s: 0.0500001")
    assert validate_text(text).problems == [
        "saving it would change interaction #1 (line 4): response.headers_at_s: 0.0500001 becomes 0.05"
    ]


def test_framing_problems_carry_the_line_of_the_broken_event() -> None:
    interaction = Interaction(
        Request("GET", "http://x.test/"),
        Response(200, (("content-type", "application/x-ndjson"),), 0.1, (Chunk(0.2, b'{"a":1}\nnot json\n'),)),
    )
    text = dumps(sse_cassette()) + dumps_one(interaction)
    report = validate_text(text)
    [(line, problem)] = report.framing
    assert problem.startswith("interaction #2's response body: NDJSON line 2 is not JSON")
    assert text.splitlines()[line - 1].strip() == "not json"


def dumps_one(interaction: Interaction) -> str:
    from chunktape import Cassette

    return dumps(Cassette([interaction])).split("interactions:\n", 1)[1]


@given(place=st.sampled_from(["x-request-id: abc", "text: hi", "alt=sse"]), comment=st.booleans())
def test_item_by_item_and_whole_file_checks_find_the_same(place: str, comment: bool) -> None:
    """A file with CR LF line ends is read as a whole (the careful path); the same file with LF
    item by item: the two must find the very same things, at the same lines."""
    leaked = {
        "x-request-id: abc": f"x-request-id: {OPENAI_KEY}",
        "text: hi": f"text: here {OPENAI_KEY}",
        "alt=sse": "alt=sse&key=abc123",
    }[place]
    text = layout_0_1(sse_cassette()).replace(place, leaked, 1)
    if comment:
        text = "# recorded by hand\n" + text
    crlf = text.replace("\n", "\r\n").encode()
    with pytest.raises(NotOwnLayout):
        list(file_items(io.BytesIO(crlf))[1])
    by_item = validate_text(text)
    assert validate_text(crlf) == by_item
    assert by_item.problems
    assert by_item.problems[0].startswith("leaked secret: ")


@pytest.mark.parametrize(
    ("before", "after", "said"),
    [
        (Chunk(0.1, b"a"), Chunk(0.2, b"a"), "at_s: 0.1 becomes 0.2"),
        (
            Response(200, (), 0.1, (Chunk(0.2, b"a"), Chunk(0.3, b"b"))),
            Response(200, (), 0.1, (Chunk(0.2, b"a"), Chunk(0.3, b"c"))),
            "chunks[1].data: b'b' becomes b'c'",
        ),
        (Request("GET", "http://x.test/"), Request("GET", "http://y.test/"), "url: 'http://x.test/' becomes"),
    ],
)
def test_first_difference_names_the_field(before: object, after: object, said: str) -> None:
    found = first_difference(before, after)
    assert found is not None
    assert said in found
    assert first_difference(before, before) is None


def test_first_difference_never_shows_a_key() -> None:
    before = Request("GET", "http://x.test/", (("x-token", OPENAI_KEY),))
    after = Request("GET", "http://x.test/", (("x-token", OPENAI_KEY + "x"),))
    found = first_difference(before, after)
    assert found is not None
    assert OPENAI_KEY not in found


def _session_text(message: str) -> str:
    page = (Path(__file__).resolve().parents[2] / "docs" / "realtime.md").read_text(encoding="utf-8")
    example = page.split("```yaml\n", 1)[1].split("```", 1)[0]
    return example.replace("      base64: AAH/                 # bytes that are not UTF-8 JSON or text\n", message)


def test_a_key_in_a_session_message_is_found_once_whether_shown_or_in_base64() -> None:
    shown = _session_text(
        f"      base64: AAH/\n    - from: client\n      at_s: 0.26\n      frame: text\n      text: {OPENAI_KEY}\n"
    )
    [problem] = validate_text(shown).problems
    assert problem.startswith("leaked secret: openai-key at line ")
    assert problem.count("openai-key") == 1
    hidden = base64.b64encode(OPENAI_KEY.encode()).decode()
    [problem] = validate_text(_session_text(f"      base64: {hidden}\n")).problems
    assert problem == "leaked secret: openai-key in message 3 of session #1 (sk-p… 40 chars)"
    assert validate_text(_session_text("      base64: AAH/\n")) == Report(sessions=1)


BUNDLED = sorted((Path(__file__).resolve().parents[2] / "cassettes").glob("*.yaml"))


@given(
    name=st.sampled_from([path.name for path in BUNDLED]),
    kind=st.sampled_from(["delete", "duplicate", "swap", "indent", "dedent"]),
    first=st.integers(0, 10_000),
    second=st.integers(0, 10_000),
)
def test_validate_refuses_exactly_what_loading_refuses(name: str, kind: str, first: int, second: int) -> None:
    """Structural mutants of the bundled cassettes: validate's item-by-item reading may never
    accept a file that loading refuses, nor refuse one that loads."""
    lines = (BUNDLED[0].parent / name).read_text(encoding="utf-8").splitlines(keepends=True)
    i, j = first % len(lines), second % len(lines)
    if kind == "delete":
        del lines[i]
    elif kind == "duplicate":
        lines.insert(i, lines[i])
    elif kind == "swap":
        lines[i], lines[j] = lines[j], lines[i]
    else:
        lines[i] = "  " + lines[i] if kind == "indent" else lines[i].removeprefix("  ")
    text = "".join(lines)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CassetteWarning)
        loaded = _outcome(lambda: len(loads(text, name)))
        validated = _outcome(lambda: validate_text(text, name).interactions)
    assert validated == loaded


def _outcome(read: Callable[[], int]) -> int | str:
    try:
        return read()
    except CassetteError as exc:
        return str(exc)
