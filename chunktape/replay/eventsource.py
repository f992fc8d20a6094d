"""EventSource reconnection: what a browser that lost a replayed SSE stream gets when it comes back.

An EventSource whose stream broke (a `cut:N` fault, say) waits the stream's `retry:` time,
then asks again with `Last-Event-ID: <the id of the last event it saw>`. A recorded backend
answered that with the rest of the stream or, as many really do, with the whole stream again;
the `resume` knob picks which (`last-event-id` or `start`), since a page must cope with both.

A reconnection is a request that carries Last-Event-ID, answered by a recorded SSE response
whose own request did not (a cassette that recorded the backend's real answer to a
reconnection replays that instead). An EventSource that saw no id yet comes back without
one: a GET asking for text/event-stream that repeats an interaction already answered is a
reconnection too, answered from the start. The fault that broke the stream struck the first
connection: a reconnection is replayed without `cut` or `truncate`, or it would break again
forever. `id:` and `retry:` lines are bytes of the body like any other: kept as recorded.

Pure: a Response and a policy in, a Response and a policy out.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from chunktape.cassette import Chunk, Interaction, Request, Response
from chunktape.knobs import ReplayPolicy
from chunktape.sse import event_ends, looks_like_sse

LAST_EVENT_ID = "last-event-id"
_FAULTS_OF_THE_FIRST_CONNECTION = ("cut", "truncate")


@dataclass(frozen=True)
class Reconnection:
    """What to replay for a reconnecting EventSource."""

    response: Response
    policy: ReplayPolicy


def reconnection(
    request: Request, interaction: Interaction, policy: ReplayPolicy, *, repeat: bool = False
) -> Reconnection | None:
    """The replay for `request` when it is an EventSource coming back, else None (replay as usual).
    `repeat`: the interaction had already answered a request."""
    last_id = request.header(LAST_EVENT_ID)
    if interaction.request.header(LAST_EVENT_ID) is not None:
        return None
    if last_id is None and not (repeat and _asks_for_events(request)):
        return None
    response = interaction.response
    if not looks_like_sse(response.header("content-type")):
        return None
    fault = policy.fault
    if fault is not None and fault.kind in _FAULTS_OF_THE_FIRST_CONNECTION:
        policy = dataclasses.replace(policy, fault=None)
    if policy.resume == "start" or last_id is None:
        return Reconnection(response, policy)
    return Reconnection(events_after(response, last_id), policy)


def _asks_for_events(request: Request) -> bool:
    """What an EventSource sends: a GET accepting text/event-stream."""
    return request.method.upper() == "GET" and "text/event-stream" in (request.header("accept") or "").lower()


def event_ids(body: bytes) -> list[tuple[int, str | None]]:
    """(end offset, id field) of each complete event, in order; None when the event sets no id.

    As the WHATWG parser reads it: a line `id: X` or `id:X` (one leading space dropped); a
    value containing NUL is ignored."""
    found: list[tuple[int, str | None]] = []
    start = 0
    for end in event_ends(body):
        event_id: str | None = None
        for line in body[start:end].decode("utf-8", errors="replace").splitlines():
            name, colon, value = line.partition(":")
            if name == "id" and colon:
                value = value[1:] if value.startswith(" ") else value
                if "\0" not in value:
                    event_id = value
        found.append((end, event_id))
        start = end
    return found


def events_after(response: Response, last_id: str) -> Response:
    """`response` from just after the event whose id is `last_id`, each remaining chunk as far
    from that moment as it was in the recording; the whole response if no event has that id."""
    offset = next((end for end, event_id in event_ids(response.body) if event_id == last_id), None)
    if offset is None:
        return response
    chunks: list[Chunk] = []
    position = 0
    resumed_at: float | None = None
    for chunk in response.chunks:
        start, end = position, position + len(chunk.data)
        position = end
        if end < offset:
            continue
        if resumed_at is None:
            resumed_at = chunk.at_s  # the chunk that completed the last event the client saw
        if end > offset:
            kept = chunk.data[max(0, offset - start) :]
            chunks.append(Chunk(at_s=response.headers_at_s + chunk.at_s - resumed_at, data=kept))
    since = resumed_at if resumed_at is not None else response.headers_at_s
    ended_at = None if response.ended_at_s is None else response.headers_at_s + max(0.0, response.ended_at_s - since)
    return dataclasses.replace(
        response,
        headers=tuple((k, v) for k, v in response.headers if k.lower() != "content-length"),
        chunks=tuple(chunks),
        ended_at_s=ended_at,
    )
