"""The store's events: one per (watch, kind, milestone) within FOLD_DAYS (a teaser and a trailer are
one), with the reports that told of it; the watches' already-known events are seeded so that reports
of them never alert."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Final

from bot.models import KINDS, Decision, Item, Watch, parse_date_prefix
from bot.store.db import TEXT_MAX, TITLE_MAX, URL_MAX, Db, bounded, from_iso, headline_key, opt_iso, to_iso
from bot.store.records import EVENT_COLS, Event, event_from_row

FOLD_DAYS: Final = 14
"""A finding folds into the latest event of its (watch, kind, milestone) when published within this
many days of that event's first report: one announcement's coverage lasts days, while a show's next
trailer or a second release-date announcement comes weeks or months later and is news again."""
ONE_VIDEO: Final = frozenset({"trailer"})
"""Kinds whose milestones fold into each other within FOLD_DAYS: the press calls one clip a teaser,
a trailer or a first look, so two of them within two weeks are one video told twice. A known (seeded)
event still absorbs only its own milestone: a known teaser leaves the next trailer news."""
ONCE: Final = frozenset({"renewal"})
"""Kinds that happen once to a season: a season is ordered once. Once its renewal is established (known,
or an event told by two headlines or more), a renewal report published more than FOLD_DAYS after it is
the order told again or the next season's: it folds into that event, however late, and alerts no one,
unless it is sure and its headline also tells of another kind, when it is read as that kind ("<title> season 2
returns in October" tells a date; a return alone, "<title> returns after three years", tells the premiere)."""

def shown(item: Item, source: str) -> tuple[str, str, str]:
    """An item's title, link and publisher as stored: cut to their bounds (an over-long link is left out)."""
    url = item.url if len(item.url) <= URL_MAX else ""
    return bounded(item.title, TITLE_MAX), url, bounded(item.publisher or source, TEXT_MAX)


def check_finding(decision: Decision) -> None:
    """Refuse a finding that names no watch or no known kind (ValueError)."""
    if not decision.watch or decision.kind not in KINDS:
        raise ValueError(f"a finding needs a watch and a known kind, got {decision.watch!r}/{decision.kind!r}")


class EventRepo:
    """Events and their reports, on the store's shared connection."""

    def __init__(self, db: Db) -> None:
        self._db = db

    def record_in(
        self, conn: sqlite3.Connection, source: str, item: Item, decision: Decision, now: datetime, alert: bool
    ) -> tuple[int, bool, bool]:
        """Fold a finding into its event or create the event, inside the caller's transaction, and
        add the item as a report of it; returns the event's id, whether it is new and whether it
        alerts now.

        A new event alerts when `alert` is set, unless the decision needs confirmation: then it waits,
        silent, for a second report (another article and another headline, within its two weeks),
        which makes it alert, as does a sure one. A waiting event shows its most confident report."""
        check_finding(decision)
        settled = self._settle_once(conn, decision, item.published or now)
        if isinstance(settled, int):
            folded: int | None = settled
        else:
            decision = settled
            folded = self._fold_target(conn, decision, item.published or now)
        if folded is None:
            waiting = alert and decision.needs_confirmation
            event_id = self._insert(conn, source, item, decision, now, alert and not waiting, waiting)
            self._add_report(conn, event_id, source, item, now)
            return event_id, True, alert and not waiting
        row = conn.execute("SELECT waiting, confidence FROM events WHERE id = ?", (folded,)).fetchone()
        waiting, confidence = bool(row[0]), float(row[1])
        added = self._add_report(conn, folded, source, item, now)
        if waiting and decision.confidence > confidence:
            title, url, publisher = shown(item, source)
            conn.execute(
                # not `published`: the event's two weeks are counted from its first report; the milestone
                # is the shown report's (a teaser's event shown by a surer trailer report is a trailer)
                """UPDATE events SET title = ?, url = ?, source = ?, evidence = ?, confidence = ?, milestone = ?
                   WHERE id = ?""",
                (title, url, publisher, bounded(decision.evidence, TEXT_MAX), decision.confidence,
                 decision.milestone or "", folded),
            )
        else:
            conn.execute(
                """UPDATE events SET title = CASE title WHEN '' THEN ? ELSE title END,
                   url = CASE url WHEN '' THEN ? ELSE url END WHERE id = ?""",
                shown(item, source)[:2] + (folded,),
            )
        confirmed = waiting and alert and added and (
            not decision.needs_confirmation or self._headlines(conn, folded) >= 2)
        if confirmed:
            conn.execute("UPDATE events SET waiting = 0, alerted = 1, ordered_at = ? WHERE id = ?",
                         (to_iso(now), folded))
        return folded, False, confirmed

    @staticmethod
    def _headlines(conn: sqlite3.Connection, event_id: int) -> int:
        """How many different headlines an event's reports have (one story syndicated under one
        headline is one report)."""
        rows = conn.execute("SELECT title FROM reports WHERE event_id = ?", (event_id,)).fetchall()
        return len({headline_key(str(r[0])) for r in rows})

    @classmethod
    def _settle_once(cls, conn: sqlite3.Connection, decision: Decision, when: datetime) -> Decision | int:
        """A finding of a ONCE kind published more than FOLD_DAYS after its established event (known,
        or told by two headlines or more: one false report must not hide the real one), and near no
        other event of its kind: that event's id, to fold into, or, when sure and telling of another
        kind in its headline, the decision read as that kind. Any other finding: the decision as it is."""
        if decision.kind not in ONCE:
            return decision
        rows = conn.execute(
            """SELECT id, seeded, waiting, COALESCE(published, first_seen) AS anchor FROM events
               WHERE watch = ? AND kind = ? ORDER BY anchor DESC, id DESC""",
            (decision.watch, decision.kind),
        ).fetchall()
        fold = timedelta(days=FOLD_DAYS)
        events = [(int(i), bool(seeded), bool(waiting), from_iso(str(anchor))) for i, seeded, waiting, anchor in rows]
        if any(not seeded and anchor is not None and abs(when - anchor) <= fold for _, seeded, _, anchor in events):
            return decision  # coverage of an order of these two weeks: folded as any report
        before = next((i for i, seeded, waiting, anchor in events if not waiting and anchor is not None
                       and when - anchor > fold and (seeded or cls._headlines(conn, i) >= 2)), None)
        if before is None:
            return decision
        if decision.needs_confirmation or decision.next_kind is None:
            return before
        return replace(decision, kind=decision.next_kind, milestone=decision.next_milestone, next_kind=None,
                       next_milestone="")

    @staticmethod
    def _fold_target(conn: sqlite3.Connection, decision: Decision, when: datetime) -> int | None:
        """The event a finding published at `when` reports: a seeded event of its (watch, kind, milestone)
        (a known event absorbs every report of it), else the one of them first reported nearest to
        `when` within FOLD_DAYS (the latest on a tie; any milestone of a ONE_VIDEO kind). Not only the
        latest: a late report of an earlier event must neither make an event of its own nor hide the
        latest from its next reports."""
        milestone = decision.milestone or ""
        rows = conn.execute(
            """SELECT id, seeded, milestone, COALESCE(published, first_seen) FROM events
               WHERE watch = ? AND kind = ? ORDER BY id DESC""",
            (decision.watch, decision.kind),
        ).fetchall()
        any_milestone = decision.kind in ONE_VIDEO
        best: tuple[timedelta, int] | None = None
        for event_id, seeded, their_milestone, anchor_text in rows:
            same = their_milestone == milestone
            if not same and (seeded or not any_milestone):
                continue
            anchor = from_iso(str(anchor_text))
            if seeded or anchor is None:
                if same:
                    return int(event_id)
                continue
            distance = abs(when - anchor)
            if distance <= timedelta(days=FOLD_DAYS) and (best is None or distance < best[0]):
                best = (distance, int(event_id))
        return None if best is None else best[1]

    @staticmethod
    def event_in(conn: sqlite3.Connection, event_id: int) -> Event | None:
        """One event by id, read on the caller's connection (inside its transaction)."""
        row = conn.execute(f"SELECT {EVENT_COLS} FROM events e WHERE id = ?", (event_id,)).fetchone()
        return None if row is None else event_from_row(tuple(row))

    @staticmethod
    def _insert(
        conn: sqlite3.Connection, source: str, item: Item, decision: Decision, now: datetime, alert: bool,
        waiting: bool,
    ) -> int:
        # An alerted or waiting event sorts by when it was found; a silent (backfilled) one by its publication.
        ordered = now
        if not alert and not waiting and item.published is not None and to_iso(item.published) < to_iso(now):
            ordered = item.published
        title, url, publisher = shown(item, source)
        cur = conn.execute(
            """INSERT INTO events (watch, kind, milestone, first_seen, published, ordered_at, title, url,
               source, evidence, alerted, waiting, confidence) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            (
                decision.watch,
                decision.kind,
                decision.milestone or "",
                to_iso(now),
                opt_iso(item.published),
                to_iso(ordered),
                title,
                url,
                publisher,
                bounded(decision.evidence, TEXT_MAX),
                int(alert),
                int(waiting),
                decision.confidence,
            ),
        )
        assert cur.lastrowid is not None
        return cur.lastrowid

    @staticmethod
    def _add_report(conn: sqlite3.Connection, event_id: int, source: str, item: Item, now: datetime) -> bool:
        """Add the item as a report of the event; False when its article is a report of it already."""
        title, url, publisher = shown(item, source)
        if url and conn.execute(
            "SELECT 1 FROM reports WHERE event_id = ? AND url = ?", (event_id, url)
        ).fetchone():
            return False  # the same article again: not a second report
        conn.execute(
            """INSERT INTO reports (event_id, feed, source, title, url, published, seen_at)
               VALUES (?, ?, ?, ?, ?, ?, ?)""",
            (event_id, source, publisher, title, url, opt_iso(item.published), to_iso(now)),
        )
        return True

    @staticmethod
    def prune_in(conn: sqlite3.Connection, per_event: int) -> int:
        """Forget each event's reports beyond its `per_event` newest, inside the caller's transaction;
        returns how many went."""
        return conn.execute(
            """DELETE FROM reports WHERE id IN (SELECT id FROM (SELECT id, ROW_NUMBER() OVER
               (PARTITION BY event_id ORDER BY seen_at DESC, id DESC) AS n FROM reports) WHERE n > ?)""",
            (max(per_event, 1),),
        ).rowcount

    def seed_known(self, watch: Watch, *, now: datetime) -> int:
        """Insert the watch's already-known events (never alerted) unless present; returns how many."""
        inserted = 0
        with self._db.tx() as conn:
            for known in watch.known:
                date = parse_date_prefix(known.date)
                key = (watch.id, known.kind, known.milestone or "")
                cur = conn.execute(
                    """INSERT INTO events (watch, kind, milestone, first_seen, published, ordered_at, title,
                       url, source, evidence, alerted, seeded)
                       SELECT ?, ?, ?, ?, ?, ?, ?, '', ?, 'known', 0, 1 WHERE NOT EXISTS
                       (SELECT 1 FROM events WHERE watch = ? AND kind = ? AND milestone = ? AND waiting = 0)""",
                    (*key, to_iso(now), opt_iso(date), to_iso(date or now), known.title, known.source, *key),
                )
                inserted += cur.rowcount
        return inserted

    def events(self, watch: str | None = None) -> list[Event]:
        """Events, newest first (found time; publication date for seeded and backfilled ones); an event
        waiting for a second report is not one yet."""
        where, params = ("AND e.watch = ?", (watch,)) if watch is not None else ("", ())
        rows = self._db.read(
            f"SELECT {EVENT_COLS} FROM events e WHERE e.waiting = 0 {where} ORDER BY e.ordered_at DESC, e.id DESC",
            params,
        )
        return [event_from_row(r) for r in rows]

    def waiting(self, watch: str, now: datetime) -> list[Event]:
        """The watch's events waiting for a second report that may still come (first reported within
        FOLD_DAYS of `now`, and not made known since), newest first: what the operator may hear of next."""
        since = to_iso(now - timedelta(days=FOLD_DAYS))
        rows = self._db.read(
            f"""SELECT {EVENT_COLS} FROM events e WHERE e.waiting = 1 AND e.watch = ?
                AND COALESCE(e.published, e.first_seen) >= ? AND NOT EXISTS (SELECT 1 FROM events k
                WHERE k.seeded = 1 AND k.watch = e.watch AND k.kind = e.kind AND k.milestone = e.milestone)
                ORDER BY e.ordered_at DESC, e.id DESC""",
            (watch, since),
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
        with self._db.lock:
            return self.event_in(self._db.conn, event_id)

    def count(self) -> int:
        """How many events there are (not counting those waiting for a second report)."""
        return self._db.count("SELECT COUNT(*) FROM events WHERE waiting = 0")
