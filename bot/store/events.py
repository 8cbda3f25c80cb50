"""The state store's events: recording findings (fold or new event, reports, outbox rows), seeding, reading."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime

from bot.models import KINDS, Decision, Item, Watch
from bot.store.chats import ChatStore
from bot.store.db import opt_iso, parse_known_date, to_iso
from bot.store.records import EVENT_COLS, SUB_COLS, Event, FindingResult, event_from_row, subscriber_from_row, wants


def check_finding(decision: Decision) -> None:
    if not decision.watch or decision.kind not in KINDS:
        raise ValueError(f"a finding needs a watch and a known kind, got {decision.watch!r}/{decision.kind!r}")


class EventStore(ChatStore):
    """Events and their reports; every write runs inside a transaction the caller holds."""

    def _event_in(self, conn: sqlite3.Connection, where: str, params: Sequence[object]) -> Event | None:
        row = conn.execute(f"SELECT {EVENT_COLS} FROM events e WHERE {where}", params).fetchone()
        return None if row is None else event_from_row(tuple(row))

    def _finding_in(
        self, conn: sqlite3.Connection, source: str, item: Item, decision: Decision, now: datetime, alert: bool
    ) -> FindingResult:
        """Fold a finding into its event or create it (queueing alerts), inside the caller's transaction."""
        watch, kind = decision.watch, decision.kind
        assert watch is not None and kind is not None
        key = (watch, kind, decision.milestone or "")
        row = conn.execute("SELECT id FROM events WHERE watch = ? AND kind = ? AND milestone = ?", key).fetchone()
        existing = None if row is None else int(row[0])
        if existing is None:
            event_id = self._insert_event(conn, source, item, decision, now, alert)
        else:
            event_id = existing
            conn.execute(
                """UPDATE events SET title = CASE title WHEN '' THEN ? ELSE title END,
                   url = CASE url WHEN '' THEN ? ELSE url END WHERE id = ?""",
                (item.title, item.url, event_id),
            )
        self._add_report(conn, event_id, source, item, now)
        queued = self._queue(conn, event_id, kind, watch, now) if existing is None and alert else 0
        event = self._event_in(conn, "id = ?", (event_id,))
        assert event is not None
        return FindingResult(event=event, new_event=existing is None, queued=queued)

    @staticmethod
    def _insert_event(
        conn: sqlite3.Connection, source: str, item: Item, decision: Decision, now: datetime, alert: bool
    ) -> int:
        # An alerted event sorts by when it was found; a silent (backfilled) one by its publication.
        ordered = now
        if not alert and item.published is not None and to_iso(item.published) < to_iso(now):
            ordered = item.published
        cur = conn.execute(
            """INSERT INTO events (watch, kind, milestone, first_seen, published, ordered_at, title, url,
               source, evidence, alerted) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            (
                decision.watch,
                decision.kind,
                decision.milestone or "",
                to_iso(now),
                opt_iso(item.published),
                to_iso(ordered),
                item.title,
                item.url,
                item.publisher or source,
                decision.evidence,
                int(alert),
            ),
        )
        assert cur.lastrowid is not None
        return cur.lastrowid

    @staticmethod
    def _add_report(conn: sqlite3.Connection, event_id: int, source: str, item: Item, now: datetime) -> None:
        if (
            item.url
            and conn.execute(
                "SELECT 1 FROM reports WHERE event_id = ? AND url = ?", (event_id, item.url)
            ).fetchone()
        ):
            return  # the same article again: not a second report
        conn.execute(
            """INSERT INTO reports (event_id, feed, source, title, url, published, seen_at)
               VALUES (?, ?, ?, ?, ?, ?, ?)""",
            (
                event_id,
                source,
                item.publisher or source,
                item.title,
                item.url,
                opt_iso(item.published),
                to_iso(now),
            ),
        )

    def _queue(self, conn: sqlite3.Connection, event_id: int, kind: str, watch: str, now: datetime) -> int:
        """Queue the event for every active subscriber whose preferences match; returns rows made."""
        rows = conn.execute(f"SELECT {SUB_COLS} FROM subscribers WHERE active = 1 ORDER BY chat_id")
        chats = [s.chat_id for s in map(subscriber_from_row, map(tuple, rows)) if wants(s, kind, watch)]
        conn.executemany(
            "INSERT INTO outbox (chat_id, event_id, created) VALUES (?, ?, ?)",
            [(chat, event_id, to_iso(now)) for chat in chats],
        )
        return len(chats)

    def seed_known(self, watch: Watch, *, now: datetime) -> int:
        """Insert the watch's already-known events (never alerted) unless present; returns how many."""
        inserted = 0
        with self._tx() as conn:
            for known in watch.known:
                date = parse_known_date(known.date)
                cur = conn.execute(
                    """INSERT OR IGNORE INTO events (watch, kind, milestone, first_seen, published,
                       ordered_at, title, url, source, evidence, alerted, seeded)
                       VALUES (?, ?, ?, ?, ?, ?, ?, '', ?, 'known', 0, 1)""",
                    (
                        watch.id,
                        known.kind,
                        known.milestone or "",
                        to_iso(now),
                        opt_iso(date),
                        to_iso(date or now),
                        known.title,
                        known.source,
                    ),
                )
                inserted += cur.rowcount
        return inserted

    def events(self, watch: str | None = None) -> list[Event]:
        """Events, newest first (found time; publication date for seeded and backfilled ones)."""
        where, params = ("WHERE e.watch = ?", (watch,)) if watch is not None else ("", ())
        rows = self._read(
            f"SELECT {EVENT_COLS} FROM events e {where} ORDER BY e.ordered_at DESC, e.id DESC", params
        )
        return [event_from_row(r) for r in rows]

    def latest_events(self, watch: str) -> dict[str, Event]:
        """Per kind, the most recent event of the watch."""
        latest: dict[str, Event] = {}
        for event in self.events(watch):
            latest.setdefault(event.kind, event)
        return latest

    def event(self, event_id: int) -> Event | None:
        """One event by id."""
        with self._lock:
            return self._event_in(self._conn, "id = ?", (event_id,))

    def event_reports(self, event_id: int) -> list[tuple[str, str, str]]:
        """(source, title, url) of each item that reported the event, first first."""
        rows = self._read(
            "SELECT source, title, url FROM reports WHERE event_id = ? ORDER BY id", (event_id,)
        )
        return [(str(r[0]), str(r[1]), str(r[2])) for r in rows]
