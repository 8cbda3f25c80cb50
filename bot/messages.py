"""Texts the bot sends: alerts and command replies in Telegram HTML, plus a plain form for the console.

Every string that comes from outside (headlines, source names, URLs, evidence, titles) is escaped.
Messages are built line by line and no tag spans two lines, which is what `split_message` relies on.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Literal

from bot.models import KIND_LABELS, KINDS, Source, Watch, confidence_text
from bot.parse.text import shorten, strip_tags
from bot.store.db import headline_key
from bot.store.store import Event, SourceState

TELEGRAM_LIMIT = 4096
# What a message shows of an event's fields (escaped, a headline can grow fivefold): together they
# keep an alert within one Telegram message, and a /status line short, whatever the source sent.
SHOWN = {"title": 200, "source": 100, "evidence": 200, "href": 1024}
KIND_ICONS: dict[str, str] = {"renewal": "📣", "trailer": "🎬", "release_date": "📅", "production": "🎥"}

HELP_TEXT = (
    "<b>newsbot</b> tells you when the next season of a watched show is renewed, gets a trailer "
    "or a release date, or reaches a production milestone. Speculation articles are ignored.\n"
    "\n"
    "/start — subscribe this chat and see what is known now\n"
    "/stop — unsubscribe\n"
    "/status — what is known for each watched show\n"
    "/latest [n] — the most recent findings\n"
    "/sources — the news sources and their health\n"
    "/settings — choose which kinds of news and which shows you get\n"
    "/subscribe @channel — send alerts to a channel you administer\n"
    "/unsubscribe @channel — stop a channel's alerts\n"
    "/help — this text"
)
ADMIN_HELP_TEXT = (
    "Operator commands: /addsource URL [name], /removesource NAME, /pause NAME, /resume NAME, "
    "/stats, /health"
)
HINT_TEXT = "I only understand commands. Send /help to see them, or /start to subscribe."


def esc(text: object) -> str:
    """Escape any text for Telegram HTML."""
    return html.escape(str(text), quote=False)


def kind_label(kind: str) -> str:
    """Human name of a kind of news."""
    return KIND_LABELS.get(kind, kind.replace("_", " ").capitalize())


def event_date(event: Event) -> str:
    """The date an event happened: its publication date if known, else when it was first seen."""
    when: datetime = event.published or event.first_seen
    return when.strftime("%Y-%m-%d")


def _milestone_suffix(event: Event) -> str:
    if not event.milestone or event.milestone == event.kind:
        return ""
    return f" ({event.milestone.replace('_', ' ')})"


def kind_text(event: Event) -> str:
    """An event's kind, and its milestone when that says more ("Trailer (teaser)", "Renewal")."""
    return kind_label(event.kind) + _milestone_suffix(event)


def _link(url: str, text: str) -> str:
    """An HTML link when the URL is http(s) (and not over-long), else just the escaped text."""
    text = shorten(text, SHOWN["title"])
    href = html.escape(url, quote=True)
    if url.startswith(("http://", "https://")) and len(href) <= SHOWN["href"]:
        return f'<a href="{href}">{esc(text)}</a>'
    return esc(text)


def format_alert(event: Event, watch_title: str) -> str:
    """An alert about a new event, in Telegram HTML."""
    icon = KIND_ICONS.get(event.kind, "🔔")
    lines = [
        f"{icon} <b>{esc(kind_label(event.kind))}{esc(_milestone_suffix(event))}: {esc(watch_title)}</b>",
        _link(event.url, event.title or event.url or "(no headline)"),
        f"Source: {esc(shorten(event.source or 'unknown', SHOWN['source']))} · {event_date(event)}",
    ]
    if event.evidence and not is_headline(event.evidence, event.title):
        lines.append(f"<i>Why: {esc(shorten(event.evidence, SHOWN['evidence']))}</i>")
    return "\n".join(lines)


CONSOLE_RULE = "─" * 60


def format_alert_plain(event: Event, watch_title: str, *, source: str = "", evidence: str | None = None,
                       confidence: float | None = None) -> str:
    """An alert as plain text for the console, opened by a rule so that alerts stand apart.

    It names the configured `source` (else the event's publisher), the time in the local zone, and
    why it alerted: the deciding phrase (`evidence`, when it is not just the headline) and the confidence.
    Each field is capped as in a Telegram alert (SHOWN), so one alert stays a few lines.
    """
    when = (event.published or event.first_seen).astimezone()
    zone = when.tzname() or when.strftime("UTC%z")
    lines = [
        CONSOLE_RULE,
        f"[{kind_label(event.kind)}{_milestone_suffix(event)}] {watch_title}",
        shorten(event.title, SHOWN["title"]) or "(no headline)",
    ]
    if event.url:
        lines.append(shorten(event.url, SHOWN["href"]))
    lines.append(f"{'Published' if event.published else 'Found'} {when:%Y-%m-%d %H:%M} {zone}"
                 f" · Source: {shorten(source or event.source or 'unknown', SHOWN['source'])}")
    why = _why(event, shorten(event.evidence if evidence is None else evidence, SHOWN["evidence"]), confidence)
    lines.append(f"Why: {why}")
    return "\n".join(lines)


def is_headline(evidence: str, title: str) -> bool:
    """Whether the deciding phrase is the headline itself, or its start cut short (an alert does not
    give the headline again as its own reason)."""
    said, head = headline_key(evidence), headline_key(title)
    return said == head or (len(said) >= 100 and head.startswith(said.removesuffix("…").rstrip()))


def _why(event: Event, evidence: str, confidence: float | None) -> str:
    """The deciding phrase and the confidence; the headline is not repeated as its own reason."""
    said = " ".join(evidence.split())
    parts = []
    if said and not is_headline(said, event.title):
        parts.append(f"“{said}”")
    else:
        parts.append(f"the headline reads as {kind_label(event.kind).lower()} news")
    if confidence is not None:
        parts.append(f"confidence {confidence_text(confidence)}")
    return ", ".join(parts)


def _event_line(event: Event) -> str:
    headline = _link(event.url, event.title) if event.title else ""
    source = f" — {esc(shorten(event.source, SHOWN['source']))}" if event.source else ""
    tail = f": {headline}" if headline else ""
    return f"{esc(kind_label(event.kind))}{esc(_milestone_suffix(event))}, {event_date(event)}{source}{tail}"


def format_known(watches: Sequence[Watch], latest: Mapping[str, Mapping[str, Event]]) -> str:
    """For each watch, the latest known event of each kind (or "no news yet"); the /start reply body."""
    blocks: list[str] = []
    for watch in watches:
        lines = [f"<b>{esc(watch.title)} — season {watch.season}</b>"]
        per_kind = latest.get(watch.id, {})
        for kind in KINDS:
            event = per_kind.get(kind)
            lines.append(f"• {_event_line(event)}" if event else f"• {esc(kind_label(kind))}: no news yet")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) if blocks else "No shows are watched yet."


def format_start(subscribed: bool, known: str) -> str:
    """The /start reply: whether the chat was subscribed, then what is known now."""
    head = ("Subscribed. You will get an alert when there is real news." if subscribed
            else "This chat is already subscribed.")
    return f"{head}\n\n{known}\n\nSend /settings to choose what you get, /help for more."


def format_status(watches: Sequence[Watch], events: Mapping[str, Sequence[Event]]) -> str:
    """Per watch: every known event with its date and how many outlets reported it."""
    blocks: list[str] = []
    for watch in watches:
        lines = [f"<b>{esc(watch.title)} — season {watch.season}</b>"]
        found = events.get(watch.id, ())
        if not found:
            lines.append("• no news yet")
        for event in found:
            lines.append(f"• {_event_line(event)} ({_reported(event)})")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) if blocks else "No shows are watched yet."


def _reported(event: Event) -> str:
    """How many outlets reported an event; a configured event nobody reported yet is just "known"."""
    if event.reports == 0:
        return "known"
    return counted(event.reports, "outlet")


def format_latest(events: Sequence[Event], titles: Mapping[str, str]) -> str:
    """The most recent findings, newest first."""
    if not events:
        return "Nothing found yet."
    lines = ["<b>Latest findings</b>"]
    for event in events:
        lines.append(f"• {esc(titles.get(event.watch, event.watch))}: {_event_line(event)}")
    return "\n".join(lines)


HealthKey = Literal["disabled", "paused", "not_fetched", "failing", "ok"]


def health_key(source: Source, state: SourceState | None) -> HealthKey:
    """The one rule for a source's health, which every report words in its own way."""
    if state is not None and state.disabled:
        return "disabled"
    if source.paused or (state is not None and state.paused):
        return "paused"
    if state is None or state.last_attempt is None:
        return "not_fetched"
    return "failing" if state.consecutive_errors else "ok"


def _health(source: Source, state: SourceState | None) -> str:
    key = health_key(source, state)
    if state is None or key in ("not_fetched", "paused"):
        return {"not_fetched": "not fetched yet"}.get(key, key)
    if key == "disabled":
        return f"disabled ({state.last_error or 'gone'})"
    if key == "failing":
        return f"failing ×{state.consecutive_errors}: {state.last_error or 'error'}"
    when = state.last_success.strftime("%Y-%m-%d %H:%M UTC") if state.last_success else "never"
    return f"ok, last success {when}"


def format_sources(sources: Sequence[Source], states: Mapping[str, SourceState]) -> str:
    """Source names with their health."""
    if not sources:
        return "No sources are configured."
    lines = [f"<b>Sources ({len(sources)})</b>"]
    for source in sources:
        health = _health(source, states.get(source.name))
        lines.append(f"• {esc(source.name)}: {esc(health)}")
    return "\n".join(lines)


def format_stats(counts: Mapping[str, int],
                 last_cycle: tuple[datetime, Mapping[str, int | float]] | None,
                 last_hour: Mapping[str, int | float] | None = None) -> str:
    """Operator statistics: state counts, the last fetch round and the last hour's rounds added up
    (sources are fetched as they come due: one round may hold a single source)."""
    lines = ["<b>Stats</b>"]
    lines.extend(f"• {esc(key)}: {value}" for key, value in sorted(counts.items()))
    if last_cycle is not None:
        when, stats = last_cycle
        lines.append(f"<b>Last cycle</b> {when.strftime('%Y-%m-%d %H:%M:%S UTC')}")
        lines.extend(f"• {esc(key)}: {value:g}" for key, value in sorted(stats.items()))
    if last_hour and last_hour.get("rounds"):
        lines.append("<b>Last hour</b>")
        lines.extend(f"• {esc(key)}: {value:g}" for key, value in sorted(last_hour.items()))
    return "\n".join(lines)


def plain_text(text: str) -> str:
    """The plain text of a Telegram HTML message, line by line (for when Telegram refuses its HTML)."""
    return "\n".join(strip_tags(line) for line in text.split("\n"))


def _hard_split(line: str, limit: int) -> Iterable[str]:
    """Split one over-long line: drop its tags and cut the text so each escaped piece fits."""
    piece = ""
    for char in strip_tags(line):
        escaped = esc(char)
        if len(piece) + len(escaped) > limit:
            yield piece
            piece = ""
        piece += escaped
    if piece:
        yield piece


def split_message(text: str, limit: int = TELEGRAM_LIMIT) -> list[str]:
    """Split a message into parts of at most `limit` characters, only between lines when possible."""
    if len(text) <= limit:
        return [text]
    parts: list[str] = []
    current = ""
    for line in text.split("\n"):
        pieces = [line] if len(line) <= limit else list(_hard_split(line, limit))
        for piece in pieces:
            candidate = f"{current}\n{piece}" if current else piece
            if len(candidate) <= limit:
                current = candidate
                continue
            if current.strip():
                parts.append(current)
            current = piece
    if current.strip():
        parts.append(current)
    return parts


def counted(count: float, one: str, many: str = "") -> str:
    """A count with its noun: "1 source", "3 sources", "2 watches" (`many` when not `one` + "s")."""
    return f"{count:g} {one if count == 1 else many or one + 's'}"


def scan_summary(stats: Mapping[str, int | float], alerts: int) -> str:
    """`scan`'s closing line: what was fetched, unchanged and failed, new items and alerts."""
    return (f"scan: {counted(stats['sources'], 'source')}: {stats['fetched']:g} fetched, {stats['unchanged']:g} "
            f"unchanged, {stats['failed']:g} failed; {counted(stats['items'], 'new item')}, "
            f"{counted(alerts, 'alert')} "
            f"({stats['elapsed']:.1f} s)")


def stopping_text(fetches: int, grace: float) -> str:
    """What the daemon says when asked to stop, with the fetches it waits for."""
    if not fetches:
        return "stopping"
    return f"stopping (waiting up to {grace:g} s for {counted(fetches, 'fetch', 'fetches')})"
