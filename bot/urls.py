"""URL helpers: canonical forms for de-duplication, feed URL builders, and the one public-address check."""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import re
import socket
from urllib.parse import parse_qsl, quote_plus, urlencode, urlsplit, urlunsplit

_TRACKING_PARAMS = frozenset({"fbclid", "gclid", "mc_cid", "mc_eid"})
_DEFAULT_PORTS = {"http": 80, "https": 443}
_AMP_FLAG_VALUES = frozenset({"", "1", "true", "yes"})
_AMP_HTML = re.compile(r"\.amp\.html?$", re.IGNORECASE)
_CGNAT = ipaddress.IPv4Network("100.64.0.0/10")
# The common shape of an article link: lower-case http(s), plain host, optional port, no query or fragment.
_PLAIN_URL = re.compile(r"(https?)://((?!amp\.)[a-z0-9-]+(?:\.[a-z0-9-]+)*)(?::([0-9]{1,5}))?(/[^?#\s]*)?")

_GOOGLE_NEWS_LOCALES: dict[str, str] = {
    "en": "hl=en-US&gl=US&ceid=US:en",
    "ko": "hl=ko&gl=KR&ceid=KR:ko",
    "id": "hl=id&gl=ID&ceid=ID:id",
    "es": "hl=es-419&gl=AR&ceid=AR:es-419",
    "pt": "hl=pt-BR&gl=BR&ceid=BR:pt-419",
}

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# "scheme://" and the userinfo after it, up to the last "@" before the host ends; in any text.
_USERINFO = re.compile(r"\b([a-z][a-z0-9+.-]*://)[^\s/?#@]*(?:@[^\s/?#@]*)*@", re.IGNORECASE)
# A query parameter whose name says it carries a secret; its value is masked when a URL is shown.
_SECRET_PARAM = re.compile(
    r"([?&](?:access_token|api_?key|apikey|auth|key|passw(?:or)?d|pwd|secret|sig|signature|token)=)[^&#\s]*",
    re.IGNORECASE)
_MAX_PORT = 65535


def without_userinfo(url: str) -> str:
    """`url` (or every URL in a text) without its "user:password@": what may be shown or passed on."""
    return _USERINFO.sub(r"\1", url)


def display_url(text: str) -> str:
    """How a URL, or any text with URLs in it (an error, a log line), is shown to anyone: without
    userinfo, and with the values of secret-looking query parameters (token, key, sig...) masked.

    The full URL stays in the sources file and the state, for the fetch that needs it.
    """
    if "@" not in text and "=" not in text:  # most URLs: nothing to hide
        return text
    return _SECRET_PARAM.sub(r"\1***", without_userinfo(text))


def url_problem(url: str) -> str | None:
    """Why `url` cannot be fetched as written, or None: it must be http(s), name a host, and any port
    must be a number from 1 to 65535. The one check of the sources file, of adding a source and of
    each hop of a fetch."""
    try:
        parts = urlsplit(url.strip())
    except ValueError as exc:
        return str(exc)
    if parts.scheme.lower() not in _DEFAULT_PORTS:
        return f"only http and https URLs can be fetched, not {parts.scheme or 'a URL without a scheme'!r}"
    port = parts.netloc.rpartition("@")[2].rpartition("]")[2].partition(":")[2]
    if port and not (port.isascii() and port.isdigit()):
        return f"the port {port!r} is not a number"
    if port and not 0 < int(port) <= _MAX_PORT:
        return f"the port {int(port)} is out of range (1-{_MAX_PORT})"
    if not (parts.hostname or "").rstrip("."):
        return "the URL names no host"
    return None


@functools.lru_cache(maxsize=4096)
def host_of(url: str) -> str:
    """The lower-cased host name of `url` without port or brackets, or "" if it has none.

    Asked several times per fetch of the same feeds every cycle, so answers are kept.
    """
    try:
        return (urlsplit(url.strip()).hostname or "").rstrip(".")
    except ValueError:
        return ""


def _is_tracking(key: str) -> bool:
    lowered = key.lower()
    return lowered.startswith("utm_") or lowered in _TRACKING_PARAMS


def _is_amp_flag(key: str, value: str) -> bool:
    return key.lower() == "amp" and value.lower() in _AMP_FLAG_VALUES


def _canonical_path(path: str) -> str:
    """Path without AMP segments, AMP file suffixes or trailing slashes."""
    if "amp" not in path.lower():  # most paths: nothing AMP to drop
        return path.rstrip("/")
    segments = [segment for segment in path.split("/") if segment.lower() != "amp"]
    path = "/".join(segments)
    path = _AMP_HTML.sub(".html", path)
    return path.rstrip("/")


def _canonical_netloc(scheme: str, url: str) -> str | None:
    """Lower-cased host (AMP prefix dropped) with any non-default port, or None if unparseable."""
    parts = urlsplit(url)
    try:
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return None
    host = host.rstrip(".")
    if host.startswith("amp."):
        host = host[len("amp.") :]
    if ":" in host:
        host = f"[{host}]"
    userinfo = parts.netloc.rpartition("@")[0] if "@" in parts.netloc else ""
    netloc = f"{userinfo}@{host}" if userinfo else host
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        netloc = f"{netloc}:{port}"
    return netloc


def canonical_url(url: str) -> str:
    """A normal form of `url` so that the same article reached by different links compares equal.

    Lower-cases scheme and host, drops default ports, tracking parameters, fragments and AMP
    variants, sorts the query and strips trailing slashes. Text that is not an absolute URL is
    returned stripped but otherwise unchanged.
    """
    text = url.strip()
    plain = _PLAIN_URL.fullmatch(text)
    if plain is not None and (fast := _canonical_plain(plain)) is not None:
        return fast
    return _canonical_general(text)


def _canonical_plain(m: re.Match[str]) -> str | None:
    """canonical_url of a link of the plain shape, without the general parser (None: not that simple)."""
    scheme, host, port, path = m.group(1, 2, 3, 4)
    netloc = host
    if port is not None:
        number = int(port)
        if number > 65535:
            return None
        if number != _DEFAULT_PORTS[scheme]:
            netloc = f"{host}:{number}"
    path = _canonical_path(path) if path else ""
    return f"{scheme}://{netloc}{path}"


def _canonical_general(text: str) -> str:
    """canonical_url for any text: parsed in full."""
    try:
        parts = urlsplit(text)
    except ValueError:
        return text
    scheme = parts.scheme.lower()
    if not scheme or not parts.netloc:
        return text
    netloc = _canonical_netloc(scheme, text)
    if netloc is None:
        return text
    query = [
        (key, value)
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
        if not _is_tracking(key) and not _is_amp_flag(key, value)
    ]
    query.sort()
    return urlunsplit((scheme, netloc, _canonical_path(parts.path), urlencode(query), ""))


def google_news_url(query: str, lang: str) -> str:
    """The Google News RSS search URL for `query` in one of the supported languages."""
    try:
        locale = _GOOGLE_NEWS_LOCALES[lang]
    except KeyError:
        supported = ", ".join(sorted(_GOOGLE_NEWS_LOCALES))
        raise ValueError(f"unsupported Google News language {lang!r} (supported: {supported})") from None
    return f"https://news.google.com/rss/search?q={quote_plus(query)}&{locale}"


def youtube_channel_url(channel_id: str) -> str:
    """The Atom feed URL of a YouTube channel's uploads."""
    return f"https://www.youtube.com/feeds/videos.xml?channel_id={quote_plus(channel_id)}"


_LEGACY_IPV4 = re.compile(r"(?:0x[0-9a-f]*|[0-9]+)(?:\.(?:0x[0-9a-f]*|[0-9]+)){0,3}", re.IGNORECASE)


def _parse_ip(text: str) -> IPAddress | None:
    """The address `text` spells, including the old IPv4 forms resolvers still read as addresses
    ("127.1", "0x7f000001", "2130706433"), or None for a name."""
    try:
        return ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        pass
    if _LEGACY_IPV4.fullmatch(text) is None:
        return None
    try:
        return ipaddress.IPv4Address(socket.inet_aton(text))
    except OSError:
        return None


def is_ip_literal(host: str) -> bool:
    """True if `host` is an IPv4 or IPv6 address as written (no brackets), not a name."""
    return _parse_ip(host) is not None


def non_public_reason(address: IPAddress) -> str | None:
    """Why `address` is not a public unicast address (e.g. "loopback"), or None if it is public."""
    if isinstance(address, ipaddress.IPv6Address):
        mapped = address.ipv4_mapped or address.sixtofour
        if mapped is not None:
            return non_public_reason(mapped)
    checks = (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("shared address space (CGNAT)", address in _CGNAT),
        ("reserved", address.is_reserved),
        ("private", address.is_private),
        ("not globally routable", not address.is_global),
    )
    for reason, hit in checks:
        if hit:
            return reason
    return None


class NotPublic(ValueError):
    """A host that is, or resolves to, an address that is not public; the message says which and why."""


async def _resolve(host: str, port: int) -> list[IPAddress]:
    """Every address the system's resolver gives for `host` (OSError or UnicodeError if it fails)."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses: list[IPAddress] = []
    for _family, _type, _proto, _canon, sockaddr in infos:
        address = _parse_ip(str(sockaddr[0]))
        if address is not None and address not in addresses:
            addresses.append(address)
    return addresses


async def public_addresses(host: str, port: int, *, lookup: bool = True) -> list[IPAddress]:
    """The addresses `host` stands for, every one of them public: the one public-address check.

    An IP literal is checked as it is; a name is looked up (OSError or UnicodeError if that fails),
    unless `lookup` is False: then only the names that are loopback by definition ("localhost",
    "*.localhost") are refused, and [] is returned for the others. NotPublic names the first address
    that is not public. Adding a source, each redirect hop and each connection of a public-only
    fetch all go through here.
    """
    host = host.rstrip(".").lower()
    literal = _parse_ip(host)
    if literal is not None:
        if (reason := non_public_reason(literal)) is not None:
            raise NotPublic(f"{host} is not a public address ({reason})")
        return [literal]
    loopback = host == "localhost" or host.endswith(".localhost")
    if not lookup and not loopback:
        return []
    try:
        addresses = await _resolve(host, port) if lookup else []
    except (OSError, UnicodeError):
        if not loopback:
            raise
        addresses = []
    if loopback and not addresses:  # loopback by definition (RFC 6761), even unresolved
        raise NotPublic(f"{host} is not a public address (loopback)")
    if not addresses:
        raise OSError(f"no address for {host}")
    for address in addresses:
        if (reason := non_public_reason(address)) is not None:
            raise NotPublic(f"{host} ({address}) is not a public address ({reason})")
    return addresses


async def check_public_url(url: str) -> str | None:
    """An error message if `url` is not http(s) or its host is or resolves to a non-public address.

    Returns None when the URL is safe to fetch from the open internet. Every address the host
    resolves to must be public.
    """
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        return f"invalid URL: {exc}"
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        return f"only http and https URLs are allowed, not {parts.scheme or 'a bare path'!r}"
    host = (parts.hostname or "").rstrip(".")
    if not host:
        return "URL has no host"
    try:
        await public_addresses(host, port or _DEFAULT_PORTS[scheme])
    except NotPublic as exc:
        return str(exc)
    except (OSError, UnicodeError) as exc:
        return f"cannot resolve host {host}: {exc}"
    return None
