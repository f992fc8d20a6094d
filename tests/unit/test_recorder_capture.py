"""The recorder's pure parts: timing capture, streaming decompression, the cassette writer, settings."""

from __future__ import annotations

import gzip
import itertools
import threading
import warnings
import zlib
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import brotli
import pytest
from hypothesis import given
from hypothesis import strategies as st

from chunktape import CassetteError, Chunk, Interaction, RecordingError, Request, Response, load_cassette
from chunktape.errors import WriterClosedError
from chunktape.recorder.capture import ExchangeCapture
from chunktape.recorder.decoding import decode_chunks, decoded_response
from chunktape.recorder.settings import RecordSettings, local_url, parse_upstream
from chunktape.recorder.writer import CassetteWriter

REQUEST = Request("POST", "https://api.example.test/v1/chat", (("content-type", "application/json"),), b"{}")


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def interaction(n: int) -> Interaction:
    body = f"data: {n}\n\n".encode()
    return Interaction(
        Request("POST", f"https://api.example.test/v1/chat?n={n}", (), b"{}"),
        Response(200, (("content-type", "text/event-stream"),), 0.01, (Chunk(0.02, body),)),
    )


def pieces_of(data: bytes, cuts: list[int]) -> list[bytes]:
    bounds = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in itertools.pairwise(bounds) if b > a]


# ------------------------------------------------------------------ capture


def test_an_interaction_is_dated_in_utc_when_its_request_left() -> None:
    sent = datetime(2026, 12, 6, 10, 4, 5, 678000, tzinfo=timezone(timedelta(hours=1)))
    capture = ExchangeCapture(REQUEST, clock=FakeClock(), wall_clock=lambda: sent)
    capture.response_head(200, (), "HTTP/1.1")
    assert capture.finish("complete").recorded_at == datetime(2026, 12, 6, 9, 4, 5, tzinfo=UTC)


def test_capture_times_every_chunk_from_the_request_and_passes_bytes_through() -> None:
    clock = FakeClock()
    capture = ExchangeCapture(REQUEST, clock=clock)
    clock.now += 0.25
    capture.response_head(200, (("content-type", "text/event-stream"),), "HTTP/2.0")
    clock.now += 0.5
    assert capture.on_chunk(b"data: \xe4") == b"data: \xe4"
    clock.now += 0.125
    assert capture.on_chunk(b"\xb8\xad\r") == b"\xb8\xad\r"
    assert capture.on_chunk(b"") == b""  # mitmproxy's end-of-body call is not a chunk
    clock.now += 0.125
    recorded = capture.finish("complete").response
    assert recorded.headers_at_s == pytest.approx(0.25)
    assert [(c.at_s, c.data) for c in recorded.chunks] == [
        (pytest.approx(0.75), b"data: \xe4"),
        (pytest.approx(0.875), b"\xb8\xad\r"),
    ]
    assert recorded.ended == "complete"
    assert recorded.ended_at_s == pytest.approx(1.0)
    assert recorded.http_version == "HTTP/2.0"


def test_capture_of_a_cut_stream_keeps_what_arrived() -> None:
    capture = ExchangeCapture(REQUEST, clock=FakeClock())
    capture.response_head(200, (), "HTTP/1.1")
    capture.on_chunk(b"data: 1\n\n")
    response = capture.finish("cut").response
    assert response.ended == "cut"
    assert response.body == b"data: 1\n\n"


def test_capture_without_a_response_head_cannot_finish() -> None:
    with pytest.raises(ValueError, match="no response head"):
        ExchangeCapture(REQUEST).finish("cut")


# ------------------------------------------------------------------ decoding


def gzip_pieces(parts: list[bytes]) -> list[bytes]:
    compressor = zlib.compressobj(6, zlib.DEFLATED, 31)
    out = [compressor.compress(part) + compressor.flush(zlib.Z_SYNC_FLUSH) for part in parts]
    out[-1] += compressor.flush()
    return out


@given(st.binary(min_size=1, max_size=400), st.lists(st.integers(min_value=0, max_value=400), max_size=8))
def test_gzip_decoding_never_loses_a_byte_whatever_the_wire_chunking(data: bytes, cuts: list[int]) -> None:
    wire = gzip.compress(data)
    chunks = [Chunk(float(i), piece) for i, piece in enumerate(pieces_of(wire, cuts))]
    decoded = decode_chunks(chunks, "gzip", complete=True)
    assert decoded is not None
    assert b"".join(c.data for c in decoded) == data
    assert [c.at_s for c in decoded] == sorted(c.at_s for c in decoded)


@given(st.lists(st.binary(min_size=1, max_size=60), min_size=1, max_size=6))
def test_flushed_brotli_pieces_decode_to_the_original_chunks_at_their_times(parts: list[bytes]) -> None:
    compressor = brotli.Compressor()
    wire = [compressor.process(part) + compressor.flush() for part in parts]
    wire[-1] += compressor.finish()
    chunks = [Chunk(0.1 * i, piece) for i, piece in enumerate(wire)]
    decoded = decode_chunks(chunks, "br", complete=True)
    assert decoded is not None
    assert [c.data for c in decoded] == parts
    assert [c.at_s for c in decoded] == [c.at_s for c in chunks]


def test_decoding_stamps_text_with_its_wire_chunk_time() -> None:
    parts = [b"data: one\n\n", b"data: \xe4\xb8\xad\n\n", b"data: [DONE]\n\n"]
    chunks = [Chunk(at, piece) for at, piece in zip((0.1, 0.4, 0.9), gzip_pieces(parts), strict=True)]
    decoded = decode_chunks(chunks, "gzip", complete=True)
    assert decoded == (Chunk(0.1, parts[0]), Chunk(0.4, parts[1]), Chunk(0.9, parts[2]))


@pytest.mark.parametrize("wbits", [zlib.MAX_WBITS, -zlib.MAX_WBITS], ids=["zlib-wrapped", "raw"])
def test_deflate_is_decoded_wrapped_or_raw(wbits: int) -> None:
    compressor = zlib.compressobj(6, zlib.DEFLATED, wbits)
    wire = compressor.compress(b'{"ok": true}') + compressor.flush()
    decoded = decode_chunks([Chunk(0.1, wire[:1]), Chunk(0.2, wire[1:])], "deflate", complete=True)
    assert decoded is not None
    assert b"".join(c.data for c in decoded) == b'{"ok": true}'


def test_decoded_response_drops_content_encoding_and_fixes_content_length() -> None:
    wire = gzip.compress(b'{"text": "hello"}')
    response = Response(
        200,
        (("Content-Type", "application/json"), ("Content-Encoding", "gzip"), ("Content-Length", str(len(wire)))),
        0.1,
        (Chunk(0.2, wire),),
    )
    decoded = decoded_response(response)
    assert decoded.body == b'{"text": "hello"}'
    assert decoded.headers == (("Content-Type", "application/json"), ("Content-Length", "17"))


def test_a_cut_compressed_stream_keeps_the_text_that_arrived_and_no_length() -> None:
    parts = [b"data: one\n\n", b"data: two\n\n", b"data: three\n\n"]
    wire = gzip_pieces(parts)
    response = Response(
        200,
        (("content-encoding", "gzip"), ("content-length", "999")),
        0.1,
        (Chunk(0.2, wire[0]), Chunk(0.3, wire[1])),
        ended="cut",
    )
    decoded = decoded_response(response)
    assert decoded.body == b"data: one\n\ndata: two\n\n"
    assert decoded.headers == ()


@pytest.mark.parametrize(
    ("coding", "body"),
    [
        ("gzip", b"not gzip at all"),
        ("compress", b"\x1f\x9d\x90"),
        ("gzip, br", b"\x00"),
        ("gzip", gzip.compress(b"x")[:-4]),
    ],
    ids=["corrupt", "unknown-coding", "stacked-codings", "truncated-but-complete"],
)
def test_an_undecodable_body_is_kept_as_wire_bytes_with_its_encoding(coding: str, body: bytes) -> None:
    response = Response(200, (("content-encoding", coding),), 0.1, (Chunk(0.2, body),))
    assert decoded_response(response) == response


def test_identity_and_plain_bodies_are_untouched() -> None:
    plain = Response(200, (("content-type", "text/plain"),), 0.1, (Chunk(0.2, b"hi"),))
    identity = Response(200, (("content-encoding", "identity"),), 0.1, (Chunk(0.2, b"hi"),))
    assert decoded_response(plain) is plain
    assert decoded_response(identity) is identity


# ------------------------------------------------------------------ writer


def test_writer_creates_missing_folders_and_the_file_with_its_first_interaction(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "new.yaml"
    writer = CassetteWriter(str(path))
    try:
        assert path.parent.is_dir()
        assert not path.exists()
        writer.add(interaction(1)).result(10)
        assert load_cassette(str(path)).interactions == [interaction(1)]
    finally:
        writer.close()


def test_each_interaction_is_on_disk_when_its_future_resolves(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    writer = CassetteWriter(str(path))
    try:
        writer.add(interaction(1)).result(10)
        assert load_cassette(str(path)).interactions == [interaction(1)]
        writer.add(interaction(2)).result(10)
        assert load_cassette(str(path)).interactions == [interaction(1), interaction(2)]
    finally:
        writer.close()


def test_many_threads_adding_at_once_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    writer = CassetteWriter(str(path))
    barrier = threading.Barrier(24)

    def add(n: int) -> None:
        barrier.wait()
        writer.add(interaction(n)).result(30)

    threads = [threading.Thread(target=add, args=(n,)) for n in range(24)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    writer.close()
    urls = sorted(i.request.url for i in load_cassette(str(path)).interactions)
    assert urls == sorted(interaction(n).request.url for n in range(24))
    assert writer.recorded == 24


def test_append_keeps_what_the_cassette_held(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    first = CassetteWriter(str(path))
    first.add(interaction(1)).result(10)
    first.close()
    second = CassetteWriter(str(path), append=True)
    second.add(interaction(2)).result(10)
    second.close()
    assert load_cassette(str(path)).interactions == [interaction(1), interaction(2)]
    assert second.recorded == 1


def test_without_append_the_cassette_starts_over(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    first = CassetteWriter(str(path))
    first.add(interaction(1)).result(10)
    first.close()
    second = CassetteWriter(str(path))
    second.add(interaction(2)).result(10)
    second.close()
    assert load_cassette(str(path)).interactions == [interaction(2)]


def test_secrets_are_redacted_on_the_way_to_disk(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    secret = Interaction(
        Request(
            "POST",
            "https://api.example.test/v1?key=SECRET-QUERY",
            (("x-goog-api-key", "SECRET-HEADER"), ("x-session", "SECRET-CUSTOM")),
            b"{}",
        ),
        Response(200, (), 0.0, (Chunk(0.1, b"ok"),)),
    )
    writer = CassetteWriter(str(path), redact=["X-Session"])
    writer.add(secret).result(10)
    writer.close()
    text = path.read_text(encoding="utf-8")
    assert "SECRET" not in text
    assert text.count("<redacted>") == 3


def test_an_unwritable_directory_is_bad_input(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(CassetteError, match="cannot write the cassette"):
        CassetteWriter(str(blocker / "sub" / "c.yaml"))


def test_a_directory_is_not_a_cassette(tmp_path: Path) -> None:
    with pytest.raises(CassetteError, match="is a directory"):
        CassetteWriter(str(tmp_path))


def test_appending_to_an_invalid_cassette_is_bad_input(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("version: 99\ninteractions: []\n")
    with pytest.raises(CassetteError, match="unknown cassette version"):
        CassetteWriter(str(path), append=True)


def test_a_closed_writer_refuses_more(tmp_path: Path) -> None:
    writer = CassetteWriter(str(tmp_path / "c.yaml"))
    writer.close()
    with pytest.raises(WriterClosedError):
        writer.add(interaction(1)).result(1)


# ------------------------------------------------------------------ settings


@pytest.mark.parametrize(
    ("url", "spec"),
    [
        ("https://generativelanguage.googleapis.com", "https://generativelanguage.googleapis.com:443"),
        ("https://api.openai.com/", "https://api.openai.com:443"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("http://[::1]:9000", "http://[::1]:9000"),
    ],
)
def test_upstream_urls_become_mitmproxy_reverse_specs(url: str, spec: str) -> None:
    assert parse_upstream(url) == spec
    assert RecordSettings(cassette="c.yaml", upstream=url).mode == f"reverse:{spec}"


@pytest.mark.parametrize(
    "url",
    ["ftp://x", "api.openai.com", "https://", "https://x:99999", "https://u:p@x", "https://x/v1", "https://x?key=1"],
)
def test_unusable_upstream_urls_are_refused_in_one_sentence(url: str) -> None:
    with pytest.raises(RecordingError, match=r"^bad --upstream URL") as excinfo:
        parse_upstream(url)
    assert "\n" not in str(excinfo.value)


def test_forward_mode_has_no_upstream() -> None:
    assert RecordSettings(cassette="c.yaml").mode == "regular"


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("127.0.0.1", "http://127.0.0.1:5"),
        ("0.0.0.0", "http://127.0.0.1:5"),
        ("::", "http://[::1]:5"),
        ("::1", "http://[::1]:5"),
    ],
)
def test_the_local_url_is_reachable(host: str, url: str) -> None:
    assert local_url(host, 5) == url


def command_env(settings: RecordSettings, url: str, base: dict[str, str]) -> dict[str, str]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # ldap3, imported by mitmproxy's proxyauth
        from chunktape.recorder.session import command_env as env_for_command
    return env_for_command(settings, url, base)


def test_a_forward_mode_command_gets_the_proxy_and_the_ca_and_no_bypass() -> None:
    settings = RecordSettings(cassette="c.yaml", confdir="/conf")
    env = command_env(settings, "http://127.0.0.1:5", {"NO_PROXY": "localhost", "no_proxy": "*", "PATH": "/bin"})
    assert env["HTTPS_PROXY"] == env["HTTP_PROXY"] == env["https_proxy"] == "http://127.0.0.1:5"
    assert env["SSL_CERT_FILE"] == env["REQUESTS_CA_BUNDLE"] == "/conf/mitmproxy-ca-cert.pem"
    assert "NO_PROXY" not in env
    assert "no_proxy" not in env
    assert env["PATH"] == "/bin"


def test_a_reverse_mode_command_gets_the_base_url_only() -> None:
    settings = RecordSettings(cassette="c.yaml", upstream="https://api.openai.com")
    env = command_env(settings, "http://127.0.0.1:5", {"PATH": "/bin"})
    assert env == {"PATH": "/bin", "CHUNKTAPE_BASE_URL": "http://127.0.0.1:5"}
