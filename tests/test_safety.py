"""Faults in the state and careless operators (issue 16): an empty or damaged database refused, a state
that cannot be written, a deleted state dir, `scan` beside a running daemon, slow admin commands."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.store.store import DB_NAME, State
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
        st.subscribe(7, "private", "fan", now=__import__("datetime").datetime.now())
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
            st.subscribe(n + 1, "private", f"chat number {n} with a long enough title", now=__import__(
                "datetime").datetime.now())
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
