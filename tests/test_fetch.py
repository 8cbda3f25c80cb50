"""The fetch layer against a real local HTTP server (and mock transports where simpler)."""

from __future__ import annotations

import asyncio
import base64
import email.utils
import logging
import random
import socket
import time
import tracemalloc
from collections.abc import AsyncIterator, Callable, Iterator

import httpx
import pytest

from bot import __version__
from bot.fetch.body import make_decoder
from bot.fetch.client import (
    Fetcher,
    FetchResult,
    backoff_delay,
    jittered,
    parse_retry_after,
    user_agent,
)
from bot.fetch.pools import HostPools
from bot.models import Settings
from tests.newssite import NewsSite, gzip_bomb

RSS = "<?xml version='1.0'?><rss version='2.0'><channel><title>Our test wire</title></channel></rss>"
MB = 1024 * 1024


@pytest.fixture
async def fetcher() -> AsyncIterator[Fetcher]:
    async with Fetcher(Settings(connect_timeout=2.0, read_timeout=2.0)) as f:
        yield f


@pytest.fixture
def second_site() -> Iterator[NewsSite]:
    """Another site on a different loopback address, i.e. a different host."""
    site = NewsSite(host="127.0.0.2").start()
    try:
        yield site
    finally:
        site.stop()


def mock_fetcher(handler: Callable[[httpx.Request], httpx.Response], **settings: float) -> Fetcher:
    return Fetcher(Settings(**settings), transport=httpx.MockTransport(handler))  # type: ignore[arg-type]


async def _until(condition: Callable[[], bool], within: float = 5.0) -> None:
    """Waits until `condition()` holds, failing the test if it does not within `within` seconds."""
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "the condition did not come true in time"
        await asyncio.sleep(0.01)


# -- plain answers -------------------------------------------------------------------------------


async def test_200_returns_body_validators_and_sends_honest_headers(
    news_site: NewsSite, fetcher: Fetcher
) -> None:
    news_site.set("/feed.xml", RSS)
    result = await fetcher.fetch(news_site.url("/feed.xml"))
    assert result.ok and result.error is None
    assert result.status == 200
    assert result.body == RSS.encode()
    assert result.content_type == "application/rss+xml; charset=utf-8"
    assert result.etag and result.last_modified
    assert result.final_url == result.url == news_site.url("/feed.xml")
    assert result.bytes_received == len(RSS)
    assert not result.not_modified and not result.gone and result.permanent_url is None
    _method, _path, headers = news_site.requests[-1]
    assert headers["user-agent"] == f"newsbot/{__version__} (+https://github.com/newsbot/newsbot)"
    assert "application/rss+xml" in headers["accept"]
    assert "if-none-match" not in headers and "if-modified-since" not in headers


def test_user_agent_names_the_contact() -> None:
    assert user_agent(Settings(user_agent_contact="https://example.org/bot")) == (
        f"newsbot/{__version__} (+https://example.org/bot)"
    )


async def test_304_with_etag(news_site: NewsSite, fetcher: Fetcher) -> None:
    news_site.set("/feed.xml", RSS)
    first = await fetcher.fetch(news_site.url("/feed.xml"))
    second = await fetcher.fetch(news_site.url("/feed.xml"), etag=first.etag)
    assert news_site.requests[-1][2]["if-none-match"] == first.etag
    assert second.status == 304 and second.not_modified and second.ok
    assert second.body == b""
    assert second.etag == first.etag


async def test_304_with_last_modified(news_site: NewsSite, fetcher: Fetcher) -> None:
    news_site.set("/feed.xml", RSS)
    first = await fetcher.fetch(news_site.url("/feed.xml"))
    second = await fetcher.fetch(news_site.url("/feed.xml"), last_modified=first.last_modified)
    assert news_site.requests[-1][2]["if-modified-since"] == first.last_modified
    assert second.status == 304 and second.not_modified and second.ok
    assert second.last_modified == first.last_modified


async def test_conditional_get_sees_republished_content(news_site: NewsSite, fetcher: Fetcher) -> None:
    news_site.set("/feed.xml", RSS)
    first = await fetcher.fetch(news_site.url("/feed.xml"))
    news_site.set("/feed.xml", RSS.replace("Our test wire", "Updated wire"))
    second = await fetcher.fetch(
        news_site.url("/feed.xml"), etag=first.etag, last_modified=first.last_modified
    )
    assert second.status == 200 and not second.not_modified
    assert b"Updated wire" in second.body
    assert second.etag != first.etag


async def test_304_keeps_the_callers_validators_when_server_omits_them() -> None:
    async with mock_fetcher(lambda request: httpx.Response(304)) as f:
        result = await f.fetch(
            "http://feeds.test/x", etag='"abc"', last_modified="Mon, 01 Jan 2024 00:00:00 GMT"
        )
    assert result.not_modified and result.etag == '"abc"'
    assert result.last_modified == "Mon, 01 Jan 2024 00:00:00 GMT"


@pytest.mark.parametrize(
    ("code", "message"),
    [(404, "HTTP 404 Not Found"), (500, "HTTP 500 Internal Server Error"), (403, "HTTP 403 Forbidden")],
)
async def test_http_errors(news_site: NewsSite, fetcher: Fetcher, code: int, message: str) -> None:
    news_site.set("/feed.xml", RSS)
    news_site.fault("/feed.xml", "status", code=code, body="no feed for you")
    result = await fetcher.fetch(news_site.url("/feed.xml"))
    assert not result.ok
    assert result.status == code
    assert result.error == message
    assert result.body == b""
    assert not result.gone and result.retry_after is None


async def test_unpublished_path_is_404(news_site: NewsSite, fetcher: Fetcher) -> None:
    result = await fetcher.fetch(news_site.url("/missing.xml"))
    assert (result.status, result.error) == (404, "HTTP 404 Not Found")


async def test_410_is_gone(news_site: NewsSite, fetcher: Fetcher) -> None:
    news_site.fault("/old.xml", "status", code=410)
    result = await fetcher.fetch(news_site.url("/old.xml"))
    assert result.gone and not result.ok
    assert result.error == "HTTP 410 Gone"


@pytest.mark.parametrize("code", [503, 429])
async def test_retry_after_seconds(news_site: NewsSite, fetcher: Fetcher, code: int) -> None:
    news_site.fault("/feed.xml", "status", code=code, headers={"Retry-After": "120"})
    result = await fetcher.fetch(news_site.url("/feed.xml"))
    assert result.status == code
    assert result.retry_after == 120.0
    assert result.error is not None and f"HTTP {code}" in result.error
    assert "(retry after 120s)" in result.error


async def test_retry_after_http_date(news_site: NewsSite, fetcher: Fetcher) -> None:
    when = email.utils.formatdate(time.time() + 600, usegmt=True)
    news_site.fault("/feed.xml", "status", code=503, headers={"Retry-After": when})
    result = await fetcher.fetch(news_site.url("/feed.xml"))
    assert result.retry_after is not None
    assert 590 <= result.retry_after <= 601


async def test_retry_after_ignored_on_other_statuses(news_site: NewsSite, fetcher: Fetcher) -> None:
    news_site.fault("/feed.xml", "status", code=500, headers={"Retry-After": "120"})
    result = await fetcher.fetch(news_site.url("/feed.xml"))
    assert result.retry_after is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120.0),
        (" 0 ", 0.0),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 100.0),
        ("Wed, 21 Oct 2015 07:20:00 GMT", 0.0),
        ("soon", None),
        ("-5", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    now = email.utils.parsedate_to_datetime("Wed, 21 Oct 2015 07:26:20 GMT").timestamp()
    assert parse_retry_after(value, now) == expected


# -- redirects -----------------------------------------------------------------------------------


@pytest.mark.parametrize("code", [301, 308])
async def test_permanent_redirect_reports_new_url(news_site: NewsSite, fetcher: Fetcher, code: int) -> None:
    news_site.set("/new.xml", RSS)
    news_site.fault("/old.xml", "redirect", to="/new.xml", code=code)
    result = await fetcher.fetch(news_site.url("/old.xml"))
    assert result.ok and result.body == RSS.encode()
    assert result.url == news_site.url("/old.xml")
    assert result.final_url == news_site.url("/new.xml")
    assert result.permanent_url == news_site.url("/new.xml")


@pytest.mark.parametrize("code", [302, 303, 307])
async def test_temporary_redirect_keeps_url(news_site: NewsSite, fetcher: Fetcher, code: int) -> None:
    news_site.set("/new.xml", RSS)
    news_site.fault("/old.xml", "redirect", to="/new.xml", code=code)
    result = await fetcher.fetch(news_site.url("/old.xml"))
    assert result.ok and result.final_url == news_site.url("/new.xml")
    assert result.permanent_url is None


async def test_permanent_url_stops_at_first_temporary_hop(news_site: NewsSite, fetcher: Fetcher) -> None:
    news_site.set("/c.xml", RSS)
    news_site.fault("/a.xml", "redirect", to="/b.xml", code=301)
    news_site.fault("/b.xml", "redirect", to="/c.xml", code=302)
    result = await fetcher.fetch(news_site.url("/a.xml"))
    assert result.ok and result.final_url == news_site.url("/c.xml")
    assert result.permanent_url == news_site.url("/b.xml")


async def test_permanent_redirect_to_error_is_not_adopted(news_site: NewsSite, fetcher: Fetcher) -> None:
    news_site.fault("/old.xml", "redirect", to="/nowhere.xml", code=301)
    result = await fetcher.fetch(news_site.url("/old.xml"))
    assert result.status == 404 and result.permanent_url is None


async def test_redirect_to_another_host(news_site: NewsSite, second_site: NewsSite, fetcher: Fetcher) -> None:
    second_site.set("/feed.xml", RSS)
    news_site.fault("/feed.xml", "redirect", to=second_site.url("/feed.xml"), code=308)
    result = await fetcher.fetch(news_site.url("/feed.xml"))
    assert result.ok and result.permanent_url == second_site.url("/feed.xml")


async def test_a_redirect_onto_a_busy_host_reports_the_wait_for_a_connection(
        news_site: NewsSite, second_site: NewsSite) -> None:
    asked = asyncio.Event()

    async def drip(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """An answer that takes 1.5 s, a byte at a time: its connection stays busy all along."""
        await reader.readuntil(b"\r\n\r\n")
        asked.set()
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n")
        for _ in range(10):
            await asyncio.sleep(0.15)
            writer.write(b"x")
            await writer.drain()
        writer.close()

    second_site.set("/feed.xml", RSS)  # the same host as the slow server, on another port
    news_site.fault("/feed.xml", "redirect", to=second_site.url("/feed.xml"), code=302)
    slow = await asyncio.start_server(drip, "127.0.0.2", 0)
    async with slow, Fetcher(Settings(per_host=1, read_timeout=0.5)) as f:
        busy = asyncio.ensure_future(f.fetch(f"http://127.0.0.2:{slow.sockets[0].getsockname()[1]}/slow"))
        await asyncio.wait_for(asked.wait(), 5)  # the slow answer holds the host's one connection
        result = await f.fetch(news_site.url("/feed.xml"))
        assert result.error == "timed out after 0.5s waiting for a free connection to 127.0.0.2"
        assert second_site.hits("/feed.xml") == 0
        assert (await busy).body == b"x" * 10
        assert (await f.fetch(news_site.url("/feed.xml"))).ok  # the connection was given back


async def test_redirect_loop_is_reported(news_site: NewsSite, fetcher: Fetcher) -> None:
    news_site.fault("/feed.xml", "redirect_loop")
    result = await fetcher.fetch(news_site.url("/feed.xml"))
    assert not result.ok
    assert result.error is not None and result.error.startswith("redirect loop:")
    assert news_site.hits("/feed.xml") == 2


async def test_too_many_redirects(news_site: NewsSite) -> None:
    news_site.fault("/feed.xml", "redirect_chain", hops=10)
    async with Fetcher(Settings(max_redirects=3)) as f:
        result = await f.fetch(news_site.url("/feed.xml"))
    assert result.error == "too many redirects (3)"
    assert news_site.hits("/feed.xml") == 4


async def test_max_redirects_is_allowed(news_site: NewsSite) -> None:
    news_site.set("/feed.xml", RSS)
    news_site.fault("/feed.xml", "redirect_chain", hops=3)
    async with Fetcher(Settings(max_redirects=3)) as f:
        result = await f.fetch(news_site.url("/feed.xml"))
    assert result.ok and result.final_url == news_site.url("/feed.xml?hop=3")


async def test_redirect_to_other_scheme_is_refused(news_site: NewsSite, fetcher: Fetcher) -> None:
    news_site.fault("/feed.xml", "redirect", to="file:///etc/passwd", code=302)
    result = await fetcher.fetch(news_site.url("/feed.xml"))
    assert result.error is not None and "redirect to unsupported URL" in result.error


async def test_redirect_without_location(news_site: NewsSite, fetcher: Fetcher) -> None:
    news_site.fault("/feed.xml", "status", code=302)
    result = await fetcher.fetch(news_site.url("/feed.xml"))
    assert result.error == "HTTP 302 Found without a Location"


# -- network failures ----------------------------------------------------------------------------


async def test_read_timeout(news_site: NewsSite) -> None:
    news_site.set("/feed.xml", RSS)
    news_site.fault("/feed.xml", "delay", seconds=10)
    async with Fetcher(Settings(read_timeout=0.3)) as f:
        result = await f.fetch(news_site.url("/feed.xml"))
    assert result.status == 0 and not result.ok
    assert result.error == "timed out after 0.3s (read)"
    assert result.elapsed < 5


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_connection_refused(fetcher: Fetcher) -> None:
    result = await fetcher.fetch(f"http://127.0.0.1:{_closed_port()}/feed.xml")
    assert (result.status, result.error) == (0, "connection refused")


async def test_redirect_to_dead_server_has_no_status(news_site: NewsSite, fetcher: Fetcher) -> None:
    dead = f"http://127.0.0.1:{_closed_port()}/feed.xml"
    news_site.fault("/feed.xml", "redirect", to=dead, code=302)
    result = await fetcher.fetch(news_site.url("/feed.xml"))
    assert (result.status, result.error, result.final_url) == (0, "connection refused", dead)


async def test_dns_failure_from_resolver(fetcher: Fetcher) -> None:
    # .invalid never resolves (RFC 6761); the test-wide guard also answers it locally.
    result = await fetcher.fetch("http://feeds.invalid/rss")
    assert (result.status, result.error) == (0, "DNS lookup failed for feeds.invalid")


async def test_dns_failure_from_transport() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        try:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        except socket.gaierror as exc:
            raise httpx.ConnectError("[Errno -2] Name or service not known", request=request) from exc

    async with mock_fetcher(handler) as f:
        result = await f.fetch("https://news.example.invalid/feed")
    assert result.error == "DNS lookup failed for news.example.invalid"


async def test_connection_reset(news_site: NewsSite, fetcher: Fetcher) -> None:
    news_site.fault("/feed.xml", "reset")
    result = await fetcher.fetch(news_site.url("/feed.xml"))
    assert result.status == 0 and not result.ok
    assert result.error in ("connection reset by server", "server closed the connection without answering")


async def test_truncated_body(news_site: NewsSite, fetcher: Fetcher) -> None:
    news_site.set("/feed.xml", RSS * 50)
    news_site.fault("/feed.xml", "truncate")
    result = await fetcher.fetch(news_site.url("/feed.xml"))
    assert not result.ok and result.body == b""
    assert result.status == 200
    assert result.error == "body truncated: server closed the connection early"


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/feed", "not a url", "", "http://", "http://[::1/feed"])
async def test_bad_urls_never_raise(fetcher: Fetcher, url: str) -> None:
    result = await fetcher.fetch(url)
    assert isinstance(result, FetchResult)
    assert result.status == 0 and result.error


async def test_unexpected_transport_error_never_raises() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise RuntimeError("transport exploded")

    async with mock_fetcher(handler) as f:
        result = await f.fetch("http://feeds.test/x")
    assert result.error == "RuntimeError: transport exploded"


# -- body limits and decoding --------------------------------------------------------------------


async def test_huge_streamed_body_is_capped(news_site: NewsSite, fetcher: Fetcher) -> None:
    news_site.fault("/feed.xml", "huge", size=50 * MB)
    result = await fetcher.fetch(news_site.url("/feed.xml"))
    assert result.error == "body larger than 5.0 MB"
    assert result.body == b""
    assert 5 * MB < result.bytes_received < 6 * MB


async def test_declared_huge_body_is_refused_unread(news_site: NewsSite, fetcher: Fetcher) -> None:
    news_site.fault("/feed.xml", "huge", size=50 * MB, content_length=True)
    result = await fetcher.fetch(news_site.url("/feed.xml"))
    assert result.error == "body larger than 5.0 MB"
    assert result.bytes_received == 0


async def test_body_at_limit_is_accepted(news_site: NewsSite) -> None:
    news_site.fault("/feed.xml", "huge", size=1000)
    async with Fetcher(Settings(max_body_bytes=1000)) as f:
        result = await f.fetch(news_site.url("/feed.xml"))
    assert result.ok and len(result.body) == 1000


async def test_gzip_bomb_is_stopped_early(news_site: NewsSite, fetcher: Fetcher) -> None:
    news_site.fault("/feed.xml", "gzip_bomb", size=50 * MB)
    result = await fetcher.fetch(news_site.url("/feed.xml"))
    assert result.error == "decompressed body larger than 5.0 MB"
    assert result.body == b""


async def test_gzip_bomb_is_never_inflated_in_full(news_site: NewsSite, fetcher: Fetcher) -> None:
    news_site.fault("/feed.xml", "gzip_bomb", size=100 * MB)
    tracemalloc.start()
    try:
        result = await fetcher.fetch(news_site.url("/feed.xml"))
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.error == "decompressed body larger than 5.0 MB"
    assert peak < 30 * MB  # inflating it would take 100 MB


def test_decoder_output_is_bounded_per_call() -> None:
    bomb = gzip_bomb(20 * MB)
    decoder = make_decoder("gzip")
    assert len(decoder.decode(bomb, 1001)) == 1001


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "deflate-raw", "br"])
async def test_compressed_bodies_are_decoded(news_site: NewsSite, fetcher: Fetcher, encoding: str) -> None:
    body = RSS * 200
    news_site.set("/feed.xml", body, encoding=encoding)
    result = await fetcher.fetch(news_site.url("/feed.xml"))
    assert result.ok, result.error
    assert result.body == body.encode()
    assert result.bytes_received < len(body) // 4
    assert "br" in news_site.requests[-1][2]["accept-encoding"]


@pytest.mark.parametrize("encoding", ["gzip", "br", "deflate"])
async def test_decompressed_limit_applies_to_every_encoding(news_site: NewsSite, encoding: str) -> None:
    news_site.set("/feed.xml", b"a" * 400_000, encoding=encoding)
    async with Fetcher(Settings(max_body_bytes=200_000)) as f:
        result = await f.fetch(news_site.url("/feed.xml"))
    assert result.error == "decompressed body larger than 0.2 MB"


@pytest.mark.parametrize(
    ("encoding", "payload", "message"),
    [
        ("gzip", b"this is not gzip at all", "could not decode gzip body"),
        ("br", b"\xff\xff\xff not brotli", "could not decode br body"),
        ("zstd", b"whatever", "unsupported Content-Encoding: zstd"),
        ("gzip, br", b"whatever", "unsupported Content-Encoding: gzip, br"),
    ],
)
async def test_undecodable_bodies(encoding: str, payload: bytes, message: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"Content-Encoding": encoding}, stream=httpx.ByteStream(payload))

    async with mock_fetcher(handler) as f:
        result = await f.fetch("http://feeds.test/x")
    assert result.error is not None and result.error.startswith(message)


async def test_identity_encoding_is_plain() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, headers={"Content-Encoding": "identity"}, stream=httpx.ByteStream(b"plain")
        )

    async with mock_fetcher(handler) as f:
        result = await f.fetch("http://feeds.test/x")
    assert result.ok and result.body == b"plain"


async def test_already_read_response_from_custom_transport() -> None:
    # httpx reads bytes content at construction; the fetcher still returns it.
    async with mock_fetcher(lambda request: httpx.Response(200, content=b"<rss/>")) as f:
        result = await f.fetch("http://feeds.test/x")
    assert result.ok and result.body == b"<rss/>"


async def test_already_read_response_over_the_limit() -> None:
    async with mock_fetcher(
        lambda request: httpx.Response(200, content=b"x" * 2000), max_body_bytes=1000
    ) as f:
        result = await f.fetch("http://feeds.test/x")
    assert result.error == "body larger than 1000 bytes"


# -- concurrency ---------------------------------------------------------------------------------


async def test_per_host_concurrency_is_bounded(news_site: NewsSite) -> None:
    for i in range(6):
        news_site.set(f"/f{i}.xml", RSS)
        news_site.fault(f"/f{i}.xml", "delay", seconds=0.2)
    async with Fetcher(Settings(concurrency=32, per_host=2)) as f:
        results = await asyncio.gather(*(f.fetch(news_site.url(f"/f{i}.xml")) for i in range(6)))
    assert all(r.ok for r in results)
    assert news_site.peak_concurrency() == 2


async def test_overall_concurrency_is_bounded(news_site: NewsSite) -> None:
    for i in range(9):
        news_site.set(f"/f{i}.xml", RSS)
        news_site.fault(f"/f{i}.xml", "delay", seconds=0.2)
    async with Fetcher(Settings(concurrency=3, per_host=10)) as f:
        results = await asyncio.gather(*(f.fetch(news_site.url(f"/f{i}.xml")) for i in range(9)))
    assert all(r.ok for r in results)
    assert news_site.peak_concurrency() == 3


async def test_slow_host_does_not_delay_others(news_site: NewsSite, second_site: NewsSite) -> None:
    news_site.set("/slow.xml", RSS)
    news_site.fault("/slow.xml", "delay", seconds=30)
    second_site.set("/fast.xml", RSS)
    async with Fetcher(Settings(concurrency=3, per_host=2, read_timeout=60)) as f:
        slow = [asyncio.create_task(f.fetch(news_site.url("/slow.xml"))) for _ in range(8)]
        await _until(lambda: news_site.peak_concurrency() == 2)  # the slow host holds all its slots; more wait
        fast = await asyncio.wait_for(f.fetch(second_site.url("/fast.xml")), timeout=5)
        assert fast.ok and fast.body == RSS.encode()
        assert not any(task.done() for task in slow)
        assert news_site.peak_concurrency() == 2
        for task in slow:
            task.cancel()
        await asyncio.gather(*slow, return_exceptions=True)


async def test_slow_path_does_not_delay_same_host(news_site: NewsSite) -> None:
    news_site.set("/slow.xml", RSS)
    news_site.fault("/slow.xml", "delay", seconds=30)
    news_site.set("/fast.xml", RSS)
    async with Fetcher(Settings(per_host=2, read_timeout=60)) as f:
        slow = asyncio.create_task(f.fetch(news_site.url("/slow.xml")))
        await _until(lambda: news_site.peak_concurrency() == 1)  # the slow request is being answered
        fast = await asyncio.wait_for(f.fetch(news_site.url("/fast.xml")), timeout=5)
        assert fast.ok and not slow.done()
        slow.cancel()
        await asyncio.gather(slow, return_exceptions=True)


async def test_connections_are_reused(news_site: NewsSite, fetcher: Fetcher) -> None:
    news_site.set("/feed.xml", RSS)
    for _ in range(3):
        assert (await fetcher.fetch(news_site.url("/feed.xml"))).ok
    assert news_site.hits("/feed.xml") == 3
    assert news_site.connections_accepted == 1



async def test_unread_answers_keep_the_connection(news_site: NewsSite, fetcher: Fetcher) -> None:
    """304s, small error pages and redirects are read to their end, so the next request reuses the link."""
    news_site.set("/feed.xml", RSS)
    news_site.fault("/gone.xml", "status", code=404, body="no such feed here")
    news_site.fault("/old.xml", "redirect", code=301, to="/feed.xml")
    first = await fetcher.fetch(news_site.url("/feed.xml"))
    for _ in range(3):
        assert (await fetcher.fetch(news_site.url("/feed.xml"), etag=first.etag)).not_modified
        assert (await fetcher.fetch(news_site.url("/gone.xml"))).error == "HTTP 404 Not Found"
        assert (await fetcher.fetch(news_site.url("/old.xml"))).permanent_url == news_site.url("/feed.xml")
    assert news_site.connections_accepted == 1

async def test_idle_hosts_are_forgotten(news_site: NewsSite, second_site: NewsSite, fetcher: Fetcher) -> None:
    news_site.set("/a.xml", RSS)
    second_site.set("/b.xml", RSS)
    await asyncio.gather(fetcher.fetch(news_site.url("/a.xml")), fetcher.fetch(second_site.url("/b.xml")))
    assert len(fetcher._slots) == 0  # no semaphore is kept for a host no fetch holds or awaits


# -- scheduling helpers --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("errors", "expected"),
    [
        (0, 900.0),
        (1, 1800.0),
        (2, 3600.0),
        (3, 7200.0),
        (4, 14400.0),
        (5, 21600.0),
        (50, 21600.0),
        (10**6, 21600.0),
    ],
)
def test_backoff_delay(errors: int, expected: float) -> None:
    assert backoff_delay(errors, 900.0, 21600.0) == expected


def test_backoff_never_shortens_the_interval() -> None:
    assert backoff_delay(3, 86400.0, 3600.0) == 86400.0
    assert backoff_delay(-1, 60.0, 3600.0) == 60.0


def test_jittered_stays_within_ten_percent_and_varies() -> None:
    rng = random.Random(7)
    values = [jittered(100.0, rng) for _ in range(1000)]
    assert all(90.0 <= v <= 110.0 for v in values)
    assert max(values) - min(values) > 15.0


async def test_one_client_serves_every_host_and_closing_it_closes_every_connection(
    news_site: NewsSite, second_site: NewsSite
) -> None:
    sites = (news_site, second_site)
    for site in sites:
        for i in range(4):
            site.set(f"/f{i}.xml", RSS)
            site.fault(f"/f{i}.xml", "delay", seconds=0.2)
    async with Fetcher(Settings(concurrency=32, per_host=2)) as f:
        results = await asyncio.gather(*(f.fetch(site.url(f"/f{i}.xml")) for site in sites for i in range(4)))
        assert all(r.ok for r in results)
        assert [site.peak_concurrency() for site in sites] == [2, 2]  # per host, though the client is shared
        assert news_site._connections and second_site._connections  # kept open for the next cycle
    await _until(lambda: not news_site._connections and not second_site._connections)


async def test_connections_left_idle_are_closed(news_site: NewsSite) -> None:
    news_site.set("/a.xml", RSS)
    async with Fetcher(Settings(), idle_close=0.0) as f:
        assert (await f.fetch(news_site.url("/a.xml"))).ok
        assert (await f.fetch(news_site.url("/a.xml"))).ok  # the first connection has been idle too long
    assert news_site.connections_accepted == 2


class _CountedPool(httpx.AsyncBaseTransport):
    """A stand-in for a host's pool that only records that it was closed."""

    def __init__(self) -> None:
        self.closed = False

    async def aclose(self) -> None:
        self.closed = True


async def test_host_pools_keep_the_most_recent_idle_hosts_and_never_close_a_busy_one() -> None:
    made: list[_CountedPool] = []

    def make() -> _CountedPool:
        made.append(_CountedPool())
        return made[-1]

    pools = HostPools(make, expiry=60.0, kept=2)
    busy, _ = await pools.lease("busy.example")  # its request never ends
    for host in ("a.example", "b.example", "c.example"):
        _, done = await pools.lease(host)
        done()
    again, done = await pools.lease("b.example")  # kept: the same pool, not a new one
    done()
    await pools.lease("d.example")
    assert again is made[2]
    assert [p.closed for p in made] == [False, True, False, False, False]  # a.example: least recently used
    await pools.aclose()
    assert all(p.closed for p in made)


async def test_host_pools_close_a_pool_left_idle_for_the_keepalive_time() -> None:
    first, second = _CountedPool(), _CountedPool()
    pools = HostPools(iter([first, second]).__next__, expiry=0.0)  # idle at all is idle too long
    _, done = await pools.lease("a.example")
    await pools.lease("b.example")
    assert not first.closed  # busy
    done()
    await pools.lease("b.example")
    assert first.closed and not second.closed and len(pools) == 1


class _SlowClosingPool(_CountedPool):
    """A pool whose close yields to the loop, as an httpx pool with an open connection does."""

    async def aclose(self) -> None:
        await asyncio.sleep(0)
        self.closed = True


async def test_host_pools_swept_by_leases_at_once_never_fail() -> None:
    pools = HostPools(_SlowClosingPool, expiry=60.0, kept=2)
    leases = [await pools.lease(f"h{n}.example") for n in range(8)]  # busy while leased: none closed
    for _, done in leases:
        done()  # eight idle pools, six beyond the two kept
    results = await asyncio.gather(*(pools.lease(f"new{n}.example") for n in range(3)), return_exceptions=True)
    assert not [r for r in results if isinstance(r, BaseException)], results
    await pools.aclose()


def _clear_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "https_proxy", "no_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


@pytest.mark.parametrize(("variable", "with_scheme"), [("HTTP_PROXY", True), ("HTTP_PROXY", False),
                                                       ("ALL_PROXY", True)])
async def test_proxy_from_the_environment(news_site: NewsSite, monkeypatch: pytest.MonkeyPatch,
                                          variable: str, with_scheme: bool) -> None:
    news_site.set("http://feeds.example/feed.xml", RSS)  # a proxy is asked for the absolute URL
    _clear_proxies(monkeypatch)
    address = news_site.url("/").rstrip("/")
    monkeypatch.setenv(variable, address if with_scheme else address.removeprefix("http://"))
    async with Fetcher(Settings()) as f:
        result = await f.fetch("http://feeds.example/feed.xml")
    assert (result.status, result.body) == (200, RSS.encode())
    assert news_site.requests[-1][1] == "http://feeds.example/feed.xml"

    monkeypatch.setenv("NO_PROXY", "feeds.example")
    async with Fetcher(Settings()) as f:
        bypassed = await f.fetch("http://feeds.example/feed.xml")
    assert bypassed.error == "DNS lookup failed for feeds.example"  # asked directly, and the name is unknown


async def test_proxy_credentials_in_the_url_are_sent(news_site: NewsSite, monkeypatch: pytest.MonkeyPatch) -> None:
    news_site.set("http://feeds.example/feed.xml", RSS)
    _clear_proxies(monkeypatch)
    monkeypatch.setenv("HTTP_PROXY", news_site.url("/").rstrip("/").replace("http://", "http://reader:s3cret@"))
    async with Fetcher(Settings()) as f:
        assert (await f.fetch("http://feeds.example/feed.xml")).ok
    _, path, headers = news_site.requests[-1]
    assert path == "http://feeds.example/feed.xml"
    assert headers.get("proxy-authorization") == "Basic " + base64.b64encode(b"reader:s3cret").decode()


async def test_a_proxy_that_is_not_http_is_left_out(news_site: NewsSite, monkeypatch: pytest.MonkeyPatch,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    _clear_proxies(monkeypatch)
    monkeypatch.setenv("ALL_PROXY", "socks5://127.0.0.1:1080")
    news_site.set("/feed.xml", RSS)
    with caplog.at_level(logging.WARNING, logger="bot.fetch.hops"):  # other tests may have quietened logging
        async with Fetcher(Settings()) as f:
            result = await f.fetch(news_site.url("/feed.xml"))
    assert result.ok
    assert "not an HTTP proxy" in caplog.text


async def test_a_tls_failure_is_named(news_site: NewsSite, fetcher: Fetcher) -> None:
    news_site.set("/feed.xml", RSS)  # a plain-HTTP server asked for TLS: the handshake fails
    result = await fetcher.fetch(news_site.url("/feed.xml").replace("http://", "https://"))
    assert result.error is not None and result.error.startswith("TLS error: ")
    assert "wrong version number" in result.error.lower() and result.status == 0


async def test_escapes_in_a_url_are_sent_as_written(news_site: NewsSite, fetcher: Fetcher) -> None:
    # A signed feed URL breaks if %2F or %3A in its query is decoded on the way; a space is encoded.
    news_site.set("/signed.xml", RSS)
    query = "?next=http%3A%2F%2Fexample.org%2Fa&sig=ab%2Fcd%3D"
    result = await fetcher.fetch(news_site.url("/signed.xml") + query)
    assert (result.ok, news_site.requests[-1][1]) == (True, "/signed.xml" + query)
    await fetcher.fetch(news_site.url("/signed.xml") + "?q=two words&x=%41")
    assert news_site.requests[-1][1] == "/signed.xml?q=two%20words&x=%41"


async def test_cookies_are_not_sent_back(news_site: NewsSite, monkeypatch: pytest.MonkeyPatch) -> None:
    url = "http://feeds.example/feed.xml"  # a host name (through a proxy): cookies of bare IPs are never kept
    news_site.set(url, RSS, headers={"Set-Cookie": "visitor=abc123; Path=/"})
    _clear_proxies(monkeypatch)
    monkeypatch.setenv("HTTP_PROXY", news_site.url("/").rstrip("/"))
    async with Fetcher(Settings()) as f:
        assert (await f.fetch(url)).ok
        assert (await f.fetch(url)).ok
    assert [path for _, path, _ in news_site.requests] == [url, url]
    assert all("cookie" not in headers for _, _, headers in news_site.requests)


async def _raw_server(reply: bytes, seen: list[bytes]) -> asyncio.Server:
    """A loopback server that answers every request with `reply` as given, then hangs up."""
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(await reader.readuntil(b"\r\n\r\n"))
        writer.write(reply)
        await writer.drain()
        writer.close()

    return await asyncio.start_server(answer, "127.0.0.1", 0)


@pytest.mark.parametrize("head", [
    b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n<rss>\r\n0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n<rss>",
], ids=["length-and-chunked", "length-twice"])
async def test_answers_with_doubtful_framing_headers_are_still_read(head: bytes) -> None:
    seen: list[bytes] = []
    server = await _raw_server(head, seen)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/feed.xml"
    async with server, Fetcher(Settings()) as f:
        first = await f.fetch(url)
        asked = len(seen)
        again = await f.fetch(url)
    assert (first.status, first.body, first.error) == (200, b"<rss>", None)
    assert (again.status, again.body) == (200, b"<rss>")
    assert len(seen) - asked == 1  # asked once per fetch, with no second try


async def test_garbage_is_a_one_line_protocol_error() -> None:
    server = await _raw_server(b"this is not http\r\n\r\n", [])
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/feed.xml"
    async with server, Fetcher(Settings()) as f:
        result = await f.fetch(url)
    assert result.error is not None and result.error.startswith("protocol error: ")
    assert "\n" not in result.error and "this is not http" in result.error
