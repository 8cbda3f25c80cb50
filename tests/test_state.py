"""Tests for the SQLite state store: schema, fetch state, dedup, events, subscribers, outbox."""

from __future__ import annotations

import logging
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.models import KINDS, Decision, Item, Kind, KnownEvent, Watch, parse_date_prefix
from bot.store.chats import ChatRepo
from bot.store.db import MIGRATIONS, SCHEMA_VERSION
from bot.store.events import FOLD_DAYS
from bot.store.store import DB_NAME, MAX_NEW_PER_FETCH, FindingResult, SourceState, State, StateError, Unchanged

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def state(tmp_path: Path) -> Iterator[State]:
    st = State.open(tmp_path)
    yield st
    st.close()


def item(n: int, *, guid: str | None = None, url: str | None = None, title: str | None = None) -> Item:
    return Item(
        title=title if title is not None else f"Headline number {n}",
        url=url if url is not None else f"https://news.example/a/{n}",
        guid=guid if guid is not None else f"guid-{n}",
        published=T0 - timedelta(hours=n),
    )


def decision(kind: Kind = "renewal", milestone: str = "renewed", watch: str = "aouad-2") -> Decision:
    return Decision(
        alert=True, kind=kind, watch=watch, confidence=0.9, evidence="renewed for", milestone=milestone
    )


def find(state: State, *, source: str, item: Item, decision: Decision, now: datetime, alert: bool) -> FindingResult:
    """One finding, recorded as the pipeline records a fetch that brought it."""
    found = [(item, decision, alert)]
    return state.record_fetched(source, now=now, items_seen=[], findings=found, etag=None, last_modified=None)[0]


def mark_seen(state: State, source: str, items: list[Item], *, now: datetime) -> None:
    """Items seen, recorded as the pipeline records fetches that brought nothing to report (as many
    fetches as it takes: one records at most MAX_NEW_PER_FETCH)."""
    for start in range(0, max(len(items), 1), MAX_NEW_PER_FETCH):
        state.record_fetched(source, now=now, items_seen=items[start : start + MAX_NEW_PER_FETCH], findings=[],
                             etag=None, last_modified=None)


def fetched(
    state: State, name: str, *, now: datetime = T0, etag: str | None = None, last_modified: str | None = None,
    new_url: str | None = None,
) -> SourceState:
    """A 200 answer with nothing in it; the source's state afterwards."""
    state.record_fetched(name, now=now, items_seen=[], findings=[], etag=etag, last_modified=last_modified,
                         new_url=new_url)
    return state.source_state(name)


def not_modified(state: State, name: str, *, now: datetime = T0, etag: str | None = None) -> SourceState:
    """A 304 answer; the source's state afterwards."""
    state.record_unchanged([Unchanged(name, etag=etag)], now=now)
    return state.source_state(name)


def table_counts(path: Path) -> dict[str, int]:
    conn = sqlite3.connect(path / DB_NAME)
    try:
        return {
            t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
            for t in ("seen", "events", "reports", "outbox", "subscribers")
        }
    finally:
        conn.close()


# ---- schema -------------------------------------------------------------------------------------


def test_open_creates_schema_and_reopens(tmp_path: Path) -> None:
    target = tmp_path / "nested" / "state"
    st = State.open(target)
    st.subscribe(1, "private", "Ann", now=T0)
    st.close()
    conn = sqlite3.connect(target / DB_NAME)
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    conn.close()
    assert {"sources", "seen", "events", "reports", "subscribers", "outbox", "cycles", "meta"} <= tables
    assert version == SCHEMA_VERSION
    with State.open(target) as again:
        sub = again.subscriber(1)
        assert sub is not None and sub.title == "Ann"
        assert again.integrity_ok()



def test_version_1_database_is_migrated_keeping_its_rows(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / DB_NAME)
    conn.executescript(f"{MIGRATIONS[0]}\nPRAGMA user_version=1;")
    conn.execute("INSERT INTO events (watch, kind, first_seen, ordered_at) VALUES ('w', 'renewal', 'x', 'x')")
    conn.execute("INSERT INTO reports (event_id, feed, source, url, seen_at) VALUES (1, 'f', 's', 'u', 'x')")
    conn.commit()
    conn.close()
    with State.open(tmp_path) as st:
        assert st.db.read("SELECT source, title, url FROM reports WHERE event_id = 1") == [("s", "", "u")]
        version = st.db.read("PRAGMA user_version")[0][0]
        plan = st.db.read("EXPLAIN QUERY PLAN SELECT 1 FROM reports WHERE event_id = 1 AND url = 'u'")
    assert version == SCHEMA_VERSION == 5
    assert "reports_event_url (event_id=? AND url=?)" in str(plan)


def test_two_processes_upgrading_one_old_database_both_succeed(tmp_path: Path) -> None:
    from bot.store.db import _steps, configure, migrate

    conn = sqlite3.connect(tmp_path / DB_NAME)
    conn.executescript(f"{MIGRATIONS[0]}\nPRAGMA user_version=1;")
    conn.close()
    first = sqlite3.connect(tmp_path / DB_NAME, isolation_level=None)
    late = sqlite3.connect(tmp_path / DB_NAME, isolation_level=None)
    configure(first)
    configure(late)
    seen = int(late.execute("PRAGMA user_version").fetchone()[0])  # read before the other process migrates
    assert migrate(first) == SCHEMA_VERSION
    assert _steps(late, seen) == SCHEMA_VERSION  # its step 2 (DROP INDEX) fails: the other ran it already
    assert late.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    first.close()
    late.close()


def test_version_2_database_loses_the_seen_time_index_and_keeps_pruning(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / DB_NAME)
    conn.executescript(f"{MIGRATIONS[0]}\n{MIGRATIONS[1]}\nPRAGMA user_version=2;")
    rows = [("feed", f"g:{n}", f"https://site.example/{n}", f"2026-01-{n + 1:02d}T00:00:00+00:00") for n in range(9)]
    conn.executemany("INSERT INTO seen (source, key, url, first_seen) VALUES (?, ?, ?, ?)", rows)
    conn.commit()
    conn.close()
    with State.open(tmp_path) as st:
        indexes = {r[0] for r in st.db.read("SELECT name FROM sqlite_master WHERE type = 'index'")}
        removed = st.prune(datetime(2027, 1, 1, tzinfo=UTC), keep_days=30, keep_per_source=3)
        kept = [r[0] for r in st.db.read("SELECT key FROM seen ORDER BY key")]
        assert st.integrity_ok()
    assert "seen_source_time" not in indexes and "seen_url" in indexes
    assert removed["seen"] == 6 and kept == ["g:6", "g:7", "g:8"]

def test_version_3_database_keeps_its_events_and_takes_a_second_event_of_a_milestone(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / DB_NAME)
    conn.executescript(f"{MIGRATIONS[0]}\n{MIGRATIONS[1]}\n{MIGRATIONS[2]}\nPRAGMA user_version=3;")
    conn.execute("""INSERT INTO events (watch, kind, milestone, first_seen, published, ordered_at, alerted)
                    VALUES ('aouad-2', 'trailer', 'trailer', ?, ?, ?, 1)""", (T0.isoformat(),) * 3)
    at = T0.isoformat()
    conn.execute("INSERT INTO reports (event_id, feed, source, url, seen_at) VALUES (1, 'f', 's', 'u', ?)", (at,))
    conn.execute("INSERT INTO subscribers (chat_id, chat_type, kinds, since) VALUES (1, 'private', '*', ?)", (at,))
    conn.execute("INSERT INTO outbox (chat_id, event_id, created) VALUES (1, 1, ?)", (at,))
    conn.commit()
    conn.close()
    with State.open(tmp_path) as st:
        assert st.db.read("SELECT event_id FROM reports") == [(1,)] and st.outbox_size() == 1
        when = T0 + timedelta(days=60)
        res = find(st, source="s", item=replace(item(7), published=when), decision=decision("trailer", "trailer"),
                   now=when, alert=True)
        assert res.new_event and res.event.id == 2
        assert st.db.read("PRAGMA foreign_keys") == [(1,)] and st.integrity_ok()



def test_version_4_database_keeps_its_events_visible_and_alerted(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / DB_NAME)
    conn.executescript("\n".join(MIGRATIONS[:4]) + "\nPRAGMA user_version=4;")
    conn.execute("""INSERT INTO events (watch, kind, milestone, first_seen, published, ordered_at, title, alerted)
                    VALUES ('aouad-2', 'renewal', 'renewed', ?, ?, ?, 'Renewed', 1)""", (T0.isoformat(),) * 3)
    conn.commit()
    conn.close()
    with State.open(tmp_path) as st:
        events = st.events()
        # a later unsure report of it folds in, as any report of a known event does
        res = find(st, source="s", item=item(3), decision=unsure(), now=T0 + timedelta(days=1), alert=True)
        assert st.integrity_ok()
    assert [(e.title, e.alerted, e.waiting) for e in events] == [("Renewed", True, False)]
    assert (res.new_event, res.alerted, res.event.id) == (False, False, 1)


def test_pragmas(state: State) -> None:
    conn = state.db.conn
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 5000


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    State.open(tmp_path).close()
    conn = sqlite3.connect(tmp_path / DB_NAME)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(StateError, match="newer"):
        State.open(tmp_path)


def test_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / DB_NAME).write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(StateError, match="cannot use state database"):
        State.open(tmp_path)


# ---- fetch state --------------------------------------------------------------------------------


def test_unknown_source_has_defaults(state: State) -> None:
    st = state.source_state("nowhere")
    assert (st.name, st.consecutive_errors, st.etag, st.disabled, st.last_success) == (
        "nowhere",
        0,
        None,
        False,
        None,
    )
    assert state.source_states() == {}


def test_states_of_many_sources_read_at_once_match_one_by_one(state: State) -> None:
    names = [f"feed-{i:04d}" for i in range(0, 1000, 3)] + ["never-fetched"]
    for i, name in enumerate(names[:-1]):
        fetched(state, name, etag=f'"e{i}"')
    many = state.states_of([*names, *[f"new-{i}" for i in range(500)]])  # more names than one query takes
    assert len(many) == len(names) + 500
    assert all(many[name] == state.source_state(name) for name in names)
    assert many["feed-0999"].etag == f'"e{len(names) - 2}"' and many["never-fetched"].etag is None


def test_fetch_ok_then_errors_then_recovery(state: State) -> None:
    st = fetched(state, "s", etag='"v1"', last_modified="Sat, 01 Mar 2025")
    assert (st.etag, st.last_modified, st.last_success, st.consecutive_errors) == (
        '"v1"',
        "Sat, 01 Mar 2025",
        T0,
        0,
    )
    retry_at = T0 + timedelta(minutes=30)
    for n in range(1, 4):
        st = state.record_fetch_error(
            "s", now=T0 + timedelta(minutes=n), error=f"HTTP 50{n}", next_fetch_after=retry_at
        )
        assert st.consecutive_errors == n
    assert (st.last_error, st.next_fetch_after, st.last_success) == ("HTTP 503", retry_at, T0)
    assert st.etag == '"v1"'  # errors keep the validators
    state.set_failure_notified("s", True)
    assert state.source_state("s").failure_notified
    later = T0 + timedelta(hours=1)
    st = not_modified(state, "s", now=later)
    assert (st.consecutive_errors, st.next_fetch_after, st.last_error, st.failure_notified) == (
        0,
        None,
        None,
        False,
    )
    assert (st.last_success, st.last_attempt) == (later, later)
    assert (st.etag, st.last_modified) == ('"v1"', "Sat, 01 Mar 2025")  # 304 keeps them


def test_not_modified_with_new_validator_replaces_it(state: State) -> None:
    fetched(state, "s", etag='"v1"', last_modified="lm1")
    st = not_modified(state, "s", etag='"v2"')
    assert (st.etag, st.last_modified) == ('"v2"', "lm1")


def test_200_without_validators_clears_them(state: State) -> None:
    fetched(state, "s", etag='"v1"', last_modified="lm1")
    st = fetched(state, "s")
    assert (st.etag, st.last_modified) == (None, None)


def test_disable_pause_new_url_and_forget(state: State) -> None:
    st = state.record_fetch_error("s", now=T0, error="HTTP 410", disable=True)
    assert st.disabled and st.next_fetch_after is None
    st = state.record_fetch_error("s", now=T0, error="timeout")  # disable=False does not re-enable
    assert st.disabled
    state.set_disabled("s", False)
    assert not state.source_state("s").disabled
    state.set_paused("s", True)
    assert state.source_state("s").paused
    state.set_paused("s", False)
    assert not state.source_state("s").paused
    st = fetched(state, "s", new_url="https://moved.example/feed")
    assert st.url == "https://moved.example/feed"
    st = fetched(state, "s")
    assert st.url == "https://moved.example/feed"  # kept until the next move
    mark_seen(state, "s", [item(1)], now=T0)
    state.forget_source("s")
    assert "s" not in state.source_states()
    assert state.unseen("s", [item(1)]) == [item(1)]


def test_long_error_is_cut(state: State) -> None:
    st = state.record_fetch_error("s", now=T0, error="x" * 10_000)
    assert st.last_error is not None and len(st.last_error) == 500


# ---- seen items ---------------------------------------------------------------------------------


def test_unseen_and_mark_seen_by_guid(state: State) -> None:
    items = [item(n) for n in range(5)]
    assert not state.has_history("s")
    assert state.unseen("s", items) == items
    mark_seen(state, "s", items[:3], now=T0)
    assert state.has_history("s")
    assert state.unseen("s", items) == items[3:]
    moved = item(1, url="https://news.example/moved/1")  # same guid, new link
    assert state.unseen("s", [moved]) == []
    assert state.source_state("s").items_seen == 3
    mark_seen(state, "s", items, now=T0)  # marking again counts only the new ones
    assert state.source_state("s").items_seen == 5


def test_guid_is_per_source_but_url_is_global(state: State) -> None:
    mark_seen(state, "a", [item(1)], now=T0)
    same_guid_other_url = item(1, url="https://other.example/x")
    assert state.unseen("b", [same_guid_other_url]) == [same_guid_other_url]
    same_url_other_guid = item(9, url="https://news.example/a/1")
    assert state.unseen("b", [same_url_other_guid]) == []


def test_url_dedup_uses_canonical_form(state: State) -> None:
    mark_seen(state, "a", [item(1, guid="", url="HTTPS://News.Example/a/1#comments")], now=T0)
    assert state.unseen("b", [item(2, guid="", url="https://news.example/a/1")]) == []


def test_items_without_guid_or_url_dedup_by_title(state: State) -> None:
    bare = item(1, guid="", url="", title="Season two  is RENEWED")
    mark_seen(state, "s", [bare], now=T0)
    assert state.unseen("s", [item(2, guid="", url="", title="season two is renewed")]) == []
    assert state.unseen("s", [item(3, guid="", url="", title="Another headline")]) != []


def test_unseen_drops_duplicates_within_a_batch(state: State) -> None:
    a = item(1)
    b = item(2, url="https://news.example/a/1")
    assert state.unseen("s", [a, a, b]) == [a]


def test_unseen_handles_large_batches(state: State) -> None:
    items = [item(n) for n in range(1500)]
    mark_seen(state, "s", items[::2], now=T0)
    assert state.unseen("s", items) == items[1::2]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-07-15", datetime(2024, 7, 15, tzinfo=UTC)),
        ("2024-07", datetime(2024, 7, 1, tzinfo=UTC)),
        ("2024", datetime(2024, 1, 1, tzinfo=UTC)),
        ("2024-13", None),
        ("soon", None),
        ("", None),
    ],
)
def test_parse_known_date(text: str, expected: datetime | None) -> None:
    assert parse_date_prefix(text) == expected


# ---- findings and events ------------------------------------------------------------------------


def test_new_finding_queues_for_matching_subscribers(state: State) -> None:
    state.subscribe(1, "private", "all", now=T0)
    state.subscribe(2, "group", "trailers only", now=T0)
    state.set_preferences(2, kinds=["trailer"])
    state.subscribe(3, "private", "other show", now=T0)
    state.set_preferences(3, watches=["other-show"])
    state.subscribe(4, "private", "this show", now=T0)
    state.set_preferences(4, watches=["aouad-2"])
    state.subscribe(5, "private", "gone", now=T0)
    state.unsubscribe(5)
    res = find(state, source="s", item=item(1), decision=decision(), now=T0, alert=True)
    assert res.new_event and res.queued == 2
    assert [m.chat_id for m in state.pending(now=T0)] == [1, 4]
    ev = res.event
    assert (ev.watch, ev.kind, ev.milestone, ev.reports, ev.alerted) == (
        "aouad-2",
        "renewal",
        "renewed",
        1,
        True,
    )
    assert (ev.title, ev.url, ev.source, ev.first_seen) == ("Headline number 1", item(1).url, "s", T0)
    assert state.unseen("s", [item(1)]) == []  # the finding's item is seen
    assert state.has_history("s")


def test_second_report_folds_without_new_rows(state: State) -> None:
    state.subscribe(1, "private", "all", now=T0)
    first = find(state, source="a", item=item(1), decision=decision(), now=T0, alert=True)
    other = Item(title="Another outlet says it too", url="https://other.example/x", publisher="Other")
    second = find(state, source="b", item=other, decision=decision(), now=T0, alert=True)
    assert not second.new_event and second.queued == 0
    assert second.event.id == first.event.id and second.event.reports == 2
    assert second.event.title == "Headline number 1"  # the first report's headline stays
    assert state.outbox_size() == 1
    reports = state.db.read("SELECT source, title, url FROM reports WHERE event_id = ? ORDER BY id", (first.event.id,))
    assert reports == [
        ("a", "Headline number 1", item(1).url),
        ("Other", "Another outlet says it too", "https://other.example/x"),
    ]


def test_new_milestone_of_same_kind_is_a_new_event(state: State) -> None:
    state.subscribe(1, "private", "all", now=T0)
    teaser = find(state, source="s", item=item(1), decision=decision("trailer", "teaser"), now=T0, alert=True)
    full = find(
        state,
        source="s",
        item=replace(item(2), published=T0 + timedelta(days=30)),
        decision=decision("trailer", "trailer"),
        now=T0 + timedelta(days=30),
        alert=True,
    )
    assert full.new_event and full.event.id != teaser.event.id and full.queued == 1
    assert state.latest_events("aouad-2")["trailer"].id == full.event.id
    assert [e.id for e in state.events("aouad-2")] == [full.event.id, teaser.event.id]


def test_teaser_and_trailer_within_two_weeks_are_one_video(state: State) -> None:
    """The press calls one clip a teaser, a trailer or a first look: within FOLD_DAYS they fold into
    one event and alert once; other kinds keep their milestones apart."""
    state.subscribe(1, "private", "all", now=T0)
    teaser = find(state, source="s", item=item(1), decision=decision("trailer", "teaser"), now=T0, alert=True)
    later = replace(item(2), published=T0 + timedelta(days=2))
    full = find(state, source="t", item=later, decision=decision("trailer", "trailer"),
                now=T0 + timedelta(days=2), alert=True)
    assert not full.new_event and full.event.id == teaser.event.id and full.queued == 0
    assert full.event.milestone == "teaser" and full.event.reports == 2
    assert state.outbox_size() == 1
    filming = find(state, source="s", item=item(3), decision=decision("production", "filming_start"), now=T0,
                   alert=True)
    cast = find(state, source="s", item=item(4), decision=decision("production", "cast"), now=T0, alert=True)
    assert filming.new_event and cast.new_event and cast.event.id != filming.event.id


def test_a_waiting_teaser_confirmed_by_a_surer_trailer_report_alerts_as_the_trailer(state: State) -> None:
    state.subscribe(1, "private", "all", now=T0)
    teaser = replace(decision("trailer", "teaser"), confidence=0.6, needs_confirmation=True)
    first = find(state, source="s", item=item(1), decision=teaser, now=T0, alert=True)
    assert first.event.waiting and first.queued == 0
    sure = find(state, source="t", item=item(2), decision=decision("trailer", "trailer"), now=T0, alert=True)
    assert sure.event.id == first.event.id and sure.alerted and sure.queued == 1
    assert (sure.event.milestone, sure.event.title) == ("trailer", "Headline number 2")


def test_known_teaser_leaves_the_trailer_news(state: State) -> None:
    watch = Watch(id="aouad-2", title="All of Us Are Dead", season=2,
                  known=(KnownEvent(kind="trailer", milestone="teaser", date="2026-09"),))
    state.subscribe(1, "private", "all", now=T0)
    assert state.seed_known(watch, now=T0) == 1
    teaser = find(state, source="s", item=item(1), decision=decision("trailer", "teaser"), now=T0, alert=True)
    assert not teaser.new_event and teaser.queued == 0  # the known teaser absorbs its reports
    full = find(state, source="s", item=item(2), decision=decision("trailer", "trailer"), now=T0, alert=True)
    assert full.new_event and full.queued == 1 and full.event.id != teaser.event.id


def test_same_milestone_weeks_later_is_a_new_event_and_alerts(state: State) -> None:
    state.subscribe(1, "private", "all", now=T0)
    first = find(state, source="s", item=item(1), decision=decision("trailer", "trailer"), now=T0, alert=True)
    days = [3, FOLD_DAYS - 1, FOLD_DAYS + 20]
    later = [find(state, source="s", item=replace(item(10 + d), published=T0 + timedelta(days=d)),
                  decision=decision("trailer", "trailer"), now=T0 + timedelta(days=d), alert=True) for d in days]
    assert [r.event.id == first.event.id for r in later] == [True, True, False]
    assert later[2].new_event and later[2].queued == 1
    assert [m.event_id for m in state.pending(now=T0 + timedelta(days=40))] == [first.event.id, later[2].event.id]
    # a report of the second trailer a few days on folds into it, not into the first
    again = find(state, source="t", item=replace(item(50), published=T0 + timedelta(days=FOLD_DAYS + 23)),
                 decision=decision("trailer", "trailer"), now=T0 + timedelta(days=40), alert=True)
    assert again.event.id == later[2].event.id and not again.new_event


def test_a_season_is_renewed_once(state: State) -> None:
    """Once a renewal is established (two headlines told it), an unsure renewal report months later
    ("renewed": the next season's order, or the same one told again) folds into it and alerts no one;
    a sure one is read as its next kind ("returns in October": a date)."""
    state.subscribe(1, "private", "all", now=T0)
    state.subscribe(2, "private", "dates only", now=T0)
    state.set_preferences(2, kinds=["release_date"], watches=None)
    first = find(state, source="s", item=replace(item(1), published=T0), decision=decision(), now=T0, alert=True)
    assert first.new_event and first.queued == 1
    coverage = replace(decision(), next_kind="release_date", next_milestone="release_date")
    week = T0 + timedelta(days=7)
    same = find(state, source="t", item=replace(item(2), published=week), decision=coverage, now=week, alert=True)
    assert same.event.id == first.event.id and same.queued == 0  # the order's own coverage
    months = T0 + timedelta(days=200)
    told_again = replace(coverage, confidence=0.6, needs_confirmation=True)
    later = find(state, source="t", item=replace(item(3), published=months), decision=told_again, now=months,
                 alert=True)
    assert later.event.id == first.event.id and not later.new_event and later.queued == 0
    dated = find(state, source="t", item=replace(item(4), published=months), decision=coverage, now=months,
                 alert=True)
    assert dated.new_event and (dated.event.kind, dated.event.milestone) == ("release_date", "release_date")
    assert dated.queued == 2  # as a date: also to the chat that takes dates only
    assert {(m.chat_id, m.event_id) for m in state.pending(now=months)} >= {(1, dated.event.id), (2, dated.event.id)}
    assert [e.kind for e in state.events("aouad-2")] == ["release_date", "renewal"]
    other = find(state, source="t", item=replace(item(5), published=months), decision=decision(watch="b-2"),
                 now=months, alert=True)
    assert other.new_event and other.queued == 1  # another watch's renewal is its own news


def test_a_known_renewal_folds_its_retellings_and_leaves_a_date_told_with_them(state: State) -> None:
    watch = Watch(id="aouad-2", title="All of Us Are Dead", season=2,
                  known=(KnownEvent(kind="renewal", milestone="renewal", date="2022-06"),))
    state.subscribe(1, "private", "all", now=T0)
    assert state.seed_known(watch, now=T0) == 1
    retold = find(state, source="s", item=item(1), decision=replace(decision(), milestone="renewal"), now=T0,
                  alert=True)
    assert not retold.new_event and retold.queued == 0 and retold.event.kind == "renewal"
    with_date = replace(decision(), milestone="renewal", next_kind="release_date", next_milestone="release_date")
    dated = find(state, source="s", item=item(2), decision=with_date, now=T0, alert=True)
    assert dated.new_event and dated.event.kind == "release_date" and dated.queued == 1
    # within two weeks of the known order, a report is that order's coverage, whatever else it tells
    then = datetime(2022, 6, 5, tzinfo=UTC)
    cover = find(state, source="t", item=replace(item(3), published=then), decision=with_date, now=T0, alert=True)
    assert not cover.new_event and cover.event.kind == "renewal" and cover.queued == 0


def test_one_report_of_a_renewal_does_not_hide_the_real_one(state: State) -> None:
    """A renewal told by one headline only (a rumour read as news) establishes nothing: the real order,
    months later, is its own event and alerts as a renewal."""
    state.subscribe(1, "private", "all", now=T0)
    rumour = find(state, source="s", item=replace(item(1), published=T0), decision=decision(), now=T0, alert=True)
    months = T0 + timedelta(days=120)
    real = find(state, source="t", item=replace(item(2), published=months),
                decision=replace(decision(), next_kind="trailer", next_milestone="trailer"), now=months, alert=True)
    assert real.new_event and real.event.id != rumour.event.id
    assert (real.event.kind, real.queued) == ("renewal", 1)
    # a new source's first fetch records another headline of the rumour: the rumour is established now,
    # but the real order's own coverage still folds into the real order
    find(state, source="u", item=replace(item(6, title="An older headline"), published=T0 + timedelta(days=1)),
         decision=decision(), now=months, alert=False)
    day = months + timedelta(days=1)
    more = find(state, source="v", item=replace(item(7), published=day),
                decision=replace(decision(), next_kind="trailer", next_milestone="trailer"), now=day, alert=True)
    assert more.event.id == real.event.id and more.queued == 0
    unsure = replace(decision(watch="c-2"), confidence=0.6, needs_confirmation=True)
    waiting = find(state, source="s", item=replace(item(3), published=T0), decision=unsure, now=T0, alert=True)
    assert waiting.event.waiting  # a waiting renewal absorbs only its own two weeks
    again = find(state, source="s", item=replace(item(4), published=months), decision=decision(watch="c-2"),
                 now=months, alert=True)
    assert again.new_event and again.event.id != waiting.event.id and again.queued == 1


def test_a_waiting_order_is_confirmed_by_its_second_report_after_a_rumour(state: State) -> None:
    """An unsure real order waits near an older rumour; the rumour gaining a headline (a new source's
    backfill) must not take the order's second report, which confirms the order."""
    state.subscribe(1, "private", "all", now=T0)
    find(state, source="s", item=replace(item(1), published=T0), decision=decision(), now=T0, alert=True)
    months = T0 + timedelta(days=120)
    unsure = replace(decision(), confidence=0.6, needs_confirmation=True, next_kind="trailer", next_milestone="trailer")
    order = find(state, source="t", item=replace(item(2), published=months), decision=unsure, now=months, alert=True)
    assert order.event.waiting
    find(state, source="u", item=replace(item(3, title="An older headline"), published=T0 + timedelta(days=1)),
         decision=decision(), now=months, alert=False)
    day = months + timedelta(days=1)
    second = find(state, source="v", item=replace(item(4), published=day), decision=unsure, now=day, alert=True)
    assert second.event.id == order.event.id and second.alerted and second.queued == 1


def test_a_renewal_dated_before_the_established_one_is_not_settled(state: State) -> None:
    """Only reports published after an established renewal are settled by it; an older one found late
    is judged as any report (here: an event of its own, silent as old news)."""
    state.subscribe(1, "private", "all", now=T0)
    find(state, source="s", item=replace(item(1), published=T0), decision=decision(), now=T0, alert=True)
    find(state, source="t", item=replace(item(2), published=T0), decision=decision(), now=T0, alert=True)
    old = T0 - timedelta(days=100)
    late = find(state, source="u", item=replace(item(3), published=old), now=T0, alert=False,
                decision=replace(decision(), next_kind="trailer", next_milestone="trailer"))
    assert late.new_event and late.event.kind == "renewal" and late.queued == 0


def test_late_report_of_an_earlier_event_does_not_split_the_latest(state: State) -> None:
    """A late, silent report of the first trailer arrives after the second trailer's event: it folds
    into the first trailer's event, and the second trailer's coverage still folds into its own event
    (it never alerts again)."""
    state.subscribe(1, "private", "all", now=T0)
    trailer = decision("trailer", "trailer")
    first = find(state, source="s", item=replace(item(1), published=T0), decision=trailer, now=T0, alert=True)
    day20 = T0 + timedelta(days=20)
    second = find(state, source="s", item=replace(item(2), published=day20), decision=trailer, now=day20,
                  alert=True)
    assert second.new_event and second.event.id != first.event.id
    # a slow outlet's article about the first trailer, days late (older than the backfill: silent)
    late = find(state, source="t", item=replace(item(3), published=T0 + timedelta(days=1)), decision=trailer,
                now=day20 + timedelta(days=1), alert=False)
    assert late.event.id == first.event.id and not late.new_event
    # more coverage of the second trailer: a report of it, not a third event and a repeated alert
    more = find(state, source="u", item=replace(item(4), published=day20 + timedelta(days=1)), decision=trailer,
                now=day20 + timedelta(days=2), alert=True)
    assert more.event.id == second.event.id and not more.new_event and more.queued == 0
    assert len(state.events("aouad-2")) == 2


def test_silent_finding_never_queues_and_later_reports_do_not_alert(state: State) -> None:
    state.subscribe(1, "private", "all", now=T0)
    res = find(state, source="s", item=item(1), decision=decision(), now=T0, alert=False)
    assert res.new_event and res.queued == 0 and not res.event.alerted
    again = find(state, source="s", item=item(2), decision=decision(), now=T0, alert=True)
    assert not again.new_event and again.queued == 0
    assert state.pending(now=T0) == []


def test_finding_without_watch_or_kind_is_rejected(state: State) -> None:
    with pytest.raises(ValueError, match="watch"):
        find(state, source="s", item=item(1), decision=Decision(alert=True), now=T0, alert=True)
    assert state.unseen("s", [item(1)]) == [item(1)]


def test_seed_known_inserts_once_and_never_queues(state: State) -> None:
    state.subscribe(1, "private", "all", now=T0)
    watch = Watch(
        id="aouad-2",
        title="All of Us Are Dead",
        season=2,
        known=(
            KnownEvent(
                kind="renewal", milestone="renewed", date="2022-06", source="Netflix", title="Renewed"
            ),
            KnownEvent(kind="production", milestone="filming_start", date="2024-07-15"),
        ),
    )
    assert state.seed_known(watch, now=T0) == 2
    assert state.seed_known(watch, now=T0 + timedelta(days=1)) == 0
    assert state.pending(now=T0) == []
    latest = state.latest_events("aouad-2")
    assert set(latest) == {"renewal", "production"}
    renewal = latest["renewal"]
    assert (renewal.published, renewal.alerted, renewal.reports, renewal.source) == (
        datetime(2022, 6, 1, tzinfo=UTC),
        False,
        0,
        "Netflix",
    )
    # seeded events sort by their own date, older than the filming start
    assert [e.kind for e in state.events("aouad-2")] == ["production", "renewal"]
    # a real report of a seeded milestone folds in silently
    res = find(state, source="s", item=item(1), decision=decision(), now=T0, alert=True)
    assert not res.new_event and res.queued == 0 and res.event.reports == 1
    assert res.event.url == item(1).url  # filled from the first real report


def test_events_filter_and_lookup(state: State) -> None:
    a = find(state, source="s", item=item(1), decision=decision(), now=T0, alert=True)
    find(state, source="s", item=item(2), decision=decision(watch="other"), now=T0, alert=True)
    assert len(state.events()) == 2 and len(state.events("aouad-2")) == 1
    assert state.event(a.event.id) == a.event
    assert state.event(9999) is None
    assert state.latest_events("nothing") == {}


def test_record_fetched_records_items_findings_and_the_fetch(state: State) -> None:
    state.subscribe(1, "private", "all", now=T0)
    state.record_fetch_error("s", now=T0, error="HTTP 500")
    plain = [item(n) for n in range(2, 6)]
    findings = [(item(1), decision(), True), (item(6), decision(), True), (item(7), decision("trailer", ""), False)]
    results = state.record_fetched("s", now=T0, items_seen=plain, findings=findings, etag='"v2"',
                                   last_modified="lm2", new_url="https://news.example/moved.xml")
    assert [(r.new_event, r.queued, r.event.reports) for r in results] == [(True, 1, 1), (False, 0, 2), (True, 0, 1)]
    assert results[0].event.id == results[1].event.id
    assert state.unseen("s", [item(n) for n in range(1, 9)]) == [item(8)]
    st = state.source_state("s")
    assert (st.items_seen, st.etag, st.last_modified, st.url) == (7, '"v2"', "lm2", "https://news.example/moved.xml")
    assert (st.consecutive_errors, st.last_error, st.last_success) == (0, None, T0)
    assert state.outbox_size() == 1
    again = state.record_fetched("s", now=T0, items_seen=plain, findings=[], etag=None, last_modified=None)
    assert again == [] and state.source_state("s").items_seen == 7  # already seen: not counted twice
    assert state.source_state("s").etag is None  # a 200 replaces the validators as given


def test_record_fetched_is_atomic(state: State, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    state.subscribe(1, "private", "all", now=T0)
    state.record_fetch_error("s", now=T0, error="HTTP 500")
    before = table_counts(tmp_path)

    def boom(*args: object, **kwargs: object) -> int:
        raise RuntimeError("crash while queueing")

    monkeypatch.setattr(ChatRepo, "queue_in", boom)
    with pytest.raises(RuntimeError, match="crash while queueing"):
        state.record_fetched("s", now=T0, items_seen=[item(2)], findings=[(item(1), decision(), True)],
                             etag='"v2"', last_modified=None)
    assert table_counts(tmp_path) == before
    st = state.source_state("s")
    assert (st.items_seen, st.consecutive_errors, st.etag) == (0, 1, None)
    with pytest.raises(ValueError, match="needs a watch"):
        state.record_fetched("s", now=T0, items_seen=[item(2)], findings=[(item(1), Decision(alert=True), True)],
                             etag=None, last_modified=None)
    assert table_counts(tmp_path) == before
    monkeypatch.undo()
    res = find(state, source="s", item=item(1), decision=decision(), now=T0, alert=True)
    assert res.new_event and res.queued == 1  # the store is usable after the rollback


def test_each_write_is_on_disk_when_it_returns(state: State, tmp_path: Path) -> None:
    state.subscribe(1, "private", "all", now=T0)
    before = table_counts(tmp_path)
    state.record_fetched("s", now=T0, items_seen=[item(2)], findings=[(item(1), decision(), True)], etag='"v1"',
                         last_modified=None)
    assert table_counts(tmp_path) == {**before, "seen": 2, "events": 1, "reports": 1, "outbox": 1}
    state.record_fetch_error("t", now=T0, error="HTTP 500")
    with State.open(tmp_path) as other:  # another connection, e.g. the command line
        assert (other.source_state("s").etag, other.source_state("t").consecutive_errors) == ('"v1"', 1)
        assert [m.chat_id for m in other.pending(now=T0)] == [1]


def test_record_unchanged_in_one_go(state: State) -> None:
    fetched(state, "a", etag='"a1"', last_modified="lm-a")
    state.record_fetch_error("b", now=T0, error="HTTP 500", next_fetch_after=T0 + timedelta(hours=1))
    later = T0 + timedelta(hours=2)
    state.record_unchanged([Unchanged("a"), Unchanged("b", etag='"b2"', new_url="https://b.example/feed"),
                            Unchanged("c")], now=later)
    a, b, c = (state.source_state(n) for n in "abc")
    assert (a.etag, a.last_modified, a.last_success) == ('"a1"', "lm-a", later)  # a 304 keeps validators
    assert (b.etag, b.url, b.consecutive_errors, b.next_fetch_after, b.last_error) == (
        '"b2"', "https://b.example/feed", 0, None, None)
    assert c.last_attempt == later
    state.record_unchanged([], now=later)


def test_flags_token_moves_on_pause_disable_forget_and_other_connections(state: State, tmp_path: Path) -> None:
    token = state.flags_token()
    fetched(state, "s")
    state.set_failure_notified("s", True)
    state.record_fetch_error("s", now=T0, error="HTTP 500")
    assert state.flags_token() == token  # fetch bookkeeping leaves it alone
    for change in (lambda: state.set_paused("s", True), lambda: state.set_disabled("s", True),
                   lambda: state.record_fetch_error("s", now=T0, error="HTTP 410", disable=True),
                   lambda: state.forget_source("s")):
        change()
        assert state.flags_token() != token
        token = state.flags_token()
    with State.open(tmp_path) as other:
        other.set_paused("s", True)
    assert state.flags_token() != token


_KILL_CHILD = textwrap.dedent(
    """
    import sys
    from datetime import UTC, datetime
    from pathlib import Path
    from bot.models import Decision, Item
    from bot.store.store import State
    st = State.open(Path(sys.argv[1]))
    for chat in range(1, 6):
        st.subscribe(chat, "private", "c", now=datetime.now(UTC))
    print("ready", flush=True)
    n = 0
    while True:
        n += 1
        d = Decision(alert=True, kind="production", watch="w", milestone=f"m{n}")
        found = [(Item(title=f"t{n}", url=f"https://x.example/{n}"), d, True)]
        st.record_fetched("s", now=datetime.now(UTC), items_seen=[], findings=found, etag=None, last_modified=None)
    """
)


def test_sigkill_leaves_whole_findings_only(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", _KILL_CHILD, str(tmp_path)], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    time.sleep(0.4)
    proc.kill()
    proc.wait()
    with State.open(tmp_path) as st:
        assert st.integrity_ok()
        events = st.events()
        assert events, "the child recorded nothing before it was killed"
        assert st.outbox_size() == 5 * len(events)
        assert st.source_state("s").items_seen == len(events)
        assert all(e.reports == 1 for e in events)


# ---- subscribers --------------------------------------------------------------------------------


def test_subscribe_defaults_and_reactivation(state: State) -> None:
    assert state.subscribe(7, "group", "Fans", now=T0)
    assert not state.subscribe(7, "supergroup", "Fans!", now=T0 + timedelta(days=1))
    sub = state.subscriber(7)
    assert sub is not None
    assert (sub.kinds, sub.watches, sub.active, sub.since) == (frozenset(KINDS), None, True, T0)
    assert (sub.chat_type, sub.title) == ("supergroup", "Fans!")
    state.set_preferences(7, kinds=["trailer"])
    assert state.unsubscribe(7) and not state.unsubscribe(7)
    assert state.subscribers() == [] and len(state.subscribers(active_only=False)) == 1
    later = T0 + timedelta(days=2)
    assert state.subscribe(7, "supergroup", "Fans!", now=later)
    sub = state.subscriber(7)
    assert sub is not None and sub.active and sub.since == later and sub.kinds == {"trailer"}
    assert state.subscriber(8) is None


def test_set_preferences(state: State) -> None:
    state.subscribe(1, "private", "x", now=T0)
    sub = state.set_preferences(1, kinds=["trailer", "renewal"], watches=["b", "a"])
    assert (sub.kinds, sub.watches) == (frozenset({"trailer", "renewal"}), frozenset({"a", "b"}))
    sub = state.set_preferences(1, kinds=["production"])  # watches left as they were
    assert (sub.kinds, sub.watches) == (frozenset({"production"}), frozenset({"a", "b"}))
    sub = state.set_preferences(1, watches=None)  # None = every watch
    assert (sub.kinds, sub.watches) == (frozenset({"production"}), None)
    sub = state.set_preferences(1, kinds=[])
    assert sub.kinds == frozenset()
    with pytest.raises(ValueError, match="unknown kind"):
        state.set_preferences(1, kinds=["gossip"])
    with pytest.raises(ValueError, match="comma"):
        state.set_preferences(1, watches=["a,b"])
    with pytest.raises(KeyError):
        state.set_preferences(99, kinds=["trailer"])


def test_deactivate_records_reason_and_drops_pending(state: State) -> None:
    state.subscribe(1, "private", "x", now=T0)
    find(state, source="s", item=item(1), decision=decision(), now=T0, alert=True)
    assert state.outbox_size() == 1
    state.deactivate(1, "blocked by user")
    assert state.outbox_size() == 0 and state.pending(now=T0) == []
    row = state.db.read("SELECT deactivated_reason FROM subscribers WHERE chat_id = 1")
    assert row == [("blocked by user",)]
    state.subscribe(1, "private", "x", now=T0)
    assert state.pending(now=T0) == []  # dropped rows do not come back


# ---- outbox -------------------------------------------------------------------------------------


def queue_three(state: State) -> list[int]:
    state.subscribe(1, "private", "a", now=T0)
    state.subscribe(2, "private", "b", now=T0)
    kinds: tuple[Kind, ...] = ("renewal", "trailer", "production")
    for n, kind in enumerate(kinds, start=1):
        find(state, source="s", item=item(n), decision=decision(kind, kind), now=T0, alert=True)
    return [m.id for m in state.pending(now=T0)]


def test_pending_is_in_id_order(state: State) -> None:
    ids = queue_three(state)
    assert ids == sorted(ids) and len(ids) == 6
    msgs = state.pending(now=T0)
    assert [(m.chat_id, m.attempts, m.created) for m in msgs[:2]] == [(1, 0, T0), (2, 0, T0)]
    assert [m.id for m in state.pending(now=T0, limit=2)] == ids[:2]
    assert [m.id for m in state.pending(now=T0, chat_id=2)] == [m.id for m in msgs if m.chat_id == 2] != []


def test_retry_waits_and_holds_later_rows_of_that_chat(state: State) -> None:
    ids = queue_three(state)
    first = state.pending(now=T0)[0]
    retry_at = T0 + timedelta(seconds=30)
    state.mark_retry(first.id, error="429 Too Many Requests", next_attempt=retry_at)
    waiting = state.pending(now=T0)
    assert all(m.chat_id == 2 for m in waiting)  # chat 1's later alerts wait behind its first
    assert state.outbox_size() == 6
    due = state.pending(now=retry_at)
    assert [m.id for m in due] == ids
    assert due[0].attempts == 1


def test_mark_failed_releases_the_chat(state: State) -> None:
    ids = queue_three(state)
    state.mark_retry(ids[0], error="bad", next_attempt=T0 + timedelta(days=1))
    state.mark_failed(ids[0], error="gave up", now=T0)
    assert [m.id for m in state.pending(now=T0)] == ids[1:]
    assert state.outbox_size() == 5


def test_mark_sent_survives_reopen(tmp_path: Path) -> None:
    with State.open(tmp_path) as st:
        ids = queue_three(st)
        st.mark_sent(ids[0], now=T0)
        st.mark_sent(ids[0], now=T0)  # twice is harmless
        st.mark_sent(ids[3], now=T0)
    with State.open(tmp_path) as st:
        assert [m.id for m in st.pending(now=T0)] == [i for i in ids if i not in (ids[0], ids[3])]
        assert st.counts()["sent"] == 2
        assert st.outbox_size() == 4
        counts = st.counts()
    assert counts == {
        "subscribers_active": 2,
        "subscribers_total": 2,
        "events": 3,
        "items_seen": 3,
        "outbox_pending": 4,
        "sent": 2,
    }


# ---- cycles, integrity, pruning -----------------------------------------------------------------


def test_cycles(state: State) -> None:
    assert state.last_cycle() is None
    state.record_cycle({"sources": 3, "cpu": 0.25}, now=T0)
    state.record_cycle({"sources": 4, "cpu": 0.5}, now=T0 + timedelta(minutes=15))
    assert state.last_cycle() == (T0 + timedelta(minutes=15), {"sources": 4, "cpu": 0.5})
    state.record_cycle({"sources": 1, "fetched": 1, "elapsed": 0.5}, now=T0 + timedelta(minutes=16))
    assert state.cycles_since(T0 + timedelta(minutes=10)) == {"rounds": 2, "sources": 5, "cpu": 0.5, "fetched": 1}
    assert state.cycles_since(T0 + timedelta(hours=1)) == {"rounds": 0}


def test_integrity_ok_detects_damage(tmp_path: Path) -> None:
    with State.open(tmp_path) as st:
        mark_seen(st, "s", [item(n) for n in range(2000)], now=T0)
        assert st.integrity_ok()
    conn = sqlite3.connect(tmp_path / DB_NAME)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    with open(tmp_path / DB_NAME, "r+b") as fh:  # scribble over a whole page in the middle of the file
        fh.seek(page_size * 50)
        fh.write(b"\xff" * page_size)
    try:
        st = State.open(tmp_path)
    except StateError:
        return  # refusing to open is as good as reporting it
    with st:
        assert not st.integrity_ok()


def test_prune(state: State) -> None:
    old = T0 - timedelta(days=200)
    mark_seen(state, "s", [item(n) for n in range(10)], now=old)
    mark_seen(state, "s", [item(n) for n in range(10, 15)], now=T0)
    state.subscribe(1, "private", "a", now=old)
    res = find(state, source="s", item=item(20), decision=decision(), now=old, alert=True)
    find(state, source="s", item=item(21), decision=decision("trailer", "t"), now=T0, alert=True)
    sent_old, unsent = (m.id for m in state.pending(now=T0))
    state.mark_sent(sent_old, now=old)
    state.record_cycle({"n": 1}, now=old)
    state.record_cycle({"n": 2}, now=T0)

    # at most 100 keys per source: all kept, however old
    assert state.prune(T0, keep_per_source=100) == {"seen": 0, "reports": 0, "outbox": 1, "cycles": 1}
    removed = state.prune(T0, keep_days=180, keep_per_source=5)
    assert removed == {"seen": 11, "reports": 0, "outbox": 0, "cycles": 0}
    assert state.unseen("s", [item(0)]) == [item(0)]
    assert state.unseen("s", [item(12)]) == []
    assert [m.id for m in state.pending(now=T0)] == [unsent]
    assert state.counts()["sent"] == 1 and state.source_state("s").items_seen == 17
    assert state.event(res.event.id) is not None  # events are never pruned


# ---- bounds (issue 16: a feed that changes its ids on every fetch) -------------------------------

def test_one_fetch_records_at_most_max_new_per_fetch(state: State, caplog: pytest.LogCaptureFixture) -> None:
    plain = [item(n) for n in range(MAX_NEW_PER_FETCH + 50)]
    with caplog.at_level(logging.WARNING, logger="newsbot.store"):  # other tests may have quietened logging
        [res] = state.record_fetched("s", now=T0, items_seen=plain, findings=[(item(999), decision(), True)],
                                     etag=None, last_modified=None)
    assert res.new_event  # findings are always recorded
    assert state.source_state("s").items_seen == MAX_NEW_PER_FETCH
    assert len(state.unseen("s", plain)) == 51  # the rest are new again next time
    assert "251 new items in one fetch, more than 200: 51 left unrecorded" in caplog.text


def test_stored_fields_are_capped_and_long_keys_still_match(state: State, tmp_path: Path) -> None:
    huge = item(1, guid="g" * 100_000, url="https://news.example/" + "u" * 100_000, title="word " * 100_000)
    res = find(state, source="s", item=huge, decision=replace(decision(), evidence="why " * 100_000), now=T0,
               alert=True)
    assert len(res.event.title) <= 500 and res.event.url == "" and len(res.event.evidence) <= 500
    assert state.unseen("s", [huge]) == []  # its key and URL, stored as digests, still match
    other = replace(huge, guid="g" * 99_999 + "h", url=huge.url + "v")
    assert state.unseen("s", [other]) == [other]
    state.close()
    assert (tmp_path / DB_NAME).stat().st_size < 200_000  # (closing checkpoints the WAL into it)


def churn(fetch: int, n: int) -> Item:
    """Item n of a feed whose ids and links change on every fetch."""
    return item(n, guid=f"f{fetch}-{n}", url=f"https://churn.example/{fetch}/{n}")


def test_prune_caps_seen_rows_per_source_and_reports_per_event(state: State) -> None:
    for fetch in range(6):  # ids change on every fetch, all of them recent
        mark_seen(state, "churn", [churn(fetch, n) for n in range(100)], now=T0 + timedelta(minutes=fetch))
        for n in range(3):  # and each brings three new reports of one event
            find(state, source="churn", item=churn(fetch, 100 + n),
                 decision=decision(), now=T0 + timedelta(minutes=fetch), alert=True)
    mark_seen(state, "calm", [item(n) for n in range(10)], now=T0)
    [event] = state.events()
    assert event.reports == 18
    removed = state.prune(T0 + timedelta(hours=1), keep_per_source=50, max_per_source=250, reports_per_event=5)
    assert removed["seen"] == 600 + 18 - 250 and removed["reports"] == 13
    assert state.unseen("churn", [churn(5, 0), churn(4, 0)]) == []  # the newest are kept
    assert state.unseen("churn", [churn(0, 0), churn(1, 0)]) == [churn(0, 0), churn(1, 0)]
    assert state.unseen("calm", [item(0)]) == []
    assert state.events()[0].reports == 5


def test_an_error_stored_with_a_urls_credentials_is_read_without_them(state: State) -> None:
    # as a state written before errors were masked holds it
    state.record_fetch_error("Wire", now=T0, error="HTTP 500 from http://user:hunter2@wire.example/feed?token=T9")
    st = state.source_state("Wire")
    assert st.last_error == "HTTP 500 from http://wire.example/feed?token=***"
    assert "hunter2" in str(state.db.read("SELECT last_error FROM sources")[0][0])  # stored as written



def unsure(confidence: float = 0.6) -> Decision:
    """An alert decision too unsure to be sent before a second report of its event."""
    return replace(decision(), confidence=confidence, needs_confirmation=True)


def test_unsure_alert_waits_silently_for_a_second_report(state: State) -> None:
    state.subscribe(7, "private", "fan", now=T0)
    first = find(state, source="s", item=item(1), decision=unsure(0.6), now=T0, alert=True)
    assert (first.new_event, first.alerted, first.queued, first.event.waiting) == (True, False, 0, True)
    assert state.outbox_size() == 0 and state.events() == [] and state.counts()["events"] == 0

    second = find(state, source="t", item=item(2), decision=unsure(0.7), now=T0 + timedelta(hours=3), alert=True)
    assert (second.new_event, second.alerted, second.queued) == (False, True, 1)
    assert second.event.id == first.event.id and not second.event.waiting and second.event.alerted
    # the more confident report represents the event
    assert [(e.title, e.reports) for e in state.events()] == [("Headline number 2", 2)]
    third = find(state, source="u", item=item(3), decision=unsure(0.9), now=T0 + timedelta(hours=4), alert=True)
    assert (third.alerted, third.queued, state.outbox_size()) == (False, 0, 1)


def test_the_same_article_or_headline_again_does_not_confirm(state: State) -> None:
    state.subscribe(7, "private", "fan", now=T0)
    find(state, source="s", item=item(1), decision=unsure(), now=T0, alert=True)
    again = find(state, source="t", item=item(1, guid="other"), decision=unsure(), now=T0, alert=True)
    syndicated = find(state, source="u", item=item(2, title="HEADLINE number 1"), decision=unsure(), now=T0,
                      alert=True)
    assert not again.alerted and not syndicated.alerted and state.outbox_size() == 0
    assert syndicated.event.waiting


def test_a_sure_report_confirms_a_waiting_event_and_a_stale_one_does_not(state: State) -> None:
    state.subscribe(7, "private", "fan", now=T0)
    find(state, source="s", item=item(1), decision=unsure(), now=T0, alert=True)
    stale = find(state, source="t", item=item(2), decision=unsure(), now=T0, alert=False)
    assert not stale.alerted and stale.event.waiting
    sure = find(state, source="u", item=item(3, title="Headline number 1"), decision=decision(), now=T0,
                alert=True)
    assert sure.alerted and sure.queued == 1 and sure.event.url == "https://news.example/a/3"


def test_an_unconfirmed_event_stays_silent_and_a_report_weeks_later_waits_anew(state: State) -> None:
    state.subscribe(7, "private", "fan", now=T0)
    first = find(state, source="s", item=item(1), decision=unsure(), now=T0, alert=True)
    later = T0 + timedelta(days=FOLD_DAYS + 10)
    res = find(state, source="s", item=replace(item(2), published=later), decision=unsure(), now=later, alert=True)
    assert res.new_event and res.event.id != first.event.id and res.event.waiting and not res.alerted
    assert state.outbox_size() == 0


def test_an_event_made_known_while_waiting_never_alerts(state: State) -> None:
    state.subscribe(7, "private", "fan", now=T0)
    find(state, source="s", item=item(1), decision=unsure(), now=T0, alert=True)
    watch = Watch(id="aouad-2", title="All of Us Are Dead", season=2,
                  known=(KnownEvent("renewal", "renewed", "2025-03-01", title="Renewed"),))
    assert state.seed_known(watch, now=T0) == 1
    second = find(state, source="t", item=item(2), decision=unsure(), now=T0, alert=True)
    assert not second.alerted and state.outbox_size() == 0
    assert state.waiting_events("aouad-2", T0) == []


def test_a_waiting_event_keeps_its_two_weeks_from_the_first_report(state: State) -> None:
    state.subscribe(7, "private", "fan", now=T0)
    first = find(state, source="s", item=replace(item(1), published=T0), decision=unsure(0.6), now=T0, alert=True)
    later = T0 + timedelta(days=12)  # same headline, surer: it represents the event, it does not confirm it
    find(state, source="t", item=replace(item(2, title="Headline number 1"), published=later),
         decision=unsure(0.7), now=later, alert=True)
    late = T0 + timedelta(days=FOLD_DAYS + 11)
    res = find(state, source="u", item=replace(item(3), published=late), decision=unsure(), now=late, alert=True)
    assert res.event.id != first.event.id and res.new_event and not res.alerted and state.outbox_size() == 0


def test_the_same_headline_in_capitals_of_any_script_is_one_headline(state: State) -> None:
    state.subscribe(7, "private", "fan", now=T0)
    find(state, source="s", item=item(1, title="Netflix продлил сериал"), decision=unsure(), now=T0, alert=True)
    res = find(state, source="t", item=item(2, title="NETFLIX  ПРОДЛИЛ СЕРИАЛ"), decision=unsure(), now=T0,
               alert=True)
    assert not res.alerted and state.outbox_size() == 0


def test_status_on_an_older_state_says_how_to_upgrade_it(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / DB_NAME)
    conn.executescript("\n".join(MIGRATIONS[:4]) + "\nPRAGMA user_version=4;")
    conn.close()
    with pytest.raises(StateError, match=r"schema version 4, older than this program's 5: start `newsbot run`"):
        State.open_read_only(tmp_path)
