"""End to end: the real `newsbot run` process against a local news site and a fake Bot API."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest

from tests.fakebotapi import FakeBotAPI
from tests.newssite import NewsSite

USER = 4242
REPO = Path(__file__).resolve().parent.parent


def clean_env(**extra: str) -> dict[str, str]:
    """The environment for a newsbot child process: no inherited newsbot or Telegram settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "NEWSBOT_"))}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    env.update(extra)
    return env


def rss(items: list[tuple[str, str, datetime]]) -> str:
    """A small RSS 2.0 feed of (title, description, published) items."""
    body = "".join(
        f"<item><title>{t}</title><link>https://news.example/{abs(hash(t))}</link>"
        f"<guid>{abs(hash(t))}</guid><pubDate>{format_datetime(p)}</pubDate>"
        f"<description>{d}</description></item>"
        for t, d, p in items
    )
    return f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Local news</title>' \
           f"<link>https://news.example/</link>{body}</channel></rss>"


NOW_ITEMS = [
    ("All of Us Are Dead season 2: everything we know about the release date",
     "Fans wonder when the zombie series will return; Netflix has not said.",
     datetime.now(UTC) - timedelta(minutes=5)),
    ("Netflix releases the official trailer for All of Us Are Dead season 2",
     "The streamer unveiled the first trailer for the second season on Tuesday.",
     datetime.now(UTC) - timedelta(minutes=5)),
]


def wait_for(check: Callable[[], object], timeout: float = 20.0, what: str = "condition") -> object:
    """Polls until check() is truthy; fails the test with `what` after the timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def write_sources(path: Path, feed_url: str) -> None:
    path.write_text(
        "watches:\n"
        "  - id: aouad-s2\n"
        "    title: All of Us Are Dead\n"
        "    season: 2\n"
        "    aliases: [지금 우리 학교는, Estamos muertos]\n"
        "sources:\n"
        "  - name: Local news\n"
        f"    url: {feed_url}\n"
        "    kind: feed\n"
        "    interval: 1s\n",
        encoding="utf-8",
    )


@pytest.fixture
def daemon(tmp_path: Path, news_site: NewsSite, bot_api: FakeBotAPI) -> Iterator[subprocess.Popen[str]]:
    old = datetime(2022, 6, 7, 9, 0, tzinfo=UTC)
    news_site.set("/feed.xml", rss([("All of Us Are Dead renewed for season 2 by Netflix",
                                     "The streamer confirmed a second season.", old)]))
    write_sources(tmp_path / "sources.yaml", news_site.url("/feed.xml"))
    env = clean_env(TELEGRAM_BOT_TOKEN="123:TEST", TELEGRAM_API_URL=bot_api.base_url,
                    NEWSBOT_SOURCES=str(tmp_path / "sources.yaml"), NEWSBOT_STATE_DIR=str(tmp_path / "state"),
                    NEWSBOT_ADMINS=str(USER))
    proc = subprocess.Popen([sys.executable, "-m", "bot", "run"], env=env, cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    yield proc
    if proc.poll() is None:
        proc.kill()
        proc.wait(10)


def test_start_alert_once_and_clean_stop(daemon: subprocess.Popen[str], news_site: NewsSite,
                                         bot_api: FakeBotAPI) -> None:
    wait_for(lambda: bot_api.calls_to("setMyCommands"), what="setMyCommands at start-up")
    wait_for(lambda: bot_api.calls_to("getUpdates"), what="polling")
    wait_for(lambda: news_site.hits("/feed.xml") >= 1, what="first fetch")

    bot_api.send_command("/start", chat_id=USER, user_id=USER)
    wait_for(lambda: bot_api.sent(USER), what="reply to /start")
    replies = len(bot_api.sent(USER))

    now = datetime.now(UTC) - timedelta(minutes=5)
    old = datetime(2022, 6, 7, 9, 0, tzinfo=UTC)
    news_site.set("/feed.xml", rss([
        ("All of Us Are Dead season 2: everything we know about the release date",
         "Fans wonder when the zombie series will return; Netflix has not said.", now),
        ("Netflix releases the official trailer for All of Us Are Dead season 2",
         "The streamer unveiled the first trailer for the second season on Tuesday.", now),
        ("All of Us Are Dead renewed for season 2 by Netflix",
         "The streamer confirmed a second season.", old),
    ]))
    alerts = wait_for(lambda: bot_api.sent(USER)[replies:], what="the trailer alert")
    hits = news_site.hits("/feed.xml")
    wait_for(lambda: news_site.hits("/feed.xml") >= hits + 3, what="three more cycles")

    alerts = bot_api.sent(USER)[replies:]
    assert len(alerts) == 1, alerts
    assert "official trailer" in alerts[0].lower()
    assert "everything we know" not in alerts[0].lower()

    daemon.send_signal(signal.SIGTERM)
    output, _ = daemon.communicate(timeout=20)
    assert daemon.returncode == 0, output
    assert "123:TEST" not in output


def test_bot_api_down_at_start_up(tmp_path: Path, news_site: NewsSite, bot_api: FakeBotAPI) -> None:
    news_site.set("/feed.xml", rss([]))
    write_sources(tmp_path / "sources.yaml", news_site.url("/feed.xml"))
    bot_api.set_down(True)
    env = clean_env(TELEGRAM_BOT_TOKEN="123:TEST", TELEGRAM_API_URL=bot_api.base_url,
                    NEWSBOT_SOURCES=str(tmp_path / "sources.yaml"), NEWSBOT_STATE_DIR=str(tmp_path / "state"))
    proc = subprocess.Popen([sys.executable, "-m", "bot", "run"], env=env, cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for(lambda: news_site.hits("/feed.xml") >= 2, what="fetching while the Bot API is down")
        assert proc.poll() is None
        bot_api.set_down(False)
        wait_for(lambda: bot_api.calls_to("getUpdates"), timeout=30, what="the bot connecting later")
        bot_api.send_command("/start", chat_id=USER, user_id=USER)
        wait_for(lambda: bot_api.sent(USER), what="reply to /start")
    finally:
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=20)
    assert proc.returncode == 0, output
    assert "cannot reach the Telegram Bot API" in output and "Traceback" not in output
