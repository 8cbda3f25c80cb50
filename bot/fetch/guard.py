"""Public-only fetches: each hop's URL is checked before it is requested, and again at connect.

A source added by someone untrusted (a Telegram admin) is fetched "public-only": neither its URL,
nor any redirect, nor its article links may reach the machine's own network.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Iterable

import httpcore
import httpx

from bot.fetch.errors import Refused
from bot.urls import check_public_url, is_ip_literal, public_addresses


async def check_hop(url: str) -> None:
    """Raises Refused if a public-only fetch may not request `url` (checked as it is sent, IDNA and all)."""
    if (problem := await check_public_url(url)) is not None:
        raise Refused(problem)


class PublicOnlyBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend, connecting to public addresses only.

    The hop check looks the name up, but a connection would look it up again; a name that answers
    differently the second time (DNS rebinding) is stopped here. The connection goes to an address
    that was just checked, so there is no third lookup, and TLS still verifies the name (httpcore
    sends the URL's host for SNI and certificate checks).
    """

    def __init__(self, inner: httpcore.AsyncNetworkBackend | None = None) -> None:
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """Resolves `host`, refuses it (NotPublic) if any address is not public, connects to the first that answers.

        An IP literal is connected to as it is: the hop check judged it before the request, and
        unlike a name it cannot answer differently now.
        """
        if is_ip_literal(host):
            return await self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        try:
            async with asyncio.timeout(timeout):
                addresses = await public_addresses(host, port)
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"looking up {host} took over {timeout:g}s") from exc
        except (OSError, UnicodeError) as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        failure: httpcore.ConnectError | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(str(address), port, timeout, local_address, socket_options)
            except httpcore.ConnectError as exc:  # another address of the same name may answer
                failure = exc
        assert failure is not None  # public_addresses never returns an empty list with lookup on
        raise failure

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """Never: a Unix socket is the machine's own."""
        raise httpcore.ConnectError(f"a public-only fetch cannot use the Unix socket {path}")

    async def sleep(self, seconds: float) -> None:
        """As the wrapped backend sleeps (httpcore's retries wait with it)."""
        await self._inner.sleep(seconds)


def public_only_transport(ssl_context: ssl.SSLContext, limits: httpx.Limits) -> httpx.AsyncHTTPTransport:
    """httpx's own transport, as for any direct fetch, whose connection pool connects through PublicOnlyBackend.

    httpx takes no network backend, so the pool it made is replaced by the same pool with the
    backend: httpx's request and answer handling and its mapping of httpcore's errors stay as they are.
    """
    transport = httpx.AsyncHTTPTransport(verify=ssl_context, limits=limits)
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=ssl_context,
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        network_backend=PublicOnlyBackend(),
    )
    return transport
