"""Operators manage sources from Telegram against the real daemon: /addsource, /pause, /removesource."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.config import load_config
from tests.fakebotapi import FakeBotAPI
from tests.newssite import NewsSite
from tests.test_e2e import NOW_ITEMS, clean_env, rss, wait_for

ADMIN, FAN = 1001, 2002


def start(tmp_path: Path, bot_api: FakeBotAPI, settings: str) -> subprocess.Popen[str]:
    (tmp_path / "sources.yaml").write_text(
        "# operator's notes stay\n"
        "watches:\n  - {id: aouad-s2, title: All of Us Are Dead, season: 2}\n"
        "sources: []\n" + settings, encoding="utf-8")
    env = clean_env(TELEGRAM_BOT_TOKEN="123:TEST", TELEGRAM_API_URL=bot_api.base_url,
                    NEWSBOT_SOURCES=str(tmp_path / "sources.yaml"), NEWSBOT_STATE_DIR=str(tmp_path / "state"),
                    NEWSBOT_ADMINS=str(ADMIN))
    proc = subprocess.Popen([sys.executable, "-m", "bot", "run"], env=env, cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    wait_for(lambda: bot_api.calls_to("getUpdates"), what="polling")
    return proc


@pytest.fixture
def stop_after() -> Iterator[list[subprocess.Popen[str]]]:
    procs: list[subprocess.Popen[str]] = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(20)
            assert proc.returncode == 0


def reply(bot_api: FakeBotAPI, chat: int, before: int) -> str:
    texts = wait_for(lambda: bot_api.sent(chat)[before:], what=f"a reply to {chat}")
    assert isinstance(texts, list)
    return str(texts[0])


def test_admin_adds_pauses_and_removes_a_source(tmp_path: Path, news_site: NewsSite, bot_api: FakeBotAPI,
                                                stop_after: list[subprocess.Popen[str]]) -> None:
    news_site.set("/feed.xml", rss(NOW_ITEMS))
    stop_after.append(start(tmp_path, bot_api, "settings:\n  allow_private: true\n"))
    url = news_site.url("/feed.xml")

    bot_api.send_command(f"/addsource {url} Local news", chat_id=FAN, user_id=FAN)
    assert "only" in reply(bot_api, FAN, 0).lower()
    assert load_config(tmp_path / "sources.yaml").sources == ()

    bot_api.send_command(f"/addsource {url} Local news", chat_id=ADMIN, user_id=ADMIN)
    text = reply(bot_api, ADMIN, 0)
    assert "Added" in text and "Local news" in text
    assert "ALERT trailer" in text and "no alert" in text
    config = load_config(tmp_path / "sources.yaml")
    assert [s.name for s in config.sources] == ["Local news"]
    assert "# operator's notes stay" in (tmp_path / "sources.yaml").read_text(encoding="utf-8")
    wait_for(lambda: news_site.hits("/feed.xml") >= 2, what="the new source fetched by the daemon")

    bot_api.send_command("/pause Local news", chat_id=ADMIN, user_id=ADMIN)
    assert "Paused" in reply(bot_api, ADMIN, 1)
    bot_api.send_command("/removesource Local news", chat_id=ADMIN, user_id=ADMIN)
    assert "Removed" in reply(bot_api, ADMIN, 2)
    assert load_config(tmp_path / "sources.yaml").sources == ()


def test_private_addresses_refused_without_allow_private(tmp_path: Path, news_site: NewsSite,
                                                         bot_api: FakeBotAPI,
                                                         stop_after: list[subprocess.Popen[str]]) -> None:
    news_site.set("/feed.xml", rss(NOW_ITEMS))
    stop_after.append(start(tmp_path, bot_api, ""))
    bot_api.send_command(f"/addsource {news_site.url('/feed.xml')}", chat_id=ADMIN, user_id=ADMIN)
    text = reply(bot_api, ADMIN, 0)
    assert "Not added" in text and "not a public address" in text
    assert news_site.hits("/feed.xml") == 0
    assert load_config(tmp_path / "sources.yaml").sources == ()


def test_a_slow_addsource_delays_nobody_else(tmp_path: Path, news_site: NewsSite, bot_api: FakeBotAPI,
                                             stop_after: list[subprocess.Popen[str]]) -> None:
    news_site.set("/slow.xml", rss(NOW_ITEMS))
    news_site.fault("/slow.xml", "delay", seconds=5)
    stop_after.append(start(tmp_path, bot_api, "settings:\n  allow_private: true\n"))
    bot_api.send_command(f"/addsource {news_site.url('/slow.xml')} Slow news", chat_id=ADMIN, user_id=ADMIN)
    wait_for(lambda: news_site.hits("/slow.xml") >= 1, what="the slow site asked")
    asked = time.monotonic()
    bot_api.send_command("/help", chat_id=FAN, user_id=FAN)
    assert "/start" in reply(bot_api, FAN, 0)
    assert time.monotonic() - asked < 3, "another chat's /help waited behind the slow /addsource"
    assert bot_api.sent(ADMIN) == []  # the slow one is still being checked
    assert "Added" in reply(bot_api, ADMIN, 0)  # and answers once the site does


async def test_addsource_gives_up_on_a_site_that_never_answers(tmp_path: Path, news_site: NewsSite,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.fetch.client import Fetcher
    from bot.models import Config, Settings
    from bot.store.store import State
    from bot.telegram import admin

    monkeypatch.setattr(admin, "ADD_SOURCE_TIMEOUT", 0.5)
    news_site.set("/hang.xml", rss(NOW_ITEMS))
    news_site.fault("/hang.xml", "delay", seconds=30)
    (tmp_path / "sources.yaml").write_text(
        "watches:\n  - {id: aouad-s2, title: All of Us Are Dead, season: 2}\nsources: []\n", encoding="utf-8")
    settings = Settings(allow_private=True)
    config = Config(watches=(), sources=(), settings=settings)
    with State.open(tmp_path / "state") as state:
        async with Fetcher(settings) as fetcher:
            source_admin = admin.SourceAdmin(tmp_path / "sources.yaml", state, fetcher, lambda: config,
                                             lambda reason: None)
            asked = time.monotonic()
            text = await source_admin.add(news_site.url("/hang.xml"), "Hanging")
    assert time.monotonic() - asked < 3
    assert text.startswith("Not added:") and "did not answer within 0.5 s" in text, text
    assert load_config(tmp_path / "sources.yaml").sources == ()


async def test_pause_resume_and_remove_say_what_they_did_or_why_not(tmp_path: Path) -> None:
    from bot.config import load_config
    from bot.fetch.client import Fetcher
    from bot.models import Settings
    from bot.store.store import State
    from bot.telegram import admin

    path = tmp_path / "sources.yaml"
    path.write_text("watches:\n  - {id: aouad-s2, title: All of Us Are Dead, season: 2}\nsources:\n"
                    "  - {name: Wire, url: 'https://wire.example/feed.xml'}\n"
                    "  - {name: Held, url: 'https://held.example/feed.xml', paused: true}\n", encoding="utf-8")
    with State.open(tmp_path / "state") as state:
        async with Fetcher(Settings()) as fetcher:
            ops = admin.SourceAdmin(path, state, fetcher, lambda: load_config(path), lambda reason: None)
            assert await ops.resume("Wire") == "<b>Wire</b> is not paused."
            assert await ops.pause("Wire") == "Paused <b>Wire</b>."
            assert await ops.pause("wire") == "<b>Wire</b> is already paused."
            assert await ops.resume("Wire") == "Resumed <b>Wire</b>."
            assert "already paused (<code>paused: true</code> in the sources file" in await ops.pause("Held")
            state.set_paused("Held", True)  # paused here too: /resume lifts that, and says what remains
            assert "is still paused (<code>paused: true</code> in the sources file" in await ops.resume("Held")
            assert not state.source_state("Held").paused
            assert await ops.remove("Nope") == "Not removed: no source named &#x27;Nope&#x27;. /sources lists them."
