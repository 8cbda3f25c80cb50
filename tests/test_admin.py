"""Operators manage sources from Telegram against the real daemon: /addsource, /pause, /removesource."""

from __future__ import annotations

import signal
import subprocess
import sys
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
