"""Records shared by every stage of the pipeline: what is watched, where from, and what was found."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final, Literal

Kind = Literal["renewal", "trailer", "release_date", "production"]
KINDS: tuple[Kind, ...] = ("renewal", "trailer", "release_date", "production")
KIND_LABELS: dict[str, str] = {
    "renewal": "Renewal",
    "trailer": "Trailer",
    "release_date": "Release date",
    "production": "Production",
}
MILESTONES: dict[str, tuple[str, ...]] = {
    "renewal": ("renewal",),
    "trailer": ("trailer", "teaser"),
    "release_date": ("release_date",),
    "production": ("production", "filming_start", "filming_wrap", "table_read", "cast", "delay"),
}
"""The milestones of each kind (the event within it, see Decision.milestone); a known event names one."""

SourceKind = Literal["feed", "html"]


def utcnow() -> datetime:
    """The current time, timezone-aware UTC: every stage's clock."""
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class KnownEvent:
    """An event already known when the watch is configured (seeds the state, never alerts)."""

    kind: Kind
    milestone: str
    date: str
    source: str = ""
    title: str = ""


@dataclass(frozen=True, slots=True)
class Watch:
    """A show and season to watch for announcements."""

    id: str
    title: str
    season: int
    aliases: tuple[str, ...] = ()
    known: tuple[KnownEvent, ...] = ()
    exclude: tuple[str, ...] = ()  # look-alike titles (e.g. a spin-off) that are not this watch

    @property
    def names(self) -> tuple[str, ...]:
        """The title followed by every alias."""
        return (self.title, *self.aliases)


@dataclass(frozen=True, slots=True)
class Selectors:
    """CSS selectors that turn an HTML page into items."""

    item: str
    title: str
    link: str = "a"
    summary: str = ""
    date: str = ""


@dataclass(frozen=True, slots=True)
class Source:
    """A news source: a feed, or an HTML page read with CSS selectors."""

    name: str
    url: str
    kind: SourceKind = "feed"
    interval: float = 900.0
    selectors: Selectors | None = None
    language: str = ""
    paused: bool = False
    allow_private: bool = False
    # Fetched from public addresses only, its redirects and the articles it links to as well: set
    # on sources added from Telegram, whose names may come to resolve elsewhere after the check.
    public_only: bool = False


def confidence_text(confidence: float) -> str:
    """A detection's confidence as shown to people: two decimals, at most 0.99 (a fitted probability
    is never a certainty, and 0.996 would read "1.00")."""
    return f"{min(confidence, 0.99):.2f}"


SURE_CONFIDENCE: Final = 0.85
"""From this confidence up (`settings.sure_confidence`), an alert is sent at once; a less sure one
waits for a second report of its event (another item, another headline): one speculation piece rarely
reads like news twice, while a real announcement is reported by many. Replayed leave-one-show-out over
the nine shows' histories when it was chosen (`python bench/replay.py --all --sure S`): every alert at
once (0.5) 32 false alerts and 70 of 76 events; 0.8: 9 and 67; 0.85: 3 and 67; 0.9: 3 and 63. Chosen
leave one show out too (the value with the fewest false alerts and missed events on the other eight
shows), 0.85 is the choice for every show. The current detector's figures are in bench/README.md."""


@dataclass(frozen=True, slots=True)
class Settings:
    """Process-wide knobs, from the `settings:` block of the sources file."""

    backfill_days: float = 3.0
    concurrency: int = 64  # across hosts only: per_host bounds what any one server sees
    per_host: int = 2
    connect_timeout: float = 10.0
    read_timeout: float = 20.0
    max_body_bytes: int = 5 * 1024 * 1024
    max_redirects: int = 5
    user_agent_contact: str = "https://github.com/newsbot/newsbot"
    failure_alert_threshold: int = 5
    article_fetch_budget: int = 10
    max_backoff_seconds: float = 6 * 3600.0
    allow_private: bool = False
    send_rate: int = 30
    sure_confidence: float = SURE_CONFIDENCE  # 0.5 or less: every alert at once


@dataclass(frozen=True, slots=True)
class Config:
    """A validated sources file."""

    watches: tuple[Watch, ...]
    sources: tuple[Source, ...]
    settings: Settings = field(default_factory=Settings)
    path: str = ""


@dataclass(frozen=True, slots=True)
class Item:
    """One news item as read from a source, before any judgement."""

    title: str
    summary: str = ""
    url: str = ""
    published: datetime | None = None
    language: str = ""
    guid: str = ""
    publisher: str = ""
    publisher_url: str = ""
    canonical_url: str = ""  # filled when parsed for the pipeline, so the state need not compute it


@dataclass(frozen=True, slots=True)
class Decision:
    """What detection says of one item.

    `confidence` is the probability-like score that the item is a real announcement, so sorting
    by it orders decisions from surest alert to surest non-alert. `milestone` names the event
    within its kind (e.g. "teaser" or "trailer", "filming_start" or "filming_wrap") so that
    reports of one event fold together and a new milestone of the same kind is a new event.
    `needs_article` is set for near misses and for unsure alerts read from a headline alone, which the
    article's own text could decide, and `needs_confirmation` for an alert too unsure to be sent before
    a second report of its event.
    `next_kind` and `next_milestone` are what the item is if it is not its kind (the next-scoring kind
    its headline has a cue of, if any): a renewal report after the season's renewal is such a case.
    """

    alert: bool
    kind: Kind | None = None
    watch: str | None = None
    confidence: float = 0.0
    evidence: str = ""
    milestone: str = ""
    needs_article: bool = False
    needs_confirmation: bool = False
    next_kind: Kind | None = None
    next_milestone: str = ""


DATE_PREFIX = re.compile(r"^\s*(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?\s*$")
"""A date given to the day, the month or the year: "2022-06-15", "2022-06", "2022"."""


def parse_date_prefix(text: str) -> datetime | None:
    """A date to the day, month or year (the first of the period), or an ISO date and time, as a UTC
    datetime; None when it is not one or not on the calendar. Known events' dates and `classify`'s
    `published` are read by it."""
    match = DATE_PREFIX.match(text or "")
    try:
        if match:
            year, month, day = (int(g) if g else 1 for g in match.groups())
            return datetime(year, month, day, tzinfo=UTC)
        dt = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)
