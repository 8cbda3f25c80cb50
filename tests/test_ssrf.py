"""Sources given by Telegram admins cannot reach private addresses: not through a redirect, not later."""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path

import httpcore
import pytest

import bot.fetch.guard
import bot.sources
import bot.urls
from bot.config import load_config
from bot.fetch.client import Fetcher
from bot.fetch.guard import PublicOnlyBackend
from bot.models import Config, Settings, Source, Watch
from bot.pipeline import Pipeline
from bot.sources import FetchFailed, check_source
from bot.store.store import State
from bot.telegram.admin import SourceAdmin
from bot.urls import IPAddress, NotPublic, check_public_url
from tests.newssite import NewsSite
from tests.test_e2e import NOW_ITEMS, rss
from tests.test_fetch import _raw_server


def public_for(*urls: str) -> Callable[[str], Awaitable[str | None]]:
    """A stand-in for check_public_url that finds `urls` public (every URL, when none is named) and
    checks any other URL for real: local test servers standing in for public hosts."""
    async def check(url: str) -> str | None:
        return None if not urls or url in urls else await check_public_url(url)
    return check


async def test_a_redirect_to_a_private_address_is_refused_before_it_is_requested(
        news_site: NewsSite, monkeypatch: pytest.MonkeyPatch) -> None:
    public_url = news_site.url("/go")
    private = NewsSite(host="127.0.0.2").start()
    try:
        private.set("/secret.xml", "<rss><channel><item><title>secret</title></item></channel></rss>")
        news_site.fault("/go", "redirect", to=private.url("/secret.xml"), code=302)

        monkeypatch.setattr(bot.fetch.guard, "check_public_url", public_for(public_url))  # stands in for a public host
        async with Fetcher(Settings()) as fetcher:
            result = await fetcher.fetch(public_url, public_only=True)
            assert result.error is not None and result.error.startswith("refused:")
            assert "127.0.0.2" in result.error
            assert private.hits("/secret.xml") == 0
            allowed = await fetcher.fetch(public_url)
            assert allowed.ok and b"secret" in allowed.body
    finally:
        private.stop()


async def test_a_source_added_from_telegram_is_checked_again_at_every_fetch(
        tmp_path: Path, news_site: NewsSite, monkeypatch: pytest.MonkeyPatch) -> None:
    news_site.set("/feed.xml", rss(NOW_ITEMS))
    feed_url = news_site.url("/feed.xml")
    path = tmp_path / "sources.yaml"
    path.write_text("watches:\n  - {id: aouad-s2, title: All of Us Are Dead, season: 2}\nsources: []\n",
                    encoding="utf-8")

    with State.open(tmp_path / "state") as state:
        async with Fetcher(Settings()) as fetcher:
            with monkeypatch.context() as patch:
                patch.setattr(bot.sources, "check_public_url", public_for(feed_url))  # public when added
                patch.setattr(bot.fetch.guard, "check_public_url", public_for(feed_url))
                admin = SourceAdmin(path, state, fetcher, lambda: load_config(path), lambda why: None)
                assert "Added" in await admin.add(feed_url, "Wire")
            config = load_config(path)
            (source,) = config.sources
            assert source.public_only and not source.allow_private
            assert news_site.hits("/feed.xml") == 1
            # Later the name resolves to a loopback address: the scheduled fetch refuses to make the request.
            outcome = await Pipeline(config, state, fetcher).run_source(source)
            assert outcome.status == "failed" and outcome.error is not None and outcome.error.startswith("refused:")
            assert news_site.hits("/feed.xml") == 1
            last_error = state.source_state("Wire").last_error
            assert last_error is not None and "not a public address" in last_error


async def test_a_name_that_turns_private_after_the_check_is_refused_when_connecting(
        news_site: NewsSite, monkeypatch: pytest.MonkeyPatch) -> None:
    news_site.set("/feed.xml", rss(NOW_ITEMS))
    url = news_site.url("/feed.xml").replace("127.0.0.1", "localhost")

    # DNS rebinding: the check's lookup sees a public address, the connection's a loopback one.
    monkeypatch.setattr(bot.fetch.guard, "check_public_url", public_for())
    async with Fetcher(Settings()) as fetcher:
        refused = await fetcher.fetch(url, public_only=True)
        assert refused.error is not None and refused.error.startswith("refused: localhost (")
        assert "is not a public address (loopback)" in refused.error
        assert news_site.hits("/feed.xml") == 0
        allowed = await fetcher.fetch(url)  # the same host for a source that may be private: its own pool
        assert allowed.ok and news_site.hits("/feed.xml") == 1


class _Recorder(httpcore.AsyncNetworkBackend):
    """A network backend that records the addresses asked for and reaches none of them."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    async def connect_tcp(
        self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        self.asked.append(host)
        raise httpcore.ConnectError(f"{host} does not answer")


@pytest.mark.parametrize(("addresses", "refused"), [
    (("93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"), None),
    (("93.184.215.14", "10.0.0.7"), "private"),
    (("169.254.169.254",), "link-local"),
    (("::ffff:127.0.0.1",), "loopback"),
])
async def test_the_connection_goes_only_to_checked_public_addresses(
        addresses: tuple[str, ...], refused: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    async def resolve(host: str, port: int) -> list[IPAddress]:
        return [ipaddress.ip_address(a) for a in addresses]

    monkeypatch.setattr(bot.urls, "_resolve", resolve)
    inner = _Recorder()
    backend = PublicOnlyBackend(inner)
    if refused is None:  # every address is tried in turn, as the lookup gave them
        with pytest.raises(httpcore.ConnectError, match="does not answer"):
            await backend.connect_tcp("wire.example", 443)
        assert inner.asked == list(addresses)
    else:
        with pytest.raises(NotPublic) as error:
            await backend.connect_tcp("wire.example", 443)
        bad = ipaddress.ip_address(addresses[-1])
        assert str(error.value) == f"wire.example ({bad}) is not a public address ({refused})"
        assert inner.asked == []


async def test_a_public_only_fetch_has_no_way_round_the_connect_check(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[bytes] = []
    server = await _raw_server(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n<rss>", seen)
    url = f"http://localhost:{server.sockets[0].getsockname()[1]}/feed.xml"

    monkeypatch.setattr(bot.fetch.guard, "check_public_url", public_for())  # the hop check is fooled
    async with server, Fetcher(Settings()) as fetcher:
        for _ in range(2):  # whatever the server would answer, it is never asked
            refused = await fetcher.fetch(url, public_only=True)
            assert refused.error is not None and refused.error.startswith("refused: localhost (")
            assert refused.error.endswith(" is not a public address (loopback)")
        assert seen == []
        assert (await fetcher.fetch(url)).body == b"<rss>"  # a source that may be private still gets it


_LOOPBACK_SPELLINGS = [
    "127.0.0.1", "127.1", "127.0.1", "2130706433", "0x7f000001", "0x7f.0.0.1", "0177.0.0.1", "017700000001",
    "localhost", "LOCALHOST", "localhost.", "feeds.localhost", "[::1]", "[0:0:0:0:0:0:0:1]",
    "[::ffff:127.0.0.1]", "[::ffff:7f00:1]", "0.0.0.0", "[::]",
]


@pytest.mark.parametrize("host", _LOOPBACK_SPELLINGS)
async def test_no_spelling_of_this_machine_is_reached_through_a_redirect(
        news_site: NewsSite, monkeypatch: pytest.MonkeyPatch, host: str) -> None:
    public_url = news_site.url("/go")
    port = news_site.url("/").split(":")[2].rstrip("/")
    news_site.set("/secret.xml", "<rss><channel><item><title>secret</title></item></channel></rss>")
    news_site.fault("/go", "redirect", to=f"http://{host}:{port}/secret.xml", code=302)

    monkeypatch.setattr(bot.fetch.guard, "check_public_url", public_for(public_url))
    async with Fetcher(Settings()) as fetcher:
        result = await fetcher.fetch(public_url, public_only=True)
    assert news_site.hits("/go") == 1 and news_site.hits("/secret.xml") == 0
    expected = "bad redirect Location" if host == "0177.0.0.1" else "refused: "  # httpx refuses that one itself
    assert result.error is not None and result.error.startswith(expected)
    assert host == "0177.0.0.1" or "is not a public address" in result.error


async def test_the_check_looks_up_the_host_as_the_request_sends_it(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[str] = []

    async def record(url: str) -> str | None:
        asked.append(url)
        return "not public (as far as this test says)"

    monkeypatch.setattr(bot.fetch.guard, "check_public_url", record)
    async with Fetcher(Settings()) as fetcher:
        refused = await fetcher.fetch("http://straße.example/feed.xml", public_only=True)
    assert refused.error == "refused: not public (as far as this test says)"
    assert asked == ["http://xn--strae-oqa.example/feed.xml"]  # IDNA 2008, as httpx sends it


async def test_sources_check_keeps_a_public_only_source_to_public_addresses(news_site: NewsSite) -> None:
    news_site.set("/feed.xml", rss(NOW_ITEMS))
    source = Source(name="Wire", url=news_site.url("/feed.xml"), public_only=True)
    config = Config(watches=(Watch(id="aouad-s2", title="All of Us Are Dead", season=2),), sources=(source,))
    async with Fetcher(Settings()) as fetcher:
        with pytest.raises(FetchFailed, match="refused: 127.0.0.1 is not a public address"):
            await check_source(source, config=config, fetcher=fetcher)
    assert news_site.hits("/feed.xml") == 0
