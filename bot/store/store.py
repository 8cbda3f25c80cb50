"""newsbot's memory: per-source fetch state, seen items, events, subscribers and the outbox (SQLite).

One `State` owns one connection to `<state_dir>/newsbot.db` (WAL, synchronous=NORMAL). Every
write happens in an explicit `BEGIN IMMEDIATE` transaction, so recording a finding (item seen,
event folded or created, outbox rows queued) is all-or-nothing even if the process is killed.
Events come from bot.store.events; subscribers, the outbox and housekeeping from bot.state_chats.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from bot.models import Decision, Item
from bot.store.db import (
    SeenKey,
    StateError,
    configure,
    item_key,
    load_canonicalizer,
    migrate,
    opt_iso,
    to_iso,
)
from bot.store.events import EventStore, check_finding
from bot.store.records import (
    SOURCE_COLS,
    Event,
    FindingResult,
    OutboxMessage,
    SourceState,
    Subscriber,
    source_from_row,
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
    "Unchanged",
]

DB_NAME = "newsbot.db"
_CHUNK = 400  # bound on SQL parameters per IN (...) list
_CANON_CACHE = 16384  # canonical URLs remembered between checking items and recording them
_MAX_ERROR = 500  # stored error texts are cut to this many characters


# A successful fetch. On 304 a validator given as NULL keeps the stored one.
_FETCH_OK = """UPDATE sources SET
    etag = CASE WHEN :keep AND :etag IS NULL THEN etag ELSE :etag END,
    last_modified = CASE WHEN :keep AND :lm IS NULL THEN last_modified ELSE :lm END,
    url = COALESCE(:url, url), last_attempt = :now, last_success = :now, consecutive_errors = 0,
    last_error = NULL, next_fetch_after = NULL, failure_notified = 0, items_seen = items_seen + :added
    WHERE name = :name"""
_INSERT_SEEN = "INSERT OR IGNORE INTO seen (source, key, url, first_seen) VALUES (?, ?, ?, ?)"


def _fetch_ok_row(
    name: str, now: datetime, etag: str | None, last_modified: str | None, not_modified: bool,
    new_url: str | None, added: int = 0,
) -> dict[str, object]:
    return {"keep": int(not_modified), "etag": etag, "lm": last_modified, "url": new_url, "now": to_iso(now),
            "added": added, "name": name}


@dataclass(frozen=True, slots=True)
class Unchanged:
    """A source that answered 304 Not Modified, for State.record_unchanged."""

    name: str
    etag: str | None = None
    last_modified: str | None = None
    new_url: str | None = None


class State(EventStore):
    """The SQLite-backed store; one per process, used from one event loop (guarded by a lock)."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        super().__init__(conn, path)
        self._canonical: Callable[[str], str] | None = None
        self._flags_version = 0  # bumped whenever a source is paused, disabled or forgotten here

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
        """The URL canonicaliser, remembering recent answers: a new item's link is canonicalised
        when it is checked (unseen) and again when it is recorded, moments later."""
        if self._canonical is None:
            self._canonical = functools.lru_cache(maxsize=_CANON_CACHE)(load_canonicalizer())
        return self._canonical

    def flags_token(self) -> tuple[int, int]:
        """Changes whenever a source's paused/disabled flag may have changed, here or in another process.

        Lets a caller keep its own copy of which sources are paused or disabled and reload it only
        when this token differs (PRAGMA data_version moves on another connection's commits).
        """
        with self._lock:
            other = int(self._conn.execute("PRAGMA data_version").fetchone()[0])
        return self._flags_version, other

    # ---- per-source fetch state -------------------------------------------------------------

    def source_state(self, name: str) -> SourceState:
        """The fetch state of a source (defaults if it was never fetched)."""
        rows = self._read(f"SELECT {SOURCE_COLS} FROM sources WHERE name = ?", (name,))
        return source_from_row(rows[0] if rows else None, name)

    def source_states(self) -> dict[str, SourceState]:
        """Fetch state of every source the store knows, by name."""
        rows = self._read(f"SELECT {SOURCE_COLS} FROM sources ORDER BY name")
        return {str(r[0]): source_from_row(r, str(r[0])) for r in rows}

    def states_of(self, names: Sequence[str]) -> dict[str, SourceState]:
        """Fetch state of each named source (defaults for one never fetched), in a few queries."""
        found: dict[str, SourceState] = {}
        for start in range(0, len(names), _CHUNK):
            chunk = list(names[start : start + _CHUNK])
            marks = ",".join("?" * len(chunk))
            for r in self._read(f"SELECT {SOURCE_COLS} FROM sources WHERE name IN ({marks})", chunk):
                found[str(r[0])] = source_from_row(r, str(r[0]))
        return {name: found.get(name) or source_from_row(None, name) for name in names}

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
        with self._tx() as conn:
            self._ensure_source(conn, name)
            conn.execute(_FETCH_OK, _fetch_ok_row(name, now, etag, last_modified, not_modified, new_url))
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
        self._flags_version += int(disable)
        with self._tx(group=True) as conn:
            self._ensure_source(conn, name)
            conn.execute(
                """UPDATE sources SET consecutive_errors = consecutive_errors + 1, last_error = ?,
                   last_attempt = ?, next_fetch_after = ?, disabled = MAX(disabled, ?) WHERE name = ?""",
                (error[:_MAX_ERROR], to_iso(now), opt_iso(next_fetch_after), int(disable), name),
            )
        return self.source_state(name)

    def _set_flag(self, name: str, column: str, value: bool) -> None:
        if column != "failure_notified":
            self._flags_version += 1
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
        self._flags_version += 1
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
        canonical = self._canon()

        def url_of(i: int) -> str:
            item = items[i]
            return item.canonical_url or (canonical(item.url) if item.url else "")

        return [items[i] for i in self._fresh(source, [item_key(i) for i in items], url_of)]

    def unseen_keys(self, source: str, seen: Sequence[SeenKey]) -> list[int]:
        """Positions of the (key, canonical URL) pairs never recorded, as `unseen` decides for items
        (pairs computed where the feed was parsed)."""
        return self._fresh(source, [key for key, _ in seen], lambda i: seen[i][1])

    def _fresh(self, source: str, keys: list[str], url_of: Callable[[int], str]) -> list[int]:
        """Positions of the keys never recorded for this source whose URL (asked only for those)
        was never recorded for any source; later repeats within the batch are dropped too."""
        with self._lock:
            seen_keys = self._known("key", sorted(set(keys)), source)
            rest = [i for i, k in enumerate(keys) if k not in seen_keys]
            urls = [url_of(i) for i in rest]
            seen_urls = self._known("url", sorted({u for u in urls if u}), None)
        fresh: list[int] = []
        for i, url in zip(rest, urls, strict=True):
            key = keys[i]
            if key in seen_keys or (url and url in seen_urls):
                continue
            seen_keys.add(key)
            if url:
                seen_urls.add(url)
            fresh.append(i)
        return fresh

    def _insert_seen(self, conn: sqlite3.Connection, source: str, items: Sequence[Item], now: datetime,
                     keys: Sequence[SeenKey] = ()) -> int:
        """Record items (and items known only by their key pairs) as seen inside the caller's
        transaction; returns how many were new."""
        canonical = self._canon()
        at = to_iso(now)
        rows = [(source, item_key(i), i.canonical_url or (canonical(i.url) if i.url else ""), at) for i in items]
        rows += [(source, key, url, at) for key, url in keys]
        before = conn.total_changes
        conn.executemany(_INSERT_SEEN, rows)
        return conn.total_changes - before

    def _mark(self, conn: sqlite3.Connection, source: str, items: Sequence[Item], now: datetime) -> int:
        """Record items as seen and count them on the source, inside the caller's transaction."""
        self._ensure_source(conn, source)
        added = self._insert_seen(conn, source, items, now)
        if added:
            conn.execute("UPDATE sources SET items_seen = items_seen + ? WHERE name = ?", (added, source))
        return added

    def mark_seen(self, source: str, items: Sequence[Item], *, now: datetime) -> None:
        """Record items of a source as seen so they are never processed again."""
        with self._tx() as conn:
            self._mark(conn, source, items, now)

    # ---- events -------------------------------------------------------------------------------

    def record_finding(
        self, *, source: str, item: Item, decision: Decision, now: datetime, alert: bool
    ) -> FindingResult:
        """In one transaction: mark the item seen, fold it into its event or create the event, and,
        for a new event with `alert`, queue one outbox row per active subscriber who wants it."""
        check_finding(decision)
        with self._tx() as conn:
            self._mark(conn, source, [item], now)
            return self._finding_in(conn, source, item, decision, now, alert)

    def record_fetched(
        self,
        source: str,
        *,
        now: datetime,
        items_seen: Sequence[Item],
        findings: Sequence[tuple[Item, Decision, bool]],
        etag: str | None,
        last_modified: str | None,
        new_url: str | None = None,
        keys_seen: Sequence[SeenKey] = (),
    ) -> list[FindingResult]:
        """Everything a fetched (200) source brought, in one transaction: all of it or nothing.

        Plain items (and `keys_seen`, items known by their (key, canonical URL) pair) are marked
        seen; each (item, decision, alert) finding is marked seen and
        recorded as by record_finding; the fetch counts as a success (record_fetch_ok, validators
        replaced as given). Returns one FindingResult per finding, in order.
        """
        for _item, decision, _alert in findings:
            check_finding(decision)
        with self._tx(group=True) as conn:
            self._ensure_source(conn, source)
            added = self._insert_seen(conn, source, [*items_seen, *(f[0] for f in findings)], now, keys_seen)
            results = [self._finding_in(conn, source, item, d, now, alert) for item, d, alert in findings]
            conn.execute(_FETCH_OK, _fetch_ok_row(source, now, etag, last_modified, False, new_url, added))
        return results

    def record_unchanged(self, sources: Sequence[Unchanged], *, now: datetime) -> None:
        """Successful 304 answers of many sources, in one transaction (see record_fetch_ok)."""
        if not sources:
            return
        with self._tx() as conn:
            conn.executemany("INSERT OR IGNORE INTO sources (name) VALUES (?)", [(s.name,) for s in sources])
            conn.executemany(
                _FETCH_OK,
                [_fetch_ok_row(s.name, now, s.etag, s.last_modified, True, s.new_url) for s in sources],
            )
