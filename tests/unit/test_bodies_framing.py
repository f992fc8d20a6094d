"""Every stream format is stored readably and byte-exact, re-chunked at its own event
boundaries, listed by `inspect` and checked by `validate`: Gemini's REST JSON array, NDJSON,
and the AWS event stream (Bedrock), beside SSE."""

from __future__ import annotations

import base64
import json
import random
import re
from pathlib import Path

import ollama
import pytest
from botocore.eventstream import EventStreamBuffer
from botocore.exceptions import ClientError, EventStreamError

from chunktape import (
    Cassette,
    CassettePlayer,
    Chunk,
    Interaction,
    ReplayPolicy,
    ReplayTransport,
    Request,
    Response,
    build_schedule,
    load_cassette,
)
from chunktape.bodies import BodyFormatError, decode_body, encode_body
from chunktape.bodies.event_stream import pieces as event_stream_pieces
from chunktape.bodies.event_stream import write_message
from chunktape.bodies.framing import event_ends, framing_problems
from chunktape.errors import CassetteError
from chunktape.knobs import Split
from chunktape.persist import dumps, loads
from chunktape.replay.server import ReplayServer
from chunktape.schedule import split_body
from tests.support.fakes.formats import FORMAT_EXCHANGES, event_message
from tests.support.fakes.wire import EXCHANGES, WireExchange, body
from tests.support.format_calls import CALLS, TAKES_A_TRANSPORT
from tests.support.serving import invoke

CASSETTES = Path(__file__).resolve().parents[2] / "cassettes"
KINDS = {
    "gemini_array": "json_array",
    "ollama_chat": "text",
    "bedrock_converse_stream": "event_stream",
    "bedrock_invoke_stream": "event_stream",
}


def content_type(exchange: WireExchange) -> str:
    return next(value for name, value in exchange.headers if name.lower() == "content-type")


def interaction(exchange: WireExchange) -> Interaction:
    chunks, at = [], 0.0
    for gap, data in exchange.chunks:
        at = round(at + gap, 6)
        chunks.append(Chunk(at_s=at, data=data))
    return Interaction(
        Request("POST", "http://api.test" + exchange.path), Response(200, exchange.headers, 0.0, tuple(chunks))
    )


@pytest.mark.parametrize("name", sorted(FORMAT_EXCHANGES))
def test_each_format_is_stored_as_its_own_kind_and_decodes_byte_exact(name: str) -> None:
    exchange = FORMAT_EXCHANGES[name]
    node = encode_body(body(exchange), content_type(exchange))
    assert KINDS[name] in node
    assert decode_body(node) == body(exchange)
    cassette = Cassette([interaction(exchange)])
    assert loads(dumps(cassette)) == cassette


def test_the_gemini_array_keeps_its_separators_and_each_element_as_yaml() -> None:
    node = encode_body(body(FORMAT_EXCHANGES["gemini_array"]), "application/json; charset=UTF-8")
    assert (node["separator"], node["close"], node["json_style"]) == ("\n,\r\n", "\n]", "indent2")
    assert (
        next(element["candidates"][0]["content"]["parts"][0]["text"] for element in node["json_array"])
        == "这里是第一段"
    )


def test_an_array_element_no_style_reproduces_is_kept_as_its_exact_text() -> None:
    data = b'[{"a": 1}\n,\r\n{"b":  2}\n,\r\n{"c": 3}\n]'
    node = encode_body(data, "application/json")
    assert node["json_array"] == [{"a": 1}, '{"b":  2}', {"c": 3}]
    assert decode_body(node) == data


def test_a_cut_array_keeps_its_half_element_in_close() -> None:
    data = body(FORMAT_EXCHANGES["gemini_array"])[:700]
    node = encode_body(data, "application/json")
    assert len(node["json_array"]) == 1
    assert node["close"].startswith("\n,\r\n{")
    assert decode_body(node) == data


def test_bedrock_chunks_show_the_models_json_not_base64() -> None:
    node = encode_body(body(FORMAT_EXCHANGES["bedrock_invoke_stream"]), "application/vnd.amazon.eventstream")
    first = node["event_stream"][0]
    assert first["headers"] == {":event-type": "chunk", ":content-type": "application/json", ":message-type": "event"}
    assert first["json"]["bytes"]["type"] == "message_start"
    assert first["bytes_json_style"] == "compact"


def test_an_edited_event_stream_payload_replays_with_fresh_crcs() -> None:
    cassette = load_cassette(str(CASSETTES / "bedrock_converse_stream.yaml"))
    node = encode_body(cassette.interactions[0].response.body, "application/vnd.amazon.eventstream")
    node["event_stream"][1]["json"]["delta"]["text"] = "Goodbye"
    data = decode_body(node)
    buffer = EventStreamBuffer()
    buffer.add_data(data)
    payloads = [json.loads(message.payload) for message in buffer]  # botocore checks both CRCs
    assert payloads[1]["delta"]["text"] == "Goodbye"
    assert len(payloads) == 8


def test_a_message_with_a_bad_crc_is_kept_byte_exact_and_named_by_the_framing_check() -> None:
    good = event_message("contentBlockDelta", b'{"contentBlockIndex":0,"delta":{"text":"Hi"},"p":"ab"}')
    bad = good[:-1] + bytes([good[-1] ^ 0xFF])
    data = good + bad + good
    node = encode_body(data, "application/vnd.amazon.eventstream")
    assert [sorted(item) for item in node["event_stream"]] == [
        ["headers", "json"],
        ["message_base64"],
        ["headers", "json"],
    ]
    assert decode_body(node) == data
    [(index, problem)] = framing_problems(data, "application/vnd.amazon.eventstream", cut=False)
    assert index == 1
    assert "message 2 (at byte" in problem
    assert "bad message CRC" in problem


def test_a_stream_cut_mid_message_is_fine_when_the_cassette_says_cut() -> None:
    data = body(FORMAT_EXCHANGES["bedrock_converse_stream"])[:-30]
    node = encode_body(data, "application/vnd.amazon.eventstream")
    assert "message_base64" in node["event_stream"][-1]
    assert decode_body(node) == data
    assert framing_problems(data, "application/vnd.amazon.eventstream", cut=True) == []
    assert "is cut short" in framing_problems(data, "application/vnd.amazon.eventstream", cut=False)[0][1]


@pytest.mark.parametrize(
    ("node", "message"),
    [
        ({"event_stream": "x"}, "must be a list of messages"),
        ({"event_stream": [{"headers": {":a": 3}}]}, r"headers\[.:a.\] must be text, true/false"),
        ({"event_stream": [{"json": {}, "text": "x"}]}, "at most one of json, text, base64"),
        ({"event_stream": [{"message_base64": "!!"}]}, "not valid base64"),
        ({"event_stream": [{"payload": 1}]}, "unknown field 'payload'"),
        ({"event_stream": [{"json": {"a": 1}, "bytes_json_style": "compact"}]}, "needs a json mapping with a bytes"),
        ({"json_array": {}}, "must be a list"),
        ({"json_array": [1], "separator": 5}, "body.separator must be a string"),
    ],
)
def test_a_broken_body_of_a_new_kind_says_what_is_wrong(node: dict[str, object], message: str) -> None:
    with pytest.raises(BodyFormatError, match=message):
        decode_body(node)


def test_a_broken_event_stream_item_in_a_file_is_reported_at_its_line() -> None:
    text = (CASSETTES / "bedrock_converse_stream.yaml").read_text(encoding="utf-8")
    broken = re.sub(r"(['\"]?:message-type['\"]?): event", r"\1: 7", text, count=1)  # quoted or not
    assert broken != text
    with pytest.raises(CassetteError) as caught:
        loads(broken, "b.yaml")
    assert "b.yaml:" in str(caught.value)
    assert "headers[':message-type'] must be text, true/false" in str(caught.value)


# ---------------------------------------------------------------- the event split


def steps(exchange: WireExchange, split: str) -> list[bytes]:
    recorded = interaction(exchange)
    return [
        step.data
        for step in build_schedule(
            recorded.request, recorded.response, ReplayPolicy.from_knobs(split=split, speed=0)
        ).steps
    ]


def test_split_events_sends_one_event_stream_message_per_chunk() -> None:
    pieces = steps(FORMAT_EXCHANGES["bedrock_converse_stream"], "events")
    assert len(pieces) == 8
    for piece in pieces:
        buffer = EventStreamBuffer()
        buffer.add_data(piece)
        assert len(list(buffer)) == 1


def test_split_events_sends_one_ndjson_line_per_chunk() -> None:
    pieces = steps(FORMAT_EXCHANGES["ollama_chat"], "events")
    assert len(pieces) == 5
    assert all(piece.endswith(b"\n") and piece.count(b"\n") == 1 for piece in pieces)
    assert all(json.loads(piece)["model"] == "llama3.2" for piece in pieces)


def test_split_events_completes_one_array_element_per_chunk() -> None:
    pieces = steps(FORMAT_EXCHANGES["gemini_array"], "events")
    assert [piece[-1:] for piece in pieces] == [b"}", b"}", b"}", b"]"]
    assert pieces[1].startswith(b"\n,\r\n{")


@pytest.mark.parametrize("name", ["gemini_stream", "openai_chat", "anthropic_messages"])
def test_split_events_is_split_sse_for_sse_bodies(name: str) -> None:
    assert steps(EXCHANGES[name], "events") == steps(EXCHANGES[name], "sse")


def test_bytes_1_cuts_inside_every_event_stream_prelude() -> None:
    exchange = FORMAT_EXCHANGES["bedrock_converse_stream"]
    recorded = interaction(exchange).response
    pieces = split_body(recorded, Split.parse("bytes:1"), random.Random(0))
    assert len(pieces) == len(body(exchange))
    assert event_ends(body(exchange), content_type(exchange))[0] == 148


# ---------------------------------------------------------------- the bundled examples


@pytest.mark.parametrize("name", sorted(FORMAT_EXCHANGES))
def test_each_new_example_loads_round_trips_and_holds_the_fakes_bytes(name: str) -> None:
    path = CASSETTES / f"{name}.yaml"
    cassette = load_cassette(str(path))
    assert dumps(cassette) == path.read_text(encoding="utf-8")
    response = cassette.interactions[0].response
    assert response.body == body(FORMAT_EXCHANGES[name])
    assert [len(chunk.data) for chunk in response.chunks] == [len(data) for _, data in FORMAT_EXCHANGES[name].chunks]
    assert f"{KINDS[name]}:" in path.read_text(encoding="utf-8")


@pytest.mark.parametrize("split", ["recorded", "utf8", "bytes:1", "events"])
@pytest.mark.parametrize("name", TAKES_A_TRANSPORT)
def test_the_client_reads_the_bundled_example_through_the_transport(name: str, split: str) -> None:
    call, expected = CALLS[name]
    assert (
        call("http://replay.test", ReplayTransport(str(CASSETTES / f"{name}.yaml"), speed=0, split=split)) == expected
    )


def test_inspect_lists_the_events_of_every_format() -> None:
    result = invoke("inspect", str(CASSETTES), "--width", "120")
    assert result.exit_code == 0, result.output
    for heading in ("8 AWS event-stream messages", "3 JSON array elements", "5 NDJSON lines", "9 server-sent events"):
        assert heading in result.output
    assert "contentBlockDelta" in result.output
    assert '"bytes":{"type":"message_start"' in result.output  # the model's JSON, not base64


def test_validate_names_the_line_of_a_corrupted_event_stream_crc(tmp_path: Path) -> None:
    exchange = FORMAT_EXCHANGES["bedrock_converse_stream"]
    data = bytearray(body(exchange))
    data[300] ^= 0x01  # inside message 2's payload: its message CRC no longer matches
    corrupted = Interaction(
        interaction(exchange).request, Response(200, exchange.headers, 0.0, (Chunk(0.1, bytes(data)),))
    )
    path = tmp_path / "corrupted.yaml"
    path.write_text(dumps(Cassette([corrupted])), encoding="utf-8")
    result = invoke("validate", str(path))
    assert result.exit_code == 1
    [line] = result.output.splitlines()
    line_number = int(line.split(":")[1])
    assert path.read_text(encoding="utf-8").splitlines()[line_number - 1].strip().startswith("- message_base64:")
    assert "message 2 (at byte 148) has a bad message CRC" in line
    assert line.startswith(f"FAIL {path}:{line_number}: interaction #1's response body")


def test_validate_names_an_ndjson_line_that_is_not_json(tmp_path: Path) -> None:
    exchange = FORMAT_EXCHANGES["ollama_chat"]
    data = body(exchange).replace(b'"done":false}\n', b'"done":false\n', 1)
    broken = Interaction(interaction(exchange).request, Response(200, exchange.headers, 0.0, (Chunk(0.1, data),)))
    path = tmp_path / "ndjson.yaml"
    path.write_text(dumps(Cassette([broken])), encoding="utf-8")
    result = invoke("validate", str(path))
    assert result.exit_code == 1
    line_number = int(result.output.split(":")[1])
    assert path.read_text(encoding="utf-8").splitlines()[line_number - 1].strip().startswith('{"model":"llama3.2"')
    assert "NDJSON line 1 is not JSON" in result.output


def test_a_bedrock_chunk_with_undecodable_bytes_stays_json() -> None:
    payload = json.dumps({"bytes": base64.b64encode(b"\xff\xfe").decode(), "p": "a"}, separators=(",", ":")).encode()
    data = event_message("chunk", payload)
    node = encode_body(data, "application/vnd.amazon.eventstream")
    assert "bytes_json_style" not in node["event_stream"][0]
    assert decode_body(node) == data


@pytest.mark.parametrize("split", ["bytes:1", "events"])
def test_boto3_streams_the_bundled_bedrock_examples_from_the_replay_server(split: str) -> None:
    names = ["bedrock_converse_stream", "bedrock_invoke_stream"]
    cassettes = [load_cassette(str(CASSETTES / f"{name}.yaml")) for name in names]
    with ReplayServer(CassettePlayer(cassettes, ReplayPolicy.from_knobs(speed=0, split=split))) as server:
        for name in names:
            call, expected = CALLS[name]
            assert call(server.base_url, None) == expected


def test_a_status_fault_raises_boto3s_and_ollamas_own_errors() -> None:
    cassette = load_cassette(str(CASSETTES / "bedrock_converse_stream.yaml"))
    with ReplayServer(CassettePlayer([cassette], ReplayPolicy.from_knobs(speed=0, fault="status:429"))) as server:
        call, _ = CALLS["bedrock_converse_stream"]
        with pytest.raises(ClientError) as caught:
            call(server.base_url, None)
    assert caught.value.response["Error"]["Code"] == "ThrottlingException"
    assert caught.value.response["Error"]["Message"] == "Too many requests, please wait before trying again."

    call, _ = CALLS["ollama_chat"]
    transport = ReplayTransport(str(CASSETTES / "ollama_chat.yaml"), speed=0, fault="status:503")
    with pytest.raises(ollama.ResponseError) as failed:
        call("http://replay.test", transport)
    assert failed.value.status_code == 503
    assert failed.value.error == "service unavailable"


def test_a_json_array_that_never_closes_is_a_framing_problem_unless_the_stream_was_cut() -> None:
    data = body(FORMAT_EXCHANGES["gemini_array"])[:-1]
    [(index, problem)] = framing_problems(data, "application/json", cut=False)
    assert index == 3
    assert "does not close with ] after element 3" in problem
    assert framing_problems(data, "application/json", cut=True) == []
    assert framing_problems(body(FORMAT_EXCHANGES["gemini_array"]), "application/json", cut=False) == []


def test_an_exception_message_mid_stream_replays_as_boto3s_own_error() -> None:
    """Bedrock ends a stream early with an `exception` message; boto3 raises it by name."""
    exchange = FORMAT_EXCHANGES["bedrock_converse_stream"]
    messages = event_stream_pieces(body(exchange))
    error = write_message(
        {":exception-type": "throttlingException", ":content-type": "application/json", ":message-type": "exception"},
        b'{"message":"Too many tokens, please wait before trying again."}',
    )
    data = b"".join(messages[:3]) + error
    node = encode_body(data, "application/vnd.amazon.eventstream")
    assert node["event_stream"][3]["headers"][":message-type"] == "exception"
    response = Response(200, exchange.headers, 0.0, (Chunk(0.1, data),))
    request = load_cassette(str(CASSETTES / "bedrock_converse_stream.yaml")).interactions[0].request
    cassette = Cassette([Interaction(request, response)])
    with ReplayServer(
        CassettePlayer([loads(dumps(cassette))], ReplayPolicy.from_knobs(speed=0, split="events"))
    ) as server:
        call, _ = CALLS["bedrock_converse_stream"]
        with pytest.raises(EventStreamError) as caught:
            call(server.base_url, None)
    assert caught.value.response["Error"]["Code"] == "throttlingException"


def test_every_header_type_is_stored_readably_and_replays_the_same_bytes() -> None:
    headers = {
        ":event-type": "chunk",
        "flag": True,
        "off": False,
        "b": {"byte": -3},
        "s": {"short": 300},
        "i": {"integer": -70_000},
        "l": {"long": 2**40},
        "at": {"timestamp_ms": 1_700_000_000_123},
        "raw": {"byte_array_base64": "AAEC"},
        "id": {"uuid": "0f8fad5b-d9cb-469f-a165-70867728950e"},
    }
    data = write_message(headers, b'{"a":1}')
    node = encode_body(data, "application/vnd.amazon.eventstream")
    assert node["event_stream"] == [{"headers": headers, "json": {"a": 1}}]
    buffer = EventStreamBuffer()
    buffer.add_data(data)
    [message] = list(buffer)  # botocore reads each type back as it was written
    assert message.headers["l"] == 2**40
    assert message.headers["id"] == bytes.fromhex("0f8fad5bd9cb469fa16570867728950e")
    response = Response(200, (("content-type", "application/vnd.amazon.eventstream"),), 0.0, (Chunk(0.1, data),))
    cassette = Cassette([Interaction(Request("POST", "http://api.test/x"), response)])
    text = dumps(cassette)
    assert "timestamp_ms: 1700000000123" in text
    assert loads(text) == cassette


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ({"integer": 2**31}, "does not fit its type, integer"),
        ({"uuid": "nope"}, "is not a UUID"),
        ({"short": "1"}, "must be a whole number"),
        ({"kilo": 1}, "must be text, true/false, or one of"),
    ],
)
def test_a_typed_header_the_wire_cannot_hold_says_so(value: object, problem: str) -> None:
    with pytest.raises(BodyFormatError, match=problem):
        decode_body({"event_stream": [{"headers": {"h": value}}]})
