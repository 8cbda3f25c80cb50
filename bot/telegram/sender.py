"""Delivery of queued alerts: the one sender that empties the outbox into Telegram.

Rows are sent per chat in outbox order, chats in parallel (bounded). Every outcome is written back
to the state at once, so a crash loses nothing and never sends twice what Telegram confirmed:
delivered rows are marked sent, chats that blocked or removed the bot are deactivated, and
transient failures (network, timeouts, 5xx) wait with exponential backoff while later alerts to the
same chat wait behind them.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import warnings
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

import telegram
from telegram.constants import ParseMode
from telegram.error import BadRequest, ChatMigrated, Forbidden, RetryAfter, TelegramError

from bot.messages import plain_text, split_message
from bot.models import utcnow
from bot.store.pause import StatePause
from bot.store.store import OutboxMessage, State

log = logging.getLogger(__name__)

Render = Callable[[int, int], str | None]
Clock = Callable[[], datetime]
Notify = Callable[[str], Awaitable[object]]

# BadRequest descriptions that mean the chat itself is unreachable for good.
GONE_MARKERS = (
    "chat not found", "user not found", "peer_id_invalid", "chat_write_forbidden", "not enough rights",
    "have no rights", "group chat was deactivated", "bot was kicked", "user is deactivated",
)
PARSE_MARKERS = ("can't parse entities", "can't find end of the entity", "unsupported start tag")
MAX_BAD_REQUEST_ATTEMPTS = 5
MAX_INLINE_RETRY_AFTER = 60.0
# Messages in flight at once. Telegram's 30/s limit needs only a few to cover its round trip,
# and the HTTP connection pool gets slower per request as it grows (measured by bench/broadcast.py).
DEFAULT_CONCURRENCY = 8
STATE_PAUSED_TEXT = ("newsbot cannot write its state ({error}): sending alerts is paused until it can. "
                     "Check the disk of the state directory (free space, permissions).")


def retry_seconds(exc: RetryAfter) -> float:
    """Seconds Telegram asked to wait (read quietly: the int form of the field is deprecated)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


@dataclass(frozen=True, slots=True)
class SendStats:
    """What one flush did."""

    sent: int = 0           # outbox rows delivered
    retried: int = 0        # rows put back to wait for a later attempt
    deactivated: int = 0    # chats deactivated (blocked, removed, not found)
    failed: int = 0         # rows given up for good (deactivated chats, undeliverable content)
    dropped: int = 0        # rows whose event no longer exists
    rate_limited: int = 0   # flood-control waits that reached the sender


class Outcome(Enum):
    """How one outbox row ended in this flush."""

    SENT = "sent"
    RETRY = "retry"
    GONE = "gone"
    FAILED = "failed"


class Sender:
    """Sends pending outbox rows through a Telegram bot and records each outcome in the state."""

    def __init__(self, bot: telegram.Bot, state: State, render: Render, *,
                 concurrency: int = DEFAULT_CONCURRENCY,
                 backoff_base: float = 1.0, max_backoff: float = 300.0, batch: int = 1000,
                 clock: Clock = utcnow, notify: Notify | None = None) -> None:
        self._bot = bot
        self._state = state
        self._render = render
        self._concurrency = max(1, concurrency)
        self._backoff_base = backoff_base
        self._max_backoff = max_backoff
        self._batch = batch
        self._clock = clock
        self._lock = asyncio.Lock()
        self._stopping = False
        self._notify = notify  # tells the operators (once per outage) that the state cannot be written
        self._paused = StatePause()

    def stop(self) -> None:
        """Finish the messages in flight, start no new ones (for a clean shutdown)."""
        self._stopping = True

    async def flush(self) -> SendStats:
        """Send everything due now; returns counts. One flush runs at a time."""
        tally: Counter[str] = Counter()
        async with self._lock:
            if self._paused or not self._record_delivered():
                return SendStats()
            stalled: set[int] = set()  # chats that failed in this flush: not retried before it ends
            while not self._stopping and not self._paused:
                rows = [r for r in self._pending() if r.chat_id not in stalled and r.id not in self._paused.delivered]
                if not rows:
                    break
                by_chat: dict[int, list[OutboxMessage]] = {}
                for row in rows:
                    by_chat.setdefault(row.chat_id, []).append(row)
                queue = list(by_chat.items())
                queue.reverse()  # workers pop from the end: chats go in order of their first row
                workers = min(self._concurrency, len(queue))
                await asyncio.gather(*(self._worker(queue, stalled, tally) for _ in range(workers)))
            await self._tell_operators()
        return SendStats(**tally)

    def _pending(self) -> list[OutboxMessage]:
        try:
            return self._state.pending(now=self._clock(), limit=self._batch)
        except sqlite3.Error as exc:
            self._paused.failed(exc)
            return []

    def _write(self, write: Callable[..., object], *args: object, **kwargs: object) -> bool:
        """One write to the state; False (and sending paused) when the state refuses it."""
        return self._paused.write(write, *args, **kwargs)

    def _record_delivered(self) -> bool:
        """Marks sent the rows delivered while the state could not be written; True when none is left."""
        return self._paused.record_delivered(lambda row_id: self._state.mark_sent(row_id, now=self._clock()))

    async def _tell_operators(self) -> None:
        """The one operator message of an outage, sent once the flush has stopped."""
        error = self._paused.take_notice()
        if error and self._notify is not None:
            text = STATE_PAUSED_TEXT.format(error=error)
            try:
                await self._notify(text)
            except Exception as exc:  # noqa: BLE001 - the log line stands in for the message
                log.warning("could not tell the operators that the state cannot be written: %s", exc)

    async def _worker(self, queue: list[tuple[int, list[OutboxMessage]]], stalled: set[int],
                      tally: Counter[str]) -> None:
        """Take chats off the shared queue and send each one's rows in order."""
        while queue and not self._stopping and not self._paused:
            chat_id, rows = queue.pop()
            if not await self._send_chat(chat_id, rows, tally):
                stalled.add(chat_id)

    async def _send_chat(self, chat_id: int, rows: list[OutboxMessage], tally: Counter[str]) -> bool:
        """Send one chat's rows in order, stopping at the first that cannot go now; True if all went."""
        target = chat_id
        for row in rows:
            if self._stopping or self._paused:
                return False
            outcome, target = await self._deliver(row, target, tally)
            if outcome in (Outcome.GONE, Outcome.RETRY):
                return False
        if target != chat_id:
            self._write(self._state.deactivate, chat_id, f"migrated to {target}")
        return True

    async def _deliver(self, row: OutboxMessage, target: int, tally: Counter[str]) -> tuple[Outcome, int]:
        """Send one row as one message and record the outcome; returns it and the chat id to use next."""
        try:
            text = self._render(row.event_id, row.chat_id)
        except Exception as exc:
            log.exception("could not render alert %s", row.id)
            self._write(self._state.mark_retry, row.id, error=f"render: {exc!r}",
                        next_attempt=self._clock() + timedelta(seconds=self.backoff(row.attempts)))
            tally["retried"] += 1
            return Outcome.RETRY, target
        if text is None:
            self._write(self._state.mark_failed, row.id, error="event no longer exists", now=self._clock())
            tally["dropped"] += 1
            return Outcome.SENT, target
        # One alert is one message: the fields it shows are capped (bot.messages.SHOWN); were it still
        # too long, only its first part goes, never a flood of parts.
        message = split_message(text)[0]
        tried = {row.chat_id, target}
        while True:
            try:
                await self._send_message(target, message, tally)
                break
            except ChatMigrated as exc:
                if int(exc.new_chat_id) in tried:  # told to move where it was already: give up for now
                    return self._failure(row, exc, tally), target
                tried.add(int(exc.new_chat_id))
                target = self._migrate(row.chat_id, int(exc.new_chat_id))
            except TelegramError as exc:
                return self._failure(row, exc, tally), target
        tally["sent"] += 1
        if not self._write(self._state.mark_sent, row.id, now=self._clock()):
            self._paused.delivered.add(row.id)  # never sent again by this process
            return Outcome.RETRY, target
        return Outcome.SENT, target

    async def _send_message(self, chat_id: int, text: str, tally: Counter[str]) -> None:
        """Send one message; waits out flood control (a few times) and falls back to plain text."""
        for _ in range(5):
            try:
                await self._bot.send_message(chat_id, text, parse_mode=ParseMode.HTML)
                return
            except RetryAfter as exc:
                wait = retry_seconds(exc)
                tally["rate_limited"] += 1
                if wait > MAX_INLINE_RETRY_AFTER:
                    raise
                log.info("flood control: waiting %.1fs before sending to %s", wait, chat_id)
                await asyncio.sleep(wait + 0.05)
            except BadRequest as exc:
                if not any(marker in exc.message.lower() for marker in PARSE_MARKERS):
                    raise
                log.warning("alert to %s was not valid HTML (%s); sending it as plain text", chat_id, exc)
                await self._bot.send_message(chat_id, plain_text(text))
                return
        await self._bot.send_message(chat_id, text, parse_mode=ParseMode.HTML)

    def _failure(self, row: OutboxMessage, exc: TelegramError, tally: Counter[str]) -> Outcome:
        """Record a failed row: deactivate a gone chat, give up on bad content, else retry later."""
        message = exc.message.lower()
        now = self._clock()
        if isinstance(exc, Forbidden) or (isinstance(exc, BadRequest)
                                          and any(m in message for m in GONE_MARKERS)):
            log.info("chat %s is unreachable (%s): deactivated", row.chat_id, exc.message)
            self._write(self._state.deactivate, row.chat_id, exc.message)
            tally["deactivated"] += 1
            tally["failed"] += 1
            return Outcome.GONE
        if isinstance(exc, BadRequest) and row.attempts + 1 >= MAX_BAD_REQUEST_ATTEMPTS:
            log.error("giving up on alert %s to %s after %d attempts: %s", row.id, row.chat_id,
                      row.attempts + 1, exc.message)
            self._write(self._state.mark_failed, row.id, error=exc.message, now=now)
            tally["failed"] += 1
            return Outcome.FAILED
        delay = self.backoff(row.attempts)
        if isinstance(exc, RetryAfter):
            delay = max(delay, retry_seconds(exc))
        log.warning("alert %s to %s failed (%s: %s); retry in %.0fs", row.id, row.chat_id,
                    type(exc).__name__, exc.message, delay)
        self._write(self._state.mark_retry, row.id, error=f"{type(exc).__name__}: {exc.message}",
                    next_attempt=now + timedelta(seconds=delay))
        tally["retried"] += 1
        return Outcome.RETRY

    def backoff(self, attempts: int) -> float:
        """Seconds to wait before the next attempt after `attempts` earlier failures."""
        return float(min(self._backoff_base * 2 ** min(attempts, 30), self._max_backoff))

    def _migrate(self, old_chat: int, new_chat: int) -> int:
        """A group became a supergroup: subscribe the new chat id with the same preferences."""
        log.info("chat %s migrated to %s", old_chat, new_chat)
        sub = self._state.subscriber(old_chat)
        title = sub.title if sub else ""
        self._state.subscribe(new_chat, "supergroup", title, now=self._clock())
        if sub is not None:
            self._state.set_preferences(new_chat, kinds=sub.kinds, watches=sub.watches)
        return new_chat
