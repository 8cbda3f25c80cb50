"""Parsing and judging fetched bodies in a worker process, so a large cycle uses a second core.

The event loop's own work (HTTP, state) and parsing + detection then run side by side instead of
taking turns on one core. The worker parses a body and classifies every item; the caller keeps the
decisions of the items its state has not seen. Small cycles (a daemon's usual tick) stay in a
thread of the calling process: starting a process costs more than it saves there.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Coroutine, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from typing import Any

from bot.detect.rules import Detector
from bot.models import Decision, Item, Source, Watch
from bot.parse.feed import ParseError, parse_source, parse_source_undated
from bot.store.db import SeenKey, item_key
from bot.urls import canonical_url

log = logging.getLogger(__name__)
_LOCAL_BACKLOG = 16  # bodies waiting before this process's own thread helps (its loop needs the core too)
# Bodies go to a worker in batches of up to _BATCH while a backlog waits, two batches per worker:
# one being parsed, the next already queued. Each hand-over costs both processes CPU, and the next
# batch must be sent by a busy loop before the worker finishes the current one: with batches of 4
# (8 ms of work) a worker sat idle a third of a large cycle, waiting; with 8 it rarely does.
_BATCH = 8
_IN_FLIGHT = 2 * _BATCH  # bodies on their way to or in each worker


@dataclass(frozen=True, slots=True)
class Parsed:
    """A body's items, or, when they were judged in a worker, only what the caller needs of them.

    Parsed in a thread: `items` holds every item and `decisions` is None (the caller judges the
    new ones). Judged in a worker: `keys` holds every item's (key, canonical URL), all the state
    records of an item nobody is told about (most items), and `items`, `decisions` and
    `positions` only the items whose decision matters (an alert or an article to fetch), with
    their places in `keys`. Crossing between processes, a pair costs far less than an item.
    """

    items: list[Item]
    decisions: list[Decision] | None
    cpu: float
    keys: list[SeenKey] | None = None
    positions: list[int] | None = None

    @property
    def count(self) -> int:
        """How many items the body held."""
        return len(self.items) if self.keys is None else len(self.keys)


class _WorkerDetector:
    """The detector of a worker process, built once per process by the pool's initializer."""

    detector: Detector | None = None


def _start_worker(watches: tuple[Watch, ...], parent: int) -> None:
    # Ctrl-C or a service stop signals the whole process group; the daemon stops its workers itself
    # (or they end with it), so a worker must not die under the bodies it was handed.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    _WorkerDetector.detector = Detector(watches)
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()


def _exit_with_parent(parent: int) -> None:
    """Ends the worker once the loop's process is gone (killed), instead of waiting for work forever."""
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(0)


def _ready() -> bool:
    return _WorkerDetector.detector is not None


def _with_canonical(item: Item) -> Item:
    """The item with its canonical URL, which the state compares across sources (feed items come
    with it; items read from a page with selectors get it here)."""
    return replace(item, canonical_url=canonical_url(item.url)) if item.url and not item.canonical_url else item


def parse_and_judge(detector: Detector | None, source: Source, body: bytes, url: str,
                    content_type: str) -> Parsed:
    """Parse, then classify every item if a detector is given (else the caller judges what is new).

    Judged here, only the items kept (an alert or an article to fetch) have their dates read:
    detection does not look at them, and reading them was a tenth of the cost of a feed.
    """
    t0 = time.thread_time()
    if detector is None:
        items = [_with_canonical(item) for item in parse_source(source, body, url, content_type=content_type)]
        return Parsed(items, None, time.thread_time() - t0)
    undated = parse_source_undated(source, body, url, content_type=content_type)
    items = [_with_canonical(item) for item in undated.items]
    kept: list[Item] = []
    decisions: list[Decision] = []
    positions: list[int] = []
    for i, item in enumerate(items):
        decision = detector.classify(item)
        if decision.alert or decision.needs_article:
            kept.append(_with_canonical(undated.dated(i)))
            decisions.append(decision)
            positions.append(i)
    keys = [(item_key(item), item.canonical_url) for item in items]
    return Parsed(kept, decisions, time.thread_time() - t0, keys, positions)


def _parse_all(detector: Detector | None, batch: list[tuple[Source, bytes, str, str]],
               portable: bool = False) -> list[Parsed | Exception]:
    """Parses and judges a batch of bodies; a body's error comes back in its place. `portable`: an
    error other than ParseError comes back as a RuntimeError naming it, which any process can unpickle."""
    out: list[Parsed | Exception] = []
    for args in batch:
        try:
            out.append(parse_and_judge(detector, *args))
        except ParseError as exc:
            out.append(exc)
        except Exception as exc:  # noqa: BLE001 - a bug with one body: its source reports it, the others go on
            out.append(RuntimeError(f"{type(exc).__name__}: {exc}") if portable else exc)
    return out


def _in_worker(batch: list[tuple[Source, bytes, str, str]]) -> list[Parsed | Exception]:
    return _parse_all(_WorkerDetector.detector, batch, portable=True)


@dataclass(frozen=True, slots=True)
class _Job:
    """One body waiting to be parsed, and the future its source awaits."""

    done: asyncio.Future[Parsed]
    args: tuple[Source, bytes, str, str]
    detector: Detector


def _settle(job: _Job, result: Parsed | Exception) -> None:
    """Hands a body's result (or its error) to the source waiting for it, unless it gave up."""
    if job.done.done():
        return
    if isinstance(result, Exception):
        job.done.set_exception(result)
    else:
        job.done.set_result(result)


class ParsePool:
    """A worker process (or a few) for the parsing and detection of large cycles.

    Started on first use and again whenever the watches change (each worker holds a detector
    built from them). Bodies wait in one queue; each worker has a few in flight (so it never
    waits for the loop to send the next; with a backlog they go a few at a time, which cuts what
    handing them over costs), and while a backlog waits, a thread of this process
    takes bodies too, so both cores stay busy whichever side is slower. A pool that breaks (a
    worker killed) is replaced; the body is then parsed in a thread, so no source is lost to it.
    """

    def __init__(self, processes: int) -> None:
        self._processes = max(1, processes)
        self._pool: ProcessPoolExecutor | None = None
        self._watches: tuple[Watch, ...] | None = None
        self._pending: deque[_Job] = deque()
        self._in_workers = 0  # bodies sent to the workers and not back yet
        self._local_busy = False  # a body is being parsed in this process's thread
        self._running: set[asyncio.Task[None]] = set()
        self.counts = {"worker": 0, "here": 0}  # bodies parsed on each side, for the figures

    def start(self, watches: Sequence[Watch]) -> None:
        """Makes sure workers for these watches are starting (they warm up while fetches are in flight)."""
        watches = tuple(watches)
        if self._pool is not None and watches == self._watches:
            return
        self.close()
        # spawn: a fresh interpreter, not a fork of a process that runs threads and an event loop
        context = multiprocessing.get_context("spawn")
        self._pool = ProcessPoolExecutor(self._processes, mp_context=context,
                                         initializer=_start_worker, initargs=(watches, os.getpid()))
        self._watches = watches
        for _ in range(self._processes):
            self._pool.submit(_ready)

    async def ready(self) -> None:
        """Waits until every worker has started (built its detector); at once when none run."""
        if self._pool is None:
            return
        loop = asyncio.get_running_loop()
        await asyncio.gather(*(loop.run_in_executor(self._pool, _ready) for _ in range(self._processes)))

    @property
    def running(self) -> bool:
        """True while worker processes are up (or starting)."""
        return self._pool is not None

    def pids(self) -> list[int]:
        """The worker processes' ids (for status and tests)."""
        return [] if self._pool is None else list(self._pool._processes or {})

    async def parse(self, source: Source, body: bytes, url: str, content_type: str,
                    detector: Detector) -> Parsed:
        """Parses and judges one body, in a worker or (with `detector`) in a thread of this process.

        ParseError comes back as raised where the body was parsed.
        """
        if self._pool is None:
            return await asyncio.to_thread(parse_and_judge, detector, source, body, url, content_type)
        job = _Job(asyncio.get_running_loop().create_future(), (source, body, url, content_type), detector)
        self._pending.append(job)
        self._dispatch()
        return await job.done

    def _dispatch(self) -> None:
        """Hands waiting bodies to the workers first (a batch once there is room for it), then to this
        process's thread if it is free."""
        while self._pending:
            size = min(_BATCH, len(self._pending))
            if self._in_workers + size <= _IN_FLIGHT * self._processes:
                batch = [self._pending.popleft() for _ in range(size)]
                self._in_workers += size
                self.counts["worker"] += size
                self._spawn(self._run_batch(batch))
            elif not self._local_busy and len(self._pending) >= _LOCAL_BACKLOG and self._local_share_left():
                self._local_busy = True
                self.counts["here"] += 1
                self._spawn(self._run_here(self._pending.popleft()))
            else:
                return

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(work)
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    def _local_share_left(self) -> bool:
        """True while this process has parsed less than a third as many bodies as the workers.

        The loop itself (HTTP, state) needs most of this process's core; a third keeps both sides
        about equally busy on two cores (bench/scan.py).
        """
        return self.counts["here"] * 3 < self.counts["worker"] * self._processes

    async def _run_batch(self, batch: list[_Job]) -> None:
        live = [job for job in batch if not job.done.cancelled()]
        try:
            try:
                results = await self._in_pool(live) if live else []
            except asyncio.CancelledError:
                for job in live:
                    job.done.cancel()
                raise
            except Exception as exc:  # noqa: BLE001 - handed to the waiting sources, which record it
                results = [exc] * len(live)
            for job, result in zip(live, results, strict=True):
                _settle(job, result)
        finally:
            self._in_workers -= len(batch)
            self._dispatch()

    async def _run_here(self, job: _Job) -> None:
        try:
            if not job.done.cancelled():
                _settle(job, (await asyncio.to_thread(_parse_all, job.detector, [job.args]))[0])
        finally:
            self._local_busy = False
            self._dispatch()

    async def _in_pool(self, batch: list[_Job]) -> list[Parsed | Exception]:
        pool = self._pool
        try:
            if pool is None:
                raise BrokenProcessPool("the workers were stopped")
            return await asyncio.get_running_loop().run_in_executor(pool, _in_worker, [job.args for job in batch])
        except BrokenProcessPool:
            if pool is not None and pool is self._pool:  # the first source to see it restarts the workers
                log.warning("a parse worker stopped; restarting the workers")
                watches = self._watches or ()
                self.close()
                self.start(watches)
            return await asyncio.to_thread(_parse_all, batch[0].detector, [job.args for job in batch])

    def close(self) -> None:
        """Stops the workers once the bodies already handed to them are done (without waiting here);
        bodies still queued here are then parsed in a thread."""
        if self._pool is not None:
            self._pool.shutdown(wait=False)
            self._pool = None
            self._watches = None
