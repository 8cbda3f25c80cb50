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
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace

from bot.detect import Detector
from bot.models import Decision, Item, Source, Watch
from bot.parse import parse_source
from bot.urls import canonical_url

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Parsed:
    """A body's items, with one decision per item when they were judged in a worker.

    A decision of None means no alert and nothing to fetch (most items): only decisions that
    matter cross back from the worker.
    """

    items: list[Item]
    decisions: list[Decision | None] | None
    cpu: float


class _WorkerDetector:
    """The detector of a worker process, built once per process by the pool's initializer."""

    detector: Detector | None = None


def _start_worker(watches: tuple[Watch, ...]) -> None:
    _WorkerDetector.detector = Detector(watches)


def _ready() -> bool:
    return _WorkerDetector.detector is not None


def _parse_for_state(source: Source, body: bytes, url: str, content_type: str) -> list[Item]:
    """The body's items with their canonical URLs, which the state compares across sources."""
    items = parse_source(source, body, url, content_type=content_type)
    return [replace(item, canonical_url=canonical_url(item.url)) if item.url else item for item in items]


def _parse_and_judge(source: Source, body: bytes, url: str, content_type: str) -> Parsed:
    """Runs in the worker: parse, then classify every item."""
    t0 = time.process_time()
    items = _parse_for_state(source, body, url, content_type)
    detector = _WorkerDetector.detector
    decisions = None if detector is None else [_worth_sending(detector.classify(item)) for item in items]
    return Parsed(items, decisions, time.process_time() - t0)


def _worth_sending(decision: Decision) -> Decision | None:
    return decision if decision.alert or decision.needs_article else None


def parse_here(source: Source, body: bytes, url: str, content_type: str) -> Parsed:
    """Parses in the calling process (run in a thread); detection is left to the caller."""
    t0 = time.thread_time()
    items = _parse_for_state(source, body, url, content_type)
    return Parsed(items, None, time.thread_time() - t0)


class ParsePool:
    """A worker process (or a few) for the parsing and detection of large cycles.

    Started on first use and again whenever the watches change (each worker holds a detector
    built from them). A pool that breaks (a worker killed) is replaced; the body is then parsed
    in a thread, so no source is lost to it.
    """

    def __init__(self, processes: int) -> None:
        self._processes = max(1, processes)
        self._pool: ProcessPoolExecutor | None = None
        self._watches: tuple[Watch, ...] | None = None

    def start(self, watches: Sequence[Watch]) -> None:
        """Makes sure workers for these watches are starting (they warm up while fetches are in flight)."""
        watches = tuple(watches)
        if self._pool is not None and watches == self._watches:
            return
        self.close()
        context = multiprocessing.get_context("forkserver")
        self._pool = ProcessPoolExecutor(self._processes, mp_context=context,
                                         initializer=_start_worker, initargs=(watches,))
        self._watches = watches
        for _ in range(self._processes):
            self._pool.submit(_ready)

    @property
    def running(self) -> bool:
        """True while worker processes are up (or starting)."""
        return self._pool is not None

    def pids(self) -> list[int]:
        """The worker processes' ids (for status and tests)."""
        return [] if self._pool is None else list(self._pool._processes or {})

    async def parse(self, source: Source, body: bytes, url: str, content_type: str) -> Parsed:
        """Parses and judges one body in a worker; ParseError comes back as raised there."""
        pool = self._pool
        if pool is None:
            return await asyncio.to_thread(parse_here, source, body, url, content_type)
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(pool, _parse_and_judge, source, body, url, content_type)
        except BrokenProcessPool:
            if pool is self._pool:  # the first source to see it restarts the workers
                log.warning("a parse worker stopped; restarting the workers")
                watches = self._watches or ()
                self.close()
                self.start(watches)
            return await asyncio.to_thread(parse_here, source, body, url, content_type)

    def close(self) -> None:
        """Stops the workers (without waiting for a task in flight)."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
            self._watches = None
