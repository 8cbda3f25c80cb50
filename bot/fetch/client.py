"""Polite, bounded HTTP fetching of feeds and pages: small per-host clients, conditional GETs, hard limits.

`Fetcher.fetch` never raises for network or HTTP trouble; it returns a `FetchResult` whose `error`
says what went wrong in a few words, so one bad source never disturbs the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import email.utils
import http
import logging
import random
import socket
import ssl
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from types import TracebackType

import aiohttp
import httpx

from bot import __version__
from bot.fetch.body import BodyDecoder, DecodeError, make_decoder
from bot.fetch.pool import Answer, HostClients, NonPublicAddress, Pool, PoolWaitTimeout, wire_url
from bot.models import Settings
from bot.urls import check_public_url, host_of

log = logging.getLogger(__name__)

ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json;q=0.9, application/xml;q=0.9, "
    "text/xml;q=0.9, text/html;q=0.8, */*;q=0.5"
)
ACCEPT_ENCODING = "gzip, deflate, br"
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_PERMANENT = frozenset({301, 308})
_RETRY_AFTER_STATUSES = frozenset({429, 503})
_DRAIN_LIMIT = 64 * 1024
_DNS_HINTS = (
    "name or service not known",
    "nodename nor servname",
    "temporary failure in name resolution",
    "no address associated",
    "getaddrinfo failed",
)


@dataclass(frozen=True, slots=True)
class FetchResult:
    """The outcome of one fetch, successful or not."""

    url: str
    final_url: str
    status: int
    body: bytes = b""
    content_type: str = ""
    etag: str | None = None
    last_modified: str | None = None
    not_modified: bool = False
    permanent_url: str | None = None
    retry_after: float | None = None
    gone: bool = False
    error: str | None = None
    elapsed: float = 0.0
    bytes_received: int = 0

    @property
    def ok(self) -> bool:
        """True for a 2xx answer read in full, or a 304."""
        return self.error is None


@dataclass(slots=True)
class _Progress:
    """What one fetch has seen so far (kept per call, so failures can report it)."""

    url: str
    started: float
    final_url: str = ""
    status: int = 0
    bytes_received: int = 0
    content_type: str = ""
    chain: list[str] = field(default_factory=list)


def user_agent(settings: Settings) -> str:
    """The honest User-Agent sent with every request."""
    return f"newsbot/{__version__} (+{settings.user_agent_contact})"


def backoff_delay(consecutive_errors: int, base_interval: float, cap: float) -> float:
    """The wait after `consecutive_errors` failures in a row: doubling, capped, never below base."""
    if consecutive_errors <= 0:
        return base_interval
    exponent = min(consecutive_errors, 60)
    return max(base_interval, min(cap, base_interval * 2.0**exponent))


def jittered(interval: float, rng: random.Random) -> float:
    """`interval` moved by up to ±10% so that sources polled together drift apart."""
    return interval * rng.uniform(0.9, 1.1)


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date), or None if unusable."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - now)


def _megabytes(size: int) -> str:
    """A size limit for messages: "5.0 MB", or plain bytes when below a tenth of a megabyte."""
    if size * 10 < 1024 * 1024:
        return f"{size} bytes"
    return f"{size / (1024 * 1024):.1f} MB"


def _status_text(status: int, reason: str) -> str:
    try:
        phrase = http.HTTPStatus(status).phrase
    except ValueError:
        phrase = reason.strip()[:60]
    return f"HTTP {status} {phrase}".rstrip()


def _exception_chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _timeout_phase(chain: list[BaseException]) -> str | None:
    """"connect" or "read" if the chain is a timeout, else None.

    aiohttp's own timeout classes decide first: the transport reports some non-timeout failures
    (a refused connection) as httpx.ConnectTimeout, so httpx's class counts only without an aiohttp cause.
    """
    for item in chain:
        if isinstance(item, aiohttp.ConnectionTimeoutError):
            return "connect"
        if isinstance(item, aiohttp.ServerTimeoutError):
            return "read"
    if any(isinstance(item, aiohttp.ClientError) for item in chain):
        return None
    if isinstance(chain[0], httpx.ConnectTimeout):
        return "connect"
    if isinstance(chain[0], httpx.ReadTimeout | httpx.WriteTimeout):
        return "read"
    return None


def _closed_early(chain: list[BaseException], text: str) -> str | None:
    """The message for a server that hung up mid-answer, or None."""
    if any(isinstance(item, aiohttp.ClientPayloadError) for item in chain) or "complete message body" in text:
        return "body truncated: server closed the connection early"
    if any(isinstance(item, aiohttp.ServerDisconnectedError) for item in chain) or (
        "without sending a response" in text
    ):
        return "server closed the connection without answering"
    return None


def describe_error(exc: BaseException, url: str, settings: Settings) -> str:
    """A short human message for an exception raised while fetching `url`."""
    chain = _exception_chain(exc)
    refused = next((item for item in chain if isinstance(item, NonPublicAddress)), None)
    if refused is not None:
        return f"refused: {refused}"
    if any(isinstance(item, PoolWaitTimeout) for item in chain):
        return f"timed out after {settings.read_timeout:g}s waiting for a free connection to {host_of(url) or url}"
    text = " | ".join(str(item) for item in chain).lower()
    phase = _timeout_phase(chain)
    if phase == "connect":
        return f"timed out after {settings.connect_timeout:g}s (connect)"
    if phase == "read":
        return f"timed out after {settings.read_timeout:g}s (read)"
    if isinstance(exc, httpx.PoolTimeout):
        return "timed out waiting for a free connection"
    if any(isinstance(item, socket.gaierror) for item in chain) or any(h in text for h in _DNS_HINTS):
        return f"DNS lookup failed for {host_of(url) or url}"
    if any(isinstance(item, ConnectionRefusedError) for item in chain) or "connection refused" in text:
        return "connection refused"
    if any(isinstance(item, ConnectionResetError) for item in chain) or "reset by peer" in text:
        return "connection reset by server"
    if any(isinstance(item, ssl.SSLError) for item in chain):
        return f"TLS error: {exc}"[:200]
    if closed := _closed_early(chain, text):
        return closed
    if isinstance(exc, httpx.RemoteProtocolError) or any(
        isinstance(item, aiohttp.ClientResponseError) for item in chain
    ):
        return f"protocol error: {' '.join(str(chain[-1]).split())}"[:200]
    connector = next((item for item in chain if isinstance(item, aiohttp.ClientConnectorError)), None)
    if connector is not None:  # unreachable network, no route, no address...: not a timeout
        return f"cannot connect: {connector.os_error.strerror or connector.os_error}"[:200]
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL | aiohttp.InvalidURL):
        return f"invalid URL: {exc}"[:200]
    return f"{type(exc).__name__}: {exc}"[:200]


class Fetcher:
    """Fetches URLs through small per-host clients, bounded overall and per host."""

    def __init__(
        self,
        settings: Settings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        idle_close: float = 60.0,
    ) -> None:
        self._settings = settings
        self._global = asyncio.Semaphore(max(1, settings.concurrency))
        self._per_host: dict[str, asyncio.Semaphore] = {}
        self._host_users: dict[str, int] = {}
        # A stalled-but-trickling server is cut off after this long in total.
        self._total_timeout = settings.connect_timeout + 3 * settings.read_timeout
        headers = {"User-Agent": user_agent(settings), "Accept": ACCEPT, "Accept-Encoding": ACCEPT_ENCODING}
        self._clients = HostClients(settings, headers, transport, idle_close)

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close every client and its connections."""
        await self._clients.aclose()

    @contextlib.asynccontextmanager
    async def _host_slot(self, host: str) -> AsyncIterator[None]:
        """Hold one of the host's slots; a host's semaphore lives while anyone holds or awaits it."""
        semaphore = self._per_host.get(host)
        if semaphore is None:
            semaphore = asyncio.Semaphore(max(1, self._settings.per_host))
            self._per_host[host] = semaphore
        self._host_users[host] = self._host_users.get(host, 0) + 1
        try:
            async with semaphore:
                yield
        finally:
            users = self._host_users.pop(host) - 1
            if users:
                self._host_users[host] = users
            else:  # idle: forget it, so hosts seen once (articles) do not pile up
                del self._per_host[host]

    async def fetch(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None, public_only: bool = False
    ) -> FetchResult:
        """GET `url` (conditionally if validators are given); never raises for network or HTTP trouble.

        With `public_only`, every hop of the redirect chain must be a public address (checked before it
        is requested): a URL given by someone untrusted cannot reach the machine's own network.
        """
        # Host slot first, then a global slot: a busy host never holds global slots while it waits.
        async with self._host_slot(host_of(url)), self._global:
            progress = _Progress(url=url, started=time.monotonic(), final_url=url)
            try:
                async with asyncio.timeout(self._total_timeout):
                    return await self._follow(progress, etag, last_modified, public_only)
            except Exception as exc:  # noqa: BLE001 - a fetch must never take the caller down
                if isinstance(exc, TimeoutError) and not isinstance(exc, aiohttp.ClientError):
                    return self._failure(progress, f"timed out after {self._total_timeout:g}s (total)")
                if not isinstance(exc, httpx.HTTPError | httpx.InvalidURL | aiohttp.ClientError | OSError):
                    log.warning("unexpected error fetching %s", url, exc_info=True)
                return self._failure(progress, describe_error(exc, progress.final_url, self._settings))

    def _failure(
        self, progress: _Progress, error: str, *, retry_after: float | None = None, gone: bool = False
    ) -> FetchResult:
        return FetchResult(
            url=progress.url,
            final_url=progress.final_url,
            status=progress.status,
            content_type=progress.content_type,
            error=error,
            elapsed=time.monotonic() - progress.started,
            bytes_received=progress.bytes_received,
            retry_after=retry_after,
            gone=gone,
        )

    async def _follow(self, progress: _Progress, etag: str | None, last_modified: str | None,
                      public_only: bool = False) -> FetchResult:
        """Walk the redirect chain by hand, so loops and permanent moves are seen."""
        headers: dict[str, str] = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        current = progress.url
        permanent: str | None = None
        still_permanent = True
        for _hop in range(self._settings.max_redirects + 1):
            progress.chain.append(current)
            progress.final_url = current
            progress.status = 0
            # The check reads the host as it is sent (IDNA 2008), so it looks up the name the request uses.
            if public_only and (problem := await check_public_url(str(wire_url(current)[0]))):
                return self._failure(progress, f"refused: {problem}")
            async with self._clients.use(current, public_only) as pool:
                response = await self._send(pool, current, headers, public_only)
                if response is None:  # refused by the strict parser: once more, through the tolerant one
                    async with self._clients.use(current, public_only) as tolerant:
                        response = await self._send(tolerant, current, headers, public_only)
                assert response is not None
                try:
                    progress.status = response.status
                    progress.final_url = str(wire_url(current)[0])
                    target, bad = _redirect_target(response, current)
                    if target is None and bad is None:
                        result = await self._answer(progress, response, etag, last_modified)
                        if permanent is not None and result.ok:
                            return dataclasses.replace(result, permanent_url=permanent)
                        return result
                    await _drain(response, progress)
                finally:
                    await response.aclose()
            if target is None:
                return self._failure(progress, bad or "bad redirect")
            still_permanent = still_permanent and response.status in _PERMANENT
            if still_permanent:
                permanent = target
            if target in progress.chain:
                return self._failure(
                    progress, f"redirect loop: {' -> '.join([*progress.chain, target])}"[:300]
                )
            current = target
        return self._failure(progress, f"too many redirects ({self._settings.max_redirects})")

    async def _send(self, pool: Pool, url: str, extra: dict[str, str], public_only: bool = False) -> Answer | None:
        """The answer's head (body still unread), or None when aiohttp's parser refused an answer
        that httpx's tolerates, so the caller asks again through the tolerant pool."""
        try:
            return await pool.send(url, {**self._clients.headers, **extra} if extra else self._clients.headers)
        except aiohttp.ClientResponseError:
            if self._clients.tolerate(url, public_only):
                return None
            raise

    async def _answer(
        self, progress: _Progress, response: Answer, etag: str | None, last_modified: str | None
    ) -> FetchResult:
        """Turn the last response of the chain into a result, reading the body of a 2xx."""
        status = response.status
        headers = response.headers
        progress.content_type = headers.get("content-type", "")
        if status == 304:
            await _drain(response, progress)
            return self._success(
                progress,
                b"",
                headers.get("etag") or etag,
                headers.get("last-modified") or last_modified,
                True,
            )
        if 200 <= status < 300:
            body, error = await self._read_body(progress, response)
            if error is not None:
                return self._failure(progress, error)
            return self._success(progress, body, headers.get("etag"), headers.get("last-modified"), False)
        await _drain(response, progress)
        retry_after = None
        if status in _RETRY_AFTER_STATUSES:
            retry_after = parse_retry_after(headers.get("retry-after"), time.time())
        error = _status_text(status, response.reason)
        if status in _REDIRECTS:
            error += " without a Location"
        if retry_after is not None:
            error += f" (retry after {retry_after:.0f}s)"
        return self._failure(progress, error, retry_after=retry_after, gone=status == 410)

    def _success(
        self,
        progress: _Progress,
        body: bytes,
        etag: str | None,
        last_modified: str | None,
        not_modified: bool,
    ) -> FetchResult:
        return FetchResult(
            url=progress.url,
            final_url=progress.final_url,
            status=progress.status,
            body=body,
            content_type=progress.content_type,
            etag=etag,
            last_modified=last_modified,
            not_modified=not_modified,
            elapsed=time.monotonic() - progress.started,
            bytes_received=progress.bytes_received,
        )

    async def _read_body(self, progress: _Progress, response: Answer) -> tuple[bytes, str | None]:
        """Stream the raw body, decoding it ourselves so both wire and decoded sizes stay bounded."""
        limit = self._settings.max_body_bytes
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            return b"", f"body larger than {_megabytes(limit)}"
        try:
            decoder: BodyDecoder = make_decoder(response.headers.get("content-encoding", ""))
        except DecodeError as exc:
            return b"", str(exc)
        if response.read_already is not None:  # a custom transport handed over a response already read
            body = response.read_already
            return (body, None) if len(body) <= limit else (b"", f"body larger than {_megabytes(limit)}")
        parts: list[bytes] = []
        size = 0
        try:
            async for chunk in response.raw():
                progress.bytes_received += len(chunk)
                if progress.bytes_received > limit:
                    return b"", f"body larger than {_megabytes(limit)}"
                out = decoder.decode(chunk, limit - size + 1)
                size += len(out)
                if size > limit:
                    return b"", f"decompressed body larger than {_megabytes(limit)}"
                parts.append(out)
            tail = decoder.flush()
        except DecodeError as exc:
            return b"", str(exc)
        if size + len(tail) > limit:
            return b"", f"decompressed body larger than {_megabytes(limit)}"
        parts.append(tail)
        return b"".join(parts), None


async def _drain(response: Answer, progress: _Progress) -> None:
    """Read a small unwanted body (304, error page, redirect) to its end so the connection is kept.

    A response closed before its end closes the connection, and a new one costs a handshake.
    Bodies over _DRAIN_LIMIT, or of unknown length, are left unread (the connection goes). A 204 or
    304 has no body by definition: the transport ends it at its headers.
    """
    if response.read_already is not None or response.status in (204, 304):
        return
    declared = response.headers.get("content-length", "")
    if not (declared.isdigit() and int(declared) <= _DRAIN_LIMIT):
        return
    with contextlib.suppress(httpx.HTTPError, aiohttp.ClientError):
        async for chunk in response.raw():
            progress.bytes_received += len(chunk)


def _redirect_target(response: Answer, url: str) -> tuple[str | None, str | None]:
    """(next URL, None) if `response` (to `url`) redirects, (None, error) for a bad Location, else (None, None)."""
    if response.status not in _REDIRECTS:
        return None, None
    location = response.headers.get("location")
    if not location:
        return None, None
    try:
        target = wire_url(url)[0].join(location.strip())
    except (httpx.InvalidURL, ValueError) as exc:
        return None, f"bad redirect Location {location[:100]!r}: {exc}"
    if target.scheme not in ("http", "https"):
        return None, f"redirect to unsupported URL {str(target)[:100]}"
    return str(target), None
