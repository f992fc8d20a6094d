"""Fuzzing the cassette loader: whatever the bytes, loading either gives a cassette or raises
CassetteError with one line, never anything else; and whatever loads also saves, loads back
the same, and replays (a schedule, a head every HTTP server accepts).

Brief by default (300 examples each); long with `--hypothesis-profile=fuzz`. Every crash the
fuzz profile found is pinned below with @example.
"""

from __future__ import annotations

import dataclasses
from typing import Any
from unittest import mock

import h11
import httpx
import httpx2
import pytest
import yaml
from hypothesis import example, given
from hypothesis import strategies as st

from chunktape import (
    Cassette,
    CassetteError,
    Chunk,
    Interaction,
    Redactor,
    ReplayPolicy,
    ReplayTransport,
    Request,
    Response,
    build_schedule,
)
from chunktape.persist import dumps, loads, yaml_fallback
from chunktape.replay.emit import wire_headers
from tests.support.builders import cut, sse_interaction

# text has no recording marker: a mutant that ends mid-line is refused like any other defect
pytestmark = pytest.mark.filterwarnings("error::chunktape.errors.CassetteWarning")

# ---------------------------------------------------------------- seeds: valid cassettes to mutate


def _seed_texts() -> list[str]:
    binary = Interaction(
        Request("GET", "http://files.test/blob?key=abc&alt=media"),
        Response(200, (("content-type", "application/octet-stream"),), 0.01, cut(bytes(range(256)), [100], [0.1, 0.2])),
    )
    cut_json = Interaction(
        Request("POST", "https://api.openai.com/v1/chat/completions", (("authorization", "Bearer x"),), b'{"a":[1]}'),
        Response(
            429,
            (("content-type", "application/json"), ("retry-after", "2"), ("set-cookie", "a=1"), ("set-cookie", "b=2")),
            0.2,
            (Chunk(0.3, b'{"error": {"message": "slow down", "code": 429}}'),),
            ended="cut",
            ended_at_s=0.5,
            http_version="HTTP/2.0",
        ),
    )
    plain = Interaction(Request("HEAD", "http://x.test/"), Response(204, (("x-empty", ""),), 0.0, (), ended_at_s=0.0))
    return [
        dumps(Cassette([sse_interaction()])),
        dumps(Cassette([binary, cut_json])),
        dumps(Cassette([plain, sse_interaction(body="data: 这\r\n\r\rdata: b\n\nno end".encode(), offsets=[8, 9])])),
        "version: 1\ninteractions: []\n",
    ]


SEEDS = _seed_texts()

# YAML and cassette tokens that reach the loader's corners: types, tags, anchors, specials.
TOKENS = [
    "", " ", "\n", "\t", "\r", "-", "- ", ": ", "?", "!", "&a ", "*a", "&a [1, 2]", "<<: *a", "!!binary AAAA",
    "!!python/object/apply:os.system ['true']", "!!set {a}", "!!timestamp 2024-01-01", "2024-01-01", "~", "null",
    "true", "[]", "{}", "[", "{", "]", "}", "'", '"', '"\\x00"', '"\\ud800"', '"\\U0010ffff"', '"\\x85\\u2028"',
    "0", "-1", "1e999", ".inf", "-.inf", ".nan", "0x10", "0o7", "1_000", "9" * 400, "3.5", "200", "99", "600",
    "version", "interactions", "request", "response", "method", "url", "headers", "body", "status", "chunks",
    "at_s", "size_bytes", "ended", "ended_at_s", "headers_at_s", "http_version", "json", "json_style", "text",
    "sse_events", "base64", "line_end", "unterminated", "cut", "complete", "GET", "HEAD", "http://[::1", "%",
    "\ufeff", "\x00", "\x85", "\u2028", "é", "这", "🚀", "|", ">-", "#",
]  # fmt: skip


@st.composite
def mutated_cassettes(draw: st.DrawFn) -> str:
    """A valid cassette with a few edits: tokens put in, spans cut out, lines doubled, swapped
    or dropped, or the text cut short."""
    text = draw(st.sampled_from(SEEDS))
    for _ in range(draw(st.integers(1, 4))):
        operation = draw(st.sampled_from(["put", "replace", "delete", "double", "swap", "drop", "truncate"]))
        lines = text.splitlines(keepends=True) or [""]
        at = draw(st.integers(0, len(text)))
        if operation == "put":
            text = text[:at] + draw(st.sampled_from(TOKENS) | st.text(max_size=8)) + text[at:]
        elif operation == "replace":
            end = min(len(text), at + draw(st.integers(1, 12)))
            text = text[:at] + draw(st.sampled_from(TOKENS)) + text[end:]
        elif operation == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 40)) :]
        elif operation == "truncate":
            text = text[:at]
        else:
            index = draw(st.integers(0, len(lines) - 1))
            other = draw(st.integers(0, len(lines) - 1))
            if operation == "double":
                lines.insert(index, lines[index])
            elif operation == "swap":
                lines[index], lines[other] = lines[other], lines[index]
            else:
                del lines[index]
            text = "".join(lines)
    return text


# Any YAML-able value, to put where the loader expects something else.
yaml_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.sampled_from([10**400, -(10**400), 2**63, -1])
    | st.floats()
    | st.text(max_size=20)
    | st.sampled_from(["GET", "http://x/", "complete", "cut", "<redacted>", "\r\n"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)


@st.composite
def retyped_cassettes(draw: st.DrawFn) -> str:
    """A valid cassette's document with one node replaced by any value, a key added or a key
    removed, at any depth: type confusion everywhere the loader reads."""
    document: Any = yaml.safe_load(draw(st.sampled_from(SEEDS[:3])))
    node = document
    while True:
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        if not keys:
            break
        key = draw(st.sampled_from(keys))
        if not isinstance(node[key], (dict, list)) or draw(st.integers(0, 3)) == 0:
            action = draw(st.sampled_from(["replace", "add", "remove"]))
            if action == "replace":
                node[key] = draw(yaml_values)
            elif action == "add" and isinstance(node, dict):
                node[draw(st.text(max_size=12))] = draw(yaml_values)
            elif isinstance(node, dict):
                del node[key]
            else:
                node.pop(key)
            break
        node = node[key]
    dumped: str = yaml.safe_dump(document, allow_unicode=draw(st.booleans()))
    return dumped


# ---------------------------------------------------------------- the properties


def loads_or_refuses(raw: bytes | str) -> Cassette | None:
    """The loader's whole contract on bad input: a cassette, or CassetteError in one line."""
    try:
        return loads(raw, "fuzz.yaml")
    except CassetteError as exc:
        message = str(exc)
        assert message.startswith("fuzz.yaml")
        assert "\n" not in message, message
        assert "\r" not in message, message
        return None


def replays(cassette: Cassette) -> None:
    """A loaded cassette saves and loads back the same (secrets redacted), and every interaction
    replays: a schedule under chaos, and a response head that h11 (uvicorn's HTTP/1.1) accepts."""
    redacted = Cassette([Redactor().interaction(interaction) for interaction in cassette.interactions])
    assert loads(dumps(cassette)) == redacted
    for interaction in cassette.interactions:
        for policy in (
            ReplayPolicy(),
            ReplayPolicy.from_knobs(split="utf8", fault="truncate"),
            ReplayPolicy.from_knobs(split="sse", delay="jitter:5ms", fault="disconnect:1", seed=3),
            ReplayPolicy.from_knobs(fault="status:503"),
        ):
            schedule = build_schedule(interaction.request, interaction.response, policy)
            assert interaction.response.body.startswith(schedule.body) or policy.fault is not None
            h11.Response(status_code=schedule.status, headers=wire_headers(schedule), reason=schedule.reason)


@given(st.binary(max_size=3000))
@example(b"version: 1\x00\n")  # NUL: a two-line message with no line number, before the fix
@example(b"\xef\xbb\xbfversion: 1\ninteractions: []\n")  # a BOM
def test_any_bytes_load_or_raise_cassette_error(raw: bytes) -> None:
    cassette = loads_or_refuses(raw)
    if cassette is not None:
        replays(cassette)


@given(
    st.text(alphabet=st.sampled_from(list("version:1interactions-[]{}&*!|>'\"#,? \t\n\r\x85\u2028é0.")), max_size=300)
)
def test_yaml_shaped_text_loads_or_raises_cassette_error(text: str) -> None:
    cassette = loads_or_refuses(text)
    if cassette is not None:
        replays(cassette)


@given(mutated_cassettes())
@example(SEEDS[0].replace("- {at_s: 0.22, size_bytes: 87}", "- {at_s: .inf, size_bytes: 87}"))
@example(SEEDS[0].replace("x-request-id: abc", 'x-request-id: "a\\r\\nb"'))
@example(SEEDS[0].replace("https://generativelanguage", "https://[generativelanguage"))
@example(SEEDS[0].replace("status: 200", "status: 101"))
@example("!!timestamp 2024-01-0")  # found by the fuzz profile: ValueError out of PyYAML's constructor
@example("!!timestamp 2024-01-01version: 1\n")  # found by the fuzz profile: AttributeError, likewise
@example(SEEDS[0].replace("- text: hi", "- text: hi\n            sent: 2024-02-30"))
@example(SEEDS[0].replace("at_s: 0.1,", "at_s: " + "9" * 400 + ","))  # OverflowError: an int too large for a float
@example(SEEDS[0].replace("at_s: 0.1,", "at_s: " + "9" * 5000 + ","))  # past Python's 4300-digit int limit
@example(
    SEEDS[2]
    .replace("status: 204", "status: 204\n    body: {text: x}")
    .replace("chunks: []", "chunks: [{at_s: 0, size_bytes: 1}]")
)
@example(
    "version: 1\ninteractions:\n- request: {method: GET, url: /, headers: {a b: c}}\n  response: {status: 200, headers_at_s: 0, chunks: []}\n"
)
def test_mutated_cassettes_load_or_raise_cassette_error(text: str) -> None:
    cassette = loads_or_refuses(text)
    if cassette is not None:
        replays(cassette)


@given(mutated_cassettes())
@example(  # a lone surrogate: UnicodeEncodeError out of the body codec, before the fix
    "version: 1\ninteractions:\n- request: {method: GET, url: /}\n  response: {status: 200, headers_at_s: 0, "
    'body: {text: "\\ud800"}, chunks: [{at_s: 0, size_bytes: 3}]}\n'
)
@example("version: 1\ninteractions: " + "[" * 3000 + "]" * 3000 + "\n")  # RecursionError in the pure parser
def test_mutated_cassettes_load_or_raise_cassette_error_without_libyaml(text: str) -> None:
    """The same with PyYAML's pure-Python parser, which chunktape falls back on when PyYAML
    was built without libyaml: it lets lone surrogates through and nests without limit."""
    with mock.patch.object(yaml_fallback, "_Loader", yaml.SafeLoader):
        cassette = loads_or_refuses(text)
    if cassette is not None:
        replays(cassette)


@given(retyped_cassettes())
@example("? '\n\n  '\n: null\nversion: 1\ninteractions: []\n")  # a key with line breaks: a two-line message
def test_retyped_cassettes_load_or_raise_cassette_error(text: str) -> None:
    cassette = loads_or_refuses(text)
    if cassette is not None:
        replays(cassette)


def test_nested_aliases_are_refused_before_they_multiply() -> None:
    """Each line of aliases multiplies by ten: eight lines stood for 100 million strings, which
    took 1.3 GB and 6 s to join as a JSON body before the loader refused aliases (nine, a
    billion, exhaust the machine). Six here, so that even a regression fails fast."""
    levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    levels += [f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 10)}]" for n in range(1, 6)]
    text = (
        "version: 1\ninteractions:\n- request: {method: GET, url: 'http://x/'}\n"
        "  response:\n    status: 200\n    headers_at_s: 0\n    body:\n      json:\n"
        + "".join(f"        {level}\n" for level in levels)
        + "    chunks: []\n"
    )
    with pytest.raises(CassetteError, match=r"^bomb\.yaml:9: invalid YAML: this node is used again through an alias"):
        loads(text, "bomb.yaml")


@given(st.text())
def test_a_cassette_error_is_one_line_whatever_its_problem_says(problem: str) -> None:
    message = str(CassetteError("c.yaml", 3, problem))
    assert "\n" not in message
    assert "\r" not in message


def test_an_anchor_without_alias_and_ampersands_in_text_still_load() -> None:
    """Only aliases are refused: `&` in URLs and text, and an unused anchor, are fine."""
    text = dumps(Cassette([sse_interaction(url="https://x.test/v1/a?b=1&c=2", request_body=b'{"q":"Q & A &amp;"}')]))
    assert loads(text) == loads(text.replace("  response:\n", "  response: &unused\n", 1))


@pytest.mark.parametrize("flavor", [httpx, httpx2], ids=["httpx", "httpx2"])
def test_a_header_beyond_ascii_replays_in_process(flavor: Any) -> None:
    """The recorder keeps header bytes as latin-1 text (a server sending a UTF-8 file name in
    Content-Disposition, say): the in-process transport raised UnicodeEncodeError on them."""
    interaction = sse_interaction()
    headers = (
        *interaction.response.headers,
        ("content-disposition", 'attachment; filename="r\xc3\xa9sum\xc3\xa9.txt"'),
    )
    response = dataclasses.replace(interaction.response, headers=headers)
    cassette = loads(dumps(Cassette([dataclasses.replace(interaction, response=response)])))
    request = interaction.request
    with flavor.Client(transport=ReplayTransport(cassette, speed=0)) as client:
        replayed = client.request(request.method, request.url, content=request.body, headers=dict(request.headers))
    assert replayed.headers.raw[-1] == (b"content-disposition", 'attachment; filename="résumé.txt"'.encode())
    assert replayed.content == interaction.response.body
