"""newsbot's Telegram side: building and running the bot, and telling the operators about problems.

python-telegram-bot supplies the long-polling loop, command routing and a flood-control aware rate
limiter (Telegram allows about 30 messages per second overall and 20 per minute per group), so the
code here is only newsbot's own behaviour. Commands live in bot.telegram.commands, delivery of
alerts in bot.telegram.sender. The Application is built in one function and run with
python-telegram-bot's own lifecycle for running beside other asyncio work (`polling`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Iterable
from contextlib import asynccontextmanager
from typing import Any

import telegram
from telegram import Update
from telegram.error import InvalidToken, NetworkError, TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    BaseUpdateProcessor,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)
from telegram.request import HTTPXRequest

from bot.logs import redact
from bot.messages import split_message
from bot.telegram.commands import BotDeps, Commands, bot_commands
from bot.telegram.sender import DEFAULT_CONCURRENCY, Sender, SendStats

__all__ = ["BotApp", "BotDeps", "Sender", "SendStats", "api_failure", "build_application", "notify_admins",
           "polling"]

log = logging.getLogger(__name__)

BotApp = Application[Any, Any, Any, Any, Any, Any]
ON_MESSAGES = filters.UpdateType.MESSAGE | filters.UpdateType.CHANNEL_POST
# Updates handled at once: a slow command (an /addsource checking a slow site) or a burst of /start
# holds up only its own chat, while each chat's updates are still handled in order.
CONCURRENT_UPDATES = 32


class ChatOrderedUpdates(BaseUpdateProcessor):
    """Handles the updates of different chats concurrently (up to a bound), each chat's in order."""

    def __init__(self, max_concurrent_updates: int) -> None:
        super().__init__(max_concurrent_updates)
        self._chats: dict[int, tuple[asyncio.Lock, int]] = {}  # chat id -> its lock, updates using it

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Runs the handler once the chat's earlier updates are done."""
        chat = update.effective_chat if isinstance(update, Update) else None
        if chat is None:
            await coroutine
            return
        lock, users = self._chats.get(chat.id, (asyncio.Lock(), 0))
        self._chats[chat.id] = (lock, users + 1)
        try:
            async with lock:
                await coroutine
        finally:
            lock, users = self._chats[chat.id]
            if users == 1:
                del self._chats[chat.id]
            else:
                self._chats[chat.id] = (lock, users - 1)

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""


def rate_limiter(*, per_second: float = 30.0, max_retries: int = 3) -> AIORateLimiter:
    """Telegram's flood limits: `per_second` messages overall, 20 per minute in each group.

    The overall rate is spread out (at most a tenth of a second's worth at once) rather than
    allowed in bursts of a full second's worth: a burst of 30 followed by 30/s is more than a
    strict 30-per-second limit accepts once network jitter bunches requests up.
    """
    return AIORateLimiter(overall_max_rate=max(1.0, per_second / 10), overall_time_period=0.1,
                          group_max_rate=20, group_time_period=60, max_retries=max_retries)


def build_application(token: str, *, base_url: str, deps: BotDeps, concurrency: int = DEFAULT_CONCURRENCY,
                      read_timeout: float = 10.0, connect_timeout: float = 5.0,
                      max_retries: int = 3, per_second: float = 30.0,
                      concurrent_updates: int = CONCURRENT_UPDATES) -> BotApp:
    """An Application with newsbot's commands, a rate limiter, a connection pool for the sender, and
    `concurrent_updates` updates handled at once (see ChatOrderedUpdates)."""
    request = HTTPXRequest(connection_pool_size=concurrency + 8, read_timeout=read_timeout,
                           write_timeout=read_timeout, connect_timeout=connect_timeout,
                           pool_timeout=read_timeout)
    updates_request = HTTPXRequest(connection_pool_size=2, read_timeout=read_timeout,
                                   connect_timeout=connect_timeout)
    limiter = rate_limiter(per_second=per_second, max_retries=max_retries)
    app = (ApplicationBuilder().token(token).base_url(base_url).request(request)
           .get_updates_request(updates_request).rate_limiter(limiter)
           .concurrent_updates(ChatOrderedUpdates(max(1, concurrent_updates))).build())
    register_handlers(app, Commands(deps))
    return app


def register_handlers(app: BotApp, commands: Commands) -> None:
    """Route every command, button press and stray message to its handler."""
    routes = {
        "start": commands.start, "stop": commands.stop, "status": commands.status,
        "latest": commands.latest, "sources": commands.sources, "settings": commands.settings,
        "help": commands.help, "subscribe": commands.subscribe_channel,
        "unsubscribe": commands.unsubscribe_channel, "addsource": commands.addsource,
        "removesource": commands.removesource, "pause": commands.pause, "resume": commands.resume,
        "stats": commands.stats, "health": commands.health,
    }
    for name, callback in routes.items():
        app.add_handler(CommandHandler(name, callback, filters=ON_MESSAGES))
    app.add_handler(CallbackQueryHandler(commands.button))
    private = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
    app.add_handler(MessageHandler(private & (filters.COMMAND | filters.TEXT), commands.hint))
    app.add_error_handler(log_error)


async def log_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log an error raised while handling an update; the bot keeps running."""
    where = f"update {update.update_id}" if isinstance(update, Update) else "background work"
    log.error("error in %s: %s", where, context.error, exc_info=context.error)


async def set_commands(app: BotApp) -> None:
    """Publish the command menu (a failure is logged, not fatal)."""
    try:
        await app.bot.set_my_commands(bot_commands())
    except TelegramError as exc:
        log.warning("could not publish the command menu: %s", exc)


@asynccontextmanager
async def polling(app: BotApp, *, poll_timeout: float = 10.0) -> AsyncIterator[BotApp]:
    """The bot initialised, its command menu published and long polling for the block; stopped and
    shut down after it, in python-telegram-bot's own order for running beside other asyncio work
    (`async with application`, `start`, `updater.start_polling`; `updater.stop` and `stop` before leaving)."""
    async with app:
        await set_commands(app)
        await app.start()
        try:
            if app.updater is not None:
                await app.updater.start_polling(poll_interval=0, timeout=int(poll_timeout),
                                                allowed_updates=["message", "channel_post", "callback_query"])
            yield app
        finally:
            if app.updater is not None and app.updater.running:
                await app.updater.stop()
            if app.running:
                await app.stop()


def api_failure(exc: TelegramError, token: str, api_url: str) -> tuple[str, bool]:
    """One line saying what failed when talking to the Bot API and what to check, never the token;
    and whether the token itself was refused (401 or 404: a wrong token, or a wrong TELEGRAM_API_URL)."""
    where = redact(api_url, (token,))
    detail = redact(exc.message, (token,))
    if isinstance(exc, InvalidToken):
        return (f"the Bot API refused TELEGRAM_BOT_TOKEN ({detail}): check the token from @BotFather "
                f"and TELEGRAM_API_URL ({where})"), True
    if isinstance(exc, NetworkError):  # unreachable, timed out, or a 5xx answer
        return f"cannot reach the Telegram Bot API at {where} ({detail}): check the network and TELEGRAM_API_URL", False
    return (f"{where} did not answer as the Bot API does ({detail}): check TELEGRAM_API_URL"), False


async def notify_admins(bot: telegram.Bot, admins: Iterable[int], text: str) -> int:
    """Send an operator message (plain text) to every admin; returns how many got it."""
    delivered = 0
    for admin in sorted(set(admins)):
        try:
            for part in split_message(text):
                await bot.send_message(admin, part)
            delivered += 1
        except TelegramError as exc:
            log.warning("could not notify admin %s: %s", admin, exc)
    return delivered
