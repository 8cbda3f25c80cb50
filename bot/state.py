"""newsbot's memory: per-source fetch state, seen items, events, subscribers and the outbox (SQLite).

One `State` owns one connection to `<state_dir>/newsbot.db` (WAL, synchronous=NORMAL). Every
write happens in an explicit `BEGIN IMMEDIATE` transaction, so recording a finding (item seen,
event folded or created, outbox rows queued) is all-or-nothing even if the process is killed.
Subscribers, the outbox and housekeeping are inherited from bot.state_chats.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

from bot.models import KINDS, Decision, Item, Watch
from bot.state_chats import ChatStore
from bot.state_records import (
    EVENT_COLS,
    SOURCE_COLS,
    SUB_COLS,
    Event,
    FindingResult,
    OutboxMessage,
    SourceState,
    Subscriber,
    event_from_row,
    source_from_row,
    subscriber_from_row,
    wants,
)
from bot.state_schema import (
    StateError,
    configure,
    item_key,
    load_canonicalizer,
    migrate,
    opt_iso,
    parse_known_date,
    to_iso,
)

__all__ = [
    "DB_NAME",
    "Event",
    "FindingResult",
    "OutboxMessage",
    "SourceState",
    "State",
    "StateError",
    "Subscriber",
]

DB_NAME = "newsbot.db"
_CHUNK = 400  # bound on SQL parameters per IN (...) list
_MAX_ERROR = 500  # stored error texts are cut to this many characters


class State(ChatStore):
    """The SQLite-backed store; one per process, used from one event loop (guarded by a lock)."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        super().__init__(conn, path)
        self._canonical: Callable[[str], str] | None = None

    @classmethod
    def open(cls, state_dir: Path) -> State:
        """Create the state dir if needed, open (or create) the database and migrate its schema."""
        state_dir = Path(state_dir)
        state_dir.mkdir(parents=True, exist_ok=True)
        path = state_dir / DB_NAME
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        try:
            configure(conn)
            migrate(conn)
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise StateError(f"cannot use state database {path}: {exc}") from exc
        except BaseException:
            conn.close()
            raise
        return cls(conn, path)

    def __enter__(self) -> State:
        return self

    def _canon(self) -> Callable[[str], str]:
        if self._canonical is None:
            self._canonical = load_canonicalizer()
        return self._canonical

    # ---- per-source fetch state -------------------------------------------------------------

    def source_state(self, name: str) -> SourceState:
        """The fetch state of a source (defaults if it was never fetched)."""
        rows = self._read(f"SELECT {SOURCE_COLS} FROM sources WHERE name = ?", (name,))
        return source_from_row(rows[0] if rows else None, name)

    def source_states(self) -> dict[str, SourceState]:
        """Fetch state of every source the store knows, by name."""
        rows = self._read(f"SELECT {SOURCE_COLS} FROM sources ORDER BY name")
        return {str(r[0]): source_from_row(r, str(r[0])) for r in rows}

    @staticmethod
    def _ensure_source(conn: sqlite3.Connection, name: str) -> None:
        conn.execute("INSERT OR IGNORE INTO sources (name) VALUES (?)", (name,))

    def record_fetch_ok(
        self,
        name: str,
        *,
        now: datetime,
        etag: str | None,
        last_modified: str | None,
        not_modified: bool,
        new_url: str | None = None,
    ) -> SourceState:
        """A successful fetch (200 or 304): errors, backoff and the failure notice are reset.

        On 304 a validator given as None is kept; on 200 the validators are replaced as given.
        """
        keep = 1 if not_modified else 0
        with self._tx() as conn:
            self._ensure_source(conn, name)
            conn.execute(
                """UPDATE sources SET
                    etag = CASE WHEN ? AND ? IS NULL THEN etag ELSE ? END,
                    last_modified = CASE WHEN ? AND ? IS NULL THEN last_modified ELSE ? END,
                    url = COALESCE(?, url), last_attempt = ?, last_success = ?,
                    consecutive_errors = 0, last_error = NULL, next_fetch_after = NULL,
                    failure_notified = 0
                   WHERE name = ?""",
                (
                    keep,
                    etag,
                    etag,
                    keep,
                    last_modified,
                    last_modified,
                    new_url,
                    to_iso(now),
                    to_iso(now),
                    name,
                ),
            )
        return self.source_state(name)

    def record_fetch_error(
        self,
        name: str,
        *,
        now: datetime,
        error: str,
        next_fetch_after: datetime | None = None,
        disable: bool = False,
    ) -> SourceState:
        """A failed fetch: one more consecutive error, the backoff time, optionally disabled."""
        with self._tx() as conn:
            self._ensure_source(conn, name)
            conn.execute(
                """UPDATE sources SET consecutive_errors = consecutive_errors + 1, last_error = ?,
                   last_attempt = ?, next_fetch_after = ?, disabled = MAX(disabled, ?) WHERE name = ?""",
                (error[:_MAX_ERROR], to_iso(now), opt_iso(next_fetch_after), int(disable), name),
            )
        return self.source_state(name)

    def _set_flag(self, name: str, column: str, value: bool) -> None:
        with self._tx() as conn:
            self._ensure_source(conn, name)
            conn.execute(f"UPDATE sources SET {column} = ? WHERE name = ?", (int(value), name))

    def set_failure_notified(self, name: str, notified: bool) -> None:
        """Remember whether admins were told this source is failing."""
        self._set_flag(name, "failure_notified", notified)

    def set_paused(self, name: str, paused: bool) -> None:
        """Pause or resume a source."""
        self._set_flag(name, "paused", paused)

    def set_disabled(self, name: str, disabled: bool) -> None:
        """Disable or re-enable a source (disabling normally comes from record_fetch_error)."""
        self._set_flag(name, "disabled", disabled)

    def forget_source(self, name: str) -> None:
        """Drop a removed source's fetch state and its seen items."""
        with self._tx() as conn:
            conn.execute("DELETE FROM seen WHERE source = ?", (name,))
            conn.execute("DELETE FROM sources WHERE name = ?", (name,))

    # ---- seen items ---------------------------------------------------------------------------

    def has_history(self, source: str) -> bool:
        """True once at least one item of this source was recorded as seen."""
        rows = self._read("SELECT items_seen FROM sources WHERE name = ?", (source,))
        if rows and int(str(rows[0][0])) > 0:
            return True
        return bool(self._read("SELECT 1 FROM seen WHERE source = ? LIMIT 1", (source,)))

    def _known(self, column: str, values: list[str], source: str | None) -> set[str]:
        found: set[str] = set()
        for start in range(0, len(values), _CHUNK):
            chunk = values[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            if source is None:
                sql, params = f"SELECT {column} FROM seen WHERE {column} IN ({marks})", chunk
            else:
                sql = f"SELECT {column} FROM seen WHERE source = ? AND {column} IN ({marks})"
                params = [source, *chunk]
            found.update(str(r[0]) for r in self._read(sql, params))
        return found

    def unseen(self, source: str, items: Sequence[Item]) -> list[Item]:
        """Items never recorded, by key (guid, this source) or canonical URL (any source).

        Duplicates within the batch are dropped too. Items already known by key cost no URL
        canonicalisation, which keeps a re-read of an unchanged page cheap.
        """
        keys = [item_key(i) for i in items]
        with self._lock:
            seen_keys = self._known("key", sorted(set(keys)), source)
            rest = [(i, k) for i, k in zip(items, keys, strict=True) if k not in seen_keys]
            canonical = self._canon()
            urls = [canonical(i.url) if i.url else "" for i, _ in rest]
            seen_urls = self._known("url", sorted({u for u in urls if u}), None)
        fresh: list[Item] = []
        for (item, key), url in zip(rest, urls, strict=True):
            if key in seen_keys or (url and url in seen_urls):
                continue
            seen_keys.add(key)
            if url:
                seen_urls.add(url)
            fresh.append(item)
        return fresh

    def _mark(self, conn: sqlite3.Connection, source: str, items: Sequence[Item], now: datetime) -> int:
        """Record items as seen inside the caller's transaction; returns how many were new."""
        canonical = self._canon()
        at = to_iso(now)
        rows = [(source, item_key(i), canonical(i.url) if i.url else "", at) for i in items]
        self._ensure_source(conn, source)
        before = conn.total_changes
        conn.executemany(
            "INSERT OR IGNORE INTO seen (source, key, url, first_seen) VALUES (?, ?, ?, ?)", rows
        )
        added = conn.total_changes - before
        if added:
            conn.execute("UPDATE sources SET items_seen = items_seen + ? WHERE name = ?", (added, source))
        return added

    def mark_seen(self, source: str, items: Sequence[Item], *, now: datetime) -> None:
        """Record items of a source as seen so they are never processed again."""
        with self._tx() as conn:
            self._mark(conn, source, items, now)

    # ---- events -------------------------------------------------------------------------------

    def _event_in(self, conn: sqlite3.Connection, where: str, params: Sequence[object]) -> Event | None:
        row = conn.execute(f"SELECT {EVENT_COLS} FROM events e WHERE {where}", params).fetchone()
        return None if row is None else event_from_row(tuple(row))

    def record_finding(
        self, *, source: str, item: Item, decision: Decision, now: datetime, alert: bool
    ) -> FindingResult:
        """In one transaction: mark the item seen, fold it into its event or create the event, and,
        for a new event with `alert`, queue one outbox row per active subscriber who wants it."""
        watch, kind, milestone = decision.watch, decision.kind, decision.milestone or ""
        if not watch or kind not in KINDS:
            raise ValueError(f"a finding needs a watch and a known kind, got {watch!r}/{kind!r}")
        assert kind is not None
        with self._tx() as conn:
            self._mark(conn, source, [item], now)
            key = (watch, kind, milestone)
            existing = self._event_in(conn, "watch = ? AND kind = ? AND milestone = ?", key)
            if existing is None:
                event_id = self._insert_event(conn, source, item, decision, now, alert)
            else:
                event_id = existing.id
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
