"""A third-party feed's article links stay on public addresses unless the source, or the settings,
allow private ones: the feed may be local when allowed, what it links to may not."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import bot.fetch.guard
from bot.fetch.client import Fetcher
from bot.models import Config, Settings, Source, Watch
from bot.pipeline import Pipeline
from bot.store.store import State
from tests.newssite import NewsSite
from tests.test_e2e import rss
from tests.test_ssrf import public_for

ARTICLE = ("<html><head><title>News</title></head><body><article>"
           "<h1>Korean zombie thriller season 2 begins production</h1>"
           "<p>Netflix confirmed on Thursday that filming of All of Us Are Dead season 2 has begun in "
           "Seoul, with the original cast returning.</p></article></body></html>")
# A near miss: the headline alone does not name the show, its article does.
HEADLINE = ("Korean zombie thriller season 2 begins production - Daily Screen", "",
            datetime.now(UTC) - timedelta(hours=1))


@pytest.fixture
async def private_site() -> AsyncIterator[NewsSite]:
    """A site on another loopback address, standing in for the machine's own network."""
    site = NewsSite(host="127.0.0.2").start()
    site.set("/article", ARTICLE, "text/html; charset=utf-8")
    try:
        yield site
    finally:
        site.stop()


@pytest.mark.parametrize("via_redirect", [False, True], ids=["direct", "302"])
@pytest.mark.parametrize(("allowed", "fetched"), [
    ({}, False),
    ({"source": True}, True),
    ({"settings": True}, True),
], ids=["plain", "source-allow_private", "settings-allow_private"])
async def test_article_links_of_a_feed_follow_the_public_only_rule(
        tmp_path: Path, news_site: NewsSite, private_site: NewsSite, monkeypatch: pytest.MonkeyPatch,
        via_redirect: bool, allowed: dict[str, bool], fetched: bool) -> None:
    link = private_site.url("/article")
    public = [news_site.url("/feed.xml")]
    if via_redirect:  # a public-looking link that answers 302 to the private address
        news_site.fault("/go", "redirect", to=link, code=302)
        link = news_site.url("/go")
        public.append(f"{link}?id={abs(hash(HEADLINE[0]))}")
    news_site.set("/feed.xml", rss([HEADLINE]).replace("https://news.example/", link + "?id="))
    # The local feed and the redirector stand in for public hosts; 127.0.0.2 is checked for real.
    monkeypatch.setattr(bot.fetch.guard, "check_public_url", public_for(*public))
    source = Source(name="Wire", url=news_site.url("/feed.xml"), interval=60,
                    allow_private=allowed.get("source", False))
    settings = replace(Settings(), allow_private=allowed.get("settings", False))
    config = Config(watches=(Watch("aouad-s2", "All of Us Are Dead", 2),), sources=(source,), settings=settings)

    with State.open(tmp_path / "state") as state:
        async with Fetcher(settings) as fetcher:
            result = await Pipeline(config, state, fetcher).cycle([source])
    assert news_site.hits("/feed.xml") == 1  # the feed itself may be local: only its links are held back
    assert private_site.hits("/article") == (1 if fetched else 0)
    kinds = [f.event.kind for f in result.findings]
    assert kinds == (["production"] if fetched else [])
