"""Faults in the state and careless operators (issue 16): an empty or damaged database refused, a state
that cannot be written, a deleted state dir, `scan` beside a running daemon, slow admin commands."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.store.events import FOLD_DAYS
from bot.store.store import DB_NAME, State
from tests.fakebotapi import FakeBotAPI
from tests.test_e2e import clean_env, wait_for

WATCH = "watches:\n  - {id: aouad-s2, title: All of Us Are Dead, season: 2}\n"


def env_for(tmp_path: Path, **extra: str) -> dict[str, str]:
    return clean_env(NEWSBOT_SOURCES=str(tmp_path / "sources.yaml"), NEWSBOT_STATE_DIR=str(tmp_path / "state"),
                     **extra)


def newsbot(tmp_path: Path, *args: str, timeout: float = 60, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", *args], env=env_for(tmp_path, **env), cwd=tmp_path,
                          capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def no_sources(tmp_path: Path) -> None:
    (tmp_path / "sources.yaml").write_text(WATCH + "sources: []\n", encoding="utf-8")


def one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


# ---- item 10: an existing database that is empty or unreadable is never taken for a new one ------

COMMANDS = (("status",), ("scan",), ("run",), ("sources", "list"), ("sources", "remove", "x"))


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_an_empty_database_is_refused_by_every_command(tmp_path: Path, command: tuple[str, ...]) -> None:
    no_sources(tmp_path)
    (tmp_path / "state").mkdir()
    db = tmp_path / "state" / DB_NAME
    db.write_bytes(b"")
    done = newsbot(tmp_path, *command)
    assert done.returncode == 2, done
    assert "is empty (0 bytes)" in one_line(done.stderr)
    assert db.stat().st_size == 0  # left as it was for the operator


def test_an_unreadable_database_is_refused(tmp_path: Path) -> None:
    no_sources(tmp_path)
    with State.open(tmp_path / "state") as st:
        st.subscribe(7, "private", "fan", now=datetime.now(UTC))
    db = tmp_path / "state" / DB_NAME
    db.write_bytes(b"\x00garbage" * 1000)
    for command in (("status",), ("run",)):
        done = newsbot(tmp_path, *command)
        assert done.returncode == 2, done
        assert "state database" in one_line(done.stderr)


def test_a_new_state_is_created_where_none_exists(tmp_path: Path) -> None:
    no_sources(tmp_path)
    done = newsbot(tmp_path, "scan")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "state" / DB_NAME).stat().st_size > 0
    assert not [p.name for p in (tmp_path / "state").iterdir() if p.name.endswith(".new")]


def test_two_processes_creating_one_state_at_once_both_open_it(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.store import db

    real_migrate, calls = db.migrate, []

    def migrate_while_another_creates(conn: sqlite3.Connection) -> int:
        calls.append(1)
        if len(calls) == 1:  # the other process builds and links its database in the meantime
            db.create(tmp_path / DB_NAME)
        return real_migrate(conn)

    monkeypatch.setattr(db, "migrate", migrate_while_another_creates)
    db.create(tmp_path / DB_NAME)
    assert len(calls) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == [DB_NAME]
    with State.open(tmp_path) as st:
        assert st.integrity_ok()


# ---- item 14: a damaged page is one line in `status` and at `run` start ----------------------------

def damage(db: Path) -> None:
    """Scribbles over a page in the middle of a state that holds some rows."""
    with State.open(db.parent) as st:
        for n in range(3000):
            st.subscribe(n + 1, "private", f"chat number {n} with a long enough title", now=datetime.now(UTC))
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.close()
    with db.open("r+b") as fh:
        fh.seek(page_size * (pages // 2))
        fh.write(b"\x17" * page_size)


def test_a_damaged_database_is_one_line_in_status_and_run(tmp_path: Path) -> None:
    no_sources(tmp_path)
    damage(tmp_path / "state" / DB_NAME)
    for command in (("status",), ("run",)):
        done = newsbot(tmp_path, *command)
        assert done.returncode == 2, done
        line = one_line(done.stderr)
        assert "state database" in line and "backup" in line, line


# ---- item 8: `scan` never sends what a running daemon sends -------------------------------------

def queue_one_alert(state_dir: Path, chat: int) -> None:
    """A subscriber with one alert waiting in the outbox, as a daemon would be about to send it."""
    from bot.models import Decision, Item

    now = datetime.now(UTC)
    with State.open(state_dir) as st:
        st.subscribe(chat, "private", "fan", now=now)
        item = Item(title="All of Us Are Dead season 2 trailer is out", url="https://news.example/a/1",
                    published=now)
        decision = Decision(alert=True, kind="trailer", watch="aouad-s2", confidence=0.9, evidence="trailer",
                            milestone="official")
        st.record_fetched("Local news", now=now, items_seen=[], findings=[(item, decision, True)], etag=None,
                          last_modified=None)
        assert st.outbox_size() == 1


def test_scan_leaves_sending_to_the_daemon_that_holds_the_lock(tmp_path: Path, bot_api: FakeBotAPI) -> None:
    from bot.store.lock import InstanceLock

    no_sources(tmp_path)
    queue_one_alert(tmp_path / "state", 555)
    daemon_lock = InstanceLock(tmp_path / "state")  # the lock `run` holds, taken here as a daemon would
    assert daemon_lock.acquire() is None
    try:
        done = newsbot(tmp_path, "scan", TELEGRAM_BOT_TOKEN="123:TEST", TELEGRAM_API_URL=bot_api.base_url)
    finally:
        daemon_lock.release()
    assert done.returncode == 0, done.stderr
    assert "another newsbot is already running" in done.stderr and "scan sent none" in done.stderr, done.stderr
    assert bot_api.sent(555) == []
    with State.open(tmp_path / "state") as st:
        assert st.outbox_size() == 1  # still the daemon's to send

    done = newsbot(tmp_path, "scan", TELEGRAM_BOT_TOKEN="123:TEST", TELEGRAM_API_URL=bot_api.base_url)
    assert done.returncode == 0, done.stderr
    assert len(bot_api.sent(555)) == 1  # with no daemon, scan sends it itself


# ---- item 11: a daemon whose state dir is deleted stops ----------------------------------------

def start_run(tmp_path: Path, **env: str) -> tuple[subprocess.Popen[str], Path]:
    log = tmp_path / "stderr.log"
    with log.open("w") as err:
        proc = subprocess.Popen([sys.executable, "-m", "bot", "run"], env=env_for(tmp_path, **env), cwd=tmp_path,
                                stdout=subprocess.DEVNULL, stderr=err, text=True)
    return proc, log


@pytest.mark.parametrize("gone", ["dir", "lock"])
def test_the_daemon_stops_when_its_state_is_deleted(tmp_path: Path, gone: str,
                                                    cleanup: list[subprocess.Popen[str]]) -> None:
    no_sources(tmp_path)
    proc, log = start_run(tmp_path)
    cleanup.append(proc)
    wait_for(lambda: "newsbot started" in log.read_text(), what="the daemon started")
    if gone == "dir":
        shutil.rmtree(tmp_path / "state")
    else:
        (tmp_path / "state" / "newsbot.lock").unlink()
    proc.wait(20)
    err = log.read_text()
    assert proc.returncode == 1, err
    assert "the state is gone from under newsbot" in err and "Traceback" not in err, err
    assert ("newsbot.db is gone" if gone == "dir" else "newsbot.lock is gone") in err, err


# ---- item 9: a state that cannot be written pauses sending; nothing is sent twice -----------------

OPERATOR = 900


def add_alert(state: State, n: int) -> None:
    from bot.models import Decision, Item

    now = datetime.now(UTC)
    item = Item(title=f"Headline number {n}", url=f"https://news.example/a/{n}",
                published=now - timedelta(days=(FOLD_DAYS + 1) * n))  # weeks apart: none folds into another
    decision = Decision(alert=True, kind="trailer", watch="aouad-s2", confidence=0.9, evidence="trailer",
                        milestone=f"m{n}")
    state.record_fetched("Local news", now=now, items_seen=[], findings=[(item, decision, True)], etag=None,
                         last_modified=None)


async def test_a_full_disk_pauses_sending_and_repeats_nothing(tmp_path: Path, bot_api: FakeBotAPI,
                                                              monkeypatch: pytest.MonkeyPatch,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    import asyncio
    import logging
    import time

    from bot.models import Config
    from bot.store import pause
    from bot.telegram import sender as sender_module
    from bot.telegram.bot import BotDeps, Sender, build_application, notify_admins

    monkeypatch.setattr(pause, "STATE_RETRY_FIRST", 0.05)  # retried often: each retry could repeat
    monkeypatch.setattr(pause, "STATE_RETRY_MAX", 0.1)
    state = State.open(tmp_path / "state")
    chats = range(1, 31)
    for chat in chats:
        state.subscribe(chat, "private", f"chat {chat}", now=datetime.now(UTC))
    for n in range(3):
        add_alert(state, n)
    real_mark_sent, marked, full = state.mark_sent, [0], [False]

    def mark_sent(row_id: int, *, now: datetime) -> None:
        if full[0] or marked[0] >= 10:
            full[0] = True
            raise sqlite3.OperationalError("database or disk is full")
        real_mark_sent(row_id, now=now)
        marked[0] += 1

    monkeypatch.setattr(state, "mark_sent", mark_sent)
    app = build_application("123:TEST", base_url=bot_api.base_url,
                            deps=BotDeps(state=state, config_provider=lambda: Config(watches=(), sources=()),
                                         admins=frozenset()),
                            read_timeout=2.0, connect_timeout=1.0)
    caplog.set_level(logging.INFO)
    async with app:
        sender = Sender(app.bot, state, lambda event_id, chat: f"<b>Headline number {event_id}</b>",
                        notify=lambda text: notify_admins(app.bot, {OPERATOR}, text))

        async def flush_like_the_daemon() -> None:  # its periodic job logs an error and carries on
            try:
                await sender.flush()
            except Exception as exc:  # noqa: BLE001
                logging.getLogger("test").error("flush failed: %s", exc)

        deadline = time.monotonic() + 1.5
        while time.monotonic() < deadline:  # the disk stays full for many retries
            await flush_like_the_daemon()
            await asyncio.sleep(0.02)
        sent_while_full = len([t for c in chats for t in bot_api.sent(c)])
        assert sent_while_full <= 10 + sender_module.DEFAULT_CONCURRENCY, sent_while_full
        assert state.outbox_size() > 0

        full[0], marked[0] = False, -10_000  # space is freed
        deadline = time.monotonic() + 20
        while state.outbox_size() and time.monotonic() < deadline:
            await flush_like_the_daemon()
            await asyncio.sleep(0.02)
    state.close()
    for chat in chats:
        texts = bot_api.sent(chat)
        assert sorted(texts) == sorted(set(texts)) and len(texts) == 3, (chat, texts)  # each once, none lost
    paused = [r for r in caplog.records if "cannot write the state" in r.getMessage()]
    assert len(paused) == 1 and "database or disk is full" in paused[0].getMessage(), caplog.text
    assert "Traceback" not in caplog.text and "flush failed" not in caplog.text
    assert len([r for r in caplog.records if "can be written again" in r.getMessage()]) == 1
    notices = bot_api.sent(OPERATOR)
    assert len(notices) == 1 and "cannot write its state" in notices[0], notices


def test_console_mode_pauses_on_a_full_disk_and_prints_nothing_twice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    import io
    import logging

    from bot.console import ConsoleSender
    from bot.models import Config
    from bot.store import pause

    monkeypatch.setattr(pause, "STATE_RETRY_FIRST", 0.0)  # every flush tries again: each try could repeat
    monkeypatch.setattr(pause, "STATE_RETRY_MAX", 0.0)
    state = State.open(tmp_path / "state")
    console = ConsoleSender(state, lambda: Config(watches=(), sources=()), out=io.StringIO())
    console.subscribe()
    for n in range(3):
        add_alert(state, n)
    real_mark_sent, full = state.mark_sent, [True]

    def mark_sent(row_id: int, *, now: datetime) -> None:
        if full[0]:
            raise sqlite3.OperationalError("database or disk is full")
        real_mark_sent(row_id, now=now)

    monkeypatch.setattr(state, "mark_sent", mark_sent)
    caplog.set_level(logging.INFO)
    printed = sum(console.flush() for _ in range(20))  # the daemon flushes every 2 s while the disk is full
    assert printed == 1 and state.outbox_size() == 3
    full[0] = False  # space is freed
    printed += sum(console.flush() for _ in range(3))
    out = console.out.getvalue() if isinstance(console.out, io.StringIO) else ""
    assert printed == 3 and state.outbox_size() == 0
    assert sorted(line for line in out.splitlines() if line.startswith("Headline number")) == [
        "Headline number 0", "Headline number 1", "Headline number 2"]
    errors = [r.getMessage() for r in caplog.records if "cannot write the state" in r.getMessage()]
    assert len(errors) == 1 and "printing alerts pauses" in errors[0]
    assert any("printing alerts resumes" in r.getMessage() for r in caplog.records)
    assert not [r for r in caplog.records if r.exc_info]
    state.close()


def test_console_shows_a_confirmed_event_with_the_source_of_its_own_report(tmp_path: Path) -> None:
    import io

    from bot.console import ConsoleSender
    from bot.models import Config, Decision, Item
    from bot.pipeline import Finding

    state = State.open(tmp_path / "state")
    console = ConsoleSender(state, lambda: Config(watches=(), sources=()), out=io.StringIO())
    console.subscribe()
    now = datetime.now(UTC)
    unsure = Decision(alert=True, kind="renewal", watch="w", confidence=0.7, evidence="phrase of A",
                      milestone="renewal", needs_confirmation=True)
    a, b = Item(title="Report A"), Item(title="Report B")  # no links: told apart by their headlines
    state.record_fetched("feedA", now=now, items_seen=[], findings=[(a, unsure, True)], etag=None, last_modified=None)
    confirmed = replace(unsure, confidence=0.6, evidence="phrase of B")
    [res] = state.record_fetched("feedB", now=now, items_seen=[], findings=[(b, confirmed, True)], etag=None,
                                 last_modified=None)
    assert res.alerted and res.event.title == "Report A"
    console.remember([Finding("feedB", b, confirmed, res.event, False, True, res.queued)])
    assert console.flush() == 1
    out = console.out.getvalue() if isinstance(console.out, io.StringIO) else ""
    assert "Report A" in out and "feedB" not in out and "phrase of B" not in out, out
    state.close()
