"""The store's sources: each source's fetch state (validators, errors, backoff, flags) and the items
it has already brought (seen), by key within the source and by canonical URL across all of them."""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from bot.models import Item
from bot.store.db import URL_MAX, Db, SeenKey, digest_over, item_key, opt_iso, to_iso
from bot.store.records import SOURCE_COLS, SourceState, Unchanged, source_from_row
from bot.urls import canonical_url

__all__ = ["SeenKey", "SourceRepo", "item_key"]

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
_ENSURE = "INSERT OR IGNORE INTO sources (name) VALUES (?)"


def _fetch_ok_row(
    name: str, now: datetime, etag: str | None, last_modified: str | None, not_modified: bool,
    new_url: str | None, added: int = 0,
) -> dict[str, object]:
    return {"keep": int(not_modified), "etag": etag, "lm": last_modified, "url": new_url, "now": to_iso(now),
            "added": added, "name": name}


class SourceRepo:
    """Fetch state and seen items of the sources, on the store's shared connection."""

    def __init__(self, db: Db) -> None:
        self._db = db
        # A new item's link is canonicalised when it is checked (unseen) and again when it is
        # recorded, moments later: recent answers are remembered.
        self._canonical: Callable[[str], str] = functools.lru_cache(maxsize=_CANON_CACHE)(canonical_url)
        self._flags_version = 0  # bumped whenever a source is paused, disabled or forgotten here

    def flags_token(self) -> tuple[int, int]:
        """Changes whenever a source's paused/disabled flag may have changed, here or in another process.

        Lets a caller keep its own copy of which sources are paused or disabled and reload it only
        when this token differs (PRAGMA data_version moves on another connection's commits).
        """
        return self._flags_version, self._db.data_version()

    # ---- fetch state ----------------------------------------------------------------------------

    def source_state(self, name: str) -> SourceState:
        """The fetch state of a source (defaults if it was never fetched)."""
        rows = self._db.read(f"SELECT {SOURCE_COLS} FROM sources WHERE name = ?", (name,))
        return source_from_row(rows[0] if rows else None, name)

    def source_states(self) -> dict[str, SourceState]:
        """Fetch state of every source the store knows, by name."""
        rows = self._db.read(f"SELECT {SOURCE_COLS} FROM sources ORDER BY name")
        return {str(r[0]): source_from_row(r, str(r[0])) for r in rows}

    def states_of(self, names: Sequence[str]) -> dict[str, SourceState]:
        """Fetch state of each named source (defaults for one never fetched), in a few queries."""
        found: dict[str, SourceState] = {}
        for start in range(0, len(names), _CHUNK):
            chunk = list(names[start : start + _CHUNK])
            marks = ",".join("?" * len(chunk))
            for r in self._db.read(f"SELECT {SOURCE_COLS} FROM sources WHERE name IN ({marks})", chunk):
                found[str(r[0])] = source_from_row(r, str(r[0]))
        return {name: found.get(name) or source_from_row(None, name) for name in names}

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
        with self._db.tx() as conn:
            conn.execute(_ENSURE, (name,))
            conn.execute(
                """UPDATE sources SET consecutive_errors = consecutive_errors + 1, last_error = ?,
                   last_attempt = ?, next_fetch_after = ?, disabled = MAX(disabled, ?) WHERE name = ?""",
                (error[:_MAX_ERROR], to_iso(now), opt_iso(next_fetch_after), int(disable), name),
            )
        return self.source_state(name)

    def record_unchanged(self, sources: Sequence[Unchanged], *, now: datetime) -> None:
        """Successful 304 answers of many sources, in one transaction: errors, backoff and the
        failure notice are reset; a validator given as None keeps the stored one."""
        if not sources:
            return
        with self._db.tx() as conn:
            conn.executemany(_ENSURE, [(s.name,) for s in sources])
            conn.executemany(
                _FETCH_OK,
                [_fetch_ok_row(s.name, now, s.etag, s.last_modified, True, s.new_url) for s in sources],
            )

    def fetched_in(
        self, conn: sqlite3.Connection, name: str, now: datetime, etag: str | None, last_modified: str | None,
        new_url: str | None, added: int,
    ) -> None:
        """A successful 200 inside the caller's transaction: validators replaced as given, errors,
        backoff and the failure notice reset, `added` more items counted."""
        conn.execute(_FETCH_OK, _fetch_ok_row(name, now, etag, last_modified, False, new_url, added))

    def _set_flag(self, name: str, column: str, value: bool) -> None:
        if column != "failure_notified":
            self._flags_version += 1
        with self._db.tx() as conn:
            conn.execute(_ENSURE, (name,))
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
        with self._db.tx() as conn:
            conn.execute("DELETE FROM seen WHERE source = ?", (name,))
            conn.execute("DELETE FROM sources WHERE name = ?", (name,))

    # ---- seen items -----------------------------------------------------------------------------

    def has_history(self, source: str) -> bool:
        """True once at least one item of this source was recorded as seen."""
        rows = self._db.read("SELECT items_seen FROM sources WHERE name = ?", (source,))
        if rows and int(str(rows[0][0])) > 0:
            return True
        return bool(self._db.read("SELECT 1 FROM seen WHERE source = ? LIMIT 1", (source,)))

    def unseen(self, source: str, items: Sequence[Item]) -> list[Item]:
        """Items never recorded, by key (guid, this source) or canonical URL (any source).

        Duplicates within the batch are dropped too. Items already known by key cost no URL
        canonicalisation, which keeps a re-read of an unchanged page cheap.
        """
        return [items[i] for i in self._fresh(source, [item_key(i) for i in items], lambda i: self._url(items[i]))]

    def _url(self, item: Item) -> str:
        url = item.canonical_url or (self._canonical(item.url) if item.url else "")
        return digest_over(url, URL_MAX)

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
            found.update(str(r[0]) for r in self._db.read(sql, params))
        return found

    def _fresh(self, source: str, keys: list[str], url_of: Callable[[int], str]) -> list[int]:
        """Positions of the keys never recorded for this source whose URL (asked only for those)
        was never recorded for any source; later repeats within the batch are dropped too."""
        with self._db.lock:
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

    def mark_seen_in(
        self, conn: sqlite3.Connection, source: str, items: Sequence[Item], now: datetime,
    ) -> int:
        """Record items as seen inside the caller's transaction, creating the source's row if
        needed; returns how many were new."""
        conn.execute(_ENSURE, (source,))
        at = to_iso(now)
        rows = [(source, item_key(i), self._url(i), at) for i in items]
        before = conn.total_changes
        conn.executemany(_INSERT_SEEN, rows)
        return conn.total_changes - before

    @staticmethod
    def prune_in(
        conn: sqlite3.Connection, now: datetime, keep_days: float, keep_per_source: int, max_per_source: int,
    ) -> int:
        """Forget seen items older than `keep_days`, inside the caller's transaction, except each
        source's `keep_per_source` newest ones, and all but its `max_per_source` newest; returns how
        many rows went."""
        seen_cutoff = to_iso(now - timedelta(days=keep_days))
        removed = 0
        for (source,) in conn.execute("SELECT DISTINCT source FROM seen").fetchall():
            floor = conn.execute(
                "SELECT first_seen FROM seen WHERE source = ? ORDER BY first_seen DESC LIMIT 1 OFFSET ?",
                (source, max(keep_per_source, 1) - 1),
            ).fetchone()
            if floor is not None:
                cutoff = min(seen_cutoff, str(floor[0]))
                removed += conn.execute("DELETE FROM seen WHERE source = ? AND first_seen < ?",
                                        (source, cutoff)).rowcount
            # Rows of one fetch share their time: the cap is kept by key order within the oldest kept.
            removed += conn.execute(
                """DELETE FROM seen WHERE source = ?1 AND key NOT IN (SELECT key FROM seen WHERE source = ?1
                   ORDER BY first_seen DESC, key LIMIT ?2)""", (source, max(max_per_source, keep_per_source, 1)),
            ).rowcount
        return removed
