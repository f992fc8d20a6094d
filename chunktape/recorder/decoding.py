"""Compressed upstream bodies are stored decoded, chunk by chunk, with matching headers.

Why decode instead of keeping the gzip/br wire bytes: a cassette exists to be read, diffed
and re-chunked. Compressed bytes would be base64 noise, and every replay knob that cuts
the body (`split` by bytes, `utf8`, `sse`, `truncate`) would cut the compressed stream
rather than the text the client consumes. Decoding each wire chunk incrementally keeps
the rhythm: a piece of text is stamped with the arrival time of the wire chunk that made
it available, which is exactly when a live client's decoder could hand it on.

The stored response is self-consistent: `content-encoding` is removed and
`content-length` (if any) is set to the decoded length, so replay serves identity bytes
and the client gets the same text it got live. When a body cannot be decoded (an unknown
or stacked coding, corrupt data) the wire bytes are kept with their `content-encoding`
header, which is equally consistent, only less readable.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Protocol

from chunktape.cassette import Chunk, Headers, Response


class _Decoder(Protocol):
    def feed(self, data: bytes) -> bytes: ...

    def finish(self) -> bytes:
        """Whatever is left; raises ValueError when the stream is incomplete or corrupt."""
        ...


class _ZlibDecoder:
    """gzip (wbits 16+), zlib-wrapped deflate (wbits 15), or raw deflate (wbits -15)."""

    def __init__(self, wbits: int) -> None:
        self._inner = zlib.decompressobj(wbits)

    def feed(self, data: bytes) -> bytes:
        try:
            return self._inner.decompress(data)
        except zlib.error as exc:
            raise ValueError(str(exc)) from None

    def finish(self) -> bytes:
        tail = self._inner.flush()
        if not self._inner.eof:
            raise ValueError("compressed stream ended early")
        return tail


class _DeflateDecoder:
    """`deflate` is zlib-wrapped by the RFC but raw in practice often enough: try both."""

    def __init__(self) -> None:
        self._inner: _ZlibDecoder | None = None
        self._pending = b""

    def feed(self, data: bytes) -> bytes:
        if self._inner is None:
            self._pending += data
            if len(self._pending) < 2:
                return b""
            wrapped = (self._pending[0] & 0x0F) == 8 and int.from_bytes(self._pending[:2], "big") % 31 == 0
            self._inner = _ZlibDecoder(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)
            data, self._pending = self._pending, b""
        return self._inner.feed(data)

    def finish(self) -> bytes:
        if self._inner is None:
            raise ValueError("deflate stream too short")
        return self._inner.finish()


class _BrotliDecoder:
    def __init__(self) -> None:
        import brotli  # type: ignore[import-untyped,unused-ignore]

        self._inner = brotli.Decompressor()

    def feed(self, data: bytes) -> bytes:
        try:
            out: bytes = self._inner.process(data)
        except Exception as exc:  # brotli.error is not a public, typed name
            raise ValueError(str(exc)) from None
        return out

    def finish(self) -> bytes:
        if not self._inner.is_finished():
            raise ValueError("brotli stream ended early")
        return b""


class _ZstdDecoder:
    def __init__(self) -> None:
        try:
            from compression import zstd  # type: ignore[import-not-found,unused-ignore]
        except ImportError:
            from backports import zstd  # type: ignore[import-not-found,no-redef,unused-ignore]
        self._inner = zstd.ZstdDecompressor()

    def feed(self, data: bytes) -> bytes:
        try:
            out: bytes = self._inner.decompress(data)
        except Exception as exc:  # zstd.ZstdError
            raise ValueError(str(exc)) from None
        return out

    def finish(self) -> bytes:
        if not self._inner.eof:
            raise ValueError("zstd stream ended early")
        return b""


_DECODERS: dict[str, Callable[[], _Decoder]] = {
    "gzip": lambda: _ZlibDecoder(16 + zlib.MAX_WBITS),
    "x-gzip": lambda: _ZlibDecoder(16 + zlib.MAX_WBITS),
    "deflate": _DeflateDecoder,
    "br": _BrotliDecoder,
    "zstd": _ZstdDecoder,
}


def decode_chunks(chunks: Sequence[Chunk], coding: str, *, complete: bool) -> tuple[Chunk, ...] | None:
    """The decoded body as chunks stamped with their wire chunk's arrival, or None if it
    cannot be decoded. A cut (`complete=False`) body keeps what decoded before the cut."""
    make = _DECODERS.get(coding.strip().lower())
    if make is None:
        return None
    try:
        decoder = make()
        decoded: list[Chunk] = []
        for chunk in chunks:
            piece = decoder.feed(chunk.data)
            if piece:
                decoded.append(Chunk(at_s=chunk.at_s, data=piece))
        if complete:
            tail = decoder.finish()
            if tail:
                at_s = chunks[-1].at_s if chunks else 0.0
                if decoded and decoded[-1].at_s == at_s:
                    decoded[-1] = Chunk(at_s=at_s, data=decoded[-1].data + tail)
                else:
                    decoded.append(Chunk(at_s=at_s, data=tail))
    except (ValueError, ImportError):
        return None
    return tuple(decoded)


def decoded_response(response: Response) -> Response:
    """`response` with its body decoded and headers to match, or unchanged if it has no
    content-encoding or cannot be decoded."""
    coding = response.header("content-encoding")
    if coding is None or coding.strip().lower() in ("", "identity"):
        return response
    chunks = decode_chunks(response.chunks, coding, complete=response.ended == "complete")
    if chunks is None:
        return response
    length = sum(len(chunk.data) for chunk in chunks)
    return replace(
        response, headers=_identity_headers(response.headers, length, response.ended == "complete"), chunks=chunks
    )


def _identity_headers(headers: Headers, length: int, complete: bool) -> Headers:
    kept: list[tuple[str, str]] = []
    for name, value in headers:
        lowered = name.lower()
        if lowered == "content-encoding":
            continue
        if lowered == "content-length":
            if complete:
                kept.append((name, str(length)))
            continue
        kept.append((name, value))
    return tuple(kept)
