"""`newsbot run`, the long-running process: fetches each source as it comes due, runs the Telegram bot
(or prints alerts on the console), reloads, and stops cleanly."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.config import ConfigError, load_config
from bot.console import CONSOLE_CHAT, ConsoleSender, render_alert
from bot.fetch.client import Fetcher
from bot.logs import setup_logging
from bot.messages import counted, stopping_text
from bot.models import Config, Source, utcnow
from bot.pipeline import Batch, CycleResult, Pipeline, SourceOutcome
from bot.store.lock import InstanceLock, StateFiles
from bot.store.store import State
from bot.telegram import DEFAULT_API_URL

if TYPE_CHECKING:  # python-telegram-bot and prometheus_client load only when a token or a port asks for them
    from apscheduler.schedulers.asyncio import AsyncIOScheduler  # `run` only: `scan` never loads it

    from bot.metrics import Metrics
    from bot.telegram.bot import BotApp, Sender

log = logging.getLogger("newsbot")

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


@dataclass(slots=True)
class _Round:
    """The sources that came due at one tick: each is fetched on its own, and the cycle line is
    written when the last of them ends."""

    batch: Batch
    left: int
    result: CycleResult = field(default_factory=CycleResult)
    started: float = field(default_factory=time.monotonic)
    sent: int = 0
    cut_short: int = 0  # fetches the stop cancelled: counted among the round's sources


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
        watches, sources = len(self.config.watches), len(self.config.sources)
        log.info("newsbot started: %s, %s, state in %s", counted(watches, "watch", "watches"),
                 counted(sources, "source"), self.opts.state_dir)

    async def _run_telegram(self) -> None:
        """Runs the bot until the daemon stops, retrying while the Bot API cannot be reached; sources
        are fetched meanwhile and alerts wait in the outbox."""
        from telegram.error import TelegramError

        from bot.telegram.bot import api_failure, polling

        delay = 5.0
        while not self.stopping.is_set():
            try:
                async with polling(self._build_app()) as app:
                    self.app, self.sender = app, self._new_sender(app)
                    log.info("connected to the Telegram Bot API")
                    await self._telegram_done.wait()
                return
            except TelegramError as exc:
                problem, refused = api_failure(exc, self.opts.token, self.opts.api_url)
                if refused:
                    log.error("%s: stopping", problem)
                    self.exit_code = 2
                    self.stopping.set()
                    return
                log.warning("%s; alerts wait in the outbox, retrying in %.0fs", problem, delay)
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
        fetched = False
        try:
            outcome = await self.pipeline.run_one(source, round_.batch)
            fetched = True
            self.in_flight.discard(source.name)
            round_.result.outcomes.append(outcome)
            round_.sent += await self._after_source(outcome)
        except asyncio.CancelledError:
            round_.cut_short += 0 if fetched else 1  # its outcome, once fetched, is counted already
            raise
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
        sent, cut = round_.sent, round_.cut_short
        stats["sources"] += cut
        log.info("cycle: %d sources, %d fetched, %d unchanged, %d failed%s, %d new items, %d findings, "
                 "%d alerts queued, %d sent, %.2fs", stats["sources"], stats["fetched"], stats["unchanged"],
                 stats["failed"], f", {cut} cut short by the stop" if cut else "", stats["items"], stats["findings"],
                 stats["alerts_queued"], sent, stats["elapsed"],
                 extra={"fields": {"event": "cycle", **stats, "sent": sent, "cut_short": cut}})
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
