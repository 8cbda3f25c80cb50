"""The event loop every `newsbot` command runs on: uvloop where it is installed, else asyncio's own.

A fetch cycle spends a large share of its time in the loop itself (sockets, callbacks, timers);
uvloop does that work in C. `NEWSBOT_EVENT_LOOP=asyncio` picks asyncio's loop, to rule uvloop out
when chasing a problem.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop constructor, or None for asyncio's default (not installed, or not wanted)."""
    if os.environ.get("NEWSBOT_EVENT_LOOP", "").strip().lower() == "asyncio":
        return None
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def loop_name() -> str:
    """What `run` would use, for start-up logs and benchmark reports."""
    return "asyncio" if loop_factory() is None else "uvloop"


def run(main: Coroutine[Any, Any, T]) -> T:
    """Runs `main` to completion on a new loop (see the module docstring), as asyncio.run does."""
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        return runner.run(main)
