"""Crash safety: the real `newsbot run` is SIGKILLed at random points of fetch cycles and broadcasts.

Twenty times over (CRASH_KILLS sets fewer), a new trailer announcement for one of twenty
made-up shows is published and the daemon is killed before its fetch, during its cycle, or part-way
through the broadcast, then started again. In the end every active subscriber has every alert, the
only repeated messages are ones that were in flight when a kill struck, blocked chats are deactivated
and never written to again, and the database passes SQLite's integrity check after every kill. The
seed is printed (and can be set with CRASH_SEED) so a failing order of kills can be replayed.
"""

from __future__ import annotations

import inspect
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import IO

import pytest

from bot.store.store import DB_NAME, State
from bot.telegram.sender import Sender
from tests.fakebotapi import FakeBotAPI
from tests.newssite import NewsSite
from tests.test_e2e import clean_env, wait_for

KILLS = min(int(os.environ.get("CRASH_KILLS") or 20), 20)  # one show each; fewer for a quick look
FEEDS = 4
# Made-up shows; no title is part of another, so an alert's text names exactly one of them.
SHOWS = (
    "Lanterns of Veyra", "The Glass Orchard", "Midnight Ferry", "Copper Saints", "Salt and Thunder",
    "The Quiet Cartographer", "Ember Valley", "Paper Moons", "The Ninth Lighthouse", "Velvet Hounds",
    "Frostline", "The Orchid Syndicate", "Harbor of Echoes", "Wild Iron", "The Last Tram",
    "Saffron Court", "Blue Meridian", "The Marble Fox", "Crowfield", "Northbound Circus",
    "Tidewater Kings",  # published once more after the kills, when the blocked chats are unblocked
)
CHATS = tuple(range(7001, 7026))
BLOCKED = (7007, 7019)
ACTIVE = tuple(c for c in CHATS if c not in BLOCKED)
MODES = ("startup", "fetch", "broadcast")


def rss(items: list[tuple[str, str, datetime]]) -> str:
    """An RSS 2.0 feed of (title, slug, published) items; the slug makes the link and guid."""
    body = "".join(
        f"<item><title>{title}</title><link>https://screen.example/news/{slug}</link>"
        f"<guid>screen-{slug}</guid><pubDate>{format_datetime(when)}</pubDate>"
        f"<description>The streaming service shared the first footage of the new season.</description></item>"
        for title, slug, when in items
    )
    return ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Screen news</title>'
            f"<link>https://screen.example/</link>{body}</channel></rss>")


def write_sources(path: Path, site: NewsSite) -> None:
    """One watch per show (season 2) and FEEDS feeds polled every second."""
    lines = ["watches:"]
    for n, show in enumerate(SHOWS):
        lines += [f"  - id: show{n:02d}", f"    title: {show}", "    season: 2"]
    lines.append("sources:")
    for k in range(FEEDS):
        lines += [f"  - name: Screen news {k}", f"    url: {site.url(f'/feed{k}.xml')}",
                  "    kind: feed", "    interval: 1s"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def integrity(db: Path) -> str:
    """PRAGMA integrity_check of the database, read while the daemon is down."""
    conn = sqlite3.connect(db)
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()


def sender_concurrency() -> int:
    """How many messages the daemon's sender has in flight at most (its default, which app.py uses)."""
    default = inspect.signature(Sender).parameters["concurrency"].default
    assert isinstance(default, int)
    return default


def show_of(text: str) -> str | None:
    """The show an alert is about."""
    found = [s for s in SHOWS if s in text]
    return found[0] if len(found) == 1 else None


@dataclass
class Feeds:
    """The feeds' contents: an old unrelated item each, then every announcement published so far."""

    site: NewsSite
    items: dict[int, list[tuple[str, str, datetime]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        old = datetime(2021, 3, 4, 8, 0, tzinfo=UTC)
        for k in range(FEEDS):
            self.items[k] = [(f"Harbour district opens its {k + 2}nd weekend market", f"market-{k}", old)]
            self._publish(k)

    def _publish(self, k: int) -> None:
        self.site.set(f"/feed{k}.xml", rss(list(reversed(self.items[k]))))

    def announce(self, n: int) -> str:
        """Publish a trailer announcement for show n; returns the feed path it went to."""
        k = n % FEEDS
        title = f"Netflix releases the official trailer for {SHOWS[n]} season 2"
        self.items[k].append((title, f"trailer-{n}", datetime.now(UTC) - timedelta(seconds=5)))
        self._publish(k)
        return f"/feed{k}.xml"


@dataclass
class Runs:
    """Starts daemons and remembers which stretch of the fake API's deliveries each run made."""

    tmp: Path
    env: dict[str, str]
    api: FakeBotAPI
    spans: list[tuple[int, int, bool]] = field(default_factory=list)  # (first, end, killed)
    proc: subprocess.Popen[bytes] | None = None
    log: IO[bytes] | None = None
    first: int = 0

    def start(self) -> None:
        self.log = (self.tmp / f"run{len(self.spans):02d}.log").open("wb")
        self.first = len(self.api.delivered)
        self.proc = subprocess.Popen([sys.executable, "-m", "bot", "run"], env=self.env, cwd=self.tmp,
                                     stdout=self.log, stderr=subprocess.STDOUT)

    def ready(self, polls_before: int) -> None:
        """Waits until the new process polls for updates (its bot and scheduler are up)."""
        wait_for(lambda: len(self.api.calls_to("getUpdates")) > polls_before or self._dead(), 20,
                 "the daemon to start polling")
        assert not self._dead(), f"the daemon exited at start-up: {self.output()}"

    def _dead(self) -> bool:
        return self.proc is not None and self.proc.poll() is not None

    def end(self, *, kill: bool) -> int:
        """SIGKILL (or SIGTERM) the process and record its span of deliveries; returns its exit code."""
        assert self.proc is not None and self.log is not None
        if kill:
            self.proc.kill()
        else:
            self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(30)
        time.sleep(0.3)  # a request the process had fully sent is still answered and recorded
        self.spans.append((self.first, len(self.api.delivered), kill))
        self.log.close()
        self.proc = None
        return code

    def output(self) -> str:
        path = self.tmp / f"run{len(self.spans):02d}.log"
        return path.read_text("utf-8", "replace")[-4000:] if path.exists() else ""

    def delivered_in_run(self, show: str) -> int:
        return sum(1 for _, text, _ in self.api.delivered[self.first:] if show in text)


def kill_once(n: int, mode: str, rng: random.Random, feeds: Feeds, site: NewsSite, runs: Runs,
              api: FakeBotAPI) -> str:
    """Publish show n's announcement and kill the daemon at a point chosen by `mode`."""
    if mode == "startup":  # published before the start: killed while booting or in its first cycle
        feeds.announce(n)
        runs.start()
        delay = rng.uniform(0.2, 2.5)
        time.sleep(delay)
        return f"{delay:.2f}s after start"
    polls = len(api.calls_to("getUpdates"))
    runs.start()
    runs.ready(polls)
    path = feeds.announce(n)
    hits = site.hits(path)
    if mode == "fetch":  # between the fetch of the new item and the end of its cycle
        wait_for(lambda: site.hits(path) > hits, 10, f"a fetch of {path}")
        delay = rng.uniform(0.0, 0.25)
        time.sleep(delay)
        return f"{delay:.2f}s after fetching {path}"
    # Part-way through the broadcast of this alert; the rate limiter lets out up to 3 messages at
    # once, so the kill aims at least 4 before the end to land inside the broadcast.
    want = rng.randint(1, len(ACTIVE) - 4)
    deadline = time.monotonic() + 20
    while (got := runs.delivered_in_run(SHOWS[n])) < want:
        assert time.monotonic() < deadline, f"show {n}: {got} deliveries in 20 s, waiting for {want}: {runs.output()}"
        time.sleep(0.002)
    assert got < len(ACTIVE), f"show {n}: the broadcast was over ({got} deliveries) before the kill"
    return f"after {got}/{len(ACTIVE)} deliveries of show {n}"


def all_delivered(api: FakeBotAPI, shows: Sequence[int]) -> bool:
    got = {(c, show_of(t)) for c, t, _ in api.delivered}
    return all((c, SHOWS[n]) in got for c in ACTIVE for n in shows)


def drain(api: FakeBotAPI, state: State, shows: Sequence[int]) -> None:
    """Waits until the outbox is empty, every alert reached every active chat, and nothing more comes."""
    wait_for(lambda: state.outbox_size() == 0 and all_delivered(api, shows), 60, "the outbox to drain")
    count = len(api.delivered)
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline:
        time.sleep(0.1)
        if len(api.delivered) != count:
            count, deadline = len(api.delivered), time.monotonic() + 2.0


def duplicates(api: FakeBotAPI, spans: list[tuple[int, int, bool]]) -> tuple[int, list[str], dict[int, int]]:
    """Counts repeats, and lists those that are not explained by a kill.

    A repeat is explained when each earlier copy was the last message its chat got in a run that
    was killed: a chat's alerts go out one after the other, each marked sent before the next is
    tried, so only that last one can have been delivered without being recorded.
    """
    run_of: dict[int, int] = {}
    last_in_run: dict[tuple[int, int | str], int] = {}
    for r, (first, end, _) in enumerate(spans):
        for i in range(first, end):
            run_of[i] = r
            last_in_run[(r, api.delivered[i][0])] = i
    copies: dict[tuple[int | str, str | None], list[int]] = defaultdict(list)
    for i, (chat, text, _) in enumerate(api.delivered):
        copies[(chat, show_of(text))].append(i)
    total, unexplained, per_run = 0, [], dict.fromkeys(range(len(spans)), 0)
    for (chat, show), where in copies.items():
        total += len(where) - 1
        for i in where[:-1]:
            r = run_of.get(i, -1)
            if r < 0 or not spans[r][2] or last_in_run.get((r, chat)) != i:
                unexplained.append(f"chat {chat} got {show!r} {len(where)} times (copy #{i} in run {r})")
            else:
                per_run[r] += 1
    return total, unexplained, per_run


@pytest.mark.timeout(300)  # about 70 s here; room for a slow machine above the 120 s default
def test_sigkill_during_cycles_and_broadcasts(tmp_path: Path, news_site: NewsSite,
                                              bot_api: FakeBotAPI) -> None:
    seed = int(os.environ.get("CRASH_SEED") or random.SystemRandom().randrange(2**32))
    print(f"crash test seed: {seed} (replay with CRASH_SEED={seed})")
    rng = random.Random(seed)
    state_dir = tmp_path / "state"
    with State.open(state_dir) as state:
        for chat in CHATS:
            state.subscribe(chat, "private", f"Viewer {chat}", now=datetime.now(UTC))
    for chat in BLOCKED:
        bot_api.add_fault("blocked", chat_id=chat, times=None)
    feeds = Feeds(news_site)
    write_sources(tmp_path / "sources.yaml", news_site)
    env = clean_env(TELEGRAM_BOT_TOKEN="123:TEST", TELEGRAM_API_URL=bot_api.base_url,
                    NEWSBOT_SOURCES=str(tmp_path / "sources.yaml"), NEWSBOT_STATE_DIR=str(state_dir))
    runs = Runs(tmp_path, env, bot_api)
    modes = [MODES[i % len(MODES)] for i in range(KILLS)]
    rng.shuffle(modes)
    log = []
    try:
        for n, mode in enumerate(modes):
            point = kill_once(n, mode, rng, feeds, news_site, runs, bot_api)
            code = runs.end(kill=True)
            log.append(f"kill {n + 1:2d} ({mode}): {point}, exit {code}")
            assert code == -signal.SIGKILL, f"run {n} had already exited ({code}): {runs.output()}"
            assert integrity(state_dir / DB_NAME) == "ok", f"seed {seed}: integrity after kill {n + 1}"
        final_checks(runs, feeds, bot_api, state_dir, seed, log)
    finally:
        if runs.proc is not None:
            runs.proc.kill()
            runs.proc.wait(10)
        print("\n".join(log))


def final_checks(runs: Runs, feeds: Feeds, api: FakeBotAPI, state_dir: Path, seed: int,
                 log: list[str]) -> None:
    """Restart, drain, unblock the blocked chats, publish once more, stop cleanly, then check everything."""
    polls = len(api.calls_to("getUpdates"))
    runs.start()
    runs.ready(polls)
    last = len(SHOWS) - 1
    with State.open(state_dir) as state:
        drain(api, state, range(KILLS))
        for chat in BLOCKED:
            api.clear_faults(chat)
        calls_before = len(api.calls_to("sendMessage"))
        feeds.announce(last)
        drain(api, state, [*range(KILLS), last])
    code = runs.end(kill=False)
    assert code == 0, f"SIGTERM should stop the daemon cleanly, got {code}: {runs.output()}"
    assert integrity(state_dir / DB_NAME) == "ok"

    total, unexplained, per_run = duplicates(api, runs.spans)
    bound = KILLS * sender_concurrency()
    worst = max(per_run.values())
    log.append(f"seed {seed}: {len(api.delivered)} deliveries, {total} repeats (bound {bound}), "
               f"at most {worst} in one kill; repeats per run {per_run}")
    assert not unexplained, f"seed {seed}: repeats not caused by a kill: {unexplained[:10]}"
    assert total <= bound, f"seed {seed}: {total} repeated messages, more than {bound}"
    assert worst <= min(sender_concurrency(), len(ACTIVE))

    got = {(c, show_of(t)) for c, t, _ in api.delivered}
    announced = [*SHOWS[:KILLS], SHOWS[-1]]
    missing = [(c, s) for c in ACTIVE for s in announced if (c, s) not in got]
    assert not missing, f"seed {seed}: alerts lost: {missing[:10]}"
    assert {c for c, _, _ in api.delivered} <= set(ACTIVE), "a blocked chat received an alert"
    late = [p for p in api.calls_to("sendMessage")[calls_before:] if p.get("chat_id") in BLOCKED]
    assert not late, f"seed {seed}: deactivated chats were written to again: {late[:3]}"
    with State.open(state_dir) as state:
        subs = {s.chat_id: s for s in state.subscribers(active_only=False)}
        assert all(not subs[c].active for c in BLOCKED), "blocked chats should be deactivated"
        assert all(subs[c].active for c in ACTIVE)
        trailers = {e.watch for e in state.events() if e.kind == "trailer" and e.alerted}
        assert trailers == {f"show{n:02d}" for n in [*range(KILLS), len(SHOWS) - 1]}
        assert state.outbox_size() == 0
        assert state.integrity_ok()
