"""The fetch layer's own exceptions, and the one place any exception of a fetch becomes a message.

The fetcher never raises for network or HTTP trouble: `describe_error` turns what httpx, httpcore,
the guard or the hop transport raised into the few words a `FetchResult.error` carries.
"""

from __future__ import annotations

import socket
import ssl

import httpx

from bot.models import Settings
from bot.urls import NotPublic, display_url, host_of

_DNS_HINTS = (
    "name or service not known",
    "nodename nor servname",
    "temporary failure in name resolution",
    "no address associated",
    "getaddrinfo failed",
)


class FetchError(Exception):
    """A hop the fetch layer itself stops; its message is the result's error as it is."""


class Refused(FetchError):
    """A public-only fetch's hop whose URL is not public (checked before it is requested)."""

    def __init__(self, problem: str) -> None:
        super().__init__(f"refused: {problem}")


class RedirectLoop(FetchError):
    """A redirect back to a URL already requested in the same fetch."""

    def __init__(self, chain: list[str]) -> None:
        super().__init__(f"redirect loop: {' -> '.join(chain)}"[:300])


class UnsupportedURL(FetchError):
    """A URL that cannot be fetched (not http(s), no host, a port out of range): asked for, or
    reached by a redirect. `problem` says why."""

    def __init__(self, url: str, problem: str, *, redirected: bool) -> None:
        shown = display_url(url)[:100] or "(empty)"
        super().__init__(f"redirect to unsupported URL {shown}: {problem}" if redirected
                         else f"invalid URL {shown}: {problem}")


class HostBusy(FetchError):
    """A redirect onto a host whose connections all stayed in use for the whole wait."""

    def __init__(self, host: str, waited: float) -> None:
        super().__init__(f"timed out after {waited:g}s waiting for a free connection to {host}")


def total_timeout(settings: Settings) -> float:
    """The most one fetch may take in all: a stalled-but-trickling server is cut off after it."""
    return settings.connect_timeout + 3 * settings.read_timeout


def _exception_chain(exc: BaseException) -> list[BaseException]:
    """`exc`, its causes and contexts, and the members of any exception group among them."""
    seen: list[BaseException] = []
    todo: list[BaseException] = [exc]
    while todo:
        current = todo.pop(0)
        if current in seen:
            continue
        seen.append(current)
        if isinstance(current, BaseExceptionGroup):
            todo.extend(current.exceptions)
        if (follows := current.__cause__ or current.__context__) is not None:
            todo.append(follows)
    return seen


def _timeout(exc: BaseException, settings: Settings) -> str | None:
    """The message for a timeout of the fetch as a whole or of one of its phases, or None."""
    if isinstance(exc, TimeoutError):  # the fetch's own deadline (httpx's timeouts are not TimeoutErrors)
        return f"timed out after {total_timeout(settings):g}s (total)"
    if isinstance(exc, httpx.ConnectTimeout):
        return f"timed out after {settings.connect_timeout:g}s (connect)"
    if isinstance(exc, httpx.ReadTimeout | httpx.WriteTimeout):
        return f"timed out after {settings.read_timeout:g}s (read)"
    if isinstance(exc, httpx.PoolTimeout):
        return f"timed out after {settings.read_timeout:g}s waiting for a free connection"
    return None


def _network(chain: list[BaseException], text: str, url: str) -> str | None:
    """The message for a failure to reach or to keep talking to the server, or None."""
    if any(isinstance(item, socket.gaierror) for item in chain) or any(hint in text for hint in _DNS_HINTS):
        return f"DNS lookup failed for {host_of(url) or url}"
    if any(isinstance(item, ConnectionRefusedError) for item in chain) or "connection refused" in text:
        return "connection refused"
    if any(isinstance(item, ConnectionResetError) for item in chain) or "reset by peer" in text:
        return "connection reset by server"
    if (tls := next((item for item in chain if isinstance(item, ssl.SSLError)), None)) is not None:
        return f"TLS error: {tls}"[:200]
    if "complete message body" in text:
        return "body truncated: server closed the connection early"
    if "without sending a response" in text:
        return "server closed the connection without answering"
    return None


def describe_error(exc: BaseException, url: str, settings: Settings) -> str:
    """A short human message for an exception raised while fetching `url` (the last hop asked)."""
    chain = _exception_chain(exc)
    if isinstance(exc, FetchError):
        return str(exc)
    if (refused := next((item for item in chain if isinstance(item, NotPublic)), None)) is not None:
        return f"refused: {refused}"  # at connect: the name turned non-public after its hop was checked
    if isinstance(exc, httpx.TooManyRedirects):
        return f"too many redirects ({settings.max_redirects})"
    if (timeout := _timeout(exc, settings)) is not None:
        return timeout
    if network := _network(chain, " | ".join(str(item) for item in chain).lower(), url):
        return network
    if isinstance(exc, httpx.RemoteProtocolError) and str(exc).startswith("Invalid URL in location header"):
        return f"bad redirect Location: {exc}"[:200]
    if isinstance(exc, httpx.ProtocolError):
        return f"protocol error: {' '.join(str(chain[-1]).split())}"[:200]
    if isinstance(exc, httpx.ConnectError):  # unreachable network, no route...: not a timeout
        return f"cannot connect: {chain[-1]}"[:200]
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return f"invalid URL: {exc}"[:200]
    return f"{type(exc).__name__}: {exc}"[:200]
