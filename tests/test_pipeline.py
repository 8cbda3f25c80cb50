"""The pipeline against a real local news site: hostile sources, backfill, dedup, failures and recovery."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import bot.fetch.client
import bot.fetch.guard
import bot.parse.feed
import bot.pipeline
from bot.fetch.client import Fetcher
from bot.models import Config, Item, Settings, Source, Watch, utcnow
from bot.pipeline import Pipeline
from bot.store.store import MAX_NEW_PER_FETCH, State
from tests.newssite import NewsSite
from tests.test_bounds import HOSTILE_BODIES
from tests.test_e2e import rss
from tests.test_ssrf import public_for

FEEDS = Path(__file__).parent / "data" / "feeds"
WATCH = Watch(id="aouad-s2", title="All of Us Are Dead", season=2, aliases=("지금 우리 학교는",))
SETTINGS = Settings(connect_timeout=1.0, read_timeout=0.5, max_body_bytes=4 * 1024 * 1024, max_redirects=3,
                    failure_alert_threshold=3, backfill_days=3)
NOW = datetime.now(UTC) - timedelta(hours=2)
TRAILER = ("Netflix unveils the official trailer for All of Us Are Dead season 2",
           "The first full trailer arrived on Tuesday.", NOW)


def make(sources: list[Source], settings: Settings = SETTINGS) -> Config:
    return Config(watches=(WATCH,), sources=tuple(sources), settings=settings)


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[tuple[State, Fetcher]]:
    state = State.open(tmp_path / "state")
    fetcher = Fetcher(SETTINGS)
    yield state, fetcher
    await fetcher.aclose()
    state.close()


def _feed(name: str) -> Callable[[NewsSite, str], None]:
    return lambda site, path: site.set(path, (FEEDS / name).read_bytes(), "application/rss+xml")


def _fault(kind: str, **params: object) -> Callable[[NewsSite, str], None]:
    return lambda site, path: site.fault(path, kind, **params)


def _big_feed(site: NewsSite, path: str) -> None:
    site.set(path, rss([(f"Cooking contest episode {i}", "Recipes.", NOW) for i in range(10_000)]))


# (name, set-up, expected error or None when the source must still count as fetched)
HOSTILE: list[tuple[str, Callable[[NewsSite, str], None] | str, str | None]] = [
    ("dns", "http://no-such-host.invalid/feed.xml", "DNS"),
    ("refused", "http://127.0.0.1:1/feed.xml", "refused"),
    ("timeout", _fault("delay", seconds=3), "timed out"),
    ("404", _fault("status", code=404), "HTTP 404"),
    ("500", _fault("status", code=500), "HTTP 500"),
    ("503", _fault("status", code=503, headers={"Retry-After": "120"}), "retry after 120"),
    ("loop", _fault("redirect_loop"), "redirect"),
    ("html", lambda site, path: site.set(path, (FEEDS / "not_a_feed.html").read_bytes(), "text/html"),
     "not a feed"),
    ("truncated", _feed("truncated.xml"), None),
    ("bad-utf8", _feed("bad_utf8.xml"), None),
    ("huge", _fault("huge", size=50 * 1024 * 1024), "larger than"),
    ("bomb", _fault("gzip_bomb", size=50 * 1024 * 1024), "larger than"),
    ("empty", _feed("empty.xml"), None),
    ("10k", _big_feed, None),
    ("no-link", _feed("no_link_no_title.xml"), None),
    ("dates", _feed("future_and_bad_dates.xml"), None),
    ("laughs", _feed("billion_laughs.xml"), "entit"),
    ("xxe", _feed("xxe.xml"), "entit"),
    *((name, lambda site, path, body=body: site.set(path, body, "application/rss+xml"), "refused: the feed has")
      for name, body in HOSTILE_BODIES.items()),
]


async def test_hostile_sources_never_hurt_the_good_one(world: tuple[State, Fetcher], news_site: NewsSite) -> None:
    state, fetcher = world
    sources = []
    for name, setup, _ in HOSTILE:
        if isinstance(setup, str):
            url = setup
        else:
            setup(news_site, f"/{name}")
            url = news_site.url(f"/{name}")
        sources.append(Source(name=name, url=url, interval=60))
    news_site.set("/good", rss([TRAILER]))
    sources.append(Source(name="good", url=news_site.url("/good"), interval=60))
    pipeline = Pipeline(make(sources), state, fetcher)
    result = await pipeline.cycle(sources)

    by_name = {o.source: o for o in result.outcomes}
    assert by_name["good"].status == "fetched"
    assert [f.event.kind for f in by_name["good"].findings] == ["trailer"]
    assert result.elapsed < 30
    for name, _, error in HOSTILE:
        st = state.source_state(name)
        if error is None:
            assert by_name[name].status == "fetched", (name, by_name[name].error)
            assert st.consecutive_errors == 0
        else:
            assert by_name[name].status == "failed", name
            assert st.consecutive_errors == 1 and st.last_error is not None
            assert error.lower() in st.last_error.lower(), (name, st.last_error)
    assert state.source_state("10k").items_seen <= MAX_NEW_PER_FETCH
    assert state.integrity_ok()


def churning_feed(fetch: int) -> str:
    """500 items whose ids, links and 2 KB guids change on every fetch (the feed of issue 16)."""
    items = "".join(
        f"<item><title>Cooking contest episode {n}</title><link>https://churn.example/{fetch}/{n}</link>"
        f"<guid>{fetch}-{n}-{'x' * 2000}</guid><description>{'Recipes. ' * 200}</description></item>"
        for n in range(500)
    )
    return f'<rss version="2.0"><channel><title>Churn</title>{items}</channel></rss>'


async def test_a_feed_changing_its_ids_every_fetch_adds_bounded_rows(world: tuple[State, Fetcher],
                                                                      news_site: NewsSite, tmp_path: Path) -> None:
    state, fetcher = world
    source = Source(name="churn", url=news_site.url("/churn"), interval=60)
    pipeline = Pipeline(make([source]), state, fetcher)
    rows = []
    for fetch in range(4):
        news_site.set("/churn", churning_feed(fetch))
        [outcome] = (await pipeline.cycle([source])).outcomes
        assert outcome.status == "fetched" and outcome.items == 500
        rows.append(state.source_state("churn").items_seen)
    assert rows == [MAX_NEW_PER_FETCH * n for n in range(1, 5)]
    db = sqlite3.connect(tmp_path / "state" / "newsbot.db")
    assert db.execute("SELECT MAX(LENGTH(key)) FROM seen").fetchone()[0] < 100
    assert db.execute("SELECT SUM(LENGTH(key) + LENGTH(url)) FROM seen").fetchone()[0] < 4 * 200 * 150
    state.prune(utcnow(), max_per_source=300, keep_per_source=300)
    assert db.execute("SELECT COUNT(*) FROM seen").fetchone()[0] == 300
    db.close()


async def test_each_source_is_committed_as_it_finishes(world: tuple[State, Fetcher], news_site: NewsSite) -> None:
    state, _ = world
    news_site.set("/good", rss([TRAILER]))
    news_site.set("/slow", rss([]))
    news_site.fault("/slow", "delay", seconds=1.0)
    sources = [Source(name="good", url=news_site.url("/good"), interval=60),
               Source(name="slow", url=news_site.url("/slow"), interval=60)]
    settings = replace(SETTINGS, read_timeout=10.0)
    patient = Fetcher(settings)
    pipeline = Pipeline(make(sources, settings), state, patient)
    reader = sqlite3.connect(state.path)  # another connection sees only what is committed

    def committed(name: str) -> bool:
        return reader.execute("SELECT 1 FROM sources WHERE name = ? AND last_success IS NOT NULL",
                              (name,)).fetchone() is not None

    try:
        cycle = asyncio.ensure_future(pipeline.cycle(sources))
        while not committed("good") and not cycle.done():
            await asyncio.sleep(0.02)
        assert not cycle.done() and not committed("slow")  # "good" was committed while "slow" was pending
        result = await cycle
        assert [o.status for o in result.outcomes] == ["fetched", "fetched"] and committed("slow")
        assert reader.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] == 0  # no subscriber: none queued
        assert reader.execute("SELECT COUNT(*) FROM events").fetchone()[0] == 1
    finally:
        reader.close()
        await patient.aclose()


async def test_a_bug_parsing_one_body_fails_that_source_only(world: tuple[State, Fetcher], news_site: NewsSite,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    state, fetcher = world
    news_site.set("/good", rss([TRAILER]))
    news_site.set("/bug", rss([("A cooking contest returns", "Recipes.", NOW)]))
    good, bug = (Source(name=n, url=news_site.url(f"/{n}"), interval=60) for n in ("good", "bug"))
    real = bot.parse.feed.parse_source

    def flaky(source: Source, body: bytes, base_url: str, *, content_type: str = "") -> list[Item]:
        if source.name == "bug":
            raise KeyError("no such field")
        return real(source, body, base_url, content_type=content_type)

    monkeypatch.setattr(bot.pipeline, "parse_source", flaky)
    pipeline = Pipeline(make([good, bug]), state, fetcher)
    result = await pipeline.cycle([good, bug])
    by_name = {o.source: o for o in result.outcomes}
    assert by_name["good"].status == "fetched" and [f.event.kind for f in by_name["good"].findings] == ["trailer"]
    assert by_name["bug"].status == "failed"
    assert by_name["bug"].error == "internal error: KeyError: 'no such field'"
    assert state.source_state("bug").consecutive_errors == 1


def undated(*titles: str) -> str:
    """A feed whose items carry no date."""
    items = "".join(f"<item><title>{t}</title><link>https://news.example/{abs(hash(t))}</link></item>"
                    for t in titles)
    return f"<?xml version='1.0'?><rss version='2.0'><channel><title>Wire</title>{items}</channel></rss>"


async def test_undated_items_backfill_on_the_first_fetch_only(world: tuple[State, Fetcher],
                                                              news_site: NewsSite) -> None:
    state, fetcher = world
    state.subscribe(7, "private", "fan", now=NOW)
    old = "Netflix releases the teaser for All of Us Are Dead season 2"
    news_site.set("/feed", undated(old))
    source = Source(name="feed", url=news_site.url("/feed"), interval=60)
    pipeline = Pipeline(make([source]), state, fetcher)

    first = await pipeline.cycle([source])
    assert [(f.event.kind, f.alerted) for f in first.findings] == [("trailer", False)]  # no date: backfill

    news_site.set("/feed", undated("Netflix officially renews All of Us Are Dead for season 2", old))
    later = await pipeline.cycle([source])
    assert [(f.event.kind, f.alerted) for f in later.findings] == [("renewal", True)]
    assert state.outbox_size() == 1


async def test_backfill_then_new_items_alert_once(world: tuple[State, Fetcher], news_site: NewsSite) -> None:
    state, fetcher = world
    state.subscribe(7, "private", "fan", now=NOW)
    old = ("Netflix releases the teaser for All of Us Are Dead season 2", "A first teaser.",
           NOW - timedelta(days=30))
    news_site.set("/feed", rss([old]))
    source = Source(name="feed", url=news_site.url("/feed"), interval=60)
    pipeline = Pipeline(make([source]), state, fetcher)

    first = await pipeline.cycle([source])
    assert [f.alerted for f in first.findings] == [False]
    assert state.outbox_size() == 0

    unchanged = await pipeline.cycle([source])
    assert unchanged.outcomes[0].status == "unchanged"

    news_site.set("/feed", rss([TRAILER, old]))
    second = await pipeline.cycle([source])
    assert [(f.event.kind, f.alerted) for f in second.findings] == [("trailer", True)]
    assert state.outbox_size() == 1

    again = ("All of Us Are Dead season 2 trailer is out: Netflix shares the first footage",
             "Netflix unveiled the official trailer for the second season.", NOW)
    news_site.set("/feed", rss([again, TRAILER, old]))
    third = await pipeline.cycle([source])
    assert [(f.new_event, f.alerted) for f in third.findings] == [(False, False)]
    assert state.outbox_size() == 1
    assert state.events("aouad-s2")[0].reports == 2


async def test_a_second_trailer_weeks_after_the_first_alerts_again(world: tuple[State, Fetcher],
                                                                   news_site: NewsSite) -> None:
    state, fetcher = world
    state.subscribe(7, "private", "fan", now=NOW)
    clock = [NOW - timedelta(days=60)]
    first = ("Netflix unveils the official trailer for All of Us Are Dead season 2",
             "The first full trailer arrived on Tuesday.", clock[0])
    news_site.set("/feed", rss([first]))
    source = Source(name="feed", url=news_site.url("/feed"), interval=60)
    pipeline = Pipeline(make([source]), state, fetcher, clock=lambda: clock[0])
    assert [(f.event.kind, f.alerted) for f in (await pipeline.cycle([source])).findings] == [("trailer", True)]

    clock[0] = NOW - timedelta(days=57)  # another outlet's report of the same trailer, days later
    echo = ("All of Us Are Dead season 2 trailer is out: Netflix shares the first footage",
            "Netflix unveiled the official trailer for the second season.", clock[0])
    news_site.set("/feed", rss([echo, first]))
    assert [(f.new_event, f.alerted) for f in (await pipeline.cycle([source])).findings] == [(False, False)]

    clock[0] = NOW  # two months on, the final trailer
    final = ("Netflix releases the final trailer for All of Us Are Dead season 2",
             "The last trailer before the premiere arrived today.", NOW)
    news_site.set("/feed", rss([final, echo, first]))
    result = await pipeline.cycle([source])
    assert [(f.event.kind, f.new_event, f.alerted) for f in result.findings] == [("trailer", True, True)]
    assert state.outbox_size() == 2
    assert [e.reports for e in state.events("aouad-s2")] == [1, 2]


async def test_late_report_of_an_old_event_never_alerts(world: tuple[State, Fetcher],
                                                         news_site: NewsSite) -> None:
    state, fetcher = world
    state.subscribe(7, "private", "fan", now=NOW)
    news_site.set("/feed", rss([("Cooking show returns", "Recipes.", NOW)]))
    source = Source(name="feed", url=news_site.url("/feed"), interval=60)
    pipeline = Pipeline(make([source]), state, fetcher)
    await pipeline.cycle([source])
    renewal = ("Netflix renews All of Us Are Dead for season 2", "The streamer confirmed a second season.",
               datetime(2022, 6, 7, tzinfo=UTC))
    news_site.set("/feed", rss([renewal]))
    result = await pipeline.cycle([source])
    assert [(f.event.kind, f.alerted) for f in result.findings] == [("renewal", False)]
    assert state.outbox_size() == 0


async def test_failures_tell_operators_once_and_on_recovery(world: tuple[State, Fetcher],
                                                            news_site: NewsSite) -> None:
    state, fetcher = world
    news_site.fault("/flaky", "status", code=500)
    source = Source(name="flaky", url=news_site.url("/flaky"), interval=60)
    pipeline = Pipeline(make([source]), state, fetcher)
    messages = []
    for _ in range(5):
        result = await pipeline.cycle([source])
        messages.append(result.outcomes[0].operator_message)
    assert [m is not None for m in messages] == [False, False, True, False, False]
    assert "failed 3 times in a row" in (messages[2] or "")
    news_site.clear_fault("/flaky")
    news_site.set("/flaky", rss([]))
    ok = await pipeline.cycle([source])
    assert ok.outcomes[0].operator_message == "Source flaky has recovered."
    again = await pipeline.cycle([source])
    assert again.outcomes[0].operator_message is None


async def test_gone_disables_and_moved_updates_url(world: tuple[State, Fetcher], news_site: NewsSite) -> None:
    state, fetcher = world
    news_site.fault("/gone", "status", code=410)
    news_site.fault("/old", "redirect", to="/new", code=301)
    news_site.set("/new", rss([]))
    gone = Source(name="gone", url=news_site.url("/gone"), interval=60)
    moved = Source(name="moved", url=news_site.url("/old"), interval=60)
    pipeline = Pipeline(make([gone, moved]), state, fetcher)
    result = await pipeline.cycle([gone, moved])
    by_name = {o.source: o for o in result.outcomes}
    assert "disabled" in (by_name["gone"].operator_message or "")
    assert state.source_state("gone").disabled
    assert [s.name for s in pipeline.active_sources()] == ["moved"]
    assert state.source_state("moved").url == news_site.url("/new")
    await pipeline.cycle([moved])
    assert news_site.hits("/old") == 1


async def test_backoff_and_retry_after_delay_the_next_fetch(world: tuple[State, Fetcher],
                                                            news_site: NewsSite) -> None:
    state, fetcher = world
    news_site.fault("/busy", "status", code=503, headers={"Retry-After": "600"})
    source = Source(name="busy", url=news_site.url("/busy"), interval=5)
    pipeline = Pipeline(make([source]), state, fetcher)
    await pipeline.cycle([source])
    st = state.source_state("busy")
    assert st.next_fetch_after is not None
    assert st.next_fetch_after - datetime.now(UTC) > timedelta(seconds=590)
    assert pipeline.due(datetime.now(UTC) + timedelta(seconds=60)) == []
    assert pipeline.due(datetime.now(UTC) + timedelta(seconds=700)) == [source]


@pytest.mark.parametrize("public_only", [False, True])
async def test_near_miss_is_decided_from_the_article(world: tuple[State, Fetcher], news_site: NewsSite,
                                                     monkeypatch: pytest.MonkeyPatch, public_only: bool) -> None:
    state, fetcher = world
    article = ("<html><head><title>News</title></head><body><nav>Home | TV</nav><article>"
               "<h1>Korean zombie thriller season 2 begins production</h1>"
               "<p>Netflix confirmed on Thursday that filming of All of Us Are Dead season 2 has begun in "
               "Seoul, with the original cast returning.</p></article><footer>(c) News</footer></body></html>")
    news_site.set("/article", article, "text/html; charset=utf-8")
    headline = ("Korean zombie thriller season 2 begins production - Daily Screen", "", NOW)
    body = rss([headline]).replace("https://news.example/", news_site.url("/article") + "?id=")
    news_site.set("/gn", body)
    source = Source(name="gn", url=news_site.url("/gn"), interval=60, public_only=public_only,
                    allow_private=not public_only)  # a local article is followed only where allowed
    # the feed is public, its article not
    monkeypatch.setattr(bot.fetch.guard, "check_public_url", public_for(source.url))
    pipeline = Pipeline(make([source]), state, fetcher)
    result = await pipeline.cycle([source])
    assert news_site.hits("/gn") == 1
    if public_only:  # a link to a private address is never followed for such a source; the item stays a near miss
        assert news_site.hits("/article") == 0 and not result.findings
    else:
        assert news_site.hits("/article") == 1
        assert [(f.event.kind, f.event.watch) for f in result.findings] == [("production", "aouad-s2")]


_NEWS_PAGE = ("<html><body><article><h1>All of Us Are Dead season 2 teaser</h1><p>Netflix released the first "
              "teaser for All of Us Are Dead season 2 on Monday. The one-minute video shows the students back "
              "at school.</p></article></body></html>")
_EXPLAINER_PAGE = ("<html><body><article><h1>All of Us Are Dead season 2 teaser</h1><p>Is there an All of Us Are "
                   "Dead season 2 teaser yet? Here is everything we know so far. When will it arrive? What to "
                   "expect from the plot, the cast we hope returns, and will there be a trailer soon?</p>"
                   "</article></body></html>")


_CONSENT_PAGE = ("<html><head><title>Before you continue</title></head><body><article><h1>Before you continue to "
                 "Google</h1><p>We use cookies and data to deliver and maintain Google services, track outages "
                 "and protect against spam, fraud and abuse. If you choose to Accept all, we will also use "
                 "cookies and data to develop and improve new services.</p></article></body></html>")


@pytest.mark.parametrize(("page", "alerted"), [(_NEWS_PAGE, True), (_EXPLAINER_PAGE, None), (None, False),
                                               (_CONSENT_PAGE, False)])
async def test_an_unsure_headline_alone_is_decided_by_its_article(world: tuple[State, Fetcher], news_site: NewsSite,
                                                                  page: str | None, alerted: bool | None) -> None:
    """A headline without a lede (a Google News item) that alerts unsure is read again from its article:
    a news page sends it at once, an explainer takes it away, no page, or a page that names no watch (not
    the article: a consent page), leaves it waiting for a second report."""
    state, fetcher = world
    if page is not None:
        news_site.set("/article", page, "text/html; charset=utf-8")
    else:
        news_site.fault("/article", "status", code=404)
    headline = ("All of Us Are Dead season 2 teaser", "", NOW)  # 0.70 alone: it would wait
    news_site.set("/gn", rss([headline]).replace("https://news.example/", news_site.url("/article") + "?id="))
    source = Source(name="gn", url=news_site.url("/gn"), interval=60, allow_private=True)
    result = await Pipeline(make([source]), state, fetcher).cycle([source])
    assert news_site.hits("/article") == 1
    assert [(f.event.kind, f.alerted) for f in result.findings] == ([] if alerted is None else [("trailer", alerted)])


async def test_due_rereads_the_state_only_when_flags_may_have_moved(world: tuple[State, Fetcher],
                                                                    tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    state, fetcher = world
    a, b = (Source(name=n, url=f"http://127.0.0.1:1/{n}", interval=60) for n in "ab")
    pipeline = Pipeline(make([a, b]), state, fetcher)
    reads = []
    real = state.source_states

    def counted() -> Any:
        reads.append(1)
        return real()

    monkeypatch.setattr(state, "source_states", counted)
    now = datetime.now(UTC) + timedelta(seconds=1)
    assert pipeline.due(now) == [a, b]
    first = len(reads)
    for _ in range(5):
        assert pipeline.due(now) == [a, b]
    assert len(reads) == first  # nothing changed: the schedule in memory is enough
    state.set_paused("a", True)  # an admin command in this process
    assert pipeline.due(now) == [b] and pipeline.active_sources() == [b]
    state.set_paused("a", False)
    assert pipeline.due(now) == [a, b]
    with State.open(tmp_path / "state") as other:  # another process, e.g. the command line
        other.set_disabled("b", True)
    assert pipeline.due(now) == [a]


async def test_unchanged_sources_are_recorded_together(world: tuple[State, Fetcher], news_site: NewsSite,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    state, fetcher = world
    sources = []
    for n in range(3):
        news_site.set(f"/f{n}", rss([(f"Cooking contest episode {n}", "Recipes.", NOW)]))
        sources.append(Source(name=f"f{n}", url=news_site.url(f"/f{n}"), interval=60))
    state.record_fetch_error("f1", now=NOW, error="HTTP 500")
    pipeline = Pipeline(make(sources), state, fetcher)
    await pipeline.cycle(sources)
    batches: list[list[str]] = []
    real = state.record_unchanged

    def recorded(done: Any, now: datetime) -> None:
        batches.append([u.name for u in done])
        real(done, now=now)

    monkeypatch.setattr(state, "record_unchanged", recorded)
    later = datetime.now(UTC) + timedelta(minutes=5)
    pipeline.clock = lambda: later
    result = await pipeline.cycle(sources)
    assert [o.status for o in result.outcomes] == ["unchanged"] * 3
    assert [sorted(b) for b in batches] == [["f0", "f1", "f2"]]
    assert all(state.source_state(s.name).last_success == later for s in sources)
    assert state.source_state("f0").etag is not None
    solo = await pipeline.run_source(sources[0])
    assert solo.status == "unchanged" and batches[-1] == ["f0"]


async def test_a_state_that_cannot_be_written_is_one_line_and_backs_off(
        world: tuple[State, Fetcher], news_site: NewsSite, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)  # (an in-process `scan` earlier may have left the root logger at ERROR)
    state, fetcher = world
    news_site.set("/feed.xml", rss([]))
    source = Source(name="local", url=news_site.url("/feed.xml"), interval=1)
    pipeline = Pipeline(make([source]), state, fetcher)
    real = state.record_fetched

    def disk_full(*args: object, **kwargs: object) -> object:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(state, "record_fetched", disk_full)
    monkeypatch.setattr(state, "record_fetch_error", disk_full)
    for _ in range(3):
        outcome = await pipeline.run_one(source, pipeline.batch())
        assert outcome.status == "failed" and "database or disk is full" in (outcome.error or "")
    assert pipeline.due(utcnow() + timedelta(seconds=3)) == []  # not every second: it waits
    refused = [r for r in caplog.records if "cannot write the state" in r.getMessage()]
    assert len(refused) == 1 and not any(r.exc_info for r in caplog.records), caplog.text
    monkeypatch.setattr(state, "record_fetched", real)
    news_site.set("/feed.xml", rss([("A new headline", "text", datetime.now(UTC))]))
    assert (await pipeline.run_one(source, pipeline.batch())).status == "fetched"
    assert "the state can be written again" in caplog.text
