"""Console mode: the console as a recipient of alerts, printed in plain text and counted as sent."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Sequence
from typing import TextIO

from bot.messages import format_alert, format_alert_plain
from bot.models import Config, utcnow
from bot.pipeline import Finding
from bot.store.events import shown
from bot.store.pause import StatePause
from bot.store.store import OutboxMessage, State

log = logging.getLogger("newsbot")


def render_alert(config: Config, state: State, event_id: int) -> str | None:
    """The HTML alert for an event (None if the event is gone)."""
    event = state.event(event_id)
    if event is None:
        return None
    return format_alert(event, watch_label(config, event.watch))


def watch_label(config: Config, watch_id: str) -> str:
    """How an alert names a watch: "<title> season <n>"."""
    watch = next((w for w in config.watches if w.id == watch_id), None)
    return f"{watch.title} season {watch.season}" if watch else watch_id


CONSOLE_CHAT = 0  # the console's place in the outbox; Telegram never uses chat id 0


class ConsoleSender:
    """Console mode's sender: prints the console's queued alerts and marks them sent, as the Telegram
    sender does for chats, so that `status`, the cycle line and metrics count them alike."""

    def __init__(self, state: State, config: Callable[[], Config], out: TextIO | None = None) -> None:
        self.state = state
        self.config = config
        self.out = out
        self.findings: dict[int, Finding] = {}  # this process's findings, for their source and confidence
        self.pause = StatePause("printing alerts")  # while the state refuses writes

    def subscribe(self) -> None:
        """Makes the console a recipient of new alerts (its preferences: everything)."""
        self.state.subscribe(CONSOLE_CHAT, "console", "console", now=utcnow())

    def remember(self, findings: Sequence[Finding]) -> None:
        """Keeps alerted findings until they are printed."""
        self.findings.update((f.event.id, f) for f in findings if f.alerted)

    def _due(self) -> list[OutboxMessage]:
        return self.state.pending(now=utcnow(), limit=100_000, chat_id=CONSOLE_CHAT)

    def flush(self) -> int:
        """Prints every alert waiting for the console; returns how many.

        While the state cannot be written (a full disk), printing pauses (StatePause: one log line,
        a growing retry delay); an alert printed but not marked sent is marked when the state can be
        written again, never printed twice.
        """
        out = self.out or sys.stdout
        sent = 0
        if self.pause or not self.pause.record_delivered(lambda row_id: self.state.mark_sent(row_id, now=utcnow())):
            return 0
        for row in self._due():
            event = self.state.event(row.event_id)
            if event is None:
                if not self.pause.write(self.state.mark_failed, row.id, error="the event is gone", now=utcnow()):
                    return sent
                continue
            found = self.findings.pop(row.event_id, None)
            if found is not None and shown(found.item, found.source)[:2] != (event.title, event.url):
                found = None  # a confirmed event shows its most confident report, with that one's source
            decision = found.decision if found else None
            out.write(format_alert_plain(event, watch_label(self.config(), event.watch),
                                         source=found.source if found else "",
                                         evidence=decision.evidence if decision else None,
                                         confidence=decision.confidence if decision else None) + "\n\n")
            out.flush()
            sent += 1
            if not self.pause.write(self.state.mark_sent, row.id, now=utcnow()):
                self.pause.delivered.add(row.id)
                return sent
        return sent

    def mark_printed(self, event_ids: set[int]) -> None:
        """Marks the console's rows for alerts `scan` printed itself as sent."""
        for row in self._due():
            if row.event_id in event_ids:
                self.state.mark_sent(row.id, now=utcnow())


