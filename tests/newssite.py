"""A real local HTTP news site for tests and benchmarks: publish content, inject faults, inspect requests.

    site = NewsSite().start()
    site.set("/feed.xml", rss_bytes)
    site.fault("/feed.xml", "status", code=503, headers={"Retry-After": "120"})
    site.url("/feed.xml")  # "http://127.0.0.1:PORT/feed.xml"
    site.stop()

Tests get a started site from the `news_site` fixture.
"""

from __future__ import annotations

import email.utils
import functools
import gzip
import hashlib
import socket
import struct
import sys
import threading
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import brotli  # type: ignore[import-untyped]
import pytest

FAULT_KINDS = frozenset(
    {
        "status",
        "delay",
        "redirect",
        "redirect_loop",
        "redirect_chain",
        "huge",
        "gzip_bomb",
        "truncate",
        "reset",
    }
)
_CHUNK = 64 * 1024


@dataclass(frozen=True)
class Page:
    """Content published at one path."""

    body: bytes
    content_type: str
    headers: dict[str, str]
    etag: str
    modified: float


@dataclass(frozen=True)
class Fault:
    """A fault served at one path instead of (or before) its content."""

    kind: str
    params: dict[str, Any] = field(default_factory=dict)


def _encode(body: bytes, encoding: str | None) -> bytes:
    if encoding is None:
        return body
    if encoding == "gzip":
        return gzip.compress(body)
    if encoding == "deflate":
        return zlib.compress(body)
    if encoding == "deflate-raw":
        compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS)
        return compressor.compress(body) + compressor.flush()
    if encoding == "br":
        return bytes(brotli.compress(body))
    raise ValueError(f"unknown encoding {encoding!r}")


@functools.lru_cache(maxsize=4)
def gzip_bomb(size: int) -> bytes:
    """A small gzip stream that inflates to `size` zero bytes (built without holding them)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = bytes(1024 * 1024)
    parts: list[bytes] = []
    remaining = size
    while remaining > 0:
        piece = block if remaining >= len(block) else bytes(remaining)
        parts.append(compressor.compress(piece))
        remaining -= len(piece)
    parts.append(compressor.flush())
    return b"".join(parts)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    site: NewsSite

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients hanging up mid-answer are expected here; anything else is reported."""
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.site._track(self.connection, add=True)

    def finish(self) -> None:
        self.server.site._track(self.connection, add=False)
        try:
            super().finish()
        except OSError:
            pass

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet."""

    def do_GET(self) -> None:
        self.server.site._handle(self, send_body=True)

    def do_HEAD(self) -> None:
        self.server.site._handle(self, send_body=False)


class NewsSite:
    """A threaded HTTP server on a loopback address with content and faults settable per path."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._pages: dict[str, Page] = {}
        self._faults: dict[str, Fault] = {}
        self._requests: list[tuple[str, str, dict[str, str]]] = []
        self._connections: set[socket.socket] = set()
        self.connections_accepted = 0
        self._active = 0
        self._active_by_path: dict[str, int] = {}
        self._peak = 0
        self._peak_by_path: dict[str, int] = {}
        self._server = _Server((host, port), _Handler)
        self._server.site = self
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(target=self._serve, name=f"newssite-{self.port}", daemon=True)

    # -- lifecycle ---------------------------------------------------------------------------

    def _serve(self) -> None:
        self._server.serve_forever(poll_interval=0.05)

    def start(self) -> NewsSite:
        """Start serving in a daemon thread; returns self."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, wake delayed requests and drop open connections."""
        self._stopping.set()
        if self._thread.is_alive():
            self._server.shutdown()
        self._server.server_close()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def __enter__(self) -> NewsSite:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- publishing ----------------------------------------------------------------------------

    @property
    def base(self) -> str:
        """The site's root URL without a trailing slash."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def url(self, path: str) -> str:
        """The absolute URL of `path` on this site."""
        return self.base + (path if path.startswith("/") else "/" + path)

    def set(
        self,
        path: str,
        body: bytes | str,
        content_type: str = "application/rss+xml; charset=utf-8",
        headers: dict[str, str] | None = None,
        *,
        encoding: str | None = None,
    ) -> None:
        """(Re)publish `body` at `path`; `encoding` (gzip, deflate, deflate-raw, br) compresses it."""
        raw = body.encode("utf-8") if isinstance(body, str) else body
        extra = dict(headers or {})
        if encoding is not None:
            extra["Content-Encoding"] = "deflate" if encoding == "deflate-raw" else encoding
        etag = '"' + hashlib.sha256(raw).hexdigest()[:20] + '"'
        with self._lock:
            previous = self._pages.get(path)
            # Last-Modified has one-second resolution: make each publication strictly newer.
            modified = float(int(time.time()))
            if previous is not None and modified <= previous.modified:
                modified = previous.modified + 1
            self._pages[path] = Page(_encode(raw, encoding), content_type, extra, etag, modified)

    def remove(self, path: str) -> None:
        """Unpublish `path` (it answers 404 afterwards)."""
        with self._lock:
            self._pages.pop(path, None)

    def fault(self, path: str, kind: str, **params: Any) -> None:
        """Serve a fault at `path` until cleared.

        Kinds and parameters:
          status: code=503, headers={}, body=b""     redirect: to="/other" (or absolute URL), code=302
          delay: seconds=1.0 (then serve the content) redirect_loop: code=302 (path -> path?loop -> path)
          redirect_chain: hops=10, code=302          huge: size=bytes, content_length=False
          gzip_bomb: size=bytes (inflated size)       truncate: (half the published body, then close)
          reset: (close the connection abruptly without answering)
        Any kind also takes delay=seconds to wait before answering.
        """
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {sorted(FAULT_KINDS)}")
        if kind == "gzip_bomb":
            gzip_bomb(int(params.get("size", 50 * 1024 * 1024)))  # build it now, not mid-request
        with self._lock:
            self._faults[path] = Fault(kind, dict(params))

    def clear_fault(self, path: str) -> None:
        """Remove any fault at `path`."""
        with self._lock:
            self._faults.pop(path, None)

    # -- inspection ----------------------------------------------------------------------------

    @property
    def requests(self) -> list[tuple[str, str, dict[str, str]]]:
        """A snapshot of every request so far as (method, path, lower-cased headers)."""
        with self._lock:
            return list(self._requests)

    def hits(self, path: str) -> int:
        """How many requests asked for `path` (ignoring the query unless `path` has one)."""
        with self._lock:
            return sum(1 for _method, raw, _headers in self._requests if _matches(raw, path))

    def peak_concurrency(self, path: str | None = None) -> int:
        """Most requests handled at once, site-wide or for one path (from arrival to answer)."""
        with self._lock:
            return self._peak if path is None else self._peak_by_path.get(path, 0)

    def reset_stats(self) -> None:
        """Forget recorded requests and concurrency peaks."""
        with self._lock:
            self._requests.clear()
            self._peak = 0
            self._peak_by_path.clear()

    # -- serving -------------------------------------------------------------------------------

    def _handle(self, handler: _Handler, *, send_body: bool) -> None:
        raw_path = handler.path
        path = raw_path.split("?", 1)[0]
        with self._lock:
            self._requests.append(
                (handler.command, raw_path, {k.lower(): v for k, v in handler.headers.items()})
            )
            fault = self._faults.get(raw_path) or self._faults.get(path)
            page = self._pages.get(raw_path) or self._pages.get(path)
            self._enter(path)
        entered = True
        try:
            delay = _delay_of(fault)
            if delay and self._stopping.wait(delay):
                handler.close_connection = True
                return
            self._leave(path)
            entered = False
            _Responder(self, handler, send_body).respond(raw_path, fault, page)
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            handler.close_connection = True
        finally:
            if entered:
                self._leave(path)

    def _track(self, conn: socket.socket, *, add: bool) -> None:
        with self._lock:
            if add:
                self.connections_accepted += 1
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

    def _enter(self, path: str) -> None:
        self._active += 1
        self._peak = max(self._peak, self._active)
        count = self._active_by_path.get(path, 0) + 1
        self._active_by_path[path] = count
        self._peak_by_path[path] = max(self._peak_by_path.get(path, 0), count)

    def _leave(self, path: str) -> None:
        with self._lock:
            self._active -= 1
            self._active_by_path[path] -= 1


def _matches(raw: str, path: str) -> bool:
    return raw == path if "?" in path else raw.split("?", 1)[0] == path


def _delay_of(fault: Fault | None) -> float:
    if fault is None:
        return 0.0
    if fault.kind == "delay":
        return float(fault.params.get("seconds", fault.params.get("delay", 1.0)))
    return float(fault.params.get("delay", 0.0))


class _Responder:
    """Writes one response (content or fault) for a request."""

    def __init__(self, site: NewsSite, handler: _Handler, send_body: bool) -> None:
        self.site = site
        self.handler = handler
        self.send_body = send_body

    def respond(self, raw_path: str, fault: Fault | None, page: Page | None) -> None:
        kind = fault.kind if fault is not None else "delay"
        params = fault.params if fault is not None else {}
        if kind == "delay":
            self._content(page)
        elif kind == "status":
            body = params.get("body", b"")
            self._send(
                int(params.get("code", 503)),
                body.encode() if isinstance(body, str) else body,
                dict(params.get("headers", {})),
            )
        elif kind == "redirect":
            self._redirect(int(params.get("code", 302)), str(params["to"]))
        elif kind == "redirect_loop":
            path = raw_path.split("?", 1)[0]
            self._redirect(int(params.get("code", 302)), path if "?" in raw_path else path + "?loop")
        elif kind == "redirect_chain":
            self._chain(raw_path, int(params.get("hops", 10)), int(params.get("code", 302)), page)
        elif kind == "huge":
            self._huge(int(params.get("size", 50 * 1024 * 1024)), bool(params.get("content_length", False)))
        elif kind == "gzip_bomb":
            bomb = gzip_bomb(int(params.get("size", 50 * 1024 * 1024)))
            self._send(200, bomb, {"Content-Encoding": "gzip"}, "application/rss+xml")
        elif kind == "truncate":
            self._truncate(page)
        elif kind == "reset":
            self._reset()

    def _content(self, page: Page | None) -> None:
        if page is None:
            self._send(404, b"not found\n", {}, "text/plain")
            return
        headers = {"ETag": page.etag, "Last-Modified": email.utils.formatdate(page.modified, usegmt=True)}
        headers.update(page.headers)
        if self._not_modified(page, headers["ETag"]):
            self._send(304, b"", headers)
            return
        self._send(200, page.body, headers, page.content_type)

    def _not_modified(self, page: Page, etag: str) -> bool:
        request = self.handler.headers
        if_none_match = request.get("If-None-Match")
        if if_none_match is not None:
            tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
            return "*" in tags or etag in tags
        since = request.get("If-Modified-Since")
        if since is None:
            return False
        try:
            when = email.utils.parsedate_to_datetime(since).timestamp()
        except (TypeError, ValueError, IndexError):
            return False
        return page.modified <= when

    def _send(self, code: int, body: bytes, headers: dict[str, str], content_type: str = "") -> None:
        handler = self.handler
        handler.send_response(code)
        names = {name.lower() for name in headers}
        if content_type and "content-type" not in names:
            handler.send_header("Content-Type", content_type)
        for name, value in headers.items():
            handler.send_header(name, value)
        if code != 304 and code >= 200 and "content-length" not in names:
            handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        if self.send_body and code != 304:
            handler.wfile.write(body)

    def _redirect(self, code: int, target: str) -> None:
        self._send(code, b"", {"Location": target})

    def _chain(self, raw_path: str, hops: int, code: int, page: Page | None) -> None:
        path, _, query = raw_path.partition("?")
        hop = int(query.removeprefix("hop=")) if query.startswith("hop=") else 0
        if hop >= hops:
            self._content(page)
        else:
            self._redirect(code, f"{path}?hop={hop + 1}")

    def _huge(self, size: int, content_length: bool) -> None:
        handler = self.handler
        handler.send_response(200)
        handler.send_header("Content-Type", "application/rss+xml")
        handler.send_header(
            "Content-Length" if content_length else "Transfer-Encoding",
            str(size) if content_length else "chunked",
        )
        handler.end_headers()
        if not self.send_body:
            return
        block = b"x" * _CHUNK
        remaining = size
        while remaining > 0 and not self.site._stopping.is_set():
            piece = block[: min(remaining, _CHUNK)]
            frame = piece if content_length else b"%x\r\n%s\r\n" % (len(piece), piece)
            handler.wfile.write(frame)
            remaining -= len(piece)
        if not content_length:
            handler.wfile.write(b"0\r\n\r\n")

    def _truncate(self, page: Page | None) -> None:
        body = page.body if page is not None else b"<rss>" + b"x" * 4096 + b"</rss>"
        handler = self.handler
        handler.send_response(200)
        handler.send_header("Content-Type", page.content_type if page else "application/rss+xml")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body[: len(body) // 2])
        handler.close_connection = True
        handler.connection.shutdown(socket.SHUT_WR)

    def _reset(self) -> None:
        conn = self.handler.connection
        try:
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        self.handler.close_connection = True
        conn.close()


@pytest.fixture
def news_site() -> Iterator[NewsSite]:
    """A started NewsSite on 127.0.0.1, stopped after the test."""
    site = NewsSite().start()
    try:
        yield site
    finally:
        site.stop()
