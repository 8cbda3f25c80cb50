"""The store's chat side: subscribers and what they want, the outbox of alerts, cycle figures, and
the housekeeping that forgets old rows."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from types import EllipsisType

from bot.models import KINDS
from bot.store.db import Db, from_iso, to_iso
from bot.store.records import SUB_COLS, OutboxMessage, Subscriber, join_ids, subscriber_from_row, wants

_MAX_ERROR = 500  # stored error texts are cut to this many characters
_DUE = "o.sent_at IS NULL AND o.dropped_at IS NULL"
_REAL_CHAT = "chat_id <> 0"  # chat id 0 is console mode's place in the outbox (CONSOLE_CHAT), not a subscriber


class ChatRepo:
    """Subscribers and their preferences, the outbox of alerts and cycle figures, on the store's
    shared connection."""

    def __init__(self, db: Db) -> None:
        self._db = db

    # ---- subscribers --------------------------------------------------------------------------

    def subscribe(self, chat_id: int, chat_type: str, title: str, *, now: datetime) -> bool:
        """Add or re-activate a chat; True if it was not active before. Preferences are kept."""
        with self._db.tx() as conn:
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
        with self._db.tx() as conn:
            cur = conn.execute(
                "UPDATE subscribers SET active = 0, deactivated_reason = ? WHERE chat_id = ? AND active = 1",
                (reason[:_MAX_ERROR], chat_id),
            )
            conn.execute("DELETE FROM outbox WHERE chat_id = ? AND sent_at IS NULL", (chat_id,))
            return cur.rowcount > 0

    def subscriber(self, chat_id: int) -> Subscriber | None:
        """One chat's subscription, active or not."""
        rows = self._db.read(f"SELECT {SUB_COLS} FROM subscribers WHERE chat_id = ?", (chat_id,))
        return subscriber_from_row(rows[0]) if rows else None

    def subscribers(self, *, active_only: bool = True) -> list[Subscriber]:
        """Subscribed chats (only the active ones unless asked), by chat id."""
        where = "WHERE active = 1" if active_only else ""
        return [
            subscriber_from_row(r)
            for r in self._db.read(f"SELECT {SUB_COLS} FROM subscribers {where} ORDER BY chat_id")
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
        with self._db.tx() as conn:
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

    @staticmethod
    def queue_in(conn: sqlite3.Connection, event_id: int, kind: str, watch: str, now: datetime) -> int:
        """Queue a new event for every active subscriber who wants it, inside the caller's
        transaction; returns how many rows were queued."""
        rows = conn.execute(f"SELECT {SUB_COLS} FROM subscribers WHERE active = 1 ORDER BY chat_id")
        chats = [s.chat_id for s in map(subscriber_from_row, map(tuple, rows)) if wants(s, kind, watch)]
        conn.executemany(
            "INSERT INTO outbox (chat_id, event_id, created) VALUES (?, ?, ?)",
            [(chat, event_id, to_iso(now)) for chat in chats],
        )
        return len(chats)

    def pending(self, *, now: datetime, limit: int = 500, chat_id: int | None = None) -> list[OutboxMessage]:
        """Undelivered alerts of active chats (or of `chat_id` only) that are due, by id.

        A row also waits while an earlier row of the same chat is waiting for a retry, so every
        chat receives its alerts in outbox order.
        """
        rows = self._db.read(
            f"""SELECT o.id, o.chat_id, o.event_id, o.created, o.attempts FROM outbox o
                JOIN subscribers s ON s.chat_id = o.chat_id AND s.active = 1
                WHERE {_DUE} AND (o.next_attempt IS NULL OR o.next_attempt <= :now)
                  AND (:chat IS NULL OR o.chat_id = :chat)
                  AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.chat_id = o.chat_id AND p.id < o.id
                                  AND p.sent_at IS NULL AND p.dropped_at IS NULL AND p.next_attempt > :now)
                ORDER BY o.id LIMIT :limit""",
            {"now": to_iso(now), "limit": limit, "chat": chat_id},
        )
        return [
            OutboxMessage(
                int(str(r[0])), int(str(r[1])), int(str(r[2])), from_iso(str(r[3])) or now, int(str(r[4]))
            )
            for r in rows
        ]

    def mark_sent(self, msg_id: int, *, now: datetime) -> None:
        """The alert was delivered: it is never sent again."""
        with self._db.tx() as conn:
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
        with self._db.tx() as conn:
            conn.execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt = ? "
                "WHERE id = ? AND sent_at IS NULL",
                (error[:_MAX_ERROR], to_iso(next_attempt), msg_id),
            )

    def mark_failed(self, msg_id: int, *, error: str, now: datetime) -> None:
        """Give up on an alert for good (it no longer holds back later alerts to its chat)."""
        with self._db.tx() as conn:
            conn.execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ?, dropped_at = ? "
                "WHERE id = ? AND sent_at IS NULL AND dropped_at IS NULL",
                (error[:_MAX_ERROR], to_iso(now), msg_id),
            )

    def outbox_size(self) -> int:
        """Undelivered alerts of active chats, due or not."""
        return self._db.count(
            f"SELECT COUNT(*) FROM outbox o JOIN subscribers s ON s.chat_id = o.chat_id AND s.active = 1 "
            f"WHERE {_DUE}"
        )

    def _sent_count(self) -> int:
        """Alerts delivered since the database was created (survives pruning)."""
        rows = self._db.read("SELECT value FROM meta WHERE key = 'sent_total'")
        return int(str(rows[0][0])) if rows else 0

    # ---- cycles, counts, pruning --------------------------------------------------------------

    def record_cycle(self, stats: Mapping[str, int | float], *, now: datetime) -> None:
        """Keep the figures of one fetch cycle."""
        with self._db.tx() as conn:
            conn.execute(
                "INSERT INTO cycles (at, stats) VALUES (?, ?)", (to_iso(now), json.dumps(dict(stats)))
            )

    def last_cycle(self) -> tuple[datetime, dict[str, int | float]] | None:
        """When the last cycle ran and its figures."""
        rows = self._db.read("SELECT at, stats FROM cycles ORDER BY id DESC LIMIT 1")
        if not rows:
            return None
        at = from_iso(str(rows[0][0]))
        assert at is not None
        raw = json.loads(str(rows[0][1]))
        stats = (
            {str(k): v for k, v in raw.items() if isinstance(v, int | float)} if isinstance(raw, dict) else {}
        )
        return at, stats

    def cycles_since(self, since: datetime, *, limit: int = 20000) -> dict[str, int | float]:
        """The figures of the fetch rounds since a time, added up, with their number (`rounds`): the
        daemon fetches each source as it comes due, so one round may hold a single source. At most
        the newest `limit` rounds count (a round a second is 3,600 an hour)."""
        total: dict[str, int | float] = {"rounds": 0}
        # Only the newest `limit` rows by id are looked at (a range of the primary key: the table
        # holds 30 days of rounds, up to millions of rows, and has no index on `at`).
        for (raw,) in self._db.read("SELECT stats FROM cycles WHERE id > (SELECT COALESCE(MAX(id), 0) FROM cycles) - ? "
                                    "AND at >= ?", (limit, to_iso(since))):
            stats = json.loads(str(raw))
            if not isinstance(stats, dict):
                continue
            total["rounds"] += 1
            for key, value in stats.items():
                if isinstance(value, int | float) and key != "elapsed":
                    total[key] = total.get(key, 0) + value
        return total

    def counts(self) -> dict[str, int]:
        """Headline figures of the chat side, for status pages and metrics; subscribers are real chats
        (the console's pseudo-chat is not one)."""
        return {
            "subscribers_active": self._db.count(f"SELECT COUNT(*) FROM subscribers WHERE active = 1 AND {_REAL_CHAT}"),
            "subscribers_total": self._db.count(f"SELECT COUNT(*) FROM subscribers WHERE {_REAL_CHAT}"),
            "outbox_pending": self.outbox_size(),
            "sent": self._sent_count(),
        }

    @staticmethod
    def prune_in(conn: sqlite3.Connection, now: datetime, outbox_days: float) -> dict[str, int]:
        """Forget delivered or abandoned alerts and cycle figures older than `outbox_days`, inside
        the caller's transaction; returns rows removed per table."""
        cutoff = to_iso(now - timedelta(days=outbox_days))
        return {
            "outbox": conn.execute("DELETE FROM outbox WHERE sent_at < ? OR dropped_at < ?", (cutoff, cutoff)).rowcount,
            "cycles": conn.execute("DELETE FROM cycles WHERE at < ?", (cutoff,)).rowcount,
        }
