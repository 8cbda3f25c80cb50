"""Chat commands: subscribing, status, preferences and the operators' source management."""

from __future__ import annotations

import html
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from telegram import (
    BotCommand,
    Chat,
    ChatFullInfo,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Update,
)
from telegram.constants import ChatMemberStatus, ChatType, ParseMode
from telegram.error import BadRequest, TelegramError
from telegram.ext import ContextTypes

from bot import messages
from bot.models import KINDS, Config, utcnow
from bot.store.store import State, Subscriber

log = logging.getLogger(__name__)

AddSource = Callable[[str, str | None], Awaitable[str]]
SourceAction = Callable[[str], Awaitable[str]]

PUBLIC_COMMANDS: tuple[tuple[str, str], ...] = (
    ("start", "Subscribe this chat and see what is known now"),
    ("stop", "Unsubscribe this chat"),
    ("status", "Known events for each watched show"),
    ("latest", "The most recent findings"),
    ("sources", "News sources and their health"),
    ("settings", "Choose kinds of news and shows"),
    ("subscribe", "Send alerts to a channel you administer"),
    ("unsubscribe", "Stop a channel's alerts"),
    ("help", "What this bot does"),
)
MANAGER_STATUSES = frozenset({ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER})
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
REFUSAL = "Sorry, only the operators of this bot can do that."
GROUP_REFUSAL = "Only admins of this group can do that."


@dataclass(frozen=True, slots=True)
class BotDeps:
    """What the chat side needs from the rest of newsbot.

    The source actions return their reply as Telegram HTML (escaped by them) and may raise
    ValueError/LookupError for bad input; a missing action replies "not available". `health`
    returns plain text.
    """

    state: State
    config_provider: Callable[[], Config]
    admins: frozenset[int]
    on_add_source: AddSource | None = None
    on_remove_source: SourceAction | None = None
    on_pause: SourceAction | None = None
    on_resume: SourceAction | None = None
    health: Callable[[], str] | None = None
    clock: Callable[[], datetime] = field(default=utcnow)


def bot_commands() -> list[BotCommand]:
    """The command menu shown by Telegram clients."""
    return [BotCommand(name, description) for name, description in PUBLIC_COMMANDS]


def settings_keyboard(sub: Subscriber, config: Config) -> InlineKeyboardMarkup:
    """Buttons toggling each kind of news and each watch for one chat."""
    rows = [[InlineKeyboardButton(f"{'✅' if kind in sub.kinds else '▫️'} {messages.kind_label(kind)}",
                                  callback_data=f"k:{kind}")] for kind in KINDS]
    for watch in config.watches:
        on = sub.watches is None or watch.id in sub.watches
        rows.append([InlineKeyboardButton(f"{'✅' if on else '▫️'} {watch.title} S{watch.season}",
                                          callback_data=f"w:{watch.id}")])
    rows.append([InlineKeyboardButton("Done", callback_data="done")])
    return InlineKeyboardMarkup(rows)


def toggled(sub: Subscriber, data: str, config: Config) -> tuple[set[str] | None, set[str] | None]:
    """The (kinds, watches) after pressing a button; None for the part that does not change.

    Watches come back as the full set of ids when all are on, which the caller stores as "all".
    """
    what, _, value = data.partition(":")
    if what == "k" and value in KINDS:
        return set(sub.kinds) ^ {value}, None
    all_ids = {w.id for w in config.watches}
    if what == "w" and value in all_ids:
        current = set(all_ids if sub.watches is None else sub.watches)
        return None, current ^ {value}
    return None, None


class Commands:
    """The handlers of every command and button, bound to newsbot's state and actions."""

    def __init__(self, deps: BotDeps) -> None:
        self.deps = deps

    # helpers ---------------------------------------------------------------------------------
    async def _reply(self, update: Update, context: ContextTypes.DEFAULT_TYPE, text: str) -> None:
        chat = update.effective_chat
        if chat is None:
            return
        for part in messages.split_message(text):
            await context.bot.send_message(chat.id, part, parse_mode=ParseMode.HTML,
                                           link_preview_options=NO_PREVIEW)

    async def _may_manage(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
        """Whether the sender may change this chat's subscription (any private chat, group admins)."""
        chat, message, user = update.effective_chat, update.effective_message, update.effective_user
        if chat is None:
            return False
        if chat.type in (ChatType.PRIVATE, ChatType.CHANNEL):
            return True  # only a channel's admins can post in it
        if message is not None and message.sender_chat is not None and message.sender_chat.id == chat.id:
            return True  # an anonymous admin of the group
        if user is None:
            return False
        return await self._is_chat_admin(context, chat.id, user.id)

    async def _is_chat_admin(self, context: ContextTypes.DEFAULT_TYPE, chat: int | str, user_id: int) -> bool:
        try:
            member = await context.bot.get_chat_member(chat, user_id)
        except TelegramError as exc:
            log.info("could not check membership of %s in %s: %s", user_id, chat, exc)
            return False
        return member.status in MANAGER_STATUSES

    def _is_operator(self, update: Update) -> bool:
        user = update.effective_user
        return user is not None and user.id in self.deps.admins

    def _known_text(self) -> str:
        config = self.deps.config_provider()
        latest = {w.id: self.deps.state.latest_events(w.id) for w in config.watches}
        return messages.format_known(config.watches, latest)

    # public commands -------------------------------------------------------------------------
    async def start(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Subscribe the chat and show the latest known event of each kind."""
        chat = update.effective_chat
        if chat is None:
            return
        known = self._known_text()
        if not await self._may_manage(update, context):
            await self._reply(update, context, f"{known}\n\nOnly admins of this group can subscribe it.")
            return
        new = self.deps.state.subscribe(chat.id, chat.type, chat_title(chat), now=self.deps.clock())
        await self._reply(update, context, messages.format_start(new, known))

    async def _managed_chat(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> Chat | None:
        """The chat, if the sender may change its subscription (else a refusal is sent and None returned)."""
        chat = update.effective_chat
        if chat is None:
            return None
        if not await self._may_manage(update, context):
            await self._reply(update, context, GROUP_REFUSAL)
            return None
        return chat

    async def stop(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Unsubscribe the chat."""
        chat = await self._managed_chat(update, context)
        if chat is None:
            return
        was = self.deps.state.unsubscribe(chat.id)
        text = ("Unsubscribed. Send /start to subscribe again." if was
                else "This chat was not subscribed. Send /start to subscribe.")
        await self._reply(update, context, text)

    async def status(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Show every known event of each watch, with dates and how many outlets reported it."""
        config = self.deps.config_provider()
        events = {w.id: self.deps.state.events(w.id) for w in config.watches}
        await self._reply(update, context, messages.format_status(config.watches, events))

    async def latest(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Show the n most recent findings (default 5, at most 20)."""
        args = context.args or []
        try:
            count = int(args[0]) if args else 5
        except ValueError:
            await self._reply(update, context, "Usage: /latest [n], e.g. /latest 3")
            return
        if count < 1:
            await self._reply(update, context, "Usage: /latest [n], n from 1 to 20, e.g. /latest 3")
            return
        count = min(count, 20)
        titles = {w.id: w.title for w in self.deps.config_provider().watches}
        await self._reply(update, context, messages.format_latest(self.deps.state.events()[:count], titles))

    async def sources(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """List the news sources with their health."""
        config = self.deps.config_provider()
        text = messages.format_sources(config.sources, self.deps.state.source_states())
        await self._reply(update, context, text)

    async def help(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Explain the bot and list its commands."""
        text = messages.HELP_TEXT
        if self._is_operator(update):
            text += "\n\n" + messages.ADMIN_HELP_TEXT
        await self._reply(update, context, text)

    async def hint(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Answer an unknown command or free text in a private chat with a short hint."""
        await self._reply(update, context, messages.HINT_TEXT)

    # preferences -----------------------------------------------------------------------------
    async def settings(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Show buttons to choose which kinds of news and which shows the chat gets."""
        chat = await self._managed_chat(update, context)
        if chat is None:
            return
        sub = self.deps.state.subscriber(chat.id)
        if sub is None or not sub.active:
            await self._reply(update, context, "This chat is not subscribed. Send /start first.")
            return
        keyboard = settings_keyboard(sub, self.deps.config_provider())
        await context.bot.send_message(chat.id, "Tap to switch what this chat receives:",
                                       reply_markup=keyboard)

    async def button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Apply a settings button press and redraw the buttons."""
        query = update.callback_query
        if query is None or query.message is None:
            return
        chat_id, user = query.message.chat.id, query.from_user
        if query.message.chat.type != ChatType.PRIVATE and not await self._is_chat_admin(
                context, chat_id, user.id):
            await query.answer(GROUP_REFUSAL, show_alert=True)
            return
        sub = self.deps.state.subscriber(chat_id)
        if sub is None or not sub.active:
            await query.answer("This chat is not subscribed. Send /start first.", show_alert=True)
            return
        if query.data == "done":
            await query.answer("Saved.")
            await _edit_markup(query.edit_message_reply_markup(reply_markup=None))
            return
        config = self.deps.config_provider()
        kinds, watches = toggled(sub, query.data or "", config)
        if kinds is None and watches is None:
            await query.answer("That button is out of date; send /settings again.")
            return
        if kinds is not None:
            sub = self.deps.state.set_preferences(chat_id, kinds=kinds)
        if watches is not None:
            everything = watches == {w.id for w in config.watches}
            sub = self.deps.state.set_preferences(chat_id, watches=None if everything else watches)
        await query.answer("Saved.")
        await _edit_markup(query.edit_message_reply_markup(reply_markup=settings_keyboard(sub, config)))

    # channels --------------------------------------------------------------------------------
    async def subscribe_channel(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """`/subscribe @channel`: a channel admin sends the channel's alerts through the bot."""
        await self._channel(update, context, subscribe=True)

    async def unsubscribe_channel(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """`/unsubscribe @channel`: a channel admin stops the channel's alerts."""
        await self._channel(update, context, subscribe=False)

    async def _channel(self, update: Update, context: ContextTypes.DEFAULT_TYPE, *, subscribe: bool) -> None:
        args, user = context.args or [], update.effective_user
        verb = "subscribe" if subscribe else "unsubscribe"
        if not args or user is None:
            await self._reply(update, context, f"Usage: /{verb} @channel (you must be an admin of it)")
            return
        target = args[0] if args[0].startswith("@") or args[0].lstrip("-").isdigit() else "@" + args[0]
        try:
            channel = await context.bot.get_chat(target)
        except TelegramError:
            await self._reply(update, context, f"I cannot see {html.escape(target)}. Add me to it first.")
            return
        if not await self._is_chat_admin(context, channel.id, user.id):
            await self._reply(update, context, f"Only admins of {html.escape(target)} can {verb} it.")
            return
        if not subscribe:
            self.deps.state.unsubscribe(channel.id)
            await self._reply(update, context, f"{html.escape(target)} will get no more alerts.")
            return
        if not await self._is_chat_admin(context, channel.id, context.bot.id):
            await self._reply(update, context, f"Make me an admin of {html.escape(target)} so I can post.")
            return
        self.deps.state.subscribe(channel.id, channel.type, chat_title(channel), now=self.deps.clock())
        await self._reply(update, context, f"Subscribed {html.escape(target)}. Alerts will be posted there.")

    # operator commands -----------------------------------------------------------------------
    async def _operator_action(self, update: Update, context: ContextTypes.DEFAULT_TYPE, usage: str,
                               action: Callable[[list[str]], Awaitable[str]] | None) -> None:
        if not self._is_operator(update):
            await self._reply(update, context, REFUSAL)
            return
        args = context.args or []
        if action is None:
            await self._reply(update, context, "That is not available in this deployment.")
            return
        if not args:
            await self._reply(update, context, f"Usage: {html.escape(usage)}")
            return
        try:
            result = await action(args)
        except (ValueError, KeyError, LookupError) as exc:
            await self._reply(update, context, f"Not done: {html.escape(str(exc))}")
            return
        await self._reply(update, context, result)

    async def addsource(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Add a news source: `/addsource URL [name]` (operators only)."""
        add = self.deps.on_add_source
        action = None if add is None else (lambda a: add(a[0], " ".join(a[1:]) or None))
        await self._operator_action(update, context, "/addsource URL [name]", action)

    async def removesource(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Remove a news source by name (operators only)."""
        action = _by_name(self.deps.on_remove_source)
        await self._operator_action(update, context, "/removesource NAME", action)

    async def pause(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Pause a news source by name (operators only)."""
        await self._operator_action(update, context, "/pause NAME", _by_name(self.deps.on_pause))

    async def resume(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Resume a paused news source by name (operators only)."""
        await self._operator_action(update, context, "/resume NAME", _by_name(self.deps.on_resume))

    async def stats(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Show state counts and the last fetch cycle (operators only)."""
        if not self._is_operator(update):
            await self._reply(update, context, REFUSAL)
            return
        state = self.deps.state
        await self._reply(update, context, messages.format_stats(
            state.counts(), state.last_cycle(), state.cycles_since(utcnow() - timedelta(hours=1))))

    async def health(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Show the health report (operators only)."""
        if not self._is_operator(update):
            await self._reply(update, context, REFUSAL)
            return
        if self.deps.health is None:
            await self._reply(update, context, "That is not available in this deployment.")
            return
        for part in messages.split_message(html.escape(self.deps.health()), messages.TELEGRAM_LIMIT - 11):
            await self._reply(update, context, f"<pre>{part}</pre>")


def _by_name(action: SourceAction | None) -> Callable[[list[str]], Awaitable[str]] | None:
    """Adapt a by-name source action to the command's argument list (names may contain spaces)."""
    if action is None:
        return None
    return lambda args: action(" ".join(args))


async def _edit_markup(edit: Awaitable[object]) -> None:
    """Edit a keyboard, ignoring "message is not modified" and messages that are gone."""
    try:
        await edit
    except BadRequest as exc:
        log.info("keyboard not updated: %s", exc.message)


def chat_title(chat: Chat | ChatFullInfo) -> str:
    """A readable name for a chat."""
    return chat.effective_name or str(chat.id)
