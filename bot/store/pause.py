"""Pausing what the state must record (alerts sent or printed) while it refuses writes."""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable

log = logging.getLogger("newsbot")

# While the state cannot be written, the work is tried again after this many seconds, doubling.
STATE_RETRY_FIRST, STATE_RETRY_MAX = 2.0, 60.0


class StatePause:
    """Work paused while the state cannot be written: one log line per outage, a retry after a growing
    delay, and the rows delivered meanwhile, which are never delivered again (so repeats stay bounded
    by the messages in flight, as after a kill). `what` names the work in the log ("sending alerts")."""

    def __init__(self, what: str = "sending alerts") -> None:
        self.what = what
        self.error: str | None = None
        self.delivered: set[int] = set()  # rows delivered whose mark-sent the state refused
        self._notice: str | None = None
        self._delay = STATE_RETRY_FIRST
        self._retry_at = 0.0

    def __bool__(self) -> bool:
        """True while the work holds: the state refused a write and the retry delay has not passed
        (after it, the work is tried again, and the next write decides)."""
        return self.error is not None and time.monotonic() < self._retry_at

    def failed(self, exc: sqlite3.Error) -> None:
        """A write was refused: pause (saying so once per outage) and wait longer before the next try."""
        if self.error is None:
            self.error = self._notice = str(exc) or type(exc).__name__
            log.error("cannot write the state (%s): %s pauses until a write succeeds", self.error, self.what)
        else:
            self._delay = min(self._delay * 2, STATE_RETRY_MAX)
        self._retry_at = time.monotonic() + self._delay

    def succeeded(self) -> None:
        """A write went through: the work resumes."""
        if self.error is not None:
            log.warning("the state can be written again: %s resumes", self.what)
            self.error, self._delay = None, STATE_RETRY_FIRST

    def write(self, write: Callable[..., object], *args: object, **kwargs: object) -> bool:
        """One write to the state; False (and the work paused) when the state refuses it."""
        try:
            write(*args, **kwargs)
        except sqlite3.Error as exc:
            self.failed(exc)
            return False
        self.succeeded()
        return True

    def record_delivered(self, mark_sent: Callable[[int], object]) -> bool:
        """Marks sent the rows delivered while the state could not be written; True when none is left."""
        for row_id in sorted(self.delivered):
            if not self.write(mark_sent, row_id):
                return False
            self.delivered.discard(row_id)
        return True

    def take_notice(self) -> str | None:
        """The error of an outage not told to the operators yet, once."""
        error, self._notice = self._notice, None
        return error
