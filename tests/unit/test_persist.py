"""The cassette file: readable, byte-exact, round-trip stable, versioned, atomic, secret-free."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from chunktape import Cassette, CassetteError, Interaction, Request, Response, load_cassette, save_cassette
from chunktape.persist import dumps, loads
from tests.support.builders import SSE_BODY, cut, sse_cassette, sse_interaction


def test_cjk_text_stays_readable_in_the_file(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    save_cassette(sse_cassette(), str(path))
    text = path.read_text(encoding="utf-8")
    assert "这里是第一段" in text
    assert "\\u" not in text


def test_json_request_body_is_structured_yaml(tmp_path: Path) -> None:
    text = dumps(sse_cassette())
    assert "json:\n        contents:\n        - parts:\n          - text: hi" in text


def test_sse_body_shows_one_event_per_item() -> None:
    text = dumps(sse_cassette())
    events = [line for line in text.splitlines() if line.lstrip().startswith("- 'data: ")]
    assert len(events) == 2
    assert 'line_end: "\\r\\n"' in text


def test_boundaries_inside_utf8_character_and_between_cr_lf_survive() -> None:
    original = sse_cassette()
    loaded = loads(dumps(original))
    chunks = loaded.interactions[0].response.chunks
    assert [c.data for c in chunks] == [c.data for c in original.interactions[0].response.chunks]
    assert chunks[0].data.endswith("这".encode()[:1])
    assert chunks[1].data.endswith(b"\r")
    assert chunks[2].data.startswith(b"\n")


def test_round_trip_is_identical_object_and_byte_identical_file(tmp_path: Path) -> None:
    first, second = tmp_path / "a.yaml", tmp_path / "b.yaml"
    original = sse_cassette()
    save_cassette(original, str(first))
    loaded = load_cassette(str(first))
    save_cassette(loaded, str(second))
    assert first.read_bytes() == second.read_bytes()
    assert load_cassette(str(second)) == loaded


def test_timing_is_kept_per_chunk() -> None:
    loaded = loads(dumps(sse_cassette(times=[0.35, 0.36, 0.5, 0.9])))
    response = loaded.interactions[0].response
    assert response.headers_at_s == 0.05
    assert [c.at_s for c in response.chunks] == [0.35, 0.36, 0.5, 0.9]


def test_binary_body_round_trips_as_base64() -> None:
    data = bytes(range(256)) * 3
    interaction = Interaction(
        Request("GET", "http://x/bin"),
        Response(200, (("content-type", "application/octet-stream"),), 0.0, cut(data, [100, 101], [0.1, 0.2, 0.3])),
    )
    text = dumps(Cassette([interaction]))
    assert "base64:" in text
    assert loads(text).interactions[0].response.body == data


def test_several_interactions_keep_their_order() -> None:
    one = sse_interaction(request_body=b'{"n":1}')
    two = sse_interaction(request_body=b'{"n":2}')
    loaded = loads(dumps(Cassette([one, two, one])))
    assert [i.request.body for i in loaded.interactions] == [b'{"n":1}', b'{"n":2}', b'{"n":1}']


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("x-goog-api-key", "AIzaSyA-very-secret-value-1234567890abc"),
        ("Authorization", "Bearer sk-secretsecretsecretsecret"),
        ("x-api-key", "sk-ant-secretsecretsecretsecret"),
        ("api-key", "azure-secret-123"),
        ("Cookie", "session=topsecret"),
    ],
)
def test_secret_headers_never_reach_disk(tmp_path: Path, header: str, value: str) -> None:
    interaction = Interaction(Request("POST", "http://x/v1/chat/completions", ((header, value),), b"{}"), Response(200))
    path = tmp_path / "c.yaml"
    save_cassette(Cassette([interaction]), str(path))
    text = path.read_text()
    assert value not in text
    assert "<redacted>" in text


def test_query_key_and_user_named_secrets_are_redacted(tmp_path: Path) -> None:
    interaction = Interaction(
        Request(
            "POST",
            "https://g.example/v1beta/models/m:generateContent?key=AIzaSECRETSECRET&alt=sse",
            (("x-tenant-token", "tenant-secret"),),
            b'{"prompt":"hi","session_secret":"inner-secret"}',
        ),
        Response(200),
    )
    path = tmp_path / "c.yaml"
    save_cassette(Cassette([interaction]), str(path), redact=["x-tenant-token", "session_secret"])
    text = path.read_text()
    for secret in ("AIzaSECRETSECRET", "tenant-secret", "inner-secret"):
        assert secret not in text
    assert "alt=sse" in text


def test_unknown_version_is_refused_with_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "future.yaml"
    path.write_text("# a comment\nversion: 9\ninteractions: []\n")
    with pytest.raises(CassetteError, match=r"future\.yaml:2: unknown cassette version 9"):
        load_cassette(str(path))


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("version: 1\ninteractions: [\n", 3, "invalid YAML"),
        (
            "version: 1\ninteractions:\n- request: {method: GET}\n  response: {status: 200, headers_at_s: 0, chunks: []}\n",
            3,
            "missing field 'url'",
        ),
        (
            "version: 1\ninteractions:\n- request: {method: GET, url: /}\n  response: {status: '200', headers_at_s: 0, chunks: []}\n",
            4,
            "'status' must be an HTTP status code",
        ),
        (
            "version: 1\ninteractions:\n- request: {method: GET, url: /}\n  response:\n    status: 200\n    headers_at_s: 0\n    body: {text: abc}\n    chunks:\n    - {at_s: 0.2, size_bytes: 1}\n    - {at_s: 0.1, size_bytes: 2}\n",
            10,
            "goes back in time",
        ),
        (
            "version: 1\ninteractions:\n- request: {method: GET, url: /}\n  response:\n    status: 200\n    headers_at_s: 0\n    body: {text: abc}\n    chunks:\n    - {at_s: 0.2, size_bytes: 1}\n",
            8,
            "add up to 1 bytes but the body has 3",
        ),
        (
            "version: 1\ninteractions:\n- request: {method: GET, url: /}\n  response:\n    status: 200\n    headers_at_s: 0\n    body: {base64: '!!notbase64'}\n    chunks: []\n",
            7,
            "not valid base64",
        ),
        (
            "version: 1\ninteractions:\n- request: {method: GET, url: /, colour: red}\n  response: {status: 200, headers_at_s: 0, chunks: []}\n",
            3,
            "unknown field 'colour'",
        ),
        ("interactions: []\n", 1, "missing field 'version'"),
    ],
)
def test_invalid_cassettes_fail_with_path_line_and_what_is_wrong(
    tmp_path: Path, text: str, line: int, message: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(CassetteError) as excinfo:
        load_cassette(str(path))
    assert str(excinfo.value).startswith(f"{path}:{line}: ")
    assert message in str(excinfo.value)
    assert "\n" not in str(excinfo.value)


def test_empty_binary_and_directory_inputs_are_clear(tmp_path: Path) -> None:
    empty = tmp_path / "empty.yaml"
    empty.write_bytes(b"")
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"version: 1\n\xff\xfe\x00")
    for path, message in ((empty, "is empty"), (binary, "is not UTF-8"), (tmp_path, "is a directory")):
        with pytest.raises(CassetteError, match=message):
            load_cassette(str(path))


def test_save_is_atomic_and_leaves_no_temp_file_behind(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    save_cassette(sse_cassette(), str(path))
    before = path.read_bytes()
    bad = Cassette([Interaction(Request("GET", "http://x/"), Response(200, headers=(("a", object()),)))])  # type: ignore[arg-type]
    with pytest.raises(Exception):  # noqa: B017,PT011 - the representer refuses the object
        save_cassette(bad, str(path))
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["c.yaml"]


def test_unwritable_location_is_a_clear_error(tmp_path: Path) -> None:
    not_a_directory = tmp_path / "file.txt"
    not_a_directory.write_text("x")
    with pytest.raises(CassetteError, match="cannot write the cassette"):
        save_cassette(sse_cassette(), str(not_a_directory / "c.yaml"))


def test_sse_body_cut_mid_event_round_trips() -> None:
    body = SSE_BODY[:-7]
    interaction = sse_interaction(body=body)
    loaded = loads(dumps(Cassette([interaction])))
    assert loaded.interactions[0].response.body == body


def test_emoji_and_other_non_bmp_text_stays_text() -> None:
    body = 'data: {"text":"rocket 🚀 and 𝄞"}\n\n'.encode()
    interaction = Interaction(
        Request("GET", "http://x/"),
        Response(200, (("content-type", "text/event-stream"),), 0.0, cut(body, [30], [0.1, 0.2])),
    )
    text = dumps(Cassette([interaction]))
    assert "🚀" in text
    assert "\\U" not in text
    assert loads(text).interactions[0].response.body == body


@pytest.mark.parametrize("text", ["\x85𐀀", "a\u2028b 🚀", "line\u2029end", "\ufeffbom", "nel\x85\n🚀"])
def test_yaml_line_break_characters_survive_both_emitters(text: str) -> None:
    """Found by hypothesis: the pure-Python emitter folded NEL next to an emoji."""
    body = text.encode("utf-8")
    interaction = Interaction(Request("GET", "http://x/"), Response(200, (), 0.0, cut(body, [], [0.1])))
    assert loads(dumps(Cassette([interaction]))).interactions[0].response.body == body
