"""chunktape's own YAML emitter and fast reader against PyYAML: a differential test.

The emitter must write YAML that PyYAML reads back as the very same document, and the fast
reader must read every such text; on any other text the reader either gives up (PyYAML then
reads it) or agrees with PyYAML exactly. Never a third answer.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
import yaml
from hypothesis import example, given
from hypothesis import strategies as st

from chunktape.persist.reader import read_document
from chunktape.persist.yaml_writer import FlowMap, emit_document, emit_item

LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=40)
    | st.sampled_from(["", " ", "yes", "no", "~", "null", "1e3", "0x1F", "012", "1:20", "2024-02-30", "=", "<<",
                       "a: b", "a #b", "- x", "? x", "'q'", '"q"', "\n", "a\n", "a\n\n", "\na", " a\nb", "a\r\nb",
                       "\t", "x\x85y", "x\u2028y", "\ufeff", "emoji 🚀", "这里是第一段", "data: {\"a\": 1}"])
)  # fmt: skip
keys = st.text(max_size=12) | st.sampled_from(["version", "interactions", "at_s", "true", "1", "a b", "-k", "k:"])


def documents() -> st.SearchStrategy[Any]:
    return st.recursive(
        scalars,
        lambda children: st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=4),
        max_leaves=25,
    )


chunk_maps = st.builds(
    lambda at, size: FlowMap(at_s=at, size_bytes=size),
    st.floats(min_value=0, max_value=1e6, allow_nan=False),
    st.integers(min_value=1, max_value=10**9),
)


def same(one: Any, other: Any) -> bool:
    """Equal, with -0.0 and 0.0 told apart (a float's sign must survive too)."""
    if isinstance(one, float) and isinstance(other, float):
        return one == other and math.copysign(1, one) == math.copysign(1, other)
    if type(one) is not type(other) and not (isinstance(one, dict) and isinstance(other, dict)):
        return False
    if isinstance(one, dict):
        return list(one) == list(other) and all(same(one[k], other[k]) for k in one)
    if isinstance(one, list):
        return len(one) == len(other) and all(same(a, b) for a, b in zip(one, other, strict=True))
    return bool(one == other)


@given(st.dictionaries(keys, documents(), min_size=1, max_size=5), st.lists(chunk_maps, max_size=3))
@example({"text": " a\n  b\n"}, [])
@example({"text": "a\n\n\n"}, [])
@example({"k": ["\n\n"]}, [])
def test_what_the_emitter_writes_pyyaml_and_the_fast_reader_read_back_identically(
    document: dict[str, Any], chunks: list[FlowMap]
) -> None:
    document = {**document, "chunks": chunks}
    text = emit_document(document)
    assert same(yaml.load(text, Loader=LOADER), document), text
    fast = read_document(text)
    assert fast is not None, f"the fast reader gave up on the emitter's own text:\n{text}"
    assert same(fast, document), text


@given(documents(), st.data())
def test_on_any_edit_the_fast_reader_gives_up_or_agrees_with_pyyaml(document: Any, data: st.DataObject) -> None:
    text = emit_document({"interactions": [document]})
    position = data.draw(st.integers(min_value=0, max_value=len(text)))
    removed = data.draw(st.integers(min_value=0, max_value=3))
    inserted = data.draw(st.sampled_from(["", " ", "  ", "-", "- ", ":", ": ", "#", " #", "'", '"', "|", "|-", ">",
                                          "\n", "\n  ", "&a ", "*a", "!!str ", "{", "[", "\\", "\t", "x"]))  # fmt: skip
    edited = text[:position] + inserted + text[position + removed :]
    fast = read_document(edited)
    if fast is None:
        return
    try:
        expected = yaml.load(edited, Loader=LOADER)
    except yaml.YAMLError as exc:
        pytest.fail(f"the fast reader read text PyYAML refuses ({exc}):\n{edited}")
    assert same(fast, expected), edited


def test_an_item_appended_to_a_file_makes_the_document_with_it() -> None:
    head = emit_document({"version": 1, "interactions": [{"a": 1}]})
    text = head + emit_item({"b": "二"})
    assert yaml.load(text, Loader=LOADER) == {"version": 1, "interactions": [{"a": 1}, {"b": "二"}]}
    assert read_document(text) == {"version": 1, "interactions": [{"a": 1}, {"b": "二"}]}


def test_emoji_and_cjk_stay_text_and_json_events_keep_single_quotes() -> None:
    text = emit_document({"sse_events": ['data: {"text":"这里 🚀"}'], "url": "https://x.test/a?b=c&d=e"})
    assert text == 'sse_events:\n- \'data: {"text":"这里 🚀"}\'\nurl: https://x.test/a?b=c&d=e\n'
