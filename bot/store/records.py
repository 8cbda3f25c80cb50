"""Records returned by the state store, and their conversion from database rows."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.store.db import from_iso
from bot.urls import display_url


@dataclass(frozen=True, slots=True)
class SourceState:
    """What is remembered about fetching one source."""

    name: str
    url: str | None
    etag: str | None
    last_modified: str | None
    last_attempt: datetime | None
    last_success: datetime | None
    consecutive_errors: int
    last_error: str | None
    items_seen: int
    disabled: bool
    paused: bool
    next_fetch_after: datetime | None
    failure_notified: bool

    def next_fetch(self, interval: float) -> datetime | None:
        """When the source is due again: `interval` seconds after its last attempt, or later when a
        failure pushed it back; None when it was never tried (due at once)."""
        if self.last_attempt is None:
            return self.next_fetch_after
        when = self.last_attempt + timedelta(seconds=interval)
        return max(when, self.next_fetch_after) if self.next_fetch_after is not None else when


@dataclass(frozen=True, slots=True)
class Event:
    """One announcement (watch, kind, milestone, within two weeks), however many items reported it."""

    id: int
    watch: str
    kind: str
    milestone: str
    first_seen: datetime
    published: datetime | None
    title: str
    url: str
    source: str
    evidence: str
    reports: int
    alerted: bool
    waiting: bool = False
    """Reported once, too unsurely to alert: it alerts when a second report comes, within its two weeks."""


@dataclass(frozen=True, slots=True)
class Subscriber:
    """A Telegram chat that receives alerts, and what it wants to hear about."""

    chat_id: int
    chat_type: str
    title: str
    active: bool
    kinds: frozenset[str]
    watches: frozenset[str] | None
    since: datetime


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """An alert waiting to be delivered to one chat."""

    id: int
    chat_id: int
    event_id: int
    created: datetime
    attempts: int


@dataclass(frozen=True, slots=True)
class Unchanged:
    """A source that answered 304 Not Modified, for State.record_unchanged."""

    name: str
    etag: str | None = None
    last_modified: str | None = None
    new_url: str | None = None


@dataclass(frozen=True, slots=True)
class FindingResult:
    """What recording a finding did: the event it belongs to, whether it is new, whether it alerted
    (a new event, or a waiting one this report confirmed), rows queued."""

    event: Event
    new_event: bool
    alerted: bool
    queued: int


SOURCE_COLS = (
    "name, url, etag, last_modified, last_attempt, last_success, consecutive_errors, last_error, "
    "items_seen, disabled, paused, next_fetch_after, failure_notified"
)
EVENT_COLS = (
    "e.id, e.watch, e.kind, e.milestone, e.first_seen, e.published, e.title, e.url, e.source, "
    "e.evidence, (SELECT COUNT(*) FROM reports r WHERE r.event_id = e.id), e.alerted, e.waiting"
)
SUB_COLS = "chat_id, chat_type, title, active, kinds, watches, since"


def source_from_row(row: Sequence[object] | None, name: str) -> SourceState:
    """A sources row (SOURCE_COLS) as a record; defaults when there is no row."""
    if row is None:
        return SourceState(name, None, None, None, None, None, 0, None, 0, False, False, None, False)
    return SourceState(
        name=str(row[0]),
        url=row[1] if isinstance(row[1], str) else None,
        etag=row[2] if isinstance(row[2], str) else None,
        last_modified=row[3] if isinstance(row[3], str) else None,
        last_attempt=from_iso(row[4] if isinstance(row[4], str) else None),
        last_success=from_iso(row[5] if isinstance(row[5], str) else None),
        consecutive_errors=int(str(row[6])),
        # shown to people: never a URL's credentials, also in rows written before errors were masked
        last_error=display_url(row[7]) if isinstance(row[7], str) else None,
        items_seen=int(str(row[8])),
        disabled=bool(row[9]),
        paused=bool(row[10]),
        next_fetch_after=from_iso(row[11] if isinstance(row[11], str) else None),
        failure_notified=bool(row[12]),
    )


def event_from_row(row: tuple[object, ...]) -> Event:
    """An events row (EVENT_COLS) as a record."""
    first_seen = from_iso(str(row[4]))
    assert first_seen is not None
    return Event(
        id=int(str(row[0])),
        watch=str(row[1]),
        kind=str(row[2]),
        milestone=str(row[3]),
        first_seen=first_seen,
        published=from_iso(row[5] if isinstance(row[5], str) else None),
        title=str(row[6]),
        url=str(row[7]),
        source=str(row[8]),
        evidence=str(row[9]),
        reports=int(str(row[10])),
        alerted=bool(row[11]),
        waiting=bool(row[12]),
    )


def split_ids(text: str) -> frozenset[str]:
    """A stored comma list as a set."""
    return frozenset(part for part in text.split(",") if part)


def subscriber_from_row(row: tuple[object, ...]) -> Subscriber:
    """A subscribers row (SUB_COLS) as a record."""
    since = from_iso(str(row[6]))
    assert since is not None
    return Subscriber(
        chat_id=int(str(row[0])),
        chat_type=str(row[1]),
        title=str(row[2]),
        active=bool(row[3]),
        kinds=split_ids(str(row[4])),
        watches=None if row[5] is None else split_ids(str(row[5])),
        since=since,
    )


def join_ids(values: Iterable[str], what: str) -> str:
    """Store a set of ids as a sorted comma list; ids may not contain commas."""
    cleaned = sorted({v.strip() for v in values if v.strip()})
    for value in cleaned:
        if "," in value:
            raise ValueError(f"{what} id may not contain a comma: {value!r}")
    return ",".join(cleaned)


def wants(sub: Subscriber, kind: str, watch: str) -> bool:
    """Whether a subscriber's preferences take alerts of this kind for this watch."""
    return kind in sub.kinds and (sub.watches is None or watch in sub.watches)
