"""The state store's connection handling, and its chat side: subscribers, outbox, cycles, housekeeping."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from types import EllipsisType, TracebackType

from bot.models import KINDS
from bot.store.db import from_iso, to_iso
from bot.store.records import SUB_COLS, OutboxMessage, Subscriber, join_ids, subscriber_from_row

_MAX_ERROR = 500  # stored error texts are cut to this many characters
_KEEP_PER_SOURCE = 1000  # prune never forgets a source's newest keys, however old
_DUE = "o.sent_at IS NULL AND o.dropped_at IS NULL"


class StoreBase:
    """One SQLite connection, a lock around it, and the transaction and read helpers."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self._conn = conn
        self.path = path
        self._lock = threading.RLock()
        self._grouping = 0  # open `grouped()` blocks: while any is, writes share transactions

    def close(self) -> None:
        """Close the connection (checkpointing the WAL), committing grouped writes first."""
        with self._lock:
            try:
                self._commit_group()
            finally:
                self._conn.close()

    @contextmanager
    def grouped(self) -> Iterator[None]:
        """Inside, what fetches bring (`record_fetched`, `record_fetch_error`) shares one open
        transaction until `commit_group` (or the block's end) commits it: a large cycle then
        commits a few dozen times, not once per source.

        Each call keeps its all-or-nothing (a savepoint). Any other write commits the group first
        and then itself, at once: a sent alert, a new subscriber. The writes of other processes
        wait while the transaction is open, so the caller commits every few tens of milliseconds.
        A crash loses only records not committed yet, which the next cycle makes again (their
        items were not marked seen).
        """
        with self._lock:
            self._grouping += 1
        try:
            yield
        finally:
            with self._lock:
                self._grouping -= 1
                if not self._grouping:
                    self._commit_group()

    def commit_group(self) -> None:
        """Commits the writes grouped so far (nothing to do when none wait)."""
        with self._lock:
            self._commit_group()

    def _commit_group(self) -> None:
        if self._conn.in_transaction:
            self._conn.execute("COMMIT")

    def __enter__(self) -> StoreBase:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def integrity_ok(self) -> bool:
        """True when PRAGMA integrity_check reports "ok"."""
        try:
            rows = self._read("PRAGMA integrity_check")
        except sqlite3.DatabaseError:
            return False
        return rows == [("ok",)]

    @contextmanager
    def _tx(self, *, group: bool = False) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken at once (BEGIN IMMEDIATE), rolled back on any error; with
        `group` inside `grouped()`, a savepoint of the group's transaction."""
        with self._lock:
            conn = self._conn
            if group and self._grouping:
                if not conn.in_transaction:
                    conn.execute("BEGIN IMMEDIATE")
                conn.execute("SAVEPOINT write")
                try:
                    yield conn
                except BaseException:
                    if conn.in_transaction:  # (an I/O error may have rolled back the whole group)
                        conn.execute("ROLLBACK TO write")
                        conn.execute("RELEASE write")
                    raise
                conn.execute("RELEASE write")
                return
            self._commit_group()  # what the group holds comes first, and this is not held back
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    def _read(
        self, sql: str, params: Sequence[object] | Mapping[str, object] = ()
    ) -> list[tuple[object, ...]]:
        """All rows of one query, as tuples."""
        with self._lock:
            return [tuple(r) for r in self._conn.execute(sql, params).fetchall()]

    def _count(self, sql: str, params: Sequence[object] = ()) -> int:
        """The single integer a COUNT/SUM query returns (0 for NULL)."""
        value = self._read(sql, params)[0][0]
        return int(value) if isinstance(value, int | float) else 0


class ChatStore(StoreBase):
    """Subscribers and their preferences, the outbox of alerts, cycle stats, counts and pruning."""

    # ---- subscribers --------------------------------------------------------------------------

    def subscribe(self, chat_id: int, chat_type: str, title: str, *, now: datetime) -> bool:
        """Add or re-activate a chat; True if it was not active before. Preferences are kept."""
        with self._tx() as conn:
            row = conn.execute("SELECT active FROM subscribers WHERE chat_id = ?", (chat_id,)).fetchone()
            if row is None:
                conn.execute(
                    "INSERT INTO subscribers (chat_id, chat_type, title, active, kinds, watches, since) "
                    "VALUES (?, ?, ?, 1, ?, NULL, ?)",
                    (chat_id, chat_type, title, ",".join(KINDS), to_iso(now)),
                )
                return True
            was_active = bool(row[0])
            conn.execute(
                "UPDATE subscribers SET chat_type = ?, title = ?, active = 1, deactivated_reason = NULL, "
                "since = CASE WHEN active THEN since ELSE ? END WHERE chat_id = ?",
                (chat_type, title, to_iso(now), chat_id),
            )
            return not was_active

    def unsubscribe(self, chat_id: int) -> bool:
        """Make a chat inactive and drop its undelivered alerts; True if it was active."""
        return self._deactivate(chat_id, "unsubscribed")

    def deactivate(self, chat_id: int, reason: str) -> None:
        """Like unsubscribe, recording why (e.g. the bot was blocked or removed from the chat)."""
        self._deactivate(chat_id, reason)

    def _deactivate(self, chat_id: int, reason: str) -> bool:
        with self._tx() as conn:
            cur = conn.execute(
                "UPDATE subscribers SET active = 0, deactivated_reason = ? WHERE chat_id = ? AND active = 1",
                (reason[:_MAX_ERROR], chat_id),
            )
            conn.execute("DELETE FROM outbox WHERE chat_id = ? AND sent_at IS NULL", (chat_id,))
            return cur.rowcount > 0

    def subscriber(self, chat_id: int) -> Subscriber | None:
        """One chat's subscription, active or not."""
        rows = self._read(f"SELECT {SUB_COLS} FROM subscribers WHERE chat_id = ?", (chat_id,))
        return subscriber_from_row(rows[0]) if rows else None

    def subscribers(self, *, active_only: bool = True) -> list[Subscriber]:
        """Subscribed chats (only the active ones unless asked), by chat id."""
        where = "WHERE active = 1" if active_only else ""
        return [
            subscriber_from_row(r)
            for r in self._read(f"SELECT {SUB_COLS} FROM subscribers {where} ORDER BY chat_id")
        ]

    def set_preferences(
        self,
        chat_id: int,
        *,
        kinds: Iterable[str] | None = None,
        watches: Iterable[str] | None | EllipsisType = ...,
    ) -> Subscriber:
        """Change what a chat hears about: kinds None = unchanged; watches ... = unchanged, None = all.

        Raises KeyError for an unknown chat and ValueError for an unknown kind.
        """
        with self._tx() as conn:
            if conn.execute("SELECT 1 FROM subscribers WHERE chat_id = ?", (chat_id,)).fetchone() is None:
                raise KeyError(f"no subscriber with chat id {chat_id}")
            if kinds is not None:
                wanted = {k.strip() for k in kinds if k.strip()}
                unknown = sorted(wanted - set(KINDS))
                if unknown:
                    raise ValueError(f"unknown kind(s) {', '.join(unknown)}; known: {', '.join(KINDS)}")
                stored = ",".join(k for k in KINDS if k in wanted)
                conn.execute("UPDATE subscribers SET kinds = ? WHERE chat_id = ?", (stored, chat_id))
            if not isinstance(watches, EllipsisType):
                value = None if watches is None else join_ids(watches, "watch")
                conn.execute("UPDATE subscribers SET watches = ? WHERE chat_id = ?", (value, chat_id))
        found = self.subscriber(chat_id)
        assert found is not None
        return found

    # ---- outbox -------------------------------------------------------------------------------

    def pending(self, *, now: datetime, limit: int = 500) -> list[OutboxMessage]:
        """Undelivered alerts of active chats that are due, by id.

        A row also waits while an earlier row of the same chat is waiting for a retry, so every
        chat receives its alerts in outbox order. Grouped writes are committed first: an alert is
        sent only once the rows that queued it are safe on disk.
        """
        self.commit_group()
        rows = self._read(
            f"""SELECT o.id, o.chat_id, o.event_id, o.created, o.attempts FROM outbox o
                JOIN subscribers s ON s.chat_id = o.chat_id AND s.active = 1
                WHERE {_DUE} AND (o.next_attempt IS NULL OR o.next_attempt <= :now)
                  AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.chat_id = o.chat_id AND p.id < o.id
                                  AND p.sent_at IS NULL AND p.dropped_at IS NULL AND p.next_attempt > :now)
                ORDER BY o.id LIMIT :limit""",
            {"now": to_iso(now), "limit": limit},
        )
        return [
            OutboxMessage(
                int(str(r[0])), int(str(r[1])), int(str(r[2])), from_iso(str(r[3])) or now, int(str(r[4]))
            )
            for r in rows
        ]

    def mark_sent(self, msg_id: int, *, now: datetime) -> None:
        """The alert was delivered: it is never sent again."""
        with self._tx() as conn:
            cur = conn.execute(
                "UPDATE outbox SET sent_at = ? WHERE id = ? AND sent_at IS NULL", (to_iso(now), msg_id)
            )
            if cur.rowcount:
                conn.execute(
                    "INSERT INTO meta (key, value) VALUES ('sent_total', '1') ON CONFLICT (key) "
                    "DO UPDATE SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT)"
                )

    def mark_retry(self, msg_id: int, *, error: str, next_attempt: datetime) -> None:
        """Delivery failed for now: count the attempt and wait until next_attempt."""
        with self._tx() as conn:
            conn.execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt = ? "
                "WHERE id = ? AND sent_at IS NULL",
                (error[:_MAX_ERROR], to_iso(next_attempt), msg_id),
            )

    def mark_failed(self, msg_id: int, *, error: str, now: datetime) -> None:
        """Give up on an alert for good (it no longer holds back later alerts to its chat)."""
        with self._tx() as conn:
            conn.execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ?, dropped_at = ? "
                "WHERE id = ? AND sent_at IS NULL AND dropped_at IS NULL",
                (error[:_MAX_ERROR], to_iso(now), msg_id),
            )

    def outbox_size(self) -> int:
        """Undelivered alerts of active chats, due or not."""
        return self._count(
            f"SELECT COUNT(*) FROM outbox o JOIN subscribers s ON s.chat_id = o.chat_id AND s.active = 1 "
            f"WHERE {_DUE}"
        )

    def sent_count(self) -> int:
        """Alerts delivered since the database was created (survives pruning)."""
        rows = self._read("SELECT value FROM meta WHERE key = 'sent_total'")
        return int(str(rows[0][0])) if rows else 0

    # ---- cycles, counts, pruning --------------------------------------------------------------

    def record_cycle(self, stats: Mapping[str, int | float], *, now: datetime) -> None:
        """Keep the figures of one fetch cycle."""
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO cycles (at, stats) VALUES (?, ?)", (to_iso(now), json.dumps(dict(stats)))
            )

    def last_cycle(self) -> tuple[datetime, dict[str, int | float]] | None:
        """When the last cycle ran and its figures."""
        rows = self._read("SELECT at, stats FROM cycles ORDER BY id DESC LIMIT 1")
        if not rows:
            return None
        at = from_iso(str(rows[0][0]))
        assert at is not None
        raw = json.loads(str(rows[0][1]))
        stats = (
            {str(k): v for k, v in raw.items() if isinstance(v, int | float)} if isinstance(raw, dict) else {}
        )
        return at, stats

    def counts(self) -> dict[str, int]:
        """Headline figures for status pages and metrics."""
        return {
            "subscribers_active": self._count("SELECT COUNT(*) FROM subscribers WHERE active = 1"),
            "subscribers_total": self._count("SELECT COUNT(*) FROM subscribers"),
            "events": self._count("SELECT COUNT(*) FROM events"),
            "items_seen": self._count("SELECT SUM(items_seen) FROM sources"),
            "outbox_pending": self.outbox_size(),
            "sent": self.sent_count(),
        }

    def prune(
        self,
        now: datetime,
        keep_days: float = 180,
        outbox_days: float = 30,
        keep_per_source: int = _KEEP_PER_SOURCE,
    ) -> dict[str, int]:
        """Forget old seen items, delivered or abandoned alerts and cycle stats; returns rows removed.

        A source's `keep_per_source` newest keys are always kept, so a page that lists old items
        for years does not bring them back as new.
        """
        seen_cutoff = to_iso(now - timedelta(days=keep_days))
        done_cutoff = to_iso(now - timedelta(days=outbox_days))
        removed = {"seen": 0, "outbox": 0, "cycles": 0}
        with self._tx() as conn:
            for (source,) in conn.execute("SELECT DISTINCT source FROM seen").fetchall():
                floor = conn.execute(
                    "SELECT first_seen FROM seen WHERE source = ? ORDER BY first_seen DESC LIMIT 1 OFFSET ?",
                    (source, max(keep_per_source, 1) - 1),
                ).fetchone()
                if floor is None:
                    continue
                cutoff = min(seen_cutoff, str(floor[0]))
                removed["seen"] += conn.execute(
                    "DELETE FROM seen WHERE source = ? AND first_seen < ?", (source, cutoff)
                ).rowcount
            removed["outbox"] = conn.execute(
                "DELETE FROM outbox WHERE sent_at < ? OR dropped_at < ?", (done_cutoff, done_cutoff)
            ).rowcount
            removed["cycles"] = conn.execute("DELETE FROM cycles WHERE at < ?", (done_cutoff,)).rowcount
        return removed
