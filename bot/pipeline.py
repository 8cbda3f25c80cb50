"""One pass over the due sources: fetch, parse, unseen, detect, record. The one module that wires the stages.

Fetches run concurrently on the event loop; parsing a body and judging its new items run in a
thread (`asyncio.to_thread`), so a large feed never stalls the loop that answers Telegram.
"""

from __future__ import annotations

import asyncio
import logging
import random
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Literal

from bot.detect import Detector
from bot.fetch.client import Fetcher, FetchResult, backoff_delay, jittered
from bot.models import Config, Decision, Item, Source, utcnow
from bot.parse.feed import ParseError, article_text, parse_source
from bot.store.store import Event, SourceState, State, Unchanged
from bot.urls import canonical_url, display_url

log = logging.getLogger("newsbot.pipeline")

Status = Literal["fetched", "unchanged", "failed"]


@dataclass(frozen=True, slots=True)
class Finding:
    """An item that detection judged an announcement, as recorded in the state."""

    source: str
    item: Item
    decision: Decision
    event: Event
    new_event: bool
    alerted: bool
    queued: int


@dataclass(frozen=True, slots=True)
class SourceOutcome:
    """What happened to one source in one cycle."""

    source: str
    status: Status
    items: int = 0
    new_items: int = 0
    findings: tuple[Finding, ...] = ()
    error: str | None = None
    operator_message: str | None = None
    # CPU of parsing the body and judging its new items (in a thread) plus this source's own work on
    # the loop, awaits excluded
    cpu_seconds: float = 0.0
    bytes_received: int = 0
    elapsed: float = 0.0


@dataclass(slots=True)
class CycleResult:
    """The outcomes of one cycle and its counts, for the cycle log line and the state."""

    outcomes: list[SourceOutcome] = field(default_factory=list)
    started: datetime = field(default_factory=utcnow)
    elapsed: float = 0.0

    @property
    def findings(self) -> list[Finding]:
        """Every source's findings, in the order of the outcomes."""
        return [f for o in self.outcomes for f in o.findings]

    def stats(self) -> dict[str, int | float]:
        """The cycle's counts, as logged and stored for /stats."""
        by = [o.status for o in self.outcomes]
        return {
            "sources": len(self.outcomes),
            "fetched": by.count("fetched"),
            "unchanged": by.count("unchanged"),
            "failed": by.count("failed"),
            "items": sum(o.new_items for o in self.outcomes),
            "findings": len(self.findings),
            "new_events": sum(1 for f in self.findings if f.new_event),
            "alerts_queued": sum(f.queued for f in self.findings),
            "elapsed": round(self.elapsed, 3),
        }


class Batch:
    """What sources started together share: the article fetches left, and (for `Pipeline.cycle`) the
    304s to record in one transaction; `unchanged` is None when each is recorded as it comes."""

    def __init__(self, article_budget: int, *, group_unchanged: bool = True) -> None:
        self.left = article_budget
        self.unchanged: list[Unchanged] | None = [] if group_unchanged else None

    def take(self) -> bool:
        """Takes one article fetch from the budget, if any is left."""
        if self.left <= 0:
            return False
        self.left -= 1
        return True


def _parse(source: Source, result: FetchResult) -> tuple[list[Item], float]:
    """A fetched body's items, each with its canonical URL (which the state compares across
    sources), and the CPU seconds the parse took. Runs in a worker thread."""
    t0 = time.thread_time()
    items = [replace(item, canonical_url=canonical_url(item.url)) if item.url and not item.canonical_url
             else item for item in parse_source(source, result.body, result.final_url,
                                                content_type=result.content_type)]
    return items, time.thread_time() - t0


def _judge(detector: Detector, items: list[Item]) -> tuple[list[tuple[Item, Decision]], float]:
    """Each item with what detection says of it, and the CPU seconds it took. Runs in a worker thread."""
    t0 = time.thread_time()
    judged = [(item, detector.classify(item)) for item in items]
    return judged, time.thread_time() - t0


class Pipeline:
    """Runs sources through fetch → parse → unseen → detect → state, deciding when each source is due."""

    def __init__(self, config: Config, state: State, fetcher: Fetcher, *,
                 clock: Callable[[], datetime] = utcnow, rng: random.Random | None = None) -> None:
        self.state = state
        self.fetcher = fetcher
        self.clock = clock
        self.rng = rng or random.Random()
        self._next_due: dict[str, datetime] = {}
        self._flags_token: tuple[int, int] | None = None
        self._held: frozenset[str] = frozenset()  # paused or disabled in the state
        self.outage = StateOutage()  # while the state refuses writes: one line, sources backed off
        self.config = config
        self.detector = Detector(config.watches, sure=config.settings.sure_confidence)

    def update_config(self, config: Config) -> None:
        """Switches to a new configuration (reload) without losing per-source schedules."""
        if (config.watches, config.settings.sure_confidence) != (self.config.watches,
                                                                   self.config.settings.sure_confidence):
            # building a detector compiles every cue: only when needed
            self.detector = Detector(config.watches, sure=config.settings.sure_confidence)
        self.config = config
        names = {s.name for s in config.sources}
        self._next_due = {k: v for k, v in self._next_due.items() if k in names}

    def seed(self) -> None:
        """Records the watches' known events, so they show in /status and never alert."""
        for watch in self.config.watches:
            self.state.seed_known(watch, now=self.clock())

    def active_sources(self) -> list[Source]:
        """Sources that are neither paused (in the file or in the state) nor disabled."""
        held = self._held_back()
        return [s for s in self.config.sources if not s.paused and s.name not in held]

    def _held_back(self) -> frozenset[str]:
        """Names paused or disabled in the state, re-read only when the state says flags may have moved."""
        token = self.state.flags_token()
        if token != self._flags_token:
            states = self.state.source_states()
            self._held = frozenset(name for name, st in states.items() if st.paused or st.disabled)
            self._flags_token = token
        return self._held

    def due(self, now: datetime) -> list[Source]:
        """Active sources whose (jittered) interval and any backoff have elapsed.

        The schedule lives in memory; the state is read only for sources not scheduled yet
        (first tick, new sources) and when a pause or disable may have happened.
        """
        sources = self.active_sources()
        missing = [s for s in sources if s.name not in self._next_due]
        if missing:
            states = self.state.source_states()
            for source in missing:
                self._next_due[source.name] = self._initial_due(source, states.get(source.name))
        return [s for s in sources if self._next_due[s.name] <= now]

    def _initial_due(self, source: Source, st: SourceState | None) -> datetime:
        return (st.next_fetch(source.interval) if st is not None else None) or self.clock()

    async def cycle(self, sources: Sequence[Source] | None = None, *,
                    on_done: Callable[[SourceOutcome], None] | None = None) -> CycleResult:
        """Runs the given sources (default: the due ones) concurrently and records the cycle;
        `on_done` hears of each source as it finishes (`scan`'s progress line)."""
        started = time.monotonic()
        result = CycleResult(started=self.clock())
        todo = list(sources) if sources is not None else self.due(result.started)
        shared = Batch(self.config.settings.article_fetch_budget)
        assert shared.unchanged is not None
        # One read of the sources' fetch state, not one each: every source's task takes its first
        # step before any answer is handled, so this shortens the start of a large cycle.
        states = self.state.states_of([s.name for s in todo])

        async def one(source: Source) -> SourceOutcome:
            outcome = await self._run_guarded(source, shared, states[source.name])
            if on_done is not None:
                on_done(outcome)
            return outcome

        outcomes = await asyncio.gather(*(one(s) for s in todo))
        self._record_unchanged(shared.unchanged)
        result.outcomes = list(outcomes)
        result.elapsed = time.monotonic() - started
        if todo:
            self.record_cycle(result)
        return result

    def batch(self) -> Batch:
        """A batch for sources run one by one as they come due (`run_one`): each 304 recorded at once."""
        return Batch(self.config.settings.article_fetch_budget, group_unchanged=False)

    async def run_one(self, source: Source, batch: Batch) -> SourceOutcome:
        """Runs one source on its own (the daemon's way), never raising; `batch` shares the article budget."""
        return await self._run_guarded(source, batch, None)

    def record_cycle(self, result: CycleResult) -> None:
        """Keeps a cycle's counts in the state (for `status` and /stats)."""
        try:
            self.state.record_cycle(result.stats(), now=self.clock())
        except sqlite3.Error as exc:
            log.warning("could not record the cycle's figures: %s", exc)

    def _record_unchanged(self, unchanged: list[Unchanged]) -> None:
        """Records the cycle's 304 answers in one transaction (losing them only means an earlier re-check)."""
        try:
            self.state.record_unchanged(unchanged, now=self.clock())
        except sqlite3.Error as exc:
            log.warning("could not record %d unchanged sources: %s", len(unchanged), exc)

    async def _run_guarded(self, source: Source, shared: Batch, st: SourceState | None) -> SourceOutcome:
        """Runs one source; a bug in one source's handling is recorded, never spread to the others."""
        t0 = time.monotonic()
        try:
            outcome = await self.run_source(source, shared, st)
            self.outage.succeeded()
        except sqlite3.Error as exc:
            outcome = self._state_failed(source, exc)
        except Exception as exc:  # noqa: BLE001 - one source must never stop the cycle
            log.exception("source %r: unexpected error", source.name)
            outcome = self._failed(source, f"internal error: {exc.__class__.__name__}: {exc}", None)
        return replace(outcome, elapsed=time.monotonic() - t0)

    async def run_source(self, source: Source, shared: Batch | None = None,
                         st: SourceState | None = None) -> SourceOutcome:
        """Fetches one source and records what it says (within a cycle, a 304 is recorded with the others;
        `st`: its fetch state, when the caller read it already)."""
        if st is None:
            st = self.state.source_state(source.name)
        url = st.url or source.url
        result = await self.fetcher.fetch(url, etag=st.etag, last_modified=st.last_modified,
                                          public_only=source.public_only)
        if not result.ok:
            return self._failed(source, result.error or f"HTTP {result.status}", result)
        if result.not_modified:
            self._schedule(source, None)
            done = Unchanged(source.name, result.etag, result.last_modified, result.permanent_url)
            if shared is None or shared.unchanged is None:
                self.state.record_unchanged([done], now=self.clock())
            else:
                shared.unchanged.append(done)
            return SourceOutcome(source.name, "unchanged",
                                 operator_message=self._recovered(source, st.failure_notified),
                                 bytes_received=result.bytes_received)
        return await self._fetched(source, st, result, shared or Batch(self.config.settings.article_fetch_budget))

    async def _fetched(self, source: Source, st: SourceState, result: FetchResult,
                       shared: Batch) -> SourceOutcome:
        """Parses a fetched body, judges its new items and records them (a parse error fails the source)."""
        try:
            items, parse_cpu = await asyncio.to_thread(_parse, source, result)
        except ParseError as exc:
            return self._failed(source, f"cannot parse: {exc}", result)
        # Loop-thread CPU of this source only: other sources run during any await, so awaits are left out.
        cpu0 = time.thread_time()
        new = self.state.unseen(source.name, items)
        judge_cpu = 0.0
        judged: list[tuple[Item, Decision]] = []
        if new:
            paused = time.thread_time()
            judged, judge_cpu = await asyncio.to_thread(_judge, self.detector, new)
            cpu0 += time.thread_time() - paused
        now = self.clock()
        first: bool | None = None  # a first fetch? asked only for an undated finding (it backfills)
        found: list[tuple[Item, Decision, bool]] = []
        plain: list[Item] = []
        for item, decision in judged:
            if decision.needs_article:
                paused = time.thread_time()
                decision = await self._decide_by_article(source, item, decision, shared)
                cpu0 += time.thread_time() - paused
            if decision.alert and decision.watch:
                if first is None and item.published is None:
                    first = st.items_seen == 0 and not self.state.has_history(source.name)
                found.append((item, decision, not self._stale(item, now, bool(first))))
            else:
                plain.append(item)
        recorded = self.state.record_fetched(source.name, now=now, items_seen=plain, findings=found,
                                             etag=result.etag, last_modified=result.last_modified,
                                             new_url=result.permanent_url)
        findings = tuple(Finding(source.name, item, decision, res.event, res.new_event, res.alerted, res.queued)
                         for (item, decision, _alert), res in zip(found, recorded, strict=True))
        self._schedule(source, None)
        return SourceOutcome(
            source.name, "fetched", items=len(items), new_items=len(new), findings=findings,
            operator_message=self._recovered(source, st.failure_notified),
            cpu_seconds=parse_cpu + judge_cpu + time.thread_time() - cpu0, bytes_received=result.bytes_received,
        )

    async def _decide_by_article(self, source: Source, item: Item, decision: Decision, shared: Batch) -> Decision:
        """Decides a near miss from its article page while the cycle's budget lasts (else keeps `decision`)."""
        if not decision.needs_article or not item.url or not shared.take():
            return decision
        # A third-party feed's links stay on public addresses unless private ones are allowed.
        private_ok = (source.allow_private or self.config.settings.allow_private) and not source.public_only
        page = await self.fetcher.fetch(item.url, public_only=not private_ok)
        if not page.ok or not page.body:
            log.info("article %s: %s", item.url, page.error or "empty")
            return decision
        text = await asyncio.to_thread(article_text, page.body, page.final_url,
                                       content_type=page.content_type)
        return self.detector.classify_article(item, text)

    def _stale(self, item: Item, now: datetime, first_fetch: bool) -> bool:
        """True for items that must be recorded without alerting (backfill and late re-reports)."""
        window = timedelta(days=self.config.settings.backfill_days)
        if item.published is None:
            return first_fetch
        return item.published < now - window

    def _state_failed(self, source: Source, exc: sqlite3.Error) -> SourceOutcome:
        """A source whose outcome the state could not take: tried again after the outage's delay (the
        state is not written, as it cannot be), with one log line per outage."""
        delay = self.outage.failed(exc)
        self._schedule(source, self.clock() + timedelta(seconds=delay))
        return SourceOutcome(source.name, "failed", error=f"state not written: {exc}")

    def _failed(self, source: Source, error: str, result: FetchResult | None) -> SourceOutcome:
        settings = self.config.settings
        error = display_url(error)  # recorded and shown to all: never a URL's credentials
        now = self.clock()
        prev = self.state.source_state(source.name)
        delay = backoff_delay(prev.consecutive_errors + 1, source.interval, settings.max_backoff_seconds)
        if result is not None and result.retry_after:
            delay = max(delay, min(result.retry_after, settings.max_backoff_seconds))
        gone = result is not None and result.gone
        st = self.state.record_fetch_error(source.name, now=now, error=error,
                                           next_fetch_after=now + timedelta(seconds=delay), disable=gone)
        self._schedule(source, st.next_fetch_after)
        log.warning("source %r failed (%d in a row): %s", source.name, st.consecutive_errors, error)
        message = None
        if gone:
            message = f"Source {source.name} is gone (HTTP 410) and has been disabled: {display_url(source.url)}"
        elif st.consecutive_errors >= settings.failure_alert_threshold and not st.failure_notified:
            self.state.set_failure_notified(source.name, True)
            message = f"Source {source.name} has failed {st.consecutive_errors} times in a row: {error}"
        return SourceOutcome(source.name, "failed", error=error, operator_message=message,
                             bytes_received=result.bytes_received if result else 0)

    def _recovered(self, source: Source, was_notified: bool) -> str | None:
        if not was_notified:
            return None
        self.state.set_failure_notified(source.name, False)
        return f"Source {source.name} has recovered."

    def _schedule(self, source: Source, not_before: datetime | None) -> None:
        when = self.clock() + timedelta(seconds=jittered(source.interval, self.rng))
        if not_before is not None:
            when = max(when, not_before)
        self._next_due[source.name] = when



class StateOutage:
    """The state refusing writes (a full disk, a read-only file): said once when it starts and once when
    it ends. A source that meets it waits as long as the outage has lasted (5 s to 5 minutes), so that
    retries thin out the way a doubling backoff would, whatever the number of sources."""

    FIRST, MAX = 5.0, 300.0

    def __init__(self) -> None:
        self.error: str | None = None
        self._since = 0.0

    def failed(self, exc: sqlite3.Error) -> float:
        """Records a refused write; returns how long the source waits before it is fetched again."""
        if self.error is None:
            self.error = str(exc) or type(exc).__name__
            self._since = time.monotonic()
            log.error("cannot write the state (%s): sources wait %.0f s to %.0f min between tries until it can",
                      self.error, self.FIRST, self.MAX / 60)
        return min(max(self.FIRST, time.monotonic() - self._since), self.MAX)

    def succeeded(self) -> None:
        """A source's outcome was recorded: the outage is over."""
        if self.error is not None:
            log.warning("the state can be written again: sources are fetched as usual")
            self.error = None
