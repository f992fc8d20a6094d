"""Realtime sessions in a cassette: readable, byte-exact, validated with one clear line."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from chunktape.cassette import Close, Handshake, Message, Request, Session
from chunktape.cli import cli
from chunktape.errors import CassetteError
from chunktape.persist import cassette_of, dumps, load_cassette, loads
from chunktape.persist.reader import read_document

URL = "wss://generativelanguage.googleapis.com/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"
PCM = bytes(range(256)) * 8


def gemini_session() -> Session:
    audio = {"inlineData": {"mimeType": "audio/pcm;rate=24000", "data": base64.b64encode(PCM).decode()}}
    turn = {"serverContent": {"modelTurn": {"parts": [{"text": "你好，世界"}, audio]}}}
    return Session(
        Request("GET", URL, (("host", "generativelanguage.googleapis.com"), ("upgrade", "websocket"))),
        Handshake(101, (("upgrade", "websocket"), ("connection", "Upgrade")), 0.031),
        (
            Message(0.032, "client", "text", b'{"setup": {"model": "models/gemini-live"}}'),
            Message(0.081, "server", "binary", b'{\n  "setupComplete": {}\n}\n'),
            Message(0.1, "client", "text", json.dumps({"clientContent": {"turnComplete": True}}).encode()),
            Message(0.25, "server", "binary", json.dumps(turn, ensure_ascii=False).encode()),
            Message(0.26, "server", "binary", b"\x00\xff raw"),
            Message(0.27, "server", "text", b"plain\r\ntext"),
        ),
        Close(0.3, "server", 1011, "Internal error encountered."),
    )


def test_a_session_round_trips_exactly_and_reads_fast_like_pyyaml() -> None:
    session = gemini_session()
    text = dumps(cassette_of([session]))
    assert loads(text).sessions == [session]
    assert read_document(text) == yaml.safe_load(text)


def test_binary_json_frames_are_stored_as_structure_and_keep_their_frame_type() -> None:
    text = dumps(cassette_of([gemini_session()]))
    document = yaml.safe_load(text)
    messages = document["interactions"][0]["session"]["messages"]
    assert messages[1]["json"] == {"setupComplete": {}}
    assert messages[1]["frame"] == "binary"
    parts = messages[3]["json"]["serverContent"]["modelTurn"]["parts"]
    assert parts[0]["text"] == "你好，世界"
    assert "你好，世界" in text
    assert base64.b64decode(parts[1]["inlineData"]["data"]) == PCM
    assert messages[4]["base64"] == base64.b64encode(b"\x00\xff raw").decode()
    assert document["interactions"][0]["session"]["close"] == {
        "by": "server", "code": 1011, "reason": "Internal error encountered.", "at_s": 0.3
    }  # fmt: skip


def test_handshake_secrets_are_redacted_on_save() -> None:
    session = gemini_session()
    keyed = Session(
        Request("GET", URL + "?key=AIzaSyA-secret-secret-secret-secret12", (("x-goog-api-key", "AIzaSyB-x"),)),
        session.handshake,
        session.messages,
        session.close,
    )
    text = dumps(cassette_of([keyed]))
    assert "AIzaSy" not in text
    assert "REDACTED" in text.upper()


def test_http_cassettes_are_written_as_before() -> None:
    assert dumps(cassette_of([])) == "version: 1\ninteractions: []\n"


messages = st.lists(
    st.tuples(
        st.sampled_from(["client", "server"]),
        st.sampled_from(["text", "binary"]),
        st.binary(max_size=40) | st.text(max_size=30).map(str.encode) | st.just(b'{"a": [1, "\\u00e9"]}'),
        st.floats(min_value=0, max_value=5),
    ),
    max_size=6,
)


@settings(max_examples=60, deadline=None)
@given(messages, st.sampled_from([None, 1000, 1011, 4000]), st.text(max_size=20))
def test_any_session_round_trips_byte_exact(pieces: list, code: int | None, reason: str) -> None:  # type: ignore[type-arg]
    at = 0.0
    built = []
    for sender, frame, data, gap in pieces:
        if frame == "text":
            data = data.decode("utf-8", "replace").encode("utf-8")
        at = round(at + gap, 6)
        built.append(Message(at, sender, frame, data))
    reason = reason.encode("utf-8", "replace").decode("utf-8")
    session = Session(Request("GET", "ws://h/v1/realtime?model=m"), Handshake(101, (), 0.0), tuple(built),
                      Close(round(at + 0.1, 6), "client", code, reason if code else ""))  # fmt: skip
    text = dumps(cassette_of([session]))
    assert loads(text).sessions == [session]
    fast = read_document(text)
    assert fast is None or fast == yaml.safe_load(text)


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        (
            "frame: binary\n      base64",
            "frame: blob\n      base64",
            "field 'frame' must be text or binary, not 'blob'",
        ),
        ("code: 1011", "code: 99", "close code must be a number 1000-4999"),
        ("at_s: 0.26", "at_s: 0.01", "at_s 0.01 goes back in time"),
        ("from: client", "from: browser", "field 'from' must be client or server"),
        ("    close:\n", "    ended:\n", "unknown field 'ended'"),
    ],
)
def test_a_bad_session_gets_one_line_with_its_place(tmp_path: Path, old: str, new: str, problem: str) -> None:
    text = dumps(cassette_of([gemini_session()]))
    assert old in text
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(CassetteError) as caught:
        load_cassette(str(bad))
    message = str(caught.value)
    assert problem in message
    assert message.startswith(f"{bad}:")
    assert "\n" not in message
    line = int(message.split(":")[1])
    assert line > 1


def test_a_session_torn_mid_write_never_reads_as_valid(tmp_path: Path) -> None:
    text = dumps(cassette_of([gemini_session()]))
    torn = text[: text.index("    close:")]
    with pytest.raises(CassetteError, match="missing field 'close'"):
        loads(torn + "\n")


def test_inspect_and_validate_understand_sessions(tmp_path: Path) -> None:
    path = tmp_path / "live.yaml"
    path.write_text(dumps(cassette_of([gemini_session()])), encoding="utf-8")
    runner = CliRunner()
    validated = runner.invoke(cli, ["validate", str(path)])
    assert validated.exit_code == 0, validated.output
    assert "1 session" in validated.output
    inspected = runner.invoke(cli, ["inspect", str(path), "--width", "160"])
    assert inspected.exit_code == 0, inspected.output
    assert "session #1" in inspected.output
    assert "1011" in inspected.output
    assert "< server binary" in inspected.output
    assert "你好，世界" in inspected.output


def test_a_cassette_mixing_http_and_sessions_validates_in_its_own_order(tmp_path: Path) -> None:
    from chunktape.cassette import Interaction, Response, chunks_from
    from chunktape.persist import dumps_items

    http = Interaction(
        Request("POST", "https://api.openai.com/v1/realtime/client_secrets", (("content-type", "application/json"),)),
        Response(200, (("content-type", "application/json"),), 0.1, chunks_from([(0.2, b'{"value":"ek_1"}')])),
    )
    items = [gemini_session(), http, gemini_session()]
    path = tmp_path / "mixed.yaml"
    path.write_text(dumps_items(items), encoding="utf-8")
    loaded = load_cassette(str(path))
    assert (len(loaded.interactions), len(loaded.sessions)) == (1, 2)
    validated = CliRunner().invoke(cli, ["validate", str(path)])
    assert validated.exit_code == 0, validated.output


def stdio_session() -> Session:
    line = b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"stamp","arguments":{"label":"Z\xc3\xbcrich"}}}'
    return Session(
        Request("GET", "stdio:python -m tools.server"),
        Handshake(kind="stdio"),
        (
            Message(0.01, "client", "text", line),
            Message(1.2, "server", "text", b'{"jsonrpc":"2.0","id":1,"result":{}}'),
        ),
        Close(1.3, "client", 1000),
    )


def test_a_stdio_session_round_trips_with_a_handshake_that_says_stdio() -> None:
    text = dumps(cassette_of([stdio_session()]))
    assert "handshake:\n      kind: stdio\n      headers_at_s: 0.0\n" in text
    (session,) = loads(text).sessions
    assert session == stdio_session()
    assert session.stdio


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        ("kind: stdio", "kind: pipe", "handshake kind must be websocket or stdio, not 'pipe'"),
        ("kind: stdio\n", "kind: stdio\n      status: 101\n", "a stdio session's handshake has no status or headers"),
    ],
)
def test_a_bad_stdio_handshake_gets_one_line(tmp_path: Path, old: str, new: str, problem: str) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(dumps(cassette_of([stdio_session()])).replace(old, new, 1), encoding="utf-8")
    with pytest.raises(CassetteError, match=problem):
        load_cassette(str(bad))
