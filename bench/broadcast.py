"""Broadcast bench: one alert to many subscribers through the outbox sender and a fake Bot API.

Run: python bench/broadcast.py [--subscribers 10000] [--limited 600]

1. No rate limit anywhere: the sender must sustain at least 500 messages/s to 10,000 chats.
2. Telegram-like limit: the fake answers 429 above 30 messages/s and the bot uses the production
   rate limiter (30/s overall); over a bounded run the sender must reach at least 95% of 30/s
   without ever being told to slow down.
The fake API runs in its own process (like the real one, its work is not charged to the sender).
Every message must arrive exactly once. Prints the figures; exits 1 if a target is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import telegram  # noqa: E402
from telegram.request import HTTPXRequest  # noqa: E402

from bot.messages import format_alert  # noqa: E402
from bot.models import Config, Decision, Item, Watch  # noqa: E402
from bot.store.store import State  # noqa: E402
from bot.telegram.bot import BotDeps, Sender, build_application  # noqa: E402
from bot.telegram.sender import Render  # noqa: E402

TOKEN = "123:BENCH"
WATCH = Watch("aoad2", "All of Us Are Dead", 2)
NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


@contextmanager
def fake_api(*extra: str) -> Iterator[str]:
    """Run tests/fakebotapi.py in a child process; yields its base URL."""
    proc = subprocess.Popen([sys.executable, "-m", "tests.fakebotapi", *extra], cwd=ROOT, text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert proc.stdout is not None
        yield proc.stdout.readline().strip()
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def fake_stats(base_url: str) -> dict[str, Any]:
    """Delivery figures kept by the fake API."""
    result: dict[str, Any] = httpx.post(f"{base_url}{TOKEN}/fakeStats").json()["result"]
    return result


def prepare(state_dir: Path, subscribers: int) -> State:
    """A state with `subscribers` private chats and one new trailer alert queued for all of them."""
    state = State.open(state_dir)
    for chat in range(1, subscribers + 1):
        state.subscribe(100_000 + chat, "private", f"fan {chat}", now=NOW)
    item = Item(title="Season 2 official trailer released", url="https://news.example/aoad2-trailer",
                published=NOW)
    decision = Decision(alert=True, kind="trailer", watch=WATCH.id, confidence=0.95,
                        evidence="official trailer", milestone="trailer")
    [result] = state.record_fetched("Example News", now=NOW, items_seen=[], findings=[(item, decision, True)],
                                    etag=None, last_modified=None)
    assert result.queued == subscribers, result
    return state


def renderer(state: State) -> Render:
    """Alert text for an outbox row, as the application renders it."""

    def render(event_id: int, chat_id: int) -> str | None:
        event = state.event(event_id)
        return None if event is None else format_alert(event, f"{WATCH.title} — season {WATCH.season}")
    return render


def exactly_once(stats: dict[str, Any], expected: int) -> bool:
    """Every chat got the alert, and none got it twice."""
    return bool(stats["delivered"] == stats["chats"] == expected and stats["max_per_chat"] == 1)


async def unlimited(subscribers: int, concurrency: int) -> bool:
    """Run 1: no limit on either side."""
    with fake_api() as base_url, tempfile.TemporaryDirectory() as tmp:
        state = prepare(Path(tmp), subscribers)
        request = HTTPXRequest(connection_pool_size=concurrency + 4, read_timeout=10, pool_timeout=10)
        async with telegram.Bot(TOKEN, base_url=base_url, request=request) as bot:
            sender = Sender(bot, state, renderer(state), concurrency=concurrency)
            start = time.perf_counter()
            stats = await sender.flush()
            elapsed = time.perf_counter() - start
        left = state.outbox_size()
        state.close()
        api = fake_stats(base_url)
    rate = stats.sent / elapsed
    once = exactly_once(api, subscribers)
    ok = rate >= 500 and once and left == 0
    print(f"unlimited: {stats.sent} messages to {subscribers} chats in {elapsed:.2f} s = {rate:,.0f} msg/s "
          f"(concurrency {concurrency}); exactly once: {once}; left in outbox: {left} "
          f"-> {'PASS' if ok else 'FAIL'} (target >= 500/s)")
    return ok


async def limited(messages: int) -> bool:
    """Run 2: the fake enforces 30/s with 429s; the production rate limiter must keep under it."""
    with fake_api("--rate-limit", "30") as base_url, tempfile.TemporaryDirectory() as tmp:
        state = prepare(Path(tmp), messages)
        deps = BotDeps(state=state, config_provider=lambda: Config(watches=(WATCH,), sources=()),
                       admins=frozenset())
        app = build_application(TOKEN, base_url=base_url, deps=deps)
        await app.initialize()
        sender = Sender(app.bot, state, renderer(state))
        start = time.perf_counter()
        stats = await sender.flush()
        elapsed = time.perf_counter() - start
        await app.shutdown()
        left = state.outbox_size()
        state.close()
        api = fake_stats(base_url)
    rate = stats.sent / elapsed
    once = exactly_once(api, messages)
    ok = rate >= 0.95 * 30 and api["rate_limited"] == 0 and once and left == 0
    print(f"limited to 30/s: {stats.sent} messages in {elapsed:.2f} s = {rate:.2f} messages/s "
          f"({rate / 30:.1%} of 30/s); 429 answers: {api['rate_limited']}; exactly once: {once}; "
          f"left in outbox: {left} -> {'PASS' if ok else 'FAIL'} (target >= 28.5/s and no 429)")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--limited", type=int, default=600, help="messages in the rate-limited run")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[8, 32],
                        help="sender concurrency for the unlimited run (the first must pass)")
    parser.add_argument("--no-sniffio-stub", action="store_true",
                        help="measure with httpcore re-trying `import sniffio` on every request")
    args = parser.parse_args()
    if importlib.util.find_spec("sniffio") is None and not args.no_sniffio_stub:
        # httpcore imports sniffio on every request; when it is not installed each request scans
        # sys.path for it. Caching the absence is what installing sniffio achieves.
        print("note: sniffio is not installed; its absence is cached (see --no-sniffio-stub)")
        sys.modules["sniffio"] = None  # type: ignore[assignment]
    results = [asyncio.run(unlimited(args.subscribers, c)) for c in args.concurrency]
    ok = asyncio.run(limited(args.limited)) and results[0]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
