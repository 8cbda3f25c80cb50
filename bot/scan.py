"""`newsbot scan`: one pass over every source now, its findings printed, its alerts sent or printed."""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from bot.console import CONSOLE_CHAT, ConsoleSender, render_alert
from bot.fetch.client import Fetcher
from bot.logs import setup_logging
from bot.messages import scan_summary
from bot.models import Config, Source
from bot.pipeline import CycleResult, Finding, Pipeline, SourceOutcome
from bot.store.lock import InstanceLock
from bot.store.store import State
from bot.telegram import DEFAULT_API_URL

if TYPE_CHECKING:  # python-telegram-bot loads only when a token asks for it
    from bot.telegram.bot import BotDeps


def print_finding(finding: Finding, out: TextIO, *, as_json: bool = False) -> None:
    """One readable line (or one JSON object) per finding."""
    # The kind is the event's: a renewal told after the season's renewal may be recorded as the date it also tells.
    item, d, event = finding.item, finding.decision, finding.event
    if as_json:
        out.write(json.dumps({
            "source": finding.source, "watch": d.watch, "kind": event.kind, "milestone": event.milestone,
            "confidence": round(d.confidence, 3), "title": item.title, "url": item.url,
            "published": item.published.isoformat() if item.published else None,
            "evidence": d.evidence, "new_event": finding.new_event, "alerted": finding.alerted,
            "waiting": finding.event.waiting, "event_id": finding.event.id,
        }, ensure_ascii=False) + "\n")
        return
    date = item.published.date().isoformat() if item.published else "undated"
    tag = ("NEW" if finding.alerted else "waiting for a second report" if finding.event.waiting
           else "known" if not finding.new_event else "recorded")
    out.write(f"[{event.kind}] {d.watch} {tag}: {item.title} ({finding.source}, {date}) {item.url}\n")


async def scan(config: Config, state_dir: Path, *, as_json: bool = False, out: TextIO | None = None,
               token: str = "", api_url: str = DEFAULT_API_URL, log_level: int = logging.ERROR) -> int:
    """One pass over every active source now; prints the findings not recorded before, then a summary
    line on stderr (with a progress line before it when stderr is a terminal).

    With a bot token, the alerts it queued (and any left from before) are sent before it exits.
    Exits 1 when no source answered or the Bot API could not be used, 2 when it refused the token,
    else 0.
    """
    out = out or sys.stdout
    delivery = 0
    setup_logging("text", log_level, secrets=(token,))
    state = State.open(state_dir)
    try:
        async with Fetcher(config.settings) as fetcher:
            pipeline = Pipeline(config, state, fetcher)
            pipeline.seed()
            sources = pipeline.active_sources()
            _warn_if_idle(config, sources)
            progress = Progress(len(sources), sys.stderr)
            result = await pipeline.cycle(sources, on_done=progress.done)
            progress.clear()
        for finding in result.findings:
            print_finding(finding, out, as_json=as_json)
        out.flush()
        failed = [o for o in result.outcomes if o.status == "failed"]
        for outcome in failed:
            print(f"newsbot: source {outcome.source!r} failed: {outcome.error}", file=sys.stderr)
        delivery = await _send_from_scan(config, state, state_dir, result, token, api_url)
    finally:
        state.close()
    none_answered = bool(result.outcomes) and len(failed) == len(result.outcomes)
    if none_answered:
        print("newsbot: no source answered", file=sys.stderr)
    print(scan_summary(result.stats(), sum(f.alerted for f in result.findings)), file=sys.stderr)
    return delivery or (1 if none_answered else 0)


async def _send_from_scan(config: Config, state: State, state_dir: Path, result: CycleResult, token: str,
                          api_url: str) -> int:
    """Sends what `scan` queued (or, without a token, marks the alerts it printed), holding the instance
    lock as `run` does; while a daemon holds it, sending is left to the daemon, in one line.

    Returns the exit code delivery asks for (0, or that of a Bot API that could not be used)."""
    lock = InstanceLock(state_dir)
    holder = lock.acquire()
    if holder:
        print(f"newsbot: {holder}: it sends the alerts; scan sent none", file=sys.stderr)
        return 0
    try:
        if token:
            state.unsubscribe(CONSOLE_CHAT)  # alerts go to Telegram: none wait for a console
            if state.outbox_size():
                return await _deliver(config, state, token, api_url)
        else:
            ConsoleSender(state, lambda: config).mark_printed({f.event.id for f in result.findings if f.alerted})
        return 0
    finally:
        lock.release()


def _warn_if_idle(config: Config, active: list[Source]) -> None:
    """Warns when `scan` has nothing to fetch, saying why."""
    if not config.sources:
        print("newsbot: warning: the sources file lists no sources; add one with `newsbot sources add URL`",
              file=sys.stderr)
    elif not active:
        print(f"newsbot: warning: all {len(config.sources)} sources are paused or disabled", file=sys.stderr)


class Progress:
    """`scan`'s progress line ("12/200 sources"), drawn only on a terminal and only once a scan
    has run for a second, redrawn at most ten times a second."""

    def __init__(self, total: int, stream: TextIO, *, after: float = 1.0) -> None:
        self.total, self.stream = total, stream
        self.count = 0
        self.shown = False
        self._tty = stream.isatty()
        self._start = time.monotonic() + after
        self._next = self._start

    def done(self, outcome: SourceOutcome) -> None:
        """Counts one finished source and redraws the line when it is time."""
        self.count += 1
        now = time.monotonic()
        if not self._tty or now < self._next:
            return
        self._next = now + 0.1
        self.stream.write(f"\r{self.count}/{self.total} sources ({outcome.source})"[:79] + "\033[K")
        self.stream.flush()
        self.shown = True

    def clear(self) -> None:
        """Removes the line before the results are printed."""
        if self.shown:
            self.stream.write("\r\033[K")
            self.stream.flush()


async def _deliver(config: Config, state: State, token: str, api_url: str) -> int:
    """Sends the outbox once through the Bot API, without polling for commands; a Bot API that
    cannot be used is one line (exit code 2 for a refused token, else 1), alerts stay in the outbox."""
    from telegram.error import TelegramError

    from bot.telegram.bot import Sender, api_failure, build_application

    app = build_application(token, base_url=api_url, deps=_no_commands(config, state),
                            per_second=config.settings.send_rate)
    try:
        async with app:
            stats = await Sender(app.bot, state, lambda e, c: render_alert(config, state, e)).flush()
    except TelegramError as exc:
        problem, refused = api_failure(exc, token, api_url)
        waiting = state.outbox_size()
        print(f"newsbot: {problem}; {waiting} alert{'s stay' if waiting != 1 else ' stays'} in the outbox",
              file=sys.stderr)
        return 2 if refused else 1
    if stats.retried:
        print(f"newsbot: {stats.retried} alert(s) could not be sent now; they stay in the outbox",
              file=sys.stderr)
    return 0


def _no_commands(config: Config, state: State) -> BotDeps:
    from bot.telegram.bot import BotDeps

    return BotDeps(state=state, config_provider=lambda: config, admins=frozenset())


