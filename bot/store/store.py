"""newsbot's memory: per-source fetch state, seen items, events, subscribers and the outbox (SQLite).

A `Store` owns one connection to `<state_dir>/newsbot.db` (bot.store.db: WAL, synchronous=NORMAL)
and composes three repositories that share it: sources and their seen items (bot.store.sources),
events (bot.store.events), and chats with their outbox (bot.store.chats). Every write is one
`BEGIN IMMEDIATE` transaction that commits at once, so recording what a fetch brought (items seen,
events folded or created, outbox rows queued, the fetch's success) is all-or-nothing even if the
process is killed.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from types import TracebackType

from bot.models import Decision, Item
from bot.store.chats import ChatRepo
from bot.store.db import Db, SeenKey, StateError, item_key
from bot.store.events import EventRepo, check_finding
from bot.store.records import Event, FindingResult, OutboxMessage, SourceState, Subscriber, Unchanged
from bot.store.sources import SourceRepo

__all__ = [
    "DB_NAME",
    "Event",
    "FindingResult",
    "OutboxMessage",
    "SeenKey",
    "SourceState",
    "State",
    "StateError",
    "Store",
    "Subscriber",
    "Unchanged",
    "item_key",
]

log = logging.getLogger("newsbot.store")

DB_NAME = "newsbot.db"
_KEEP_PER_SOURCE = 1000  # prune never forgets a source's newest keys, however old
# Bounds on what one source may leave in the state (a feed that changes its ids on every fetch
# would otherwise add a feed's worth of rows every time):
MAX_NEW_PER_FETCH = 200  # new items recorded per fetch; the rest count as new again next time
MAX_SEEN_PER_SOURCE = 5000  # seen rows per source after a prune, however recent
MAX_REPORTS_PER_EVENT = 100  # reports per event after a prune (the newest; /status counts them)


class Store:
    """The SQLite-backed store; one per process, used from one event loop (guarded by a lock).

    Its repositories are `sources`, `event_log` and `chats`; the methods callers use are bound here
    too, so `store.subscribe(...)` is `store.chats.subscribe(...)`.
    """

    def __init__(self, db: Db) -> None:
        self.db = db
        self.path = db.path
        self.sources = sources = SourceRepo(db)
        self.event_log = event_log = EventRepo(db)
        self.chats = chats = ChatRepo(db)
        # sources and their seen items
        self.flags_token = sources.flags_token
        self.source_state = sources.source_state
        self.source_states = sources.source_states
        self.states_of = sources.states_of
        self.record_fetch_error = sources.record_fetch_error
        self.record_unchanged = sources.record_unchanged
        self.set_failure_notified = sources.set_failure_notified
        self.set_paused = sources.set_paused
        self.set_disabled = sources.set_disabled
        self.forget_source = sources.forget_source
        self.has_history = sources.has_history
        self.unseen = sources.unseen
        # events
        self.seed_known = event_log.seed_known
        self.events = event_log.events
        self.latest_events = event_log.latest_events
        self.waiting_events = event_log.waiting
        self.event = event_log.event
        # chats, the outbox, cycle figures
        self.subscribe = chats.subscribe
        self.unsubscribe = chats.unsubscribe
        self.deactivate = chats.deactivate
        self.subscriber = chats.subscriber
        self.subscribers = chats.subscribers
        self.set_preferences = chats.set_preferences
        self.pending = chats.pending
        self.mark_sent = chats.mark_sent
        self.mark_retry = chats.mark_retry
        self.mark_failed = chats.mark_failed
        self.outbox_size = chats.outbox_size
        self.record_cycle = chats.record_cycle
        self.last_cycle = chats.last_cycle
        self.cycles_since = chats.cycles_since
        # the database itself
        self.integrity_ok = db.integrity_ok
        self.close = db.close

    @classmethod
    def open(cls, state_dir: Path, *, verify: bool = False) -> Store:
        """Create the state dir if needed, open the database (creating it only where none exists)
        and migrate its schema; `verify` also runs PRAGMA quick_check (see Db.open)."""
        state_dir = Path(state_dir)
        state_dir.mkdir(parents=True, exist_ok=True)
        return cls(Db.open(state_dir / DB_NAME, verify=verify))

    @classmethod
    def open_read_only(cls, state_dir: Path, *, verify: bool = False) -> Store:
        """The state opened for reading only (`status`, `sources list`): see Db.open_read_only."""
        return cls(Db.open_read_only(Path(state_dir) / DB_NAME, verify=verify))

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.db.close()

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
    ) -> list[FindingResult]:
        """Everything a fetched (200) source brought, in one transaction: all of it or nothing.

        Plain items are marked seen, at most MAX_NEW_PER_FETCH with the findings (the rest are
        dropped with a log line). Each (item, decision, alert) finding is marked seen and folded into
        its event, or makes a new event, which with `alert` queues one outbox row per active
        subscriber who wants it (an event waiting for a second report queues them when that report
        comes). The fetch counts as a success (validators replaced as given, errors reset).
        Returns one FindingResult per finding, in order.
        """
        for _item, decision, _alert in findings:
            check_finding(decision)
        room = max(MAX_NEW_PER_FETCH - len(findings), 0)
        if len(items_seen) > room:
            log.warning("source %r: %d new items in one fetch, more than %d: %d left unrecorded (new again "
                        "next fetch)", source, len(items_seen) + len(findings), MAX_NEW_PER_FETCH,
                        len(items_seen) - room)
            items_seen = items_seen[:room]
        with self.db.tx() as conn:
            seen = [*items_seen, *(f[0] for f in findings)]
            added = self.sources.mark_seen_in(conn, source, seen, now)
            results = [self._finding_in(conn, source, item, d, now, alert) for item, d, alert in findings]
            self.sources.fetched_in(conn, source, now, etag, last_modified, new_url, added)
        return results

    def _finding_in(
        self, conn: sqlite3.Connection, source: str, item: Item, decision: Decision, now: datetime, alert: bool
    ) -> FindingResult:
        event_id, new, alerted = self.event_log.record_in(conn, source, item, decision, now, alert)
        event = self.event_log.event_in(conn, event_id)
        assert event is not None
        queued = 0
        if alerted:  # the event's kind: a report may be read as another kind than detection's first
            queued = self.chats.queue_in(conn, event_id, event.kind, event.watch, now)
        return FindingResult(event=event, new_event=new, alerted=alerted, queued=queued)

    def counts(self) -> dict[str, int]:
        """Headline figures for status pages and metrics."""
        return {
            **self.chats.counts(),
            "events": self.event_log.count(),
            "items_seen": self.db.count("SELECT SUM(items_seen) FROM sources"),
        }

    def prune(
        self,
        now: datetime,
        keep_days: float = 180,
        outbox_days: float = 30,
        keep_per_source: int = _KEEP_PER_SOURCE,
        max_per_source: int = MAX_SEEN_PER_SOURCE,
        reports_per_event: int = MAX_REPORTS_PER_EVENT,
    ) -> dict[str, int]:
        """Forget old seen items, delivered or abandoned alerts, cycle figures and an event's
        reports beyond its newest `reports_per_event`, in one transaction; returns rows removed per table.

        A source's `keep_per_source` newest keys are always kept, so a page that lists old items
        for years does not bring them back as new, and never more than `max_per_source`, however
        recent. Events are never forgotten.
        """
        with self.db.tx() as conn:
            seen = self.sources.prune_in(conn, now, keep_days, keep_per_source, max_per_source)
            reports = self.event_log.prune_in(conn, reports_per_event)
            return {"seen": seen, "reports": reports, **self.chats.prune_in(conn, now, outbox_days)}


State = Store
"""The name callers use for the store."""
