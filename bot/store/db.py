"""The state database: its schema and migrations, the connection with its write transactions, and the
small conversions every repository of the store relies on."""

from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
import tempfile
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from bot.models import Item

SCHEMA_VERSION = 5

# The events table's columns, in version 1 and as rebuilt by version 4.
_EVENTS_COLUMNS = """\
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    watch TEXT NOT NULL,
    kind TEXT NOT NULL,
    milestone TEXT NOT NULL DEFAULT '',
    first_seen TEXT NOT NULL,
    published TEXT,
    ordered_at TEXT NOT NULL,
    title TEXT NOT NULL DEFAULT '',
    url TEXT NOT NULL DEFAULT '',
    source TEXT NOT NULL DEFAULT '',
    evidence TEXT NOT NULL DEFAULT '',
    alerted INTEGER NOT NULL DEFAULT 0,
    seeded INTEGER NOT NULL DEFAULT 0"""

_SCHEMA_V1 = f"""
CREATE TABLE sources (
    name TEXT PRIMARY KEY,
    url TEXT,
    etag TEXT,
    last_modified TEXT,
    last_attempt TEXT,
    last_success TEXT,
    consecutive_errors INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    items_seen INTEGER NOT NULL DEFAULT 0,
    disabled INTEGER NOT NULL DEFAULT 0,
    paused INTEGER NOT NULL DEFAULT 0,
    next_fetch_after TEXT,
    failure_notified INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE seen (
    source TEXT NOT NULL,
    key TEXT NOT NULL,
    url TEXT NOT NULL DEFAULT '',
    first_seen TEXT NOT NULL,
    PRIMARY KEY (source, key)
) WITHOUT ROWID;
CREATE INDEX seen_url ON seen (url);
CREATE INDEX seen_source_time ON seen (source, first_seen);
CREATE TABLE events (
{_EVENTS_COLUMNS},
    UNIQUE (watch, kind, milestone)
);
CREATE INDEX events_order ON events (ordered_at, id);
CREATE TABLE reports (
    id INTEGER PRIMARY KEY,
    event_id INTEGER NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    feed TEXT NOT NULL,
    source TEXT NOT NULL,
    title TEXT NOT NULL DEFAULT '',
    url TEXT NOT NULL DEFAULT '',
    published TEXT,
    seen_at TEXT NOT NULL
);
CREATE INDEX reports_event ON reports (event_id);
CREATE TABLE subscribers (
    chat_id INTEGER PRIMARY KEY,
    chat_type TEXT NOT NULL,
    title TEXT NOT NULL DEFAULT '',
    active INTEGER NOT NULL DEFAULT 1,
    kinds TEXT NOT NULL,
    watches TEXT,
    since TEXT NOT NULL,
    deactivated_reason TEXT
);
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    chat_id INTEGER NOT NULL REFERENCES subscribers (chat_id) ON DELETE CASCADE,
    event_id INTEGER NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    created TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt TEXT,
    sent_at TEXT,
    last_error TEXT,
    dropped_at TEXT
);
CREATE INDEX outbox_due ON outbox (id) WHERE sent_at IS NULL AND dropped_at IS NULL;
CREATE INDEX outbox_chat_due ON outbox (chat_id, id) WHERE sent_at IS NULL AND dropped_at IS NULL;
CREATE INDEX outbox_sent ON outbox (sent_at) WHERE sent_at IS NOT NULL;
CREATE TABLE cycles (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    stats TEXT NOT NULL
);
CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT
);
"""

# Version 2: "is this article already a report of this event?" is asked for every finding; with
# only reports(event_id) it read all of the event's reports, and a big story has hundreds.
_V2_REPORTS_BY_URL = """
DROP INDEX reports_event;
CREATE INDEX reports_event_url ON reports (event_id, url);
"""

# Version 3: seen (source, first_seen) served only the daily prune, which reads a source's rows
# through the primary key nearly as fast (400,000 rows: 0.50 s against 0.45 s); every item marked
# seen paid for the index, a quarter of the insert.
_V3_NO_SEEN_TIME_INDEX = """
DROP INDEX seen_source_time;
"""

# Version 4: a (watch, kind, milestone) may have several events (a second trailer months after the
# first), so the events table is rebuilt without its UNIQUE constraint (SQLite cannot drop one);
# ids are kept, so reports and the outbox still point at their events.
_V4_EVENTS_NOT_UNIQUE = f"""
CREATE TABLE events_v4 (
{_EVENTS_COLUMNS}
);
INSERT INTO events_v4 SELECT id, watch, kind, milestone, first_seen, published, ordered_at, title, url,
    source, evidence, alerted, seeded FROM events;
DROP TABLE events;
ALTER TABLE events_v4 RENAME TO events;
CREATE INDEX events_order ON events (ordered_at, id);
CREATE INDEX events_key ON events (watch, kind, milestone, id);
"""

# Version 5: an unsure alert waits for a second report of its event before it is sent (`waiting`),
# and an event shows its most confident report (`confidence`, 0 for events recorded before).
_V5_WAITING_EVENTS = """
ALTER TABLE events ADD COLUMN waiting INTEGER NOT NULL DEFAULT 0;
ALTER TABLE events ADD COLUMN confidence REAL NOT NULL DEFAULT 0;
"""

# One entry per schema version: the script that brings version N-1 to N.
MIGRATIONS: tuple[str, ...] = (_SCHEMA_V1, _V2_REPORTS_BY_URL, _V3_NO_SEEN_TIME_INDEX, _V4_EVENTS_NOT_UNIQUE,
                               _V5_WAITING_EVENTS)


class StateError(RuntimeError):
    """The state database cannot be used (not a database, or written by a newer version)."""


def configure(conn: sqlite3.Connection) -> None:
    """Set the connection-level pragmas: WAL, NORMAL sync, foreign keys, busy timeout."""
    mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
    if str(mode).lower() != "wal":
        raise StateError(f"could not switch the state database to WAL mode (got {mode!r})")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=5000")


def schema_version(conn: sqlite3.Connection) -> int:
    """The database's schema version; StateError when it is newer than this program's."""
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if version > SCHEMA_VERSION:
        raise StateError(
            f"state database has schema version {version}, newer than this program's {SCHEMA_VERSION}"
        )
    return version


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the schema up to SCHEMA_VERSION, one version per transaction; returns the version."""
    version = schema_version(conn)
    # A step may rebuild a table that others reference: foreign keys are off while it runs (SQLite
    # ignores the pragma inside a transaction).
    conn.execute("PRAGMA foreign_keys=OFF")
    try:
        return _steps(conn, version)
    finally:
        conn.execute("PRAGMA foreign_keys=ON")


def _steps(conn: sqlite3.Connection, version: int) -> int:
    """Runs the migration steps after `version`, one transaction each; returns the final version."""
    while version < SCHEMA_VERSION:
        script = MIGRATIONS[version]
        version += 1
        # executescript commits first, so the whole step is wrapped in an explicit transaction.
        try:
            conn.executescript(f"BEGIN IMMEDIATE;\n{script}\nPRAGMA user_version={version};\nCOMMIT;")
        except sqlite3.Error:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            # Another process opening the same old database may have run this step first (the
            # version was read before this step's transaction): go on from where it left the file.
            done = int(conn.execute("PRAGMA user_version").fetchone()[0])
            if done < version:
                raise
            version = done
    return version


class Db:
    """One SQLite connection that the store's repositories share: a lock around it, write
    transactions and reads. Each write transaction commits on its own (BEGIN IMMEDIATE ... COMMIT),
    so whatever one write records is all there or not there at all, even after a crash."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self.conn = conn
        self.path = path
        self.lock = threading.RLock()

    @classmethod
    def open(cls, path: Path, *, verify: bool = False) -> Db:
        """Open the database file, set its pragmas and migrate its schema; create it only where no
        file exists. An existing empty or unreadable file is refused (StateError), as is a damaged
        one when `verify` asks for PRAGMA quick_check."""
        if not path.exists():
            create(path)
        else:
            refuse_empty(path)
        db = cls._connect(path)
        return db.verified() if verify else db

    @classmethod
    def open_read_only(cls, path: Path, *, verify: bool = False) -> Db:
        """The database opened for reading only: nothing is created, migrated or written, so it works
        on a state dir this user cannot write (a service's /var/lib/newsbot) and beside a running
        daemon. SQLite needs to write the WAL index to read a WAL database; when it cannot, no writer
        can be running either, and the file is read as immutable."""
        if path.exists():
            refuse_empty(path)
        problem: sqlite3.Error | None = None
        for query in ("?mode=ro", "?mode=ro&immutable=1"):
            conn = sqlite3.connect(path.resolve().as_uri() + query, uri=True, isolation_level=None,
                                   check_same_thread=False)
            try:
                version = schema_version(conn)
                if 0 < version < SCHEMA_VERSION:
                    raise StateError(f"state database {path} has schema version {version}, older than this "
                                     f"program's {SCHEMA_VERSION}: start `newsbot run` (or `newsbot scan`) once to "
                                     "upgrade it")
                conn.execute("PRAGMA query_only=ON")
                conn.execute("PRAGMA busy_timeout=5000")
                conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
            except sqlite3.OperationalError as exc:
                conn.close()
                problem = exc
                continue
            except sqlite3.DatabaseError as exc:
                conn.close()
                raise StateError(f"cannot use state database {path}: {exc}") from None
            except StateError:
                conn.close()
                raise
            db = cls(conn, path)
            return db.verified() if verify else db
        raise StateError(f"cannot read state database {path}: {problem}")

    def verified(self) -> Db:
        """This database, after PRAGMA quick_check found it sound; else closed, and StateError."""
        problem = self.quick_check()
        if problem:
            self.close()
            raise StateError(f"state database {self.path} is damaged ({problem}); restore it from a backup")
        return self

    @classmethod
    def _connect(cls, path: Path) -> Db:
        """Connect to an existing file, set its pragmas and migrate its schema."""
        try:
            conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=rw", uri=True, isolation_level=None,
                                   check_same_thread=False)
        except sqlite3.Error as exc:
            raise StateError(f"cannot open state database {path}: {exc}") from exc
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

    def close(self) -> None:
        """Close the connection (which checkpoints the WAL)."""
        with self.lock:
            self.conn.close()

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken at once (BEGIN IMMEDIATE), committed at the block's end and
        rolled back on any error."""
        with self.lock:
            conn = self.conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:  # (an I/O error may have rolled it back already)
                    conn.execute("ROLLBACK")
                raise

    def read(self, sql: str, params: Sequence[object] | Mapping[str, object] = ()) -> list[tuple[object, ...]]:
        """All rows of one query, as tuples."""
        with self.lock:
            return [tuple(r) for r in self.conn.execute(sql, params).fetchall()]

    def count(self, sql: str, params: Sequence[object] = ()) -> int:
        """The single integer a COUNT/SUM query returns (0 for NULL)."""
        value = self.read(sql, params)[0][0]
        return int(value) if isinstance(value, int | float) else 0

    def data_version(self) -> int:
        """PRAGMA data_version: moves whenever another connection commits."""
        return self.count("PRAGMA data_version")

    def quick_check(self) -> str | None:
        """None when PRAGMA quick_check finds the file sound, else the first problem it reports."""
        try:
            rows = self.read("PRAGMA quick_check(1)")
        except sqlite3.DatabaseError as exc:
            return str(exc)
        if rows == [("ok",)]:
            return None
        text = " ".join(str(rows[0][0]).replace("*** in database main ***", "").split()) if rows else ""
        return text or "PRAGMA quick_check gave no answer"

    def integrity_ok(self) -> bool:
        """True when PRAGMA integrity_check reports "ok"."""
        try:
            rows = self.read("PRAGMA integrity_check")
        except sqlite3.DatabaseError:
            return False
        return rows == [("ok",)]


def refuse_empty(path: Path) -> None:
    """Raises StateError for an existing database file of 0 bytes: a state lost, never a new one."""
    if path.stat().st_size == 0:
        raise StateError(f"state database {path} is empty (0 bytes); refusing to start over on it: "
                         "restore it from a backup, or move it away to begin a new state")


def create(path: Path) -> None:
    """Create a new state database with the current schema, all at once: it is built beside `path`
    under a name of its own and linked into place, so that a crash never leaves an empty file where a
    state belongs, and two processes creating it at once both end up with the one that came first."""
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".new")
    os.close(fd)
    tmp = Path(name)
    try:
        conn = sqlite3.connect(tmp, isolation_level=None)
        try:
            migrate(conn)
        except sqlite3.Error as exc:
            raise StateError(f"cannot create state database {path}: {exc}") from exc
        finally:
            conn.close()
        with contextlib.suppress(FileExistsError):  # another process linked its own first: use that one
            os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def to_iso(dt: datetime) -> str:
    """A datetime as a sortable UTC ISO string (naive datetimes are taken as UTC)."""
    dt = dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)
    return dt.isoformat(timespec="microseconds")


def opt_iso(dt: datetime | None) -> str | None:
    """to_iso that lets None through."""
    return None if dt is None else to_iso(dt)


def from_iso(text: str | None) -> datetime | None:
    """Parse a stored ISO string back into an aware UTC datetime."""
    if text is None:
        return None
    dt = datetime.fromisoformat(text)
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt


# Stored field lengths: parsing already cuts items shorter (bot.parse.text), these hold whatever
# reaches the store. A key or URL over its bound is stored as its digest, so it stays distinct.
KEY_MAX = 512
URL_MAX = 2048
TITLE_MAX = 500
TEXT_MAX = 500  # source names, evidence


def bounded(text: str, limit: int) -> str:
    """Text cut to at most `limit` characters (for titles and names, which are only read by people)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def digest_over(text: str, limit: int) -> str:
    """Text as it is, or its SHA-256 when it is over `limit` (for keys and URLs the store compares)."""
    if len(text) <= limit:
        return text
    return "sha256:" + hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()


SeenKey = tuple[str, str]
"""What the state keeps of an item it has seen: its key (see `item_key`) and its canonical URL."""


def headline_key(title: str) -> str:
    """A headline as the store compares headlines: spaces collapsed and case folded (any script)."""
    return " ".join(title.split()).casefold()


def item_key(item: Item) -> str:
    """The per-source dedup key of an item: its guid, else its link as given, else its title.

    No canonicalisation is needed, so checking items already seen by their source stays cheap;
    the canonical URL is compared (across sources) only for items whose key is new.
    """
    guid = item.guid.strip()
    if guid:
        return digest_over("g:" + guid, KEY_MAX)
    url = item.url.strip()
    if url:
        return digest_over("u:" + url, KEY_MAX)
    return digest_over("t:" + headline_key(item.title), KEY_MAX)
