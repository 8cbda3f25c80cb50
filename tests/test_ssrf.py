"""Sources given by Telegram admins cannot reach private addresses: not through a redirect, not later."""

from __future__ import annotations

from pathlib import Path

import pytest

import bot.fetch
import bot.manage
from bot.admin import SourceAdmin
from bot.config import load_config
from bot.fetch import Fetcher
from bot.models import Settings
from bot.pipeline import Pipeline
from bot.state import State
from bot.urls import check_public_url
from tests.newssite import NewsSite
from tests.test_e2e import NOW_ITEMS, rss


async def test_a_redirect_to_a_private_address_is_refused_before_it_is_requested(
        news_site: NewsSite, monkeypatch: pytest.MonkeyPatch) -> None:
    public_url = news_site.url("/go")
    private = NewsSite(host="127.0.0.2").start()
    try:
        private.set("/secret.xml", "<rss><channel><item><title>secret</title></item></channel></rss>")
        news_site.fault("/go", "redirect", to=private.url("/secret.xml"), code=302)

        async def pretend_public(url: str) -> str | None:  # the test site stands in for a public host
            return None if url == public_url else await check_public_url(url)

        monkeypatch.setattr(bot.fetch, "check_public_url", pretend_public)
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

    async def pretend_public(url: str) -> str | None:  # the name resolves to a public address when added
        return None if url == feed_url else await check_public_url(url)

    with State.open(tmp_path / "state") as state:
        async with Fetcher(Settings()) as fetcher:
            with monkeypatch.context() as patch:
                patch.setattr(bot.manage, "check_public_url", pretend_public)
                patch.setattr(bot.fetch, "check_public_url", pretend_public)
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
