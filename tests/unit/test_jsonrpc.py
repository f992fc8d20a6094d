"""JSON-RPC ids: a recorded reply rewritten to carry the live request's id, byte-exact otherwise."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from chunktape import Cassette, CassettePlayer, Interaction, MatchRules, ReplayPolicy, Request, Response
from chunktape.cassette import Chunk
from chunktape.jsonrpc import chunks_with_id, reply_id, request_id, with_id

REPLY = b'{"jsonrpc":"2.0","id":2,"result":{"content":[{"type":"text","text":"{\\"id\\":2}"}],"id":2}}'


def test_ids_are_read_from_requests_and_replies_only() -> None:
    assert request_id(b'{"jsonrpc":"2.0","id":"a7","method":"tools/call"}') == "a7"
    assert request_id(b'{"jsonrpc":"2.0","method":"notifications/initialized"}') is None
    assert reply_id(REPLY) == 2
    assert reply_id(b'{"id":2,"result":{}}') is None  # not JSON-RPC


def test_only_the_top_level_id_changes() -> None:
    assert with_id(REPLY, 2, "f00d") == REPLY.replace(b'"id":2,"result"', b'"id":"f00d","result"', 1)


def test_sse_replies_are_renumbered_and_other_events_left_alone() -> None:
    body = (
        b'event: message\ndata: {"jsonrpc":"2.0","method":"notifications/progress"}\n\n' + b"data: " + REPLY + b"\n\n"
    )
    (chunk,) = chunks_with_id((Chunk(0.1, body),), 2, 7)
    assert chunk.data == body.replace(b'"id":2,"result"', b'"id":7,"result"', 1)


@given(st.data(), st.one_of(st.integers(0, 10**9), st.text(max_size=12)))
def test_renumbering_keeps_every_chunk_its_time_and_every_other_byte(data: st.DataObject, new: int | str) -> None:
    body = b"data: " + REPLY + b"\n\n"
    cuts = sorted(data.draw(st.sets(st.integers(1, len(body) - 1), max_size=8)))
    pieces = [body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)], strict=True)]
    chunks = tuple(Chunk(float(index), piece) for index, piece in enumerate(pieces))
    renumbered = chunks_with_id(chunks, 2, new)
    assert [chunk.at_s for chunk in renumbered] == [chunk.at_s for chunk in chunks]
    assert b"".join(chunk.data for chunk in renumbered) == b"data: " + with_id(REPLY, 2, new) + b"\n\n"
    assert reply_id(b"".join(chunk.data for chunk in renumbered)[6:]) == new


def test_a_streamable_http_reply_matched_with_id_ignored_carries_the_live_id() -> None:
    call = b'{"jsonrpc":"2.0","id":%s,"method":"tools/call","params":{"name":"stamp"}}'
    sse = b'event: message\ndata: {"jsonrpc":"2.0","id":3,"result":{"content":[]}}\n\n'
    recorded = Interaction(
        Request("POST", "http://127.0.0.1:8000/mcp", (), call % b"3"),
        Response(200, (("content-type", "text/event-stream"),), chunks=(Chunk(0.01, sse[:30]), Chunk(0.02, sse[30:]))),
    )
    player = CassettePlayer([Cassette([recorded])], ReplayPolicy(speed=0), MatchRules.build(ignore=["id"]))
    schedule = player.play(Request("POST", "http://127.0.0.1:9/mcp", (), call % b'"c0ffee"'))
    assert b"".join(step.data for step in schedule.steps) == sse.replace(b'"id":3', b'"id":"c0ffee"')
    assert len(schedule.steps) == 2
    same = player.play(Request("POST", "http://127.0.0.1:9/mcp", (), call % b"3"))
    assert b"".join(step.data for step in same.steps) == sse
