"""The Telegram side against a local fake Bot API: commands, buttons, and delivery under faults."""

from __future__ import annotations

import asyncio
import dataclasses
import html
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest

from bot.messages import format_alert, split_message
from bot.models import Config, Decision, Item, KnownEvent, Source, Watch
from bot.store.events import FOLD_DAYS
from bot.store.store import Event, State
from bot.telegram.bot import (
    BotApp,
    BotDeps,
    Sender,
    build_application,
    notify_admins,
    polling,
)
from tests.fakebotapi import BOT_ID, FakeBotAPI

T = TypeVar("T")
TOKEN = "123:TEST"
OPERATOR = 900
USER = 101
OTHER = 102
PROBE = 999  # a private chat that only `settled` talks in
GROUP = -2001
GROUP_ADMIN = 201
GROUP_MEMBER = 202
CHANNEL = -1_001_000_000_555
NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
WATCH = Watch(
    "aoad2", "All of Us Are Dead", 2,
    known=(KnownEvent("renewal", "renewal", "2022-06-06", source="Studio Blog",
                      title="Second season ordered"),),
)
CONFIG = Config(
    watches=(WATCH, Watch("other", "Another Show", 3)),
    sources=(Source("Example News", "https://news.example/feed"), Source("Quiet Paper", "https://paper.example/")),
)


async def wait_for(probe: Callable[[], T], *, what: str, timeout: float = 5.0) -> T:
    """Poll `probe` until it returns something truthy; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def add_event(state: State, n: int, *, kind: str = "trailer", title: str | None = None) -> Event:
    """Record a new alerting event (queues it for every matching active subscriber): each `n` is
    published weeks from the others, so that none folds into another."""
    item = Item(title=title or f"Headline number {n}", url=f"https://news.example/a/{n}",
                published=NOW - timedelta(days=(FOLD_DAYS + 1) * (n - 1)))
    decision = Decision(alert=True, kind=kind, watch="aoad2", confidence=0.9,  # type: ignore[arg-type]
                        evidence="official announcement", milestone=f"m{n}")
    found = [(item, decision, True)]
    result = state.record_fetched("Example News", now=NOW, items_seen=[], findings=found, etag=None,
                                  last_modified=None)
    return result[0].event


@dataclass
class Actions:
    """Stand-ins for the operator actions the application provides, recording their calls."""

    calls: list[tuple[str, tuple[str | None, ...]]] = field(default_factory=list)

    async def add(self, url: str, name: str | None) -> str:
        self.calls.append(("add", (url, name)))
        if url == "boom":
            raise RuntimeError("unexpected failure")
        if not url.startswith("http"):
            raise ValueError(f"not a URL: {url}")
        return f"Added <b>{html.escape(name or url)}</b>"

    async def remove(self, name: str) -> str:
        self.calls.append(("remove", (name,)))
        return f"Removed {name}"

    async def resume(self, name: str) -> str:
        self.calls.append(("resume", (name,)))
        return f"Resumed {name}"


@pytest.fixture
def state(tmp_path: Path) -> Iterator[State]:
    store = State.open(tmp_path / "state")
    yield store
    store.close()


@pytest.fixture
def actions() -> Actions:
    return Actions()


def make_deps(state: State, actions: Actions) -> BotDeps:
    return BotDeps(state=state, config_provider=lambda: CONFIG, admins=frozenset({OPERATOR}),
                   on_add_source=actions.add, on_remove_source=actions.remove, on_pause=None,
                   on_resume=actions.resume, health=lambda: "all good <ok>")


@pytest.fixture
async def app(bot_api: FakeBotAPI, state: State, actions: Actions) -> AsyncIterator[BotApp]:
    """A running Application (long polling the fake API)."""
    bot_api.add_chat(GROUP, "group", title="Fan club", admins=(GROUP_ADMIN,))
    application = build_application(TOKEN, base_url=bot_api.base_url, deps=make_deps(state, actions),
                                    read_timeout=2.0, connect_timeout=1.0, concurrent_updates=1)  # see `settled`
    async with polling(application, poll_timeout=1):
        yield application


class Chat:
    """Talks to the bot as one user in one chat and collects the replies."""

    def __init__(self, api: FakeBotAPI, chat_id: int, user_id: int, chat_type: str = "private") -> None:
        self.api, self.chat_id, self.user_id, self.chat_type = api, chat_id, user_id, chat_type

    async def command(self, text: str) -> str:
        before = len(self.api.sent(self.chat_id))
        self.api.send_command(text, self.chat_id, self.user_id, self.chat_type)
        await wait_for(lambda: self.api.sent(self.chat_id)[before:], what=f"reply to {text}")
        await settled(self.api)  # a reply may come in several parts
        return "\n".join(self.api.sent(self.chat_id)[before:])

    async def text(self, text: str) -> str:
        before = len(self.api.sent(self.chat_id))
        self.api.send_text(text, self.chat_id, self.user_id, self.chat_type)
        replies = await wait_for(lambda: self.api.sent(self.chat_id)[before:], what=f"reply to {text!r}")
        return "\n".join(replies)


async def settled(api: FakeBotAPI) -> None:
    """Wait until the bot has finished with every update sent so far.

    This bot handles updates one at a time, in order (concurrent_updates=1; the daemon's handles chats
    concurrently, tested in test_admin): once a /help sent now from a chat of its own
    is answered, every earlier update was handled in full, replies and errors included.
    """
    before = len(api.sent(PROBE))
    api.send_command("/help", PROBE, PROBE)
    await wait_for(lambda: len(api.sent(PROBE)) > before, what="the bot to handle the updates sent before")


# ---- start-up and public commands ------------------------------------------------------------

async def test_commands_are_published_at_start(app: BotApp, bot_api: FakeBotAPI) -> None:
    names = [c["command"] for c in bot_api.commands]
    assert names == ["start", "stop", "status", "latest", "sources", "settings", "subscribe", "unsubscribe", "help"]
    assert all(c["description"] for c in bot_api.commands)
    assert bot_api.calls_to("getMe")


async def test_start_subscribes_and_shows_what_is_known(app: BotApp, bot_api: FakeBotAPI,
                                                         state: State) -> None:
    state.seed_known(WATCH, now=NOW)
    reply = await Chat(bot_api, USER, USER).command("/start")
    assert "Subscribed" in reply
    assert "Second season ordered" in reply and "2022-06-06" in reply and "Studio Blog" in reply
    assert "Trailer: no news yet" in reply and "Another Show" in reply
    sub = state.subscriber(USER)
    assert sub is not None and sub.active and sub.chat_type == "private"
    assert "already subscribed" in await Chat(bot_api, USER, USER).command("/start")


async def test_stop_unsubscribes(app: BotApp, bot_api: FakeBotAPI, state: State) -> None:
    chat = Chat(bot_api, USER, USER)
    await chat.command("/start")
    assert "Unsubscribed" in await chat.command("/stop")
    sub = state.subscriber(USER)
    assert sub is not None and not sub.active
    assert "not subscribed" in await chat.command("/stop")


@pytest.mark.parametrize(("user", "allowed"), [(GROUP_ADMIN, True), (GROUP_MEMBER, False)])
async def test_group_start_and_stop_need_a_group_admin(app: BotApp, bot_api: FakeBotAPI, state: State,
                                                       user: int, allowed: bool) -> None:
    chat = Chat(bot_api, GROUP, user, "group")
    reply = await chat.command("/start@newsbot_test_bot")
    assert ("Subscribed" in reply) is allowed
    assert ("Only admins of this group" in reply) is not allowed
    assert "no news yet" in reply  # everyone may see what is known
    assert (state.subscriber(GROUP) is not None) is allowed
    if not allowed:
        state.subscribe(GROUP, "group", "Fan club", now=NOW)
    reply = await chat.command("/stop")
    sub = state.subscriber(GROUP)
    assert sub is not None and sub.active is not allowed
    assert ("Unsubscribed" in reply) is allowed


async def test_status_lists_events_with_dates_and_outlets(app: BotApp, bot_api: FakeBotAPI,
                                                          state: State) -> None:
    event = add_event(state, 1, title="Official trailer is out")
    second = Item(title="Trailer lands", url="https://other.example/t", published=NOW)
    report = Decision(alert=True, kind="trailer", watch="aoad2", confidence=0.9, milestone=event.milestone)
    state.record_fetched("Other Paper", now=NOW, items_seen=[], findings=[(second, report, True)], etag=None,
                         last_modified=None)
    reply = await Chat(bot_api, OTHER, OTHER).command("/status")
    assert "Official trailer is out" in reply and "2025-03-01" in reply and "(2 outlets)" in reply
    assert "Another Show" in reply and "no news yet" in reply


async def test_latest_shows_recent_findings(app: BotApp, bot_api: FakeBotAPI, state: State) -> None:
    chat = Chat(bot_api, USER, USER)
    assert "Nothing found yet" in await chat.command("/latest")
    for n in range(1, 4):
        add_event(state, n)
    reply = await chat.command("/latest 2")
    assert reply.count("•") == 2
    assert "Usage: /latest" in await chat.command("/latest lots")
    assert "Usage: /latest" in await chat.command("/latest 0")


async def test_sources_show_health(app: BotApp, bot_api: FakeBotAPI, state: State) -> None:
    state.record_fetched("Example News", now=NOW, items_seen=[], findings=[], etag=None, last_modified=None)
    state.record_fetch_error("Quiet Paper", now=NOW, error="HTTP 503")
    reply = await Chat(bot_api, USER, USER).command("/sources")
    assert "Example News: ok" in reply
    assert "Quiet Paper: failing ×1: HTTP 503" in reply


@pytest.mark.parametrize(("command", "expected"), [
    ("/status", "All of Us Are Dead — season 2"), ("/latest", "Nothing found yet"),
    ("/sources", "Example News"), ("/help", "/settings"),
])
async def test_read_only_commands_answer_anyone_in_a_group(app: BotApp, bot_api: FakeBotAPI, command: str,
                                                           expected: str) -> None:
    assert expected in await Chat(bot_api, GROUP, GROUP_MEMBER, "group").command(command)
    assert expected in await Chat(bot_api, GROUP, GROUP_ADMIN, "group").command(command + "@newsbot_test_bot")


async def test_help_and_hints(app: BotApp, bot_api: FakeBotAPI) -> None:
    chat = Chat(bot_api, USER, USER)
    help_text = await chat.command("/help")
    assert "/settings" in help_text and "/addsource" not in help_text
    assert "/addsource" in await Chat(bot_api, OPERATOR, OPERATOR).command("/help")
    assert "Send /help" in await chat.command("/frobnicate")
    assert "Send /help" in await chat.text("hello there")


async def test_free_text_in_a_group_gets_no_answer(app: BotApp, bot_api: FakeBotAPI) -> None:
    bot_api.send_text("hello group", GROUP, GROUP_MEMBER, "group")
    bot_api.send_command("/otherbotcommand", GROUP, GROUP_MEMBER, "group")
    await settled(bot_api)
    assert bot_api.sent(GROUP) == []


# ---- settings buttons ------------------------------------------------------------------------

def keyboard_labels(markup: dict[str, Any]) -> dict[str, str]:
    return {b["callback_data"]: b["text"] for row in markup["inline_keyboard"] for b in row}


async def open_settings(api: FakeBotAPI, chat_id: int, user_id: int, chat_type: str) -> int:
    await Chat(api, chat_id, user_id, chat_type).command("/settings")
    return [message_id for chat, _, message_id in api.delivered if chat == chat_id][-1]


async def test_settings_buttons_toggle_kinds_and_watches(app: BotApp, bot_api: FakeBotAPI,
                                                         state: State) -> None:
    await Chat(bot_api, USER, USER).command("/start")
    message_id = await open_settings(bot_api, USER, USER, "private")
    to_user = [c for c in bot_api.calls_to("sendMessage") if c["chat_id"] == USER]
    assert keyboard_labels(to_user[-1]["reply_markup"])["k:trailer"].startswith("✅")

    bot_api.press_button("k:trailer", USER, USER, message_id)
    await wait_for(lambda: bot_api.calls_to("editMessageReplyMarkup"), what="keyboard edit")
    sub = state.subscriber(USER)
    assert sub is not None and "trailer" not in sub.kinds and "renewal" in sub.kinds
    edited = bot_api.calls_to("editMessageReplyMarkup")[-1]
    assert edited["message_id"] == message_id
    assert keyboard_labels(edited["reply_markup"])["k:trailer"].startswith("▫️")

    bot_api.press_button("w:other", USER, USER, message_id)
    await wait_for(lambda: len(bot_api.calls_to("editMessageReplyMarkup")) == 2, what="second edit")
    sub = state.subscriber(USER)
    assert sub is not None and sub.watches == frozenset({"aoad2"})
    bot_api.press_button("w:other", USER, USER, message_id)
    await wait_for(lambda: len(bot_api.calls_to("editMessageReplyMarkup")) == 3, what="third edit")
    sub = state.subscriber(USER)
    assert sub is not None and sub.watches is None
    assert len(bot_api.calls_to("answerCallbackQuery")) == 3


async def test_group_settings_need_a_group_admin(app: BotApp, bot_api: FakeBotAPI, state: State) -> None:
    state.subscribe(GROUP, "group", "Fan club", now=NOW)
    assert "Only admins" in await Chat(bot_api, GROUP, GROUP_MEMBER, "group").command("/settings")
    message_id = await open_settings(bot_api, GROUP, GROUP_ADMIN, "group")
    bot_api.press_button("k:renewal", GROUP, GROUP_MEMBER, message_id)
    answer = await wait_for(lambda: bot_api.calls_to("answerCallbackQuery"), what="refusal")
    assert "Only admins" in answer[0]["text"]
    sub = state.subscriber(GROUP)
    assert sub is not None and "renewal" in sub.kinds
    assert not bot_api.calls_to("editMessageReplyMarkup")
    bot_api.press_button("k:renewal", GROUP, GROUP_ADMIN, message_id)
    await wait_for(lambda: bot_api.calls_to("editMessageReplyMarkup"), what="keyboard edit")
    sub = state.subscriber(GROUP)
    assert sub is not None and "renewal" not in sub.kinds


async def test_settings_need_a_subscription(app: BotApp, bot_api: FakeBotAPI) -> None:
    assert "not subscribed" in await Chat(bot_api, OTHER, OTHER).command("/settings")


# ---- channels --------------------------------------------------------------------------------

async def test_channel_admin_subscribes_a_channel(app: BotApp, bot_api: FakeBotAPI, state: State) -> None:
    bot_api.add_chat(CHANNEL, "channel", title="AOAD news", username="aoadnews", admins=(USER, BOT_ID))
    chat = Chat(bot_api, OTHER, OTHER)
    assert "Only admins of @aoadnews" in await chat.command("/subscribe @aoadnews")
    assert state.subscriber(CHANNEL) is None
    assert "Subscribed @aoadnews" in await Chat(bot_api, USER, USER).command("/subscribe @aoadnews")
    sub = state.subscriber(CHANNEL)
    assert sub is not None and sub.active and sub.chat_type == "channel" and sub.title == "AOAD news"
    assert "cannot see" in await chat.command("/subscribe @nosuchchannel")
    assert "Usage" in await chat.command("/subscribe")
    assert "no more alerts" in await Chat(bot_api, USER, USER).command("/unsubscribe @aoadnews")
    sub = state.subscriber(CHANNEL)
    assert sub is not None and not sub.active


async def test_channel_needs_the_bot_as_admin(app: BotApp, bot_api: FakeBotAPI, state: State) -> None:
    bot_api.add_chat(CHANNEL, "channel", title="AOAD news", username="aoadnews", creator=USER)
    assert "Make me an admin" in await Chat(bot_api, USER, USER).command("/subscribe @aoadnews")
    assert state.subscriber(CHANNEL) is None


# ---- operator commands -----------------------------------------------------------------------

@pytest.mark.parametrize("command", ["/addsource https://x.example/feed X", "/removesource Example News",
                                     "/pause Example News", "/resume Example News", "/stats", "/health"])
async def test_operator_commands_refuse_everyone_else(app: BotApp, bot_api: FakeBotAPI, actions: Actions,
                                                      command: str) -> None:
    reply = await Chat(bot_api, USER, USER).command(command)
    assert "only the operators" in reply
    reply = await Chat(bot_api, GROUP, GROUP_ADMIN, "group").command(command)
    assert "only the operators" in reply
    assert actions.calls == []


async def test_operator_commands_call_the_application(app: BotApp, bot_api: FakeBotAPI, actions: Actions,
                                                      state: State) -> None:
    chat = Chat(bot_api, OPERATOR, OPERATOR)
    reply = await chat.command("/addsource https://fresh.example/rss Fresh & Feed")
    assert "Added <b>Fresh &amp; Feed</b>" in reply
    assert "Removed Example News" in await chat.command("/removesource Example News")
    assert "Resumed Quiet Paper" in await chat.command("/resume Quiet Paper")
    assert actions.calls == [("add", ("https://fresh.example/rss", "Fresh & Feed")),
                             ("remove", ("Example News",)), ("resume", ("Quiet Paper",))]
    assert "Not done: not a URL" in await chat.command("/addsource nonsense")
    assert "Usage: /removesource NAME" in await chat.command("/removesource")
    assert "not available" in await chat.command("/pause Example News")
    assert "subscribers_active" in await chat.command("/stats")
    assert await chat.command("/health") == "<pre>all good &lt;ok&gt;</pre>"


async def test_stats_count_real_chats_only(app: BotApp, bot_api: FakeBotAPI, state: State) -> None:
    from bot.console import CONSOLE_CHAT

    state.subscribe(CONSOLE_CHAT, "console", "console", now=NOW)  # what console mode leaves in the state
    await Chat(bot_api, USER, USER).command("/start")
    reply = await Chat(bot_api, OPERATOR, OPERATOR).command("/stats")
    assert "subscribers_active: 1" in reply and "subscribers_total: 1" in reply
    state.unsubscribe(CONSOLE_CHAT)  # as a run with a token does
    reply = await Chat(bot_api, OPERATOR, OPERATOR).command("/stats")
    assert "subscribers_active: 1" in reply and "subscribers_total: 1" in reply


async def test_handler_errors_are_logged_and_the_bot_goes_on(app: BotApp, bot_api: FakeBotAPI,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="bot.telegram.bot")
    bot_api.send_command("/addsource boom", OPERATOR, OPERATOR)
    await settled(bot_api)
    assert any("unexpected failure" in r.getMessage() for r in caplog.records)
    assert "newsbot" in await Chat(bot_api, OPERATOR, OPERATOR).command("/help")


# ---- messages --------------------------------------------------------------------------------

def hostile_event() -> Event:
    return Event(id=1, watch="aoad2", kind="trailer", milestone="teaser", first_seen=NOW, published=None,
                 title="<b>Trailer</b> & <script>", url='https://x.example/?a=1&b="2"><i>',
                 source="<Evil & Co>", evidence="says </i><a href='x'>", reports=1, alerted=True)


def test_alert_escapes_every_external_string() -> None:
    text = format_alert(hostile_event(), "Show <S2>")
    assert "<script>" not in text and "<Evil" not in text and "</i><a" not in text and "<S2>" not in text
    assert "&lt;b&gt;Trailer&lt;/b&gt; &amp; &lt;script&gt;" in text
    assert '<a href="https://x.example/?a=1&amp;b=&quot;2&quot;&gt;&lt;i&gt;">' in text
    assert "Trailer (teaser): Show &lt;S2&gt;" in text and "&lt;Evil &amp; Co&gt;" in text
    assert "2025-03-01" in text


def test_alert_gives_a_reason_only_when_it_is_not_the_headline() -> None:
    summary_said = dataclasses.replace(hostile_event(), title="Season 3 news", evidence="The streamer renewed it.")
    assert "<i>Why: The streamer renewed it.</i>" in format_alert(summary_said, "S")
    headline_said = dataclasses.replace(summary_said, evidence="  season 3 NEWS ")
    assert "Why:" not in format_alert(headline_said, "S")
    long_title = "The Lantern Keepers season 3 " + "is finally happening " * 12
    cut_short = dataclasses.replace(summary_said, title=long_title, evidence=long_title.strip()[:200])
    assert "Why:" not in format_alert(cut_short, "S")


def test_alert_without_a_web_link_has_no_anchor() -> None:
    text = format_alert(dataclasses.replace(hostile_event(), url="javascript:alert(1)"), "S")
    assert "<a " not in text


@pytest.mark.parametrize(("text", "limit", "expected"), [
    ("short", 10, ["short"]),
    ("aaaa\nbbbb\ncccc", 9, ["aaaa\nbbbb", "cccc"]),
    ("<b>abcdefghij</b>", 4, ["abcd", "efgh", "ij"]),
    ("x\n<i>a&amp;b&amp;c</i>", 6, ["x", "a&amp;", "b&amp;", "c"]),
])
def test_split_message(text: str, limit: int, expected: list[str]) -> None:
    assert split_message(text, limit) == expected


def test_split_message_keeps_every_line_and_the_limit() -> None:
    lines = [f"<b>line {n}</b> " + "x" * (n % 90) for n in range(400)]
    parts = split_message("\n".join(lines))
    assert len(parts) > 1 and all(len(p) <= 4096 for p in parts)
    assert "\n".join(parts).split("\n") == lines


# ---- delivery --------------------------------------------------------------------------------

@pytest.fixture
async def bot(bot_api: FakeBotAPI, state: State, actions: Actions) -> AsyncIterator[BotApp]:
    """An initialised Application (not polling) whose bot the sender uses."""
    application = build_application(TOKEN, base_url=bot_api.base_url, deps=make_deps(state, actions),
                                    read_timeout=1.0, connect_timeout=1.0)
    async with application:
        yield application


def renderer(state: State, override: dict[int, str] | None = None) -> Callable[[int, int], str | None]:
    def render(event_id: int, chat_id: int) -> str | None:
        if override and event_id in override:
            return override[event_id]
        event = state.event(event_id)
        return None if event is None else format_alert(event, "All of Us Are Dead")
    return render


def subscribe(state: State, *chats: int) -> None:
    for chat in chats:
        state.subscribe(chat, "private" if chat > 0 else "group", f"chat {chat}", now=NOW)


async def drain(sender: Sender, state: State, *, timeout: float = 20.0,
                during: Callable[[float], Awaitable[None]] | None = None) -> None:
    """Flush until the outbox is empty (as the application's periodic flush would)."""
    start = time.monotonic()
    while state.outbox_size():
        assert time.monotonic() - start < timeout, f"outbox still holds {state.outbox_size()} rows"
        await sender.flush()
        if during is not None:
            await during(time.monotonic() - start)
        await asyncio.sleep(0.05)


def headlines(api: FakeBotAPI, chat: int) -> list[str]:
    return [line for text in api.sent(chat) for line in text.split("\n") if "Headline number" in line]


async def test_sender_delivers_in_order_to_matching_subscribers(bot: BotApp, bot_api: FakeBotAPI,
                                                                state: State) -> None:
    subscribe(state, 11, 12, 13)
    state.set_preferences(13, kinds=["renewal"])
    events = [add_event(state, n) for n in range(1, 4)]
    sender = Sender(bot.bot, state, renderer(state))
    stats = await sender.flush()
    assert stats.sent == 6 and stats.failed == 0 and state.outbox_size() == 0
    for chat in (11, 12):
        assert [h.split(">")[1].split("<")[0] for h in headlines(bot_api, chat)] == [e.title for e in events]
    assert bot_api.sent(13) == []
    assert all(c["parse_mode"] == "HTML" for c in bot_api.calls_to("sendMessage"))
    assert (await sender.flush()).sent == 0


async def test_sender_survives_every_kind_of_fault(bot: BotApp, bot_api: FakeBotAPI, state: State) -> None:
    chats = list(range(21, 29))
    subscribe(state, *chats)
    bot_api.add_fault("retry_after", chat_id=21, retry_after=1)
    bot_api.add_fault("blocked", chat_id=22, times=None)
    bot_api.add_fault("chat_not_found", chat_id=23)
    bot_api.add_fault("server_error", chat_id=24, times=2)
    bot_api.add_fault("timeout", chat_id=25, delay=1.5)
    bot_api.add_fault("server_error", chat_id=26)
    bot_api.add_fault("blocked", chat_id=26)  # a later failure: the chat is gone after its first alert
    events = [add_event(state, n) for n in range(1, 4)]
    sender = Sender(bot.bot, state, renderer(state), backoff_base=0.1)
    await drain(sender, state)

    expected = [e.title for e in events]
    for chat in (21, 24, 25, 27, 28):
        assert [h.split(">")[1].split("<")[0] for h in headlines(bot_api, chat)] == expected, chat
    assert len(headlines(bot_api, 26)) == 0
    assert bot_api.sent(22) == [] and bot_api.sent(23) == []
    active = {s.chat_id for s in state.subscribers()}
    assert active == {21, 24, 25, 27, 28}
    assert state.outbox_size() == 0
    assert len([c for c in bot_api.calls_to("sendMessage") if c["chat_id"] == 22]) == 1  # never retried


async def test_sender_waits_for_the_api_to_come_back(bot: BotApp, bot_api: FakeBotAPI, state: State) -> None:
    chats = [31, 32, 33]
    subscribe(state, *chats)
    bot_api.set_down(True)
    events = [add_event(state, n) for n in range(1, 3)]
    sender = Sender(bot.bot, state, renderer(state), backoff_base=0.1, max_backoff=0.4)
    stats = await sender.flush()
    assert stats.retried == 3 and stats.sent == 0 and state.outbox_size() == 6

    async def come_back(elapsed: float) -> None:
        if elapsed > 1.0:
            bot_api.set_down(False)

    await drain(sender, state, during=come_back)
    for chat in chats:
        assert [h.split(">")[1].split("<")[0] for h in headlines(bot_api, chat)] == [e.title for e in events]
    assert len(bot_api.sent()) == 6


async def test_flood_control_that_reaches_the_sender_is_waited_out(bot_api: FakeBotAPI, state: State,
                                                                    actions: Actions) -> None:
    application = build_application(TOKEN, base_url=bot_api.base_url, deps=make_deps(state, actions),
                                    read_timeout=1.0, max_retries=0)
    async with application:
        subscribe(state, 41)
        add_event(state, 1)
        bot_api.add_fault("retry_after", retry_after=1, times=2)
        stats = await Sender(application.bot, state, renderer(state)).flush()
    assert stats.sent == 1 and stats.rate_limited == 2 and len(bot_api.sent(41)) == 1


async def test_a_long_alert_is_one_message_and_never_repeats(bot: BotApp, bot_api: FakeBotAPI,
                                                             state: State) -> None:
    subscribe(state, 51)
    event = add_event(state, 1)
    long_text = "\n".join(f"<b>line {n}</b> " + "y" * 80 for n in range(120))
    sender = Sender(bot.bot, state, renderer(state, {event.id: long_text}), backoff_base=0.1)
    bot_api.add_fault("server_error", chat_id=51)  # the first attempt fails once
    await drain(sender, state)
    [sent] = bot_api.sent(51)
    assert len(sent) <= 4096 and long_text.startswith(sent) and sent.endswith("y" * 80)


async def test_a_group_that_became_a_supergroup_keeps_its_alerts(bot: BotApp, bot_api: FakeBotAPI,
                                                                  state: State) -> None:
    old, new = -3001, -1_000_000_003_001
    subscribe(state, old)
    state.set_preferences(old, kinds=["trailer"])
    events = [add_event(state, n) for n in range(1, 3)]
    bot_api.add_fault("migrated", chat_id=old, times=None, migrate_to=new)
    stats = await Sender(bot.bot, state, renderer(state)).flush()
    assert stats.sent == 2 and bot_api.sent(old) == []
    assert [h.split(">")[1].split("<")[0] for h in headlines(bot_api, new)] == [e.title for e in events]
    moved, gone = state.subscriber(new), state.subscriber(old)
    assert moved is not None and moved.active and moved.kinds == frozenset({"trailer"})
    assert gone is not None and not gone.active
    assert state.outbox_size() == 0


async def test_chats_that_migrate_to_each_other_do_not_loop(bot: BotApp, bot_api: FakeBotAPI,
                                                              state: State) -> None:
    one, two = -3002, -1_000_000_003_002
    subscribe(state, one)
    add_event(state, 1)
    bot_api.add_fault("migrated", chat_id=one, times=None, migrate_to=two)
    bot_api.add_fault("migrated", chat_id=two, times=None, migrate_to=one)
    stats = await asyncio.wait_for(Sender(bot.bot, state, renderer(state)).flush(), timeout=10)
    assert stats.sent == 0 and stats.retried == 1 and state.outbox_size() == 1
    assert bot_api.sent(one) == [] and bot_api.sent(two) == []


async def test_vanished_events_are_dropped(bot: BotApp, bot_api: FakeBotAPI, state: State) -> None:
    subscribe(state, 61)
    add_event(state, 1)
    stats = await Sender(bot.bot, state, lambda event_id, chat_id: None).flush()
    assert stats.dropped == 1 and state.outbox_size() == 0 and bot_api.sent(61) == []


async def test_notify_admins_reaches_every_reachable_admin(bot: BotApp, bot_api: FakeBotAPI) -> None:
    bot_api.add_fault("blocked", chat_id=902, times=None)
    delivered = await notify_admins(bot.bot, [901, 902, 903], "Source <X> failed 5 times")
    assert delivered == 2
    assert bot_api.sent(901) == ["Source <X> failed 5 times"] == bot_api.sent(903)


def test_backoff_doubles_up_to_the_cap() -> None:
    sender = Sender.__new__(Sender)
    sender._backoff_base, sender._max_backoff = 1.0, 300.0
    assert [sender.backoff(n) for n in (0, 1, 2, 8, 9, 50)] == [1, 2, 4, 256, 300, 300]



def test_stats_add_up_the_last_hour_of_rounds() -> None:
    from bot.messages import format_stats

    text = format_stats({"subscribers_active": 1}, (NOW, {"sources": 1, "fetched": 0}), {"rounds": 12, "fetched": 40})
    assert "<b>Last hour</b>" in text and "• rounds: 12" in text and "• fetched: 40" in text
    assert "Last hour" not in format_stats({}, None, {"rounds": 0})
