"""Bounded work per source (issue 16): a giant headline is one alert and one reply; hostile bodies are
refused fast; a feed that changes its ids on every fetch adds a bounded number of rows."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.models import Selectors
from bot.parse.feed import ParseError, article_text, parse_feed, parse_html
from bot.parse.text import MAX_TAGS, TITLE_MAX, URL_MAX
from tests.fakebotapi import FakeBotAPI
from tests.newssite import NewsSite
from tests.test_e2e import USER, clean_env, rss, wait_for, write_sources

STRANGER = 777
BASE = "https://news.example/"


def test_a_giant_headline_is_one_alert_and_one_reply(tmp_path: Path, news_site: NewsSite,
                                                      bot_api: FakeBotAPI) -> None:
    news_site.set("/feed.xml", rss([]))
    write_sources(tmp_path / "sources.yaml", news_site.url("/feed.xml"))
    env = clean_env(TELEGRAM_BOT_TOKEN="123:TEST", TELEGRAM_API_URL=bot_api.base_url,
                    NEWSBOT_SOURCES=str(tmp_path / "sources.yaml"), NEWSBOT_STATE_DIR=str(tmp_path / "state"))
    proc = subprocess.Popen([sys.executable, "-m", "bot", "run"], env=env, cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: news_site.hits("/feed.xml") >= 1, what="first fetch")
        bot_api.send_command("/start", chat_id=USER, user_id=USER)
        wait_for(lambda: bot_api.sent(USER), what="reply to /start")
        headline = "Netflix releases the official trailer for All of Us Are Dead season 2 " + "zombie " * 150_000
        news_site.set("/feed.xml", rss([(headline, "The first trailer arrived.",
                                         datetime.now(UTC) - timedelta(minutes=5))]))
        wait_for(lambda: len(bot_api.sent(USER)) > 1, what="the alert")
        hits = news_site.hits("/feed.xml")
        wait_for(lambda: news_site.hits("/feed.xml") >= hits + 2, what="two more fetches")
        for command in ("/start", "/status", "/latest"):
            bot_api.send_command(command, chat_id=STRANGER, user_id=STRANGER)
        wait_for(lambda: len(bot_api.sent(STRANGER)) >= 3, what="the stranger's replies")
        hits = news_site.hits("/feed.xml")
        wait_for(lambda: news_site.hits("/feed.xml") >= hits + 2, what="two more fetches")
    finally:
        proc.kill()
        proc.wait(10)
    alert = bot_api.sent(USER)[1:]
    assert len(alert) == 1 and "official trailer" in alert[0] and len(alert[0]) < 1500, [len(a) for a in alert]
    replies = bot_api.sent(STRANGER)
    assert len(replies) == 3 and all(len(r) < 2000 for r in replies), [len(r) for r in replies]


def test_item_fields_are_cut_at_parse_time() -> None:
    words = "word " * 1_000_000
    body = (f'<rss version="2.0"><channel><item><title>{words}</title><description>{words}</description>'
            f'<link>{BASE}{"a" * 5000}</link><guid>{"g" * 5000}</guid></item></channel></rss>').encode()
    [item] = parse_feed(body, BASE)
    assert len(item.title) <= TITLE_MAX and item.title.endswith("word…")
    assert len(item.summary) <= 1000
    assert item.url == "" and item.canonical_url == ""  # a link over URL_MAX leads nowhere once cut
    assert item.guid.startswith("sha256:") and len(item.guid) < URL_MAX
    page = f'<div class="c"><h2>{words}</h2><a href="/x">x</a></div>'.encode()
    [listed] = parse_html(page, BASE, Selectors(item="div.c", title="h2"))
    assert len(listed.title) <= TITLE_MAX


def _channel(inner: bytes, stray: bytes = b"") -> bytes:
    return b'<?xml version="1.0"?><rss version="2.0"><channel><title>x</title>' + inner + stray + \
           b"</channel></rss>"


HOSTILE_BODIES = {
    "nested": _channel(b"<a>" * 400_000),
    "empty-stray": _channel(b"<a/>" * 300_000, b"</b>"),
    "items-stray": _channel(b"".join(b"<item><title>t%d</title><guid>g%d</guid></item>" % (n, n)
                                     for n in range(60_000)), b"</b>"),
}


def test_bodies_built_to_exhaust_the_parser_are_refused_at_once() -> None:
    for name, body in HOSTILE_BODIES.items():
        try:
            parse_feed(body, BASE)
        except ParseError as exc:
            assert "refused" in str(exc) and f"{MAX_TAGS:,}" in str(exc), name
        else:
            raise AssertionError(f"{name}: not refused")
    page = b"<!doctype html><html><body>" + b"<p>" * 1_000_000 + b"</body></html>"
    try:
        parse_html(page, BASE, Selectors(item="p", title="p"))
    except ParseError as exc:
        assert "refused: the page has 1,000,00" in str(exc)
    else:
        raise AssertionError("page not refused")
    assert article_text(page, BASE) == ""


def test_a_broken_feed_too_big_for_feedparser_is_read_by_lxml_recovery() -> None:
    body = _channel(b"".join(b"<item><title>Headline %d</title><guid>g%d</guid></item>" % (n, n)
                             for n in range(5_000)), b"</b>")
    items = parse_feed(body, BASE)
    assert len(items) == 500 and items[0].title == "Headline 0"


def test_a_console_alert_caps_each_field() -> None:
    from bot.messages import SHOWN, format_alert_plain
    from bot.store.records import Event

    now = datetime.now(UTC)
    word = "Lantern " * 2000
    event = Event(id=1, watch="w", kind="trailer", milestone="official", first_seen=now, published=now,
                  title=word, url="https://news.example/" + "a" * 5000, source=word, evidence=word,
                  reports=1, alerted=True)
    text = format_alert_plain(event, "The Lantern Keepers season 2", source=word, evidence=word, confidence=0.9)
    assert len(text) < sum(SHOWN.values()) + 400, len(text)
    assert len(text.splitlines()) <= 7


@pytest.mark.parametrize(("confidence", "shown"), [(0.997, "confidence 0.99"), (0.5, "confidence 0.50"),
                                                   (0.0004, "confidence 0.00")])
def test_a_confidence_is_never_shown_as_a_certainty(confidence: float, shown: str) -> None:
    """A fitted probability of 0.996 or more is shown as 0.99, not "1.00"."""
    from bot.messages import format_alert_plain
    from bot.store.records import Event

    now = datetime.now(UTC)
    event = Event(id=1, watch="w", kind="trailer", milestone="trailer", first_seen=now, published=now,
                  title="The Lantern Keepers season 2 trailer", url="", source="Local news",
                  evidence="Netflix released it.", reports=1, alerted=True)
    assert shown in format_alert_plain(event, "The Lantern Keepers season 2", confidence=confidence)
