"""Health and status reports read from the state: `newsbot status`, and /health and /stats in Telegram."""

from __future__ import annotations

from datetime import datetime

from bot.models import KIND_LABELS, Config, utcnow
from bot.store.store import State


def _ago(when: datetime | None, now: datetime) -> str:
    if when is None:
        return "never"
    seconds = int((now - when).total_seconds())
    for size, unit in ((86400, "d"), (3600, "h"), (60, "m")):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return f"{max(seconds, 0)}s ago"


def sources_health(config: Config, state: State, now: datetime) -> list[str]:
    """One line per source: name, health, last success, errors and items seen."""
    states = state.source_states()
    lines = []
    for source in config.sources:
        st = states.get(source.name)
        if st is None:
            lines.append(f"{source.name}: not fetched yet")
            continue
        if st.disabled:
            health = "DISABLED"
        elif st.paused or source.paused:
            health = "paused"
        elif st.consecutive_errors:
            health = f"FAILING ×{st.consecutive_errors}"
        else:
            health = "ok"
        line = f"{source.name}: {health}, last success {_ago(st.last_success, now)}, {st.items_seen} items seen"
        if st.consecutive_errors and st.last_error:
            line += f"; last error: {st.last_error}"
        lines.append(line)
    return lines


def health_report(config: Config, state: State, now: datetime) -> str:
    """Plain-text report of the whole process: last cycle, outbox, subscribers, sources, events."""
    counts = state.counts()
    lines = []
    last = state.last_cycle()
    if last is None:
        lines.append("Last cycle: none yet")
    else:
        at, stats = last
        summary = ", ".join(f"{k} {v}" for k, v in stats.items())
        lines.append(f"Last cycle: {_ago(at, now)} ({at:%Y-%m-%d %H:%M:%S} UTC): {summary}")
    lines.append(f"Outbox: {counts.get('outbox_pending', 0)} pending, {counts.get('sent', 0)} sent")
    lines.append(f"Subscribers: {counts.get('subscribers_active', 0)} active of "
                 f"{counts.get('subscribers_total', 0)}")
    lines.append("")
    lines.append(f"Sources ({len(config.sources)}):")
    lines.extend(f"  {line}" for line in sources_health(config, state, now))
    lines.append("")
    for watch in config.watches:
        lines.append(f"{watch.title} season {watch.season} [{watch.id}]:")
        events = state.events(watch.id)
        if not events:
            lines.append("  no known events")
        for event in sorted(events, key=lambda e: e.published or e.first_seen):
            when = (event.published or event.first_seen).date().isoformat()
            lines.append(f"  {when} {KIND_LABELS.get(event.kind, event.kind)} ({event.milestone}): "
                         f"{event.title} — {event.source}, {event.reports} report(s)")
    return "\n".join(lines)


def print_status(config: Config, state_dir: object) -> int:
    """`newsbot status`: prints the health report; works while the daemon runs (WAL readers). A damaged
    database is refused (StateError) after PRAGMA quick_check."""
    from pathlib import Path

    state = State.open(Path(str(state_dir)), verify=True)
    try:
        print(health_report(config, state, utcnow()))
    finally:
        state.close()
    return 0
