"""Faults in the state and careless operators (issue 16): an empty or damaged database refused, a state
that cannot be written, a deleted state dir, `scan` beside a running daemon, slow admin commands."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.store.store import DB_NAME, State
from tests.fakebotapi import FakeBotAPI
from tests.test_e2e import clean_env, rss, wait_for

WATCH = "watches:\n  - {id: aouad-s2, title: All of Us Are Dead, season: 2}\n"


def env_for(tmp_path: Path, **extra: str) -> dict[str, str]:
    return clean_env(NEWSBOT_SOURCES=str(tmp_path / "sources.yaml"), NEWSBOT_STATE_DIR=str(tmp_path / "state"),
                     **extra)


def newsbot(tmp_path: Path, *args: str, timeout: float = 60, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", *args], env=env_for(tmp_path, **env), cwd=tmp_path,
                          capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def no_sources(tmp_path: Path) -> None:
    (tmp_path / "sources.yaml").write_text(WATCH + "sources: []\n", encoding="utf-8")


@pytest.fixture
def procs() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


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
    assert not (tmp_path / "state" / (DB_NAME + ".new")).exists()


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
    from bot.daemon import InstanceLock

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
                                                    procs: list[subprocess.Popen[str]]) -> None:
    no_sources(tmp_path)
    proc, log = start_run(tmp_path)
    procs.append(proc)
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
