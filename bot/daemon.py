"""The long-running process: fetches each source as it comes due, runs the Telegram bot (or prints
alerts on the console), reloads, and stops cleanly."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import logging
import os
import signal
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from bot.config import ConfigError, load_config
from bot.fetch.client import Fetcher
from bot.logs import setup_logging
from bot.messages import format_alert, format_alert_plain, scan_summary, stopping_text
from bot.models import Config, Source, utcnow
from bot.pipeline import Batch, CycleResult, Finding, Pipeline, SourceOutcome
from bot.store.store import DB_NAME, OutboxMessage, State

if TYPE_CHECKING:  # python-telegram-bot and prometheus_client load only when a token or a port asks for them
    from apscheduler.schedulers.asyncio import AsyncIOScheduler  # `run` only: `scan` never loads it

    from bot.metrics import Metrics
    from bot.telegram.bot import BotApp, BotDeps, Sender

log = logging.getLogger("newsbot")

DEFAULT_API_URL = "https://api.telegram.org/bot"
SHUTDOWN_GRACE = 10.0
SEND_EVERY = 2.0
EXIT_INTERRUPTED = 130  # 128 + SIGINT
EXIT_STATE_GONE = 1
STATE_CHECK_EVERY = 2.0  # seconds between checks that the state's files are still there


@dataclass(frozen=True, slots=True)
class RunOptions:
    """Everything `newsbot run` needs, read once from flags and the environment."""

    config: Config
    sources_path: Path
    state_dir: Path
    token: str = ""
    api_url: str = DEFAULT_API_URL
    admins: frozenset[int] = frozenset()
    log_format: str = "text"
    metrics_port: int | None = None
    metrics_host: str = "127.0.0.1"
    log_level: int = logging.INFO

    @classmethod
    def from_env(cls, config: Config, sources_path: Path, state_dir: Path, **kw: Any) -> RunOptions:
        """Reads TELEGRAM_BOT_TOKEN, TELEGRAM_API_URL and NEWSBOT_ADMINS."""
        raw = [a for a in os.environ.get("NEWSBOT_ADMINS", "").replace(" ", "").split(",") if a]
        admins = frozenset(int(a) for a in raw if a.lstrip("-").isdigit())
        for bad in (a for a in raw if not a.lstrip("-").isdigit()):
            print(f"newsbot: NEWSBOT_ADMINS: {bad!r} is not a Telegram user id (a number); ignored",
                  file=sys.stderr)
        return cls(config, sources_path, state_dir, token=os.environ.get("TELEGRAM_BOT_TOKEN", "").strip(),
                   api_url=os.environ.get("TELEGRAM_API_URL", "").strip() or DEFAULT_API_URL,
                   admins=admins, **kw)


class InstanceLock:
    """An exclusive lock on the state dir, so that two daemons never share one database."""

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / "newsbot.lock"
        self._fh: TextIO | None = None

    def acquire(self) -> str | None:
        """Takes the lock; returns a message naming the holder if another process has it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fh = self.path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.seek(0)
            holder = fh.read().strip() or "unknown"
            fh.close()
            return f"another newsbot is already running on {self.path.parent} (pid {holder})"
        fh.seek(0)
        fh.truncate()
        fh.write(str(os.getpid()))
        fh.flush()
        self._fh = fh
        return None

    def release(self) -> None:
        """Lets the lock go (at a clean exit; the system drops it if the process dies)."""
        if self._fh is not None:
            fcntl.flock(self._fh.fileno(), fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None


class StateFiles:
    """The database and lock file a daemon started with, by inode: a state dir deleted or replaced
    under the running daemon is noticed, so that it stops instead of writing to files nobody sees."""

    def __init__(self, state_dir: Path) -> None:
        self.paths = (state_dir / DB_NAME, InstanceLock(state_dir).path)
        self.inodes = tuple(self._inode(p) for p in self.paths)

    @staticmethod
    def _inode(path: Path) -> int | None:
        try:
            return path.stat().st_ino
        except OSError:
            return None

    def problem(self) -> str | None:
        """What is missing or replaced since the start, in one phrase; None when all is in place."""
        for path, inode in zip(self.paths, self.inodes, strict=True):
            now = self._inode(path)
            if now is None:
                return f"{path} is gone (deleted or moved)"
            if inode is not None and now != inode:
                return f"{path} was replaced by another file"
        return None


def print_finding(finding: Finding, out: TextIO, *, as_json: bool = False) -> None:
    """One readable line (or one JSON object) per finding."""
    item, d = finding.item, finding.decision
    if as_json:
        out.write(json.dumps({
            "source": finding.source, "watch": d.watch, "kind": d.kind, "milestone": d.milestone,
            "confidence": round(d.confidence, 3), "title": item.title, "url": item.url,
            "published": item.published.isoformat() if item.published else None,
            "evidence": d.evidence, "new_event": finding.new_event, "alerted": finding.alerted,
            "event_id": finding.event.id,
        }, ensure_ascii=False) + "\n")
        return
    date = item.published.date().isoformat() if item.published else "undated"
    tag = "NEW" if finding.alerted else ("known" if not finding.new_event else "recorded")
    out.write(f"[{d.kind}] {d.watch} {tag}: {item.title} ({finding.source}, {date}) {item.url}\n")


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

    def subscribe(self) -> None:
        """Makes the console a recipient of new alerts (its preferences: everything)."""
        self.state.subscribe(CONSOLE_CHAT, "console", "console", now=utcnow())

    def remember(self, findings: Sequence[Finding]) -> None:
        """Keeps alerted findings until they are printed."""
        self.findings.update((f.event.id, f) for f in findings if f.alerted)

    def _due(self) -> list[OutboxMessage]:
        return [m for m in self.state.pending(now=utcnow(), limit=100_000) if m.chat_id == CONSOLE_CHAT]

    def flush(self) -> int:
        """Prints every alert waiting for the console; returns how many."""
        out = self.out or sys.stdout
        sent = 0
        for row in self._due():
            event = self.state.event(row.event_id)
            if event is None:
                self.state.mark_failed(row.id, error="the event is gone", now=utcnow())
                continue
            found = self.findings.pop(row.event_id, None)
            decision = found.decision if found else None
            out.write(format_alert_plain(event, watch_label(self.config(), event.watch),
                                         source=found.source if found else "",
                                         evidence=decision.evidence if decision else None,
                                         confidence=decision.confidence if decision else None) + "\n\n")
            out.flush()
            self.state.mark_sent(row.id, now=utcnow())
            sent += 1
        return sent

    def mark_printed(self, event_ids: set[int]) -> None:
        """Marks the console's rows for alerts `scan` printed itself as sent."""
        for row in self._due():
            if row.event_id in event_ids:
                self.state.mark_sent(row.id, now=utcnow())


@dataclass(slots=True)
class _Round:
    """The sources that came due at one tick: each is fetched on its own, and the cycle line is
    written when the last of them ends."""

    batch: Batch
    left: int
    result: CycleResult = field(default_factory=CycleResult)
    started: float = field(default_factory=time.monotonic)
    sent: int = 0


class Daemon:
    """Owns the process's resources from start to clean stop."""

    def __init__(self, opts: RunOptions) -> None:
        self.opts = opts
        self.config: Config = opts.config
        self.state: State = State.open(opts.state_dir, verify=True)  # a damaged file: refused
        self.fetcher: Fetcher = Fetcher(self.config.settings)
        self.pipeline: Pipeline = Pipeline(self.config, self.state, self.fetcher)
        self.stopping: asyncio.Event = asyncio.Event()
        self.tasks: set[asyncio.Task[None]] = set()  # one per source being fetched
        self.in_flight: set[str] = set()  # names of the sources being fetched
        self.console: ConsoleSender | None = None if opts.token else ConsoleSender(self.state, lambda: self.config)
        self.dns_failing: dict[str, bool] = {}  # per source: did its last fetch fail on DNS?
        self._offline_said = False
        from apscheduler.schedulers.asyncio import AsyncIOScheduler

        self.scheduler: AsyncIOScheduler = AsyncIOScheduler(timezone="UTC")
        self.app: BotApp | None = None  # set while the bot is connected
        self.sender: Sender | None = None
        self.metrics: Metrics | None = None
        self.exit_code: int = 0
        self._telegram_task: asyncio.Task[None] | None = None
        self._telegram_done = asyncio.Event()  # set when the bot may disconnect (sends are over)
        self._send_lock = asyncio.Lock()
        self._mtime: float = self._sources_mtime()
        self._reloads: set[asyncio.Task[None]] = set()  # reloads started by SIGHUP or an admin command
        self._reload_lock = asyncio.Lock()
        self.files = StateFiles(opts.state_dir)  # (after the state is open and the lock taken)

    def _sources_mtime(self) -> float:
        try:
            return self.opts.sources_path.stat().st_mtime
        except OSError:
            return 0.0

    async def start(self) -> None:
        """Seeds the state, connects the bot (in the background) and schedules the daemon's jobs."""
        self.pipeline.seed()
        if self.console is None:
            self.state.unsubscribe(CONSOLE_CHAT)  # alerts go to Telegram now, none wait for a console
            self._telegram_task = asyncio.create_task(self._run_telegram())
        else:
            self.console.subscribe()
            log.info("no TELEGRAM_BOT_TOKEN: alerts are printed on the console")
        self.scheduler.add_job(self.tick, "interval", seconds=1.0, id="tick", coalesce=True,
                               max_instances=1, misfire_grace_time=5, next_run_time=utcnow())
        self.scheduler.add_job(self.check_reload, "interval", seconds=3.0, id="reload", coalesce=True,
                               max_instances=1, misfire_grace_time=10)
        self.scheduler.add_job(self.prune, "interval", hours=24, id="prune", coalesce=True,
                               max_instances=1, misfire_grace_time=3600)
        self.scheduler.add_job(self.flush, "interval", seconds=SEND_EVERY, id="send", coalesce=True,
                               max_instances=1, misfire_grace_time=10, next_run_time=utcnow())
        self.scheduler.add_job(self.check_state_files, "interval", seconds=STATE_CHECK_EVERY, id="files",
                               coalesce=True, max_instances=1, misfire_grace_time=10)
        self.scheduler.start()
        log.info("newsbot started: %d watches, %d sources, state in %s", len(self.config.watches),
                 len(self.config.sources), self.opts.state_dir)

    async def _run_telegram(self) -> None:
        """Runs the bot until the daemon stops, retrying while the Bot API cannot be reached; sources
        are fetched meanwhile and alerts wait in the outbox."""
        from telegram.error import InvalidToken, TelegramError

        from bot.telegram.bot import polling

        delay = 5.0
        while not self.stopping.is_set():
            try:
                async with polling(self._build_app()) as app:
                    self.app, self.sender = app, self._new_sender(app)
                    log.info("connected to the Telegram Bot API")
                    await self._telegram_done.wait()
                return
            except InvalidToken as exc:
                log.error("the Bot API refused TELEGRAM_BOT_TOKEN (%s): stopping", exc)
                self.exit_code = 2
                self.stopping.set()
                return
            except TelegramError as exc:
                log.warning("cannot reach the Telegram Bot API (%s); alerts wait in the outbox, retrying in %.0fs",
                            exc, delay)
            finally:
                self.app = self.sender = None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), delay)
            delay = min(delay * 2, 300.0)

    def _new_sender(self, app: BotApp) -> Sender:
        """The outbox's sender for a connected bot; it tells the admins when the state cannot be written."""
        from bot.telegram.bot import Sender, notify_admins

        return Sender(app.bot, self.state, self.render,
                      notify=lambda text: notify_admins(app.bot, self.opts.admins, text))

    def _build_app(self) -> BotApp:
        """The Application with newsbot's commands, bound to this daemon's state and source actions."""
        from bot.report import health_report
        from bot.telegram.admin import SourceAdmin
        from bot.telegram.bot import BotDeps, build_application

        admin = SourceAdmin(self.opts.sources_path, self.state, self.fetcher, lambda: self.config, self.reload)
        deps = BotDeps(state=self.state, config_provider=lambda: self.config, admins=self.opts.admins,
                       on_add_source=admin.add, on_remove_source=admin.remove, on_pause=admin.pause,
                       on_resume=admin.resume,
                       health=lambda: health_report(self.config, self.state, utcnow()))
        return build_application(self.opts.token, base_url=self.opts.api_url, deps=deps,
                                 per_second=self.config.settings.send_rate)

    def render(self, event_id: int, chat_id: int) -> str | None:
        """The HTML alert for an outbox row (None if its event is gone)."""
        return render_alert(self.config, self.state, event_id)

    async def tick(self) -> None:
        """Starts a fetch of its own for each source that is due and not in flight already."""
        if self.stopping.is_set():
            return
        due = [s for s in self.pipeline.due(utcnow()) if s.name not in self.in_flight]
        if not due:
            return
        round_ = _Round(self.pipeline.batch(), len(due))
        for source in due:
            self.in_flight.add(source.name)
            task = asyncio.create_task(self._fetch(source, round_))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def _fetch(self, source: Source, round_: _Round) -> None:
        """Fetches one source and handles what it brought; frees the source for its next fetch at once."""
        try:
            outcome = await self.pipeline.run_one(source, round_.batch)
            self.in_flight.discard(source.name)
            round_.result.outcomes.append(outcome)
            round_.sent += await self._after_source(outcome)
        except Exception:
            log.exception("source %r: handling its outcome failed", source.name)
        finally:
            self.in_flight.discard(source.name)
            round_.left -= 1
            if round_.left == 0:
                self._end_round(round_)

    async def _after_source(self, outcome: SourceOutcome) -> int:
        """Metrics, operator messages and sending for one source's outcome; returns the alerts sent."""
        if self.metrics is not None:
            self.metrics.observe_outcome(outcome)
        if self.console is not None:
            self.console.remember(outcome.findings)
        self._check_offline(outcome)
        if outcome.operator_message:
            log.warning("operator: %s", outcome.operator_message)
            if self.app is not None:
                from bot.telegram.bot import notify_admins

                await notify_admins(self.app.bot, self.opts.admins, outcome.operator_message)
        return await self.flush() if any(f.queued for f in outcome.findings) else 0

    def _check_offline(self, outcome: SourceOutcome) -> None:
        """Says once that the machine looks offline when every active source's last fetch failed on DNS."""
        self.dns_failing[outcome.source] = (outcome.status == "failed"
                                            and (outcome.error or "").startswith("DNS lookup failed"))
        active = [s.name for s in self.pipeline.active_sources()]
        offline = bool(active) and all(self.dns_failing.get(name, False) for name in active)
        if offline and not self._offline_said:
            log.warning("no source resolved: is this machine offline?")
        self._offline_said = offline

    def _end_round(self, round_: _Round) -> None:
        """Writes the cycle line and keeps the cycle's figures, once the round's last source ended."""
        result = round_.result
        result.elapsed = time.monotonic() - round_.started
        self.pipeline.record_cycle(result)
        stats = result.stats()
        sent = round_.sent
        log.info("cycle: %d sources, %d fetched, %d unchanged, %d failed, %d new items, %d findings, "
                 "%d alerts queued, %d sent, %.2fs", stats["sources"], stats["fetched"], stats["unchanged"],
                 stats["failed"], stats["items"], stats["findings"], stats["alerts_queued"], sent,
                 stats["elapsed"], extra={"fields": {"event": "cycle", **stats, "sent": sent}})
        if self.metrics is not None and any(o.status != "failed" for o in result.outcomes):
            self.metrics.cycle_done()

    async def flush(self) -> int:
        """Sends what the outbox holds (to Telegram, or prints it on the console); returns how many
        alerts went out."""
        if self._send_lock.locked():
            return 0
        async with self._send_lock:
            if self.console is not None:
                sent, failed = self.console.flush(), 0
            elif self.sender is not None:
                stats = await self.sender.flush()
                sent, failed = stats.sent, stats.failed
            else:
                return 0
            if self.metrics is not None:
                self.metrics.observe_send(sent, failed)
            return sent

    async def check_state_files(self) -> None:
        """Stops the daemon (exit 1) when its database or lock file is gone or replaced: another `run`
        could otherwise start beside it, and nothing it records would be seen."""
        problem = self.files.problem()
        if problem and not self.stopping.is_set():
            log.error("the state is gone from under newsbot: %s; stopping", problem)
            self.exit_code = EXIT_STATE_GONE
            self.stopping.set()

    async def prune(self) -> None:
        """Keeps the database bounded over months of running: drops old seen items and sent rows."""
        removed = self.state.prune(utcnow())
        log.info("pruned the state: %s", removed)

    def reload(self, reason: str) -> None:
        """Starts re-reading the sources file (for SIGHUP and the admin commands, which cannot wait)."""
        task = asyncio.get_running_loop().create_task(self._reload(reason))
        self._reloads.add(task)
        task.add_done_callback(self._reloads.discard)

    async def _reload(self, reason: str) -> None:
        """Re-reads the sources file off the event loop; on any failure, one log line and the old
        configuration stays."""
        async with self._reload_lock:  # one at a time, so the last file read is the one that stays
            self._mtime = self._sources_mtime()
            try:
                config = await asyncio.to_thread(load_config, self.opts.sources_path)
            except ConfigError as exc:
                log.error("reload (%s) refused, keeping the running configuration: %s", reason, exc)
                return
            except Exception as exc:  # noqa: BLE001 - whatever went wrong, the running configuration stays
                log.error("reload (%s) failed, keeping the running configuration: %s: %s", reason,
                          type(exc).__name__, exc)
                return
            if self.stopping.is_set():
                return
            self.config = config
            self.pipeline.update_config(config)
            self.pipeline.seed()
            log.info("reloaded (%s): %d watches, %d sources", reason, len(config.watches), len(config.sources))

    async def check_reload(self) -> None:
        """Reloads when the sources file changed on disk (edited by hand or by the command line)."""
        if self._sources_mtime() != self._mtime:
            await self._reload("sources file changed")

    def on_signal(self, sig: int) -> None:
        """SIGTERM and SIGINT stop the daemon cleanly (SIGINT exits 130, as shells expect); a second
        SIGINT while stopping exits at once."""
        if self.stopping.is_set() and sig == signal.SIGINT:
            print("newsbot: interrupted again: exiting now", file=sys.stderr, flush=True)
            sys.stdout.flush()
            os._exit(EXIT_INTERRUPTED)
        if sig == signal.SIGINT and self.exit_code == 0:
            self.exit_code = EXIT_INTERRUPTED
        self.stopping.set()

    async def stop(self) -> None:
        """Stops scheduling and sending new messages, gives in-flight work the grace period, then closes."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SHUTDOWN_GRACE
        self.stopping.set()
        log.info("%s", stopping_text(len(self.tasks), SHUTDOWN_GRACE))
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        if self._telegram_task is not None and self.app is None:
            self._telegram_task.cancel()  # still connecting: no sender to wait for
        if self.sender is not None:
            self.sender.stop()
        pending = set(self.tasks)
        if pending:
            _, pending = await asyncio.wait(pending, timeout=SHUTDOWN_GRACE)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        if self.app is not None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(0.1, deadline - loop.time())), self._send_lock:
                    pass  # the message in flight is finished (or abandoned when the grace runs out)
        await self._disconnect_telegram()
        await self.fetcher.aclose()
        self.state.close()
        log.info("newsbot stopped")

    async def _disconnect_telegram(self) -> None:
        """Lets the bot stop polling and shut down (cut short after 5 s)."""
        task = self._telegram_task
        if task is None:
            return
        self._telegram_done.set()
        done, _ = await asyncio.wait({task}, timeout=5)
        if not done:
            task.cancel()
        for outcome in await asyncio.gather(task, return_exceptions=True):
            if isinstance(outcome, Exception):
                log.warning("the bot did not stop cleanly: %s", outcome)


async def _serve(opts: RunOptions) -> int:
    daemon = Daemon(opts)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, daemon.on_signal, sig)
    loop.add_signal_handler(signal.SIGHUP, daemon.reload, "SIGHUP")
    if opts.metrics_port is not None:
        from bot.metrics import start_metrics

        daemon.metrics = start_metrics(opts.metrics_port, opts.metrics_host, daemon.state)
    try:
        await daemon.start()
        await daemon.stopping.wait()
    finally:
        await daemon.stop()
    return daemon.exit_code


def run_daemon(opts: RunOptions) -> int:
    """`newsbot run`: holds the state lock and serves until SIGTERM or SIGINT; exits 0 on a clean stop."""
    setup_logging(opts.log_format, opts.log_level, secrets=(opts.token,))
    lock = InstanceLock(opts.state_dir)
    problem = lock.acquire()
    if problem:
        print(f"newsbot: {problem}", file=sys.stderr)
        return 2
    try:
        return asyncio.run(_serve(opts))
    finally:
        lock.release()
