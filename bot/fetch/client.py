"""Polite, bounded HTTP fetching of feeds and pages through the process's one httpx client.

`Fetcher.fetch` never raises for network or HTTP trouble; it returns a `FetchResult` whose `error`
says what went wrong in a few words, so one bad source never disturbs the others. httpx follows
redirects; `HopTransport` checks each hop; the body is streamed and decoded here, within limits.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import email.utils
import http
import logging
import random
import time
from dataclasses import dataclass
from http.cookiejar import CookieJar, DefaultCookiePolicy
from types import TracebackType

import httpx

from bot import __version__
from bot.fetch.body import BodyDecoder, DecodeError, make_decoder
from bot.fetch.errors import FetchError, describe_error, total_timeout
from bot.fetch.hops import DRAIN_LIMIT, PROGRESS, REDIRECTS, HopTransport, HostSlots, Progress
from bot.models import Settings
from bot.urls import display_url, host_of, without_userinfo

log = logging.getLogger(__name__)

ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json;q=0.9, application/xml;q=0.9, "
    "text/xml;q=0.9, text/html;q=0.8, */*;q=0.5"
)
ACCEPT_ENCODING = "gzip, deflate, br"
_PERMANENT = frozenset({301, 308})
_RETRY_AFTER_STATUSES = frozenset({429, 503})


@dataclass(frozen=True, slots=True)
class FetchResult:
    """The outcome of one fetch, successful or not.

    `url` and `permanent_url` are full URLs, for fetching again; `final_url` (the base of the
    body's relative links) and `error` never carry a URL's credentials.
    """

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



def _parsed(url: str) -> httpx.URL | None:
    """`url` as httpx sends it, parsed once for the host slot and the request; None if httpx refuses it."""
    try:
        return httpx.URL(url.strip())
    except (httpx.InvalidURL, TypeError):
        return None


class Fetcher:
    """Fetches URLs through one httpx client, bounded overall and per host.

    The client is made with the fetcher and closed with it. It keeps no cookies: a feed is the
    same for everyone, and a server's cookies are not sent back. Proxies come from HTTP(S)_PROXY /
    ALL_PROXY / NO_PROXY, read once. `transport` (tests) replaces every connection pool;
    `idle_close` is how long an unused connection is kept open.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        idle_close: float = 30.0,
    ) -> None:
        self._settings = settings
        self._global = asyncio.Semaphore(max(1, settings.concurrency))
        self._slots = HostSlots(settings.per_host)
        timeout = httpx.Timeout(connect=settings.connect_timeout, read=settings.read_timeout,
                                write=settings.read_timeout, pool=settings.read_timeout)
        self._client = httpx.AsyncClient(
            transport=HopTransport(settings, self._slots, inner=transport, keepalive=idle_close),
            headers={"User-Agent": user_agent(settings), "Accept": ACCEPT, "Accept-Encoding": ACCEPT_ENCODING},
            cookies=CookieJar(DefaultCookiePolicy(allowed_domains=[])),  # accepts none
            timeout=timeout,
            follow_redirects=True,
            max_redirects=settings.max_redirects,
            trust_env=False,  # proxies from the environment are the transport's; no .netrc
        )

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the client and its connections."""
        await self._client.aclose()

    async def fetch(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None, public_only: bool = False
    ) -> FetchResult:
        """GET `url` (conditionally if validators are given); never raises for network or HTTP trouble.

        With `public_only`, every hop of the redirect chain must be a public address, checked before
        it is requested and again when connecting: a URL given by someone untrusted cannot reach the
        machine's own network.
        """
        parsed = _parsed(url)  # the host as the hops name it (IDNA)
        progress = Progress(url=url, started=time.monotonic(), public_only=public_only,
                            host=host_of(url) if parsed is None else parsed.host, final_url=url)
        # Host slot first, then a global slot: a busy host never holds global slots while it waits.
        async with self._slots.hold(progress.host), self._global:
            progress.started = time.monotonic()
            try:
                async with asyncio.timeout(total_timeout(self._settings)):
                    return await self._get(progress, parsed, etag, last_modified)
            except Exception as exc:  # noqa: BLE001 - a fetch must never take the caller down
                if not isinstance(exc, FetchError | httpx.HTTPError | httpx.InvalidURL | OSError | ValueError):
                    log.warning("unexpected error fetching %s", display_url(url), exc_info=True)
                return self._failure(progress, describe_error(exc, progress.final_url, self._settings))

    async def _get(
        self, progress: Progress, parsed: httpx.URL | None, etag: str | None, last_modified: str | None
    ) -> FetchResult:
        """Sends the request (httpx follows the redirects) and turns the last answer into a result."""
        headers: dict[str, str] = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        target = progress.url.strip() if parsed is None else parsed  # httpx says why it refuses the text
        request = self._client.build_request("GET", target, headers=headers,
                                             extensions={PROGRESS: progress})
        response = await self._client.send(request, stream=True)
        try:
            progress.final_url = str(response.url)
            result = await self._answer(progress, response, etag, last_modified)
        finally:
            await response.aclose()
        permanent = _permanent_url(response)
        if permanent is not None and result.ok:
            return dataclasses.replace(result, permanent_url=permanent)
        return result

    def _failure(
        self, progress: Progress, error: str, *, retry_after: float | None = None, gone: bool = False
    ) -> FetchResult:
        return FetchResult(
            url=progress.url,
            final_url=without_userinfo(progress.final_url),
            status=progress.status,
            content_type=progress.content_type,
            error=display_url(error),
            elapsed=time.monotonic() - progress.started,
            bytes_received=progress.bytes_received,
            retry_after=retry_after,
            gone=gone,
        )

    def _success(
        self, progress: Progress, body: bytes, etag: str | None, last_modified: str | None, not_modified: bool
    ) -> FetchResult:
        return FetchResult(
            url=progress.url,
            final_url=without_userinfo(progress.final_url),
            status=progress.status,
            body=body,
            content_type=progress.content_type,
            etag=etag,
            last_modified=last_modified,
            not_modified=not_modified,
            elapsed=time.monotonic() - progress.started,
            bytes_received=progress.bytes_received,
        )

    async def _answer(
        self, progress: Progress, response: httpx.Response, etag: str | None, last_modified: str | None
    ) -> FetchResult:
        """Turn the last answer of the chain into a result, reading the body of a 2xx."""
        status = response.status_code
        headers = response.headers
        progress.content_type = headers.get("content-type", "")
        if status == 304:
            await _drain(response, progress)
            return self._success(progress, b"", headers.get("etag") or etag,
                                 headers.get("last-modified") or last_modified, True)
        if 200 <= status < 300:
            body, error = await self._read_body(progress, response)
            if error is not None:
                return self._failure(progress, error)
            return self._success(progress, body, headers.get("etag"), headers.get("last-modified"), False)
        await _drain(response, progress)
        retry_after = None
        if status in _RETRY_AFTER_STATUSES:
            retry_after = parse_retry_after(headers.get("retry-after"), time.time())
        error = _status_text(status, response.reason_phrase)
        if status in REDIRECTS:
            error += " without a Location"
        if retry_after is not None:
            error += f" (retry after {retry_after:.0f}s)"
        return self._failure(progress, error, retry_after=retry_after, gone=status == 410)

    async def _read_body(self, progress: Progress, response: httpx.Response) -> tuple[bytes, str | None]:
        """Stream the raw body, decoding it here so both wire and decoded sizes stay bounded."""
        limit = self._settings.max_body_bytes
        too_big = f"body larger than {_megabytes(limit)}"
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            return b"", too_big
        try:
            decoder: BodyDecoder = make_decoder(response.headers.get("content-encoding", ""))
        except DecodeError as exc:
            return b"", str(exc)
        if response.is_stream_consumed:  # a custom transport handed over an answer already read
            body = response.content
            return (body, None) if len(body) <= limit else (b"", too_big)
        parts: list[bytes] = []
        size = 0
        try:
            async for chunk in response.aiter_raw():
                progress.bytes_received += len(chunk)
                if progress.bytes_received > limit:
                    return b"", too_big
                out = decoder.decode(chunk, limit - size + 1)
                size += len(out)
                if size > limit:
                    return b"", f"decompressed {too_big}"
                parts.append(out)
            parts.append(decoder.flush())
        except DecodeError as exc:
            return b"", str(exc)
        if size + len(parts[-1]) > limit:
            return b"", f"decompressed {too_big}"
        return b"".join(parts), None


def _permanent_url(response: httpx.Response) -> str | None:
    """Where the chain's leading permanent redirects (301, 308) lead, or None if it starts otherwise."""
    chain = [*response.history, response]
    moved: str | None = None
    for hop, following in zip(chain, chain[1:], strict=False):
        if hop.status_code not in _PERMANENT:
            break
        moved = str(following.request.url)
    return moved


async def _drain(response: httpx.Response, progress: Progress) -> None:
    """Read a small unwanted body (304, error page) to its end so the connection is kept.

    A response closed before its end closes the connection, and a new one costs a handshake.
    Bodies over DRAIN_LIMIT, or of unknown length, are left unread (the connection goes). A 204 or
    304 has no body by definition, but is still read to its (empty) end: httpcore keeps only
    connections whose answer was read to its end.
    """
    if response.is_stream_consumed:
        return
    declared = response.headers.get("content-length", "")
    if response.status_code not in (204, 304) and not (declared.isdigit() and int(declared) <= DRAIN_LIMIT):
        return
    with contextlib.suppress(httpx.HTTPError):
        async for chunk in response.aiter_raw():
            progress.bytes_received += len(chunk)
