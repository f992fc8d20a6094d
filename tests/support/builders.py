"""Small cassettes built in code, for tests that need exact, known bytes and times."""

from __future__ import annotations

from chunktape import Cassette, Chunk, Interaction, Request, Response

GEMINI_URL = "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
SSE_BODY = (
    'data: {"candidates":[{"content":{"parts":[{"text":"这里是第一段"}],"role":"model"}}]}\r\n\r\n'
    'data: {"candidates":[{"content":{"parts":[{"text":"，第二段。"}],"role":"model"},"finishReason":"STOP"}]}\r\n\r\n'
).encode()


def cut(body: bytes, offsets: list[int], times: list[float]) -> tuple[Chunk, ...]:
    """Chunks of `body` ending at `offsets` (plus the end), arriving at `times`."""
    ends = [*offsets, len(body)]
    assert len(ends) == len(times)
    chunks, start = [], 0
    for end, at in zip(ends, times, strict=True):
        chunks.append(Chunk(at_s=at, data=body[start:end]))
        start = end
    return tuple(chunks)


def sse_interaction(
    body: bytes = SSE_BODY,
    offsets: list[int] | None = None,
    times: list[float] | None = None,
    request_body: bytes = b'{"contents":[{"parts":[{"text":"hi"}],"role":"user"}]}',
    url: str = GEMINI_URL,
    headers_at_s: float = 0.05,
) -> Interaction:
    # default cuts: inside 这 (3-byte char), between \r and \n, and mid-event
    if offsets is None:
        first = body.index("这".encode()) + 1
        crlf = body.index(b"\r\n") + 1
        offsets = [first, crlf, crlf + 30]
    times = times if times is not None else [0.1 + 0.04 * i for i in range(len(offsets) + 1)]
    return Interaction(
        request=Request(
            "POST",
            url,
            (("content-type", "application/json"), ("x-goog-api-key", "AIzaTESTKEY")),
            request_body,
        ),
        response=Response(
            status=200,
            headers=(("content-type", "text/event-stream"), ("x-request-id", "abc")),
            headers_at_s=headers_at_s,
            chunks=cut(body, offsets, times),
        ),
    )


def sse_cassette(**kwargs: object) -> Cassette:
    return Cassette([sse_interaction(**kwargs)])  # type: ignore[arg-type]


def layout_0_1(cassette: Cassette) -> str:
    """The cassette as chunktape 0.1 wrote it: redacted, PyYAML's dumper, `ended` after `chunks`."""
    import yaml

    from chunktape.persist.schema import interaction_node
    from chunktape.redaction import Redactor

    class Dumper(yaml.SafeDumper):
        pass

    def text(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
        style = "|" if "\n" in value and "\r" not in value else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    def flow(dumper: yaml.SafeDumper, value: dict[str, object]) -> yaml.Node:
        return dumper.represent_mapping("tag:yaml.org,2002:map", dict(value), flow_style=True)

    Dumper.add_representer(str, text)
    items = []
    for interaction in cassette.interactions:
        node = interaction_node(Redactor().interaction(interaction))
        response = node["response"]
        for key in ("ended", "ended_at_s"):  # 0.1 wrote them after the chunks
            if key in response:
                response[key] = response.pop(key)
        for chunk in response["chunks"]:
            Dumper.add_representer(type(chunk), flow)
        items.append(node)
    document = {"version": 1, "interactions": items}
    dumped: str = yaml.dump(
        document, Dumper=Dumper, allow_unicode=True, sort_keys=False, default_flow_style=False, width=1_000_000
    )
    return dumped
