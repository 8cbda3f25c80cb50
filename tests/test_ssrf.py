"""Sources given by Telegram admins cannot reach private addresses: not through a redirect, not later."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

import bot.fetch.client
import bot.sources
from bot.config import load_config
from bot.fetch.client import Fetcher
from bot.fetch.pool import NonPublicAddress, _PublicOnlyResolver
from bot.models import Config, Settings, Source, Watch
from bot.pipeline import Pipeline
from bot.sources import FetchFailed, check_source
from bot.store.store import State
from bot.telegram.admin import SourceAdmin
from bot.urls import check_public_url
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

        monkeypatch.setattr(bot.fetch.client, "check_public_url", public_for(public_url))  # stands in for a public host
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
                patch.setattr(bot.fetch.client, "check_public_url", public_for(feed_url))
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
    monkeypatch.setattr(bot.fetch.client, "check_public_url", public_for())
    async with Fetcher(Settings()) as fetcher:
        refused = await fetcher.fetch(url, public_only=True)
        assert refused.error is not None and refused.error.startswith("refused: localhost (")
        assert "is not a public address (loopback)" in refused.error
        assert news_site.hits("/feed.xml") == 0
        allowed = await fetcher.fetch(url)  # the same host for a source that may be private: its own pool
        assert allowed.ok and news_site.hits("/feed.xml") == 1


class _Answers:
    """A stand-in for aiohttp's resolver, answering fixed addresses."""

    def __init__(self, *addresses: str) -> None:
        self.addresses = addresses

    async def resolve(self, host: str, port: int = 0, family: int = 0) -> list[dict[str, object]]:
        return [{"hostname": host, "host": a, "port": port, "family": family, "proto": 0, "flags": 0}
                for a in self.addresses]

    async def close(self) -> None:
        pass


@pytest.mark.parametrize(("addresses", "refused"), [
    (("93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"), None),
    (("93.184.215.14", "10.0.0.7"), "wire.example (10.0.0.7) is not a public address (private)"),
    (("169.254.169.254",), "wire.example (169.254.169.254) is not a public address (link-local)"),
    (("::ffff:127.0.0.1",), "wire.example (::ffff:127.0.0.1) is not a public address (loopback)"),
])
async def test_the_connection_resolver_lets_only_public_addresses_through(
        addresses: tuple[str, ...], refused: str | None) -> None:
    resolver = _PublicOnlyResolver()
    resolver._inner = _Answers(*addresses)  # type: ignore[assignment]
    if refused is None:
        assert [entry["host"] for entry in await resolver.resolve("wire.example", 443)] == list(addresses)
    else:
        with pytest.raises(NonPublicAddress) as error:
            await resolver.resolve("wire.example", 443)
        assert refused in str(error.value)


async def test_a_public_only_fetch_never_falls_back_to_the_parser_that_checks_no_address(
        monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[bytes] = []
    server = await _raw_server(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n<rss>", seen)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/feed.xml"

    monkeypatch.setattr(bot.fetch.client, "check_public_url", public_for())
    async with server, Fetcher(Settings()) as fetcher:
        for _ in range(2):  # a bad answer, sent on purpose or not, fails the fetch: no other way round
            refused = await fetcher.fetch(url, public_only=True)
            assert refused.error is not None and refused.error.startswith("protocol error")
        assert not any(key.startswith("tolerant") for key in fetcher._clients.clients)
        assert (await fetcher.fetch(url)).body == b"<rss>"  # a source that may be private still gets it


async def test_the_check_looks_up_the_host_as_the_request_sends_it(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[str] = []

    async def record(url: str) -> str | None:
        asked.append(url)
        return "not public (as far as this test says)"

    monkeypatch.setattr(bot.fetch.client, "check_public_url", record)
    async with Fetcher(Settings()) as fetcher:
        refused = await fetcher.fetch("http://straße.example/feed.xml", public_only=True)
    assert refused.error == "refused: not public (as far as this test says)"
    assert asked == ["http://xn--strae-oqa.example/feed.xml"]  # IDNA 2008, as httpx and aiohttp send it


async def test_sources_check_keeps_a_public_only_source_to_public_addresses(news_site: NewsSite) -> None:
    news_site.set("/feed.xml", rss(NOW_ITEMS))
    source = Source(name="Wire", url=news_site.url("/feed.xml"), public_only=True)
    config = Config(watches=(Watch(id="aouad-s2", title="All of Us Are Dead", season=2),), sources=(source,))
    async with Fetcher(Settings()) as fetcher:
        with pytest.raises(FetchFailed, match="refused: 127.0.0.1 is not a public address"):
            await check_source(source, config=config, fetcher=fetcher)
    assert news_site.hits("/feed.xml") == 0
