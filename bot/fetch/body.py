"""Bounded Content-Encoding decoders for fetched bodies (gzip, deflate, br, identity)."""

from __future__ import annotations

import zlib
from typing import Protocol

import brotli  # type: ignore[import-untyped]


class DecodeError(Exception):
    """A body could not be decoded (bad data or an unsupported Content-Encoding)."""


class BodyDecoder(Protocol):
    """Incremental Content-Encoding decoder whose output per call is bounded."""

    def decode(self, data: bytes, max_out: int) -> bytes:
        """Decode `data`, returning at most about `max_out` bytes (reaching it means "too big")."""

    def flush(self) -> bytes:
        """Whatever output is left once all input has been given."""


class _Identity:
    def decode(self, data: bytes, max_out: int) -> bytes:
        return data

    def flush(self) -> bytes:
        return b""


class _Zlib:
    """gzip or deflate; deflate falls back to raw (headerless) streams, which some servers send."""

    def __init__(self, name: str, wbits: int, fallback_wbits: int | None = None) -> None:
        self._name = name
        self._obj = zlib.decompressobj(wbits)
        self._fallback = fallback_wbits
        self._started = False

    def decode(self, data: bytes, max_out: int) -> bytes:
        try:
            out = self._obj.decompress(data, max_out)
        except zlib.error as exc:
            if self._fallback is None or self._started:
                raise DecodeError(f"could not decode {self._name} body: {exc}") from exc
            self._obj = zlib.decompressobj(self._fallback)
            self._fallback = None
            return self.decode(data, max_out)
        self._started = True
        return out

    def flush(self) -> bytes:
        try:
            return self._obj.flush()
        except zlib.error as exc:
            raise DecodeError(f"could not decode {self._name} body: {exc}") from exc


class _Brotli:
    def __init__(self) -> None:
        self._obj = brotli.Decompressor()

    def decode(self, data: bytes, max_out: int) -> bytes:
        try:
            return bytes(self._obj.process(data, output_buffer_limit=max_out))
        except brotli.error as exc:
            raise DecodeError(f"could not decode br body: {exc}") from exc

    def flush(self) -> bytes:
        return b""


def make_decoder(content_encoding: str) -> BodyDecoder:
    """A bounded decoder for a Content-Encoding header value (one coding, besides identity)."""
    codings = [
        c.strip().lower() for c in content_encoding.split(",") if c.strip().lower() not in ("", "identity")
    ]
    if not codings:
        return _Identity()
    if len(codings) == 1:
        coding = codings[0]
        if coding in ("gzip", "x-gzip"):
            return _Zlib("gzip", 32 + zlib.MAX_WBITS)
        if coding == "deflate":
            return _Zlib("deflate", zlib.MAX_WBITS, -zlib.MAX_WBITS)
        if coding == "br":
            return _Brotli()
    raise DecodeError(f"unsupported Content-Encoding: {content_encoding[:60]}")
