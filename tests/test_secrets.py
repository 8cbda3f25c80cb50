"""Nothing secret is shown: a source URL's credentials and the bot token stay out of every output."""

from __future__ import annotations

import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest

import bot.fetch.guard
import bot.sources
from bot.cli.main import main
from bot.config import load_config
from bot.fetch.client import Fetcher
from bot.models import Settings
from bot.store.store import State
from bot.telegram.admin import SourceAdmin
from bot.urls import display_url
from tests.fakebotapi import DownMode, FakeBotAPI
from tests.newssite import NewsSite
from tests.test_e2e import clean_env, rss, wait_for
from tests.test_ssrf import public_for

PASSWORD = "hunter2pw"
TOKEN = "123:SECRET-token-xyz"  # not shaped like a real token: only the code's own care hides it
ADMIN, STRANGER = 4242, 5151
WHEN = datetime.now(UTC) - timedelta(hours=1)
TRAILER = "Netflix drops the official trailer for All of Us Are Dead season 2"


def _feed() -> str:
    """A feed whose item links are relative: resolved against the feed's URL, they would carry its userinfo."""
    return ('<?xml version="1.0"?><rss version="2.0"><channel><title>Private wire</title><link>/</link>'
            f"<item><title>{TRAILER}</title><link>/trailer</link><guid>t1</guid>"
            f"<pubDate>{format_datetime(WHEN)}</pubDate><description>The first trailer is out.</description>"
            "</item></channel></rss>")


def _with_credentials(site: NewsSite, path: str) -> str:
    return site.url(path).replace("http://", f"http://user:{PASSWORD}@")


def _write(path: Path, site: NewsSite, *, threshold: int = 5) -> None:
    path.write_text(
        "watches:\n  - {id: aouad-s2, title: All of Us Are Dead, season: 2}\n"
        "sources:\n"
        f"  - {{name: Wire, url: '{_with_credentials(site, '/feed.xml')}?token=abc', interval: 1s}}\n"
        f"  - {{name: Loop, url: '{_with_credentials(site, '/loop.xml')}', interval: 1s}}\n"
        f"settings: {{failure_alert_threshold: {threshold}}}\n",
        encoding="utf-8")


def _newsbot(tmp_path: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Runs the command line in this process: its exit code, stdout and stderr."""
    uses_state = args[0] in {"run", "scan", "status"} or args[:2] in {("sources", "list"), ("sources", "remove")}
    state = ["--state", str(tmp_path / "state")] if uses_state else []
    code = main([*args, "--sources", str(tmp_path / "sources.yaml"), *state])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(("url", "shown"), [
    ("http://user:pw@host.example:8080/feed?x=1", "http://host.example:8080/feed?x=1"),
    ("https://a%40b:p%3Aw@host.example/", "https://host.example/"),
    ("https://user@host.example/rss?api_key=K1&q=s2&token=T2", "https://host.example/rss?api_key=***&q=s2&token=***"),
    ("redirect loop: http://u:p@a.example/x -> HTTP://u:p@b.example/y", "redirect loop: http://a.example/x -> HTTP://b.example/y"),
    ("https://news.example/feed", "https://news.example/feed"),
    ("mailto:someone@example.org", "mailto:someone@example.org"),
])
def test_display_url_drops_userinfo_and_masks_secret_parameters(url: str, shown: str) -> None:
    assert display_url(url) == shown


def test_cli_never_shows_a_source_urls_credentials(tmp_path: Path, news_site: NewsSite,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    news_site.set("/feed.xml", _feed())
    news_site.set("/other.xml", _feed().replace("t1", "t2"))
    news_site.fault("/loop.xml", "redirect_loop")
    _write(tmp_path / "sources.yaml", news_site)

    def run(*args: str) -> tuple[int, str, str]:
        return _newsbot(tmp_path, capsys, *args)

    outputs = [run("scan"), run("scan", "--json"), run("status"), run("sources", "list"), run("sources", "check"),
               run("sources", "add", "-y", _with_credentials(news_site, "/other.xml")),
               run("sources", "add", "-y", _with_credentials(news_site, "/feed.xml") + "?token=abc"),
               run("sources", "remove", "Loop")]
    scan, _, status, listing, _, added, duplicate, removed = outputs
    assert "official trailer" in scan[1] and "'Loop' failed: redirect loop" in scan[2]
    assert "127.0.0.1" in status[1] + listing[1] and "added" in added[1]
    assert "already watched" in duplicate[2] and "removed 'Loop'" in removed[1]
    for _, out, err in outputs:
        assert PASSWORD not in out + err
    assert PASSWORD in (tmp_path / "sources.yaml").read_text(encoding="utf-8")  # kept where the fetch needs it
    assert any(h.get("authorization", "").startswith("Basic ") for _, path, h in news_site.requests
               if path.startswith("/feed.xml"))


def test_telegram_and_the_log_never_show_a_source_urls_credentials(
        tmp_path: Path, news_site: NewsSite, bot_api: FakeBotAPI) -> None:
    news_site.set("/feed.xml", _feed())
    news_site.fault("/loop.xml", "redirect_loop")
    _write(tmp_path / "sources.yaml", news_site, threshold=1)
    env = clean_env(TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_URL=bot_api.base_url, NEWSBOT_ADMINS=str(ADMIN),
                    NEWSBOT_SOURCES=str(tmp_path / "sources.yaml"), NEWSBOT_STATE_DIR=str(tmp_path / "state"))
    proc = subprocess.Popen([sys.executable, "-m", "bot", "run"], env=env, cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for(lambda: any("Loop" in text for text in bot_api.sent(ADMIN)), timeout=60,
                 what="the failure message")
        bot_api.send_command("/sources", chat_id=STRANGER, user_id=STRANGER)
        wait_for(lambda: any("redirect loop" in text for text in bot_api.sent(STRANGER)), what="/sources")
        bot_api.send_command("/start", chat_id=STRANGER, user_id=STRANGER)
        bot_api.send_command("/addsource " + _with_credentials(news_site, "/new.xml"), chat_id=ADMIN, user_id=ADMIN)
        wait_for(lambda: any("Not added" in text for text in bot_api.sent(ADMIN)), what="/addsource")
    finally:
        proc.send_signal(signal.SIGTERM)
        log, _ = proc.communicate(timeout=20)
    assert "redirect loop" in log
    for text in [*bot_api.sent(), log]:
        assert PASSWORD not in text and TOKEN not in text, text


async def test_an_added_source_is_shown_without_its_credentials(
        tmp_path: Path, news_site: NewsSite, monkeypatch: pytest.MonkeyPatch) -> None:
    news_site.set("/feed.xml", _feed())
    url = _with_credentials(news_site, "/feed.xml")
    path = tmp_path / "sources.yaml"
    path.write_text("watches:\n  - {id: aouad-s2, title: All of Us Are Dead, season: 2}\nsources: []\n",
                    encoding="utf-8")
    monkeypatch.setattr(bot.sources, "check_public_url", public_for(url))  # a local server standing in
    monkeypatch.setattr(bot.fetch.guard, "check_public_url", public_for(url))
    with State.open(tmp_path / "state") as state:
        async with Fetcher(Settings()) as fetcher:
            admin = SourceAdmin(path, state, fetcher, lambda: load_config(path), lambda why: None)
            reply = await admin.add(url, "Wire")
    assert reply.startswith("Added") and news_site.base.removeprefix("http://") in reply
    assert PASSWORD not in reply


@pytest.mark.parametrize(("mode", "says"), [
    ("unauthorized", "the Bot API refused TELEGRAM_BOT_TOKEN"),
    ("not_found", "the Bot API refused TELEGRAM_BOT_TOKEN"),
    ("garbage", "did not answer as the Bot API does"),
    ("server_error", "cannot reach the Telegram Bot API"),
])
def test_scan_with_a_token_the_bot_api_does_not_accept_is_one_line(
        tmp_path: Path, news_site: NewsSite, bot_api: FakeBotAPI, mode: DownMode, says: str,
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    with State.open(tmp_path / "state") as state:
        state.subscribe(99, "private", "fan", now=WHEN)
    news_site.set("/feed.xml", rss([(TRAILER, "The first trailer is out.", WHEN)]))
    (tmp_path / "sources.yaml").write_text(
        "watches:\n  - {id: aouad-s2, title: All of Us Are Dead, season: 2}\n"
        f"sources:\n  - {{name: Wire, url: '{news_site.url('/feed.xml')}'}}\n", encoding="utf-8")
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("TELEGRAM_API_URL", bot_api.base_url)
    bot_api.set_down(True, mode)
    code, out, err = _newsbot(tmp_path, capsys, "scan")

    assert "official trailer" in out
    telegram = [line for line in err.splitlines() if "Telegram" in line or "Bot API" in line]
    assert len(telegram) == 1 and says in telegram[0], err
    assert "1 alert stays in the outbox" in telegram[0]
    assert "Traceback" not in err and TOKEN not in out + err
    assert code == (2 if "refused" in says else 1)
    assert err.splitlines()[-1].startswith("scan: 1 source: 1 fetched")

    bot_api.set_down(False)  # the next scan delivers what waited
    assert _newsbot(tmp_path, capsys, "scan")[0] == 0
    assert len(bot_api.sent(99)) == 1


def test_run_with_a_token_the_bot_api_refuses_stops_in_one_line(tmp_path: Path, bot_api: FakeBotAPI) -> None:
    (tmp_path / "sources.yaml").write_text(
        "watches:\n  - {id: aouad-s2, title: All of Us Are Dead, season: 2}\nsources: []\n", encoding="utf-8")
    bot_api.set_down(True, "unauthorized")
    env = clean_env(TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_URL=bot_api.base_url,
                    NEWSBOT_SOURCES=str(tmp_path / "sources.yaml"), NEWSBOT_STATE_DIR=str(tmp_path / "state"))
    done = subprocess.run([sys.executable, "-m", "bot", "run"], env=env, cwd=tmp_path, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    refused = [line for line in done.stderr.splitlines() if "refused TELEGRAM_BOT_TOKEN" in line]
    assert len(refused) == 1 and "check the token from @BotFather" in refused[0] and "stopping" in refused[0]
    assert "Traceback" not in done.stderr and TOKEN not in done.stdout + done.stderr
