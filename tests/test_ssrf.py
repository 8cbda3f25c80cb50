"""Sources given by Telegram admins cannot reach private addresses, not even through a redirect."""

from __future__ import annotations

import pytest

import bot.fetch
from bot.fetch import Fetcher
from bot.models import Settings
from bot.urls import check_public_url
from tests.newssite import NewsSite


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
