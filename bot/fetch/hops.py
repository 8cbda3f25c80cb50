"""The transport under the process's one httpx client: every request passes here, redirect hops included.

httpx follows redirects itself; at each hop this transport checks what the fetcher promises
(no loops, http(s) only, public addresses only for public-only fetches, at most `per_host`
requests per host at a time), picks the connection pool (direct, public-only, or a proxy from the
environment) and keeps redirect bodies from being read beyond a small bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import ssl
import urllib.request
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import httpx

from bot.fetch.errors import HostBusy, RedirectLoop, UnsupportedURL
from bot.fetch.guard import check_hop, public_only_transport
from bot.fetch.pools import HostPools
from bot.models import Settings
from bot.urls import display_url, url_problem

log = logging.getLogger(__name__)

PROGRESS = "newsbot.progress"  # the request extension carrying a fetch's Progress (httpx copies it to each hop)
REDIRECTS = frozenset({301, 302, 303, 307, 308})
DRAIN_LIMIT = 64 * 1024


@dataclass(slots=True)
class Progress:
    """What one fetch has seen so far, kept up to date hop by hop (so failures can report it)."""

    url: str
    started: float
    public_only: bool = False
    host: str = ""  # the host whose slot the fetch holds throughout
    final_url: str = ""
    status: int = 0
    bytes_received: int = 0
    content_type: str = ""
    chain: list[str] = field(default_factory=list)

    def begin(self, url: str) -> None:
        """Marks the start of a hop to `url`; RedirectLoop if the fetch asked for it already."""
        if url in self.chain:
            raise RedirectLoop([*self.chain, url])
        self.chain.append(url)
        self.final_url = url
        self.status = 0


@functools.cache
def shared_ssl_context() -> ssl.SSLContext:
    """The process's one SSL context for feeds: making one reads the CA bundle (tens of milliseconds)."""
    return httpx.create_ssl_context()


def env_proxies() -> dict[str, str]:
    """Proxy URLs by scheme from HTTP_PROXY, HTTPS_PROXY or ALL_PROXY (no scheme given means http://).

    Only HTTP proxies can carry the fetches; another kind (socks5://) is named once in the log and
    left out, so feeds are fetched directly rather than failing one by one.
    """
    found = urllib.request.getproxies()
    proxies: dict[str, str] = {}
    for scheme in ("http", "https"):
        url = (found.get(scheme) or found.get("all") or "").strip()
        if not url:
            continue
        if "://" not in url:
            url = f"http://{url}"
        if url.partition("://")[0].lower() not in ("http", "https"):
            log.warning("proxy %s for %s URLs is not an HTTP proxy; fetching them directly", display_url(url), scheme)
            continue
        proxies[scheme] = url
    return proxies


class HostSlots:
    """At most `size` requests per host at a time; a host is forgotten while no one holds or awaits it."""

    def __init__(self, size: int) -> None:
        self._size = max(1, size)
        self._hosts: dict[str, tuple[asyncio.Semaphore, int]] = {}  # semaphore, holders and waiters

    def __len__(self) -> int:
        return len(self._hosts)

    async def take(self, host: str, wait: float | None = None) -> Callable[[], None]:
        """Takes one of `host`'s slots (waiting at most `wait` seconds) and returns what gives it back."""
        semaphore, users = self._hosts.get(host) or (asyncio.Semaphore(self._size), 0)
        self._hosts[host] = (semaphore, users + 1)
        try:
            async with asyncio.timeout(wait):
                await semaphore.acquire()
        except BaseException:
            self._leave(host)
            raise
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                semaphore.release()
                self._leave(host)

        return release

    @contextlib.asynccontextmanager
    async def hold(self, host: str) -> AsyncIterator[None]:
        """One of `host`'s slots for the length of the block, however long it takes to get one."""
        release = await self.take(host)
        try:
            yield
        finally:
            release()

    def _leave(self, host: str) -> None:
        semaphore, users = self._hosts[host]
        if users > 1:
            self._hosts[host] = (semaphore, users - 1)
        else:  # idle: forget it, so hosts seen once (articles) do not pile up
            del self._hosts[host]


class _Releasing(httpx.AsyncByteStream):
    """An answer's body that gives its host's slot back when it is closed."""

    def __init__(self, inner: httpx.AsyncByteStream, release: Callable[[], None]) -> None:
        self._inner = inner
        self._release = release

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._inner:
            yield chunk

    async def aclose(self) -> None:
        try:
            await self._inner.aclose()
        finally:
            self._release()


class HopTransport(httpx.AsyncBaseTransport):
    """Checks each hop of a fetch, then sends it through the right connection pool.

    The pools: httpx's own transport for direct requests, one per host (see `bot.fetch.pools`), the
    same with the public-only guard's network backend for public-only fetches (pools of their own,
    since their connections are made differently), and one per proxy found in the environment. A
    proxy connects for public-only fetches too: then the hop check is the only one. With `inner`
    (tests), every request goes there.
    """

    def __init__(self, settings: Settings, slots: HostSlots, *, inner: httpx.AsyncBaseTransport | None = None,
                 keepalive: float = 30.0) -> None:
        self._slots = slots
        self._wait = settings.read_timeout
        size = max(1, settings.concurrency)
        limits = httpx.Limits(max_connections=size, max_keepalive_connections=size, keepalive_expiry=keepalive)
        # a host's own pool keeps one connection open for its next fetch
        one = httpx.Limits(max_connections=size, max_keepalive_connections=1, keepalive_expiry=keepalive)
        context = shared_ssl_context()
        self._inner = inner
        self._direct = HostPools(lambda: httpx.AsyncHTTPTransport(verify=context, limits=one), keepalive)
        self._public = HostPools(lambda: public_only_transport(context, one), keepalive)
        self._proxies = {} if inner else {
            scheme: httpx.AsyncHTTPTransport(verify=context, limits=limits, proxy=url)
            for scheme, url in env_proxies().items()
        }

    async def _route(self, url: httpx.URL, public_only: bool) -> tuple[httpx.AsyncBaseTransport, Callable[[], None]]:
        """The pool for a hop to `url`, and what to call when the hop has ended."""
        if self._inner is not None:
            return self._inner, _nothing
        proxy = self._proxies.get(url.scheme)
        if proxy is not None and not urllib.request.proxy_bypass(url.host):
            return proxy, _nothing
        return await (self._public if public_only else self._direct).lease(url.host)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Sends one hop; its host's slot is given back when its answer is closed."""
        progress = request.extensions.get(PROGRESS)
        if not isinstance(progress, Progress):  # a request not made by the fetcher: no limits of its own
            progress = Progress(url=str(request.url), started=0.0, host=request.url.host)
        url, host = str(request.url), request.url.host
        redirected = bool(progress.chain)
        progress.begin(url)
        if (problem := url_problem(url)) is not None:  # a port out of range would fail deep in the socket
            raise UnsupportedURL(url, problem, redirected=redirected)
        if progress.public_only:
            await check_hop(url)
        slot = _nothing if host == progress.host else await self._take(host)
        ended = _nothing

        def release() -> None:
            ended()
            slot()

        try:
            transport, ended = await self._route(request.url, progress.public_only)
            response = await transport.handle_async_request(request)
        except BaseException:
            release()
            raise
        progress.status = response.status_code
        if response.status_code in REDIRECTS and "location" in response.headers:
            return await _drained(response, progress, release)
        if response.is_closed:  # read in full already (a custom transport's answer)
            release()
        else:
            response.stream = _Releasing(response.stream, release)  # type: ignore[arg-type]
        return response

    async def _take(self, host: str) -> Callable[[], None]:
        """A slot of `host`, reached by a redirect: waited for no longer than a read may last."""
        try:
            return await self._slots.take(host, self._wait)
        except TimeoutError:
            raise HostBusy(host, self._wait) from None

    async def aclose(self) -> None:
        """Closes every pool and its connections."""
        await self._direct.aclose()
        await self._public.aclose()
        for transport in (*self._proxies.values(), *([self._inner] if self._inner else [])):
            await transport.aclose()


def _nothing() -> None:
    """What gives back a slot the fetch did not take (its own host's, held for the whole fetch)."""


async def _drained(response: httpx.Response, progress: Progress, release: Callable[[], None]) -> httpx.Response:
    """A redirect's answer with its body dropped: httpx would read all of it, decoded, before following.

    A small body of known length is read to its end first, so the connection can be used again;
    a larger one is left unread, and the connection goes.
    """
    try:
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) <= DRAIN_LIMIT and not response.is_stream_consumed:
            with contextlib.suppress(httpx.HTTPError):
                async for chunk in response.aiter_raw():
                    progress.bytes_received += len(chunk)
        await response.aclose()
    finally:
        release()
    return httpx.Response(response.status_code, headers=response.headers, stream=httpx.ByteStream(b""),
                          extensions=response.extensions)
