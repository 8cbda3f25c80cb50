"""The HTTP side of fetching: one small connection pool per host, and the answers they hand back.

Requests normally go straight to an aiohttp session per host (aiohttp's pool and C HTTP parser).
A host whose answers aiohttp's strict parser refuses is moved to httpx's own HTTP/1.1 transport,
and tests can hand in any httpx transport. Both kinds of answer look the same to the fetcher: an
`Answer` with its status and headers read and its body still on the wire.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import ipaddress
import logging
import socket
import ssl
import time
import urllib.request
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Protocol

import aiohttp
import httpx
import yarl
from aiohttp.abc import AbstractResolver, ResolveResult

from bot.models import Settings
from bot.urls import host_of, non_public_reason

log = logging.getLogger(__name__)


class Answer(Protocol):
    """One hop's answer: status and headers read, the body not yet."""

    status: int
    reason: str
    headers: Mapping[str, str]  # case-insensitive
    read_already: bytes | None  # the whole body, when a custom transport read it before handing it over

    def raw(self) -> AsyncIterator[bytes]:
        """The body as sent (still content-encoded), chunk by chunk."""

    async def aclose(self) -> None:
        """Give the connection back (kept for reuse only if the body was read to its end)."""


class _AiohttpAnswer:
    __slots__ = ("_done", "_response", "headers", "read_already", "reason", "status")

    def __init__(self, response: aiohttp.ClientResponse, done: Callable[[], None]) -> None:
        self._response = response
        self._done: Callable[[], None] | None = done  # tells the pool the connection is given back
        self.read_already: bytes | None = None
        self.status = response.status
        self.reason = response.reason or ""
        self.headers: Mapping[str, str] = response.headers

    def raw(self) -> AsyncIterator[bytes]:
        return self._response.content.iter_any()

    async def aclose(self) -> None:
        self._response.release()
        if self._done is not None:
            self._done()
            self._done = None


class _HttpxAnswer:
    __slots__ = ("_response", "headers", "read_already", "reason", "status")

    def __init__(self, response: httpx.Response) -> None:
        self._response = response
        self.status = response.status_code
        self.reason = response.reason_phrase
        self.headers: Mapping[str, str] = response.headers
        self.read_already = response.content if response.is_stream_consumed else None

    def raw(self) -> AsyncIterator[bytes]:
        return self._response.aiter_raw()

    async def aclose(self) -> None:
        await self._response.aclose()


@functools.lru_cache(maxsize=4096)
def wire_url(url: str) -> tuple[httpx.URL, yarl.URL]:
    """A URL as sent: httpx's normalised form (percent-encoding what must be, IDNA host names), and
    that form for aiohttp as already encoded, so escapes such as %2F and %3A in a query are sent as
    written (a signed feed URL depends on them). Kept for the next cycle's fetch of the same feed."""
    parsed = httpx.URL(url)
    return parsed, yarl.URL(str(parsed), encoded=True)


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
            log.warning("proxy %s for %s URLs is not an HTTP proxy; fetching them directly", url, scheme)
            continue
        proxies[scheme] = url
    return proxies


class PoolWaitTimeout(aiohttp.ClientError):
    """A request that found all its host's connections in use and timed out before it had one (a
    fetch's first hop waits for its host's slot instead; a redirect onto a busy host waits here)."""


class NonPublicAddress(OSError):
    """A public-only fetch's host resolved, when connecting, to an address that is not public."""


class _PublicOnlyResolver(AbstractResolver):
    """aiohttp's own lookup, refusing a host of which any address is not public.

    The fetcher checks a public-only URL before requesting it, but the connection then looks the
    name up again; a name that answers differently the second time (DNS rebinding) is stopped here.
    """

    def __init__(self) -> None:
        self._inner = aiohttp.DefaultResolver()

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        found = await self._inner.resolve(host, port, family)
        for entry in found:
            try:
                address = ipaddress.ip_address(entry["host"].split("%", 1)[0])
            except ValueError:
                raise NonPublicAddress(f"{host} resolved to {entry['host']!r}, not an IP address") from None
            if (reason := non_public_reason(address)) is not None:
                raise NonPublicAddress(f"{host} ({entry['host']}) is not a public address ({reason})")
        return found

    async def close(self) -> None:
        await self._inner.close()


class Pool(Protocol):
    """A host's connection pool, as the fetcher uses it."""

    async def send(self, url: str, headers: dict[str, str]) -> Answer: ...

    async def aclose(self) -> None: ...


class _AiohttpPool:
    """One host's aiohttp session: at most `size` connections, no cookies, bodies left encoded."""

    def __init__(self, size: int, ssl_context: ssl.SSLContext, timeout: aiohttp.ClientTimeout,
                 proxy: httpx.Proxy | None, public_only: bool = False) -> None:
        self._size = size
        self._public_only = public_only  # connect to public addresses only (see _PublicOnlyResolver)
        self._ssl = ssl_context
        self._timeout = timeout
        self._proxy = str(proxy.url) if proxy else None
        self._proxy_headers = dict(proxy.headers) if proxy else None
        if proxy and proxy.auth and self._proxy_headers is not None:  # credentials given in the proxy's URL
            # aiohttp sends a proxy header named Authorization as the Proxy-Authorization header.
            token = base64.b64encode(":".join(proxy.auth).encode()).decode()
            self._proxy_headers["Authorization"] = f"Basic {token}"
        self.session: aiohttp.ClientSession | None = None  # made in the running loop, on first use
        self._resolver: _PublicOnlyResolver | None = None
        self._in_use = 0  # requests holding or awaiting one of the connections

    async def send(self, url: str, headers: dict[str, str]) -> Answer:
        if self.session is None:
            # A resolver handed in is not closed with its connector: aclose closes it.
            self._resolver = _PublicOnlyResolver() if self._public_only else None
            connector = aiohttp.TCPConnector(limit=self._size, ssl=self._ssl, keepalive_timeout=30.0,
                                             resolver=self._resolver)
            # No cookie jar: a feed is the same for everyone, and a server's cookies are not sent back.
            self.session = aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar(),
                                                 auto_decompress=False, trust_env=False)
        waits = self._in_use >= self._size
        self._in_use += 1
        try:
            response = await self.session.get(
                wire_url(url)[1], headers=headers, allow_redirects=False, timeout=self._timeout,
                proxy=self._proxy, proxy_headers=self._proxy_headers,
            )
        except BaseException as exc:
            self._released()
            if waits and isinstance(exc, aiohttp.ConnectionTimeoutError):
                raise PoolWaitTimeout(f"all {self._size} connections to the host were in use") from exc
            raise
        return _AiohttpAnswer(response, self._released)

    def _released(self) -> None:
        self._in_use -= 1

    async def aclose(self) -> None:
        if self.session is not None:
            await self.session.close()
        if self._resolver is not None:
            await self._resolver.close()


class _HttpxPool:
    """An httpx transport: the tolerant parser's pool for one host, or a custom one (tests)."""

    def __init__(self, transport: httpx.AsyncBaseTransport, timeout: dict[str, float | None]) -> None:
        self.transport = transport
        self._timeout = timeout

    async def send(self, url: str, headers: dict[str, str]) -> Answer:
        request = httpx.Request("GET", wire_url(url)[0], headers=headers, extensions={"timeout": self._timeout})
        response = await self.transport.handle_async_request(request)
        response.request = request
        return _HttpxAnswer(response)

    async def aclose(self) -> None:
        await self.transport.aclose()


class HostClients:
    """One small connection pool per host, made on first use, closed once its host has been idle a while.

    A pool per host stays tiny (at most `per_host` connections), so finding a free connection
    costs the same at any concurrency, and one host's connections never evict another's. The
    fetcher follows redirects itself and keeps no cookies, so requests go straight to the pool with
    no client layer on top. All pools share one SSL context. Proxies come from HTTP(S)_PROXY /
    NO_PROXY, read once. With a custom transport (tests) every host shares it.
    """

    def __init__(self, settings: Settings, headers: dict[str, str], transport: httpx.AsyncBaseTransport | None,
                 idle_close: float) -> None:
        self._settings = settings
        self._idle_close = idle_close
        self._timeout = httpx.Timeout(
            connect=settings.connect_timeout,
            read=settings.read_timeout,
            write=settings.read_timeout,
            pool=settings.read_timeout,
        ).as_dict()
        # connect: waiting for a free connection and opening it; sock_read: between two reads.
        self._aiohttp_timeout = aiohttp.ClientTimeout(
            sock_connect=settings.connect_timeout, sock_read=settings.read_timeout, connect=settings.read_timeout
        )
        self.headers = headers
        self._ssl = shared_ssl_context()  # made now, not by the first fetch of a cycle
        self._proxies = env_proxies()
        self._tolerant: set[str] = set()  # pools (hosts) whose answers aiohttp's strict parser refused
        self._shared = _HttpxPool(transport, self._timeout) if transport is not None else None
        self.clients: dict[str, Pool] = {}
        self._users: dict[str, int] = {}
        self.idle_since: dict[str, float] = {}
        self._swept = time.monotonic()

    def _key(self, url: str, public_only: bool) -> str:
        """The pool a URL goes through: its host (and its scheme, when proxies are configured), marked
        for public-only fetches and for hosts whose answers need the tolerant parser."""
        host = host_of(url)
        key = f"{url.partition(':')[0].lower()}://{host}" if self._proxies else host
        if public_only:
            key = f"public {key}"
        return f"tolerant {key}" if key in self._tolerant else key

    def tolerate(self, url: str, public_only: bool = False) -> bool:
        """Sends `url`'s host through httpx's own HTTP/1.1 parser from now on (aiohttp's refused one of
        its answers: both Content-Length and chunked, a repeated Content-Length...). False if it
        already goes there, with a custom transport, or for a public-only fetch: that parser's
        connections do not check addresses, and the server of such a source could send a bad answer
        on purpose to get there."""
        if self._shared is not None or public_only:
            return False
        key = self._key(url, public_only=False)  # public-only fetches never get here
        if key.startswith("tolerant "):
            return False
        self._tolerant.add(key)
        log.info("%s: answers need the tolerant HTTP parser; using it for this host", host_of(url))
        return True

    def _make(self, url: str, key: str) -> Pool:
        """A new pool for `key`. A public-only one refuses non-public addresses when it connects,
        unless a proxy connects for it: then the check the fetcher makes before each request is the
        only one."""
        size = max(1, self._settings.per_host)
        proxy = self._proxies.get(url.partition(":")[0].lower())
        if proxy and urllib.request.proxy_bypass(host_of(url)):
            proxy = None
        if key.startswith("tolerant "):
            limits = httpx.Limits(max_connections=size, max_keepalive_connections=size, keepalive_expiry=30.0)
            return _HttpxPool(httpx.AsyncHTTPTransport(verify=self._ssl, limits=limits, proxy=proxy), self._timeout)
        return _AiohttpPool(size, self._ssl, self._aiohttp_timeout, httpx.Proxy(proxy) if proxy else None,
                            public_only=key.startswith("public ") and not proxy)

    @contextlib.asynccontextmanager
    async def use(self, url: str, public_only: bool = False) -> AsyncIterator[Pool]:
        """The pool for `url`'s host (a separate one for public-only fetches), kept open while in use;
        closes those of long-idle hosts first."""
        now = time.monotonic()
        if self.idle_since and now - self._swept >= min(self._idle_close, 5.0):
            self._swept = now
            await self._close_idle(now)
        if self._shared is not None:
            yield self._shared
            return
        key = self._key(url, public_only)
        client = self.clients.get(key)
        if client is None:
            client = self.clients[key] = self._make(url, key)
        self._users[key] = self._users.get(key, 0) + 1
        self.idle_since.pop(key, None)
        try:
            yield client
        finally:
            users = self._users.pop(key) - 1
            if users:
                self._users[key] = users
            else:
                self.idle_since[key] = time.monotonic()

    async def _close_idle(self, now: float) -> None:
        stale = [key for key, since in self.idle_since.items() if now - since >= self._idle_close]
        closing = []
        for key in stale:  # all taken out first, so none is handed out while others close
            del self.idle_since[key]
            closing.append(self.clients.pop(key))
        for client in closing:
            await client.aclose()

    async def aclose(self) -> None:
        """Close every pool and its connections."""
        clients = [*self.clients.values(), *([self._shared] if self._shared is not None else [])]
        self.clients.clear()
        self.idle_since.clear()
        for client in clients:
            await client.aclose()
