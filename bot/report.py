"""Health and status reports read from the state: `newsbot status` (text or JSON), `sources list
--json`, and /health and /stats in Telegram."""

from __future__ import annotations

import calendar
import json
import re
from datetime import datetime, timedelta
from pathlib import Path

from bot.messages import counted, health_key, kind_text
from bot.models import Config, Source, Watch, utcnow
from bot.store.store import Event, SourceState, State
from bot.urls import display_url

# How the figures of a cycle read in words: key -> (one, many); other keys read as their words.
_CYCLE_WORDS: dict[str, tuple[str, str]] = {
    "sources": ("source", "sources"),
    "fetched": ("fetched", "fetched"),
    "unchanged": ("unchanged", "unchanged"),
    "failed": ("failed", "failed"),
    "items": ("new item", "new items"),
    "findings": ("finding", "findings"),
    "new_events": ("new event", "new events"),
    "alerts_queued": ("alert queued", "alerts queued"),
}
_MONTH_ONLY = re.compile(r"^\s*(\d{4})-(\d{1,2})\s*$")


# -- words and units ---------------------------------------------------------------------------


def _span(seconds: float) -> str:
    """A length of time in the largest unit that fits: "12 s", "3 min", "2 h", "4 d"."""
    seconds = int(seconds)
    for size, unit in ((86400, "d"), (3600, "h"), (60, "min")):
        if seconds >= size:
            return f"{seconds // size} {unit}"
    return f"{max(seconds, 0)} s"


def _ago(when: datetime | None, now: datetime) -> str:
    return "never" if when is None else f"{_span((now - when).total_seconds())} ago"


def _elapsed(seconds: float) -> str:
    return f"{seconds:.2f} s" if seconds < 10 else f"{seconds:.0f} s"


def cycle_summary(stats: dict[str, int | float]) -> str:
    """A cycle's figures in words: "3 sources, 2 fetched, ..., 1 alert queued; elapsed 0.02 s"."""
    parts = []
    for key, value in stats.items():
        if key == "elapsed":
            continue
        one, many = _CYCLE_WORDS.get(key, (key.replace("_", " "), key.replace("_", " ")))
        parts.append(f"{value:g} {one if value == 1 else many}")
    text = ", ".join(parts)
    if "elapsed" in stats:
        text += f"; elapsed {_elapsed(float(stats['elapsed']))}"
    return text


def hour_summary(total: dict[str, int | float]) -> str:
    """The last hour's rounds added up: "12 rounds: 40 sources, 30 fetched, ..." (the daemon fetches
    each source as it comes due, so the last round alone may hold one source)."""
    rounds = int(total.get("rounds", 0))
    rest = {k: v for k, v in total.items() if k != "rounds"}
    return f"{counted(rounds, 'round')}: {cycle_summary(rest)}" if rounds else "no round"


def known_date(text: str) -> str:
    """A known event's date as written, for people: "2022-06" is "June 2022"; others stay."""
    month = _MONTH_ONLY.match(text)
    if month and 1 <= int(month.group(2)) <= 12:
        return f"{calendar.month_name[int(month.group(2))]} {month.group(1)}"
    return text.strip()


def _event_date(event: Event, watch: Watch) -> tuple[str, str]:
    """(date for people, date for JSON) of an event: a known event keeps the precision it was given."""
    for known in watch.known:
        if (known.kind, known.milestone or "") == (event.kind, event.milestone):
            return known_date(known.date), known.date.strip()
    when = (event.published or event.first_seen).date().isoformat()
    return when, when


# -- sources -----------------------------------------------------------------------------------


def next_fetch(source: Source, st: SourceState | None) -> datetime | None:
    """When the scheduler next fetches the source (± its jitter): its interval after the last
    attempt, or later when a failure pushed it back; None when it was never tried (next cycle)."""
    return st.next_fetch(source.interval) if st is not None else None


def health(source: Source, st: SourceState | None) -> str:
    """One word or two: ok, FAILING ×N, paused, DISABLED, not fetched yet (messages.health_key)."""
    key = health_key(source, st)
    if key == "failing" and st is not None:
        return f"FAILING ×{st.consecutive_errors}"
    return {"disabled": "DISABLED", "not_fetched": "not fetched yet"}.get(key, key)


def _next_words(source: Source, st: SourceState | None, now: datetime) -> str:
    if health_key(source, st) in ("disabled", "paused"):
        return "not scheduled"
    when = next_fetch(source, st)
    if when is None:
        return "next fetch at the next cycle"
    return "next fetch due now" if when <= now else f"next fetch in {_span((when - now).total_seconds())}"


def sources_health(config: Config, state: State, now: datetime) -> list[str]:
    """One line per source: name, health, last success, items seen, next fetch, last error."""
    states = state.source_states()
    lines = []
    for source in config.sources:
        st = states.get(source.name)
        state_words = health(source, st)
        if st is None:
            lines.append(f"{source.name}: {state_words}")
            continue
        line = (f"{source.name}: {state_words}, last success {_ago(st.last_success, now)}, "
                f"{counted(st.items_seen, 'item')} seen, {_next_words(source, st, now)}")
        if st.consecutive_errors and st.last_error:
            line += f"; last error: {st.last_error}"
        lines.append(line)
    return lines


def _iso(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value is not None else None


def source_json(source: Source, st: SourceState | None) -> dict[str, object]:
    """One source and its fetch state as JSON (`sources list --json`, `status --json`)."""
    return {
        "name": source.name, "url": display_url(source.url), "kind": source.kind, "interval_seconds": source.interval,
        "language": source.language or None, "health": health_key(source, st),
        "last_attempt": _iso(st.last_attempt if st else None),
        "last_success": _iso(st.last_success if st else None),
        "consecutive_errors": st.consecutive_errors if st else 0,
        "last_error": (st.last_error if st and st.consecutive_errors else None),
        "items_seen": st.items_seen if st else 0,
        "next_fetch": _iso(next_fetch(source, st)),
        "paused": source.paused or bool(st and st.paused), "disabled": bool(st and st.disabled),
        "allow_private": source.allow_private, "public_only": source.public_only,
    }


# -- the whole report --------------------------------------------------------------------------


def health_report(config: Config, state: State, now: datetime) -> str:
    """Plain-text report of the whole process: last cycle, outbox, subscribers, sources, events."""
    counts = state.counts()
    lines = []
    last = state.last_cycle()
    if last is None:
        lines.append("Last cycle: none yet")
    else:
        at, stats = last
        lines.append(f"Last cycle: {_ago(at, now)} ({at:%Y-%m-%d %H:%M:%S} UTC): {cycle_summary(stats)}")
        lines.append(f"Last hour: {hour_summary(state.cycles_since(now - timedelta(hours=1)))}")
    lines.append(f"Outbox: {counts.get('outbox_pending', 0)} pending, {counts.get('sent', 0)} sent")
    lines.append(f"Subscribers: {counts.get('subscribers_active', 0)} active of "
                 f"{counts.get('subscribers_total', 0)}")
    lines.append("")
    lines.append(f"Sources ({len(config.sources)}):")
    lines.extend(f"  {line}" for line in sources_health(config, state, now))
    for watch in config.watches:
        lines.append("")
        lines.append(f"{watch.title} season {watch.season} [{watch.id}]:")
        events = state.events(watch.id)
        if not events:
            lines.append("  no known events")
        for event in sorted(events, key=lambda e: e.published or e.first_seen):
            reports = counted(event.reports, "report") if event.reports else "known"
            lines.append(f"  {_event_date(event, watch)[0]}: {kind_text(event)}: {event.title} — {event.source}, "
                         f"{reports}")
        for event in state.waiting_events(watch.id, now):
            lines.append(f"  waiting for a second report: {kind_text(event)}: {event.title} — {event.source}")
    return "\n".join(lines)


def status_json(config: Config, state: State, now: datetime) -> dict[str, object]:
    """What `health_report` says, as one JSON object for scripts."""
    counts = state.counts()
    last = state.last_cycle()
    states = state.source_states()
    watches = []
    for watch in config.watches:
        events = sorted(state.events(watch.id), key=lambda e: e.published or e.first_seen)
        watches.append({"id": watch.id, "title": watch.title, "season": watch.season, "events": [
            {"kind": e.kind, "milestone": e.milestone, "date": _event_date(e, watch)[1], "title": e.title,
             "url": e.url or None, "source": e.source, "reports": e.reports, "alerted": e.alerted}
            for e in events], "waiting": [
            {"kind": e.kind, "milestone": e.milestone, "title": e.title, "url": e.url or None, "source": e.source}
            for e in state.waiting_events(watch.id, now)]})
    return {
        "last_cycle": None if last is None else {"at": _iso(last[0]), **last[1]},
        "last_hour": state.cycles_since(now - timedelta(hours=1)),
        "outbox": {"pending": counts.get("outbox_pending", 0), "sent": counts.get("sent", 0)},
        "subscribers": {"active": counts.get("subscribers_active", 0),
                        "total": counts.get("subscribers_total", 0)},
        "sources": [source_json(s, states.get(s.name)) for s in config.sources],
        "watches": watches,
    }


def print_status(config: Config, state_dir: Path, *, as_json: bool = False) -> int:
    """`newsbot status`: prints the report; reads only, so it works while the daemon runs and on a
    state dir this user cannot write; a damaged database is refused after PRAGMA quick_check."""
    state = State.open_read_only(state_dir, verify=True)
    try:
        if as_json:
            print(json.dumps(status_json(config, state, utcnow()), ensure_ascii=False))
        else:
            print(health_report(config, state, utcnow()))
    finally:
        state.close()
    return 0
