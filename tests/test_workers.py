"""The parse pool: bodies handed to worker processes always come back, whatever happens to the pool."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from bot.detect.rules import Detector
from bot.models import Source, Watch
from bot.parse.feed import ParseError
from bot.workers import ParsePool
from tests.test_e2e import rss

WATCH = Watch(id="lk-s3", title="The Lantern Keepers", season=3)
OTHER = Watch(id="gh-s2", title="Glass Harbour", season=2)
NOW = datetime.now(UTC)
SOURCE = Source(name="wire", url="https://news.example/feed.xml")


def body(n: int) -> bytes:
    items = [(f"Harbour market report number {n}", "Prices held steady.", NOW),
             (f"Netflix releases the official trailer for The Lantern Keepers season 3 ({n})",
              "The first full trailer is out.", NOW)]
    return rss(items).encode()


@pytest.fixture
def pool() -> Iterator[ParsePool]:
    workers = ParsePool(1)
    workers.start((WATCH,))
    yield workers
    workers.close()


async def parse_many(pool: ParsePool, detector: Detector, n: int) -> list[asyncio.Task[object]]:
    return [asyncio.ensure_future(pool.parse(SOURCE, body(i), SOURCE.url, "application/rss+xml", detector))
            for i in range(n)]


async def test_every_body_comes_back_judged(pool: ParsePool) -> None:
    detector = Detector((WATCH,))
    results = await asyncio.gather(*await parse_many(pool, detector, 60))
    for parsed in results:  # only the item worth telling comes back whole; every item by its keys
        assert [d.kind for d in parsed.decisions] == ["trailer"]  # type: ignore[attr-defined]
        assert parsed.positions == [1] and "trailer" in parsed.items[0].title  # type: ignore[attr-defined]
        published = parsed.items[0].published  # type: ignore[attr-defined]
        assert published is not None and abs((published - NOW).total_seconds()) < 1  # its date was read
        assert parsed.count == 2 and all(key and url for key, url in parsed.keys)  # type: ignore[attr-defined]
    assert pool.counts["worker"] > 0 and sum(pool.counts.values()) == 60


@pytest.mark.parametrize("change", ["close", "new-watches"])
async def test_bodies_in_flight_survive_a_stop_or_a_restart(pool: ParsePool, change: str) -> None:
    detector = Detector((WATCH,))
    tasks = await parse_many(pool, detector, 40)
    await asyncio.sleep(0)  # handed out: some to the workers, the rest queued here
    if change == "close":
        pool.close()
    else:
        pool.start((WATCH, OTHER))
    results = await asyncio.wait_for(asyncio.gather(*tasks), timeout=60)
    assert len(results) == 40
    assert all(parsed.count == 2 for parsed in results)  # type: ignore[attr-defined]


async def test_a_body_that_is_not_a_feed_fails_alone(pool: ParsePool) -> None:
    detector = Detector((WATCH,))
    bad = pool.parse(SOURCE, b"<html><body>Not a feed</body></html>", SOURCE.url, "text/html", detector)
    good = pool.parse(SOURCE, body(1), SOURCE.url, "application/rss+xml", detector)
    outcomes = await asyncio.gather(bad, good, return_exceptions=True)
    assert isinstance(outcomes[0], ParseError)
    assert outcomes[1].count == 2  # type: ignore[union-attr]


async def test_workers_outlive_a_signal_to_the_process_group(pool: ParsePool) -> None:
    detector = Detector((WATCH,))
    assert len((await pool.parse(SOURCE, body(0), SOURCE.url, "application/rss+xml", detector)).keys or ()) == 2
    for pid in pool.pids():  # as Ctrl-C or systemd's stop would: the daemon itself decides when they go
        os.kill(pid, signal.SIGINT)
        os.kill(pid, signal.SIGTERM)
    await asyncio.sleep(0.5)
    before = pool.pids()
    results = await asyncio.gather(*await parse_many(pool, detector, 20))
    assert all(parsed.count == 2 for parsed in results)  # type: ignore[attr-defined]
    assert pool.pids() == before and pool.counts["worker"] > 1


def test_a_bug_with_one_body_of_a_batch_comes_back_in_its_place(monkeypatch: pytest.MonkeyPatch) -> None:
    import pickle

    import bot.workers

    real = bot.workers.parse_and_judge

    def flaky(detector: Detector | None, source: Source, data: bytes, url: str, content_type: str) -> object:
        if data == b"bug":
            raise KeyError("no such field")
        return real(detector, source, data, url, content_type)

    monkeypatch.setattr(bot.workers, "parse_and_judge", flaky)
    batch = [(SOURCE, body(0), SOURCE.url, "application/rss+xml"), (SOURCE, b"bug", SOURCE.url, "text/xml"),
             (SOURCE, b"<html>not a feed</html>", SOURCE.url, "text/html")]
    here = bot.workers._parse_all(Detector((WATCH,)), batch)
    sent = pickle.loads(pickle.dumps(bot.workers._parse_all(Detector((WATCH,)), batch, portable=True)))
    assert here[0].count == sent[0].count == 2  # type: ignore[union-attr]
    assert isinstance(here[1], KeyError)
    assert isinstance(sent[1], RuntimeError) and str(sent[1]) == "KeyError: 'no such field'"
    assert isinstance(here[2], ParseError) and isinstance(sent[2], ParseError)
