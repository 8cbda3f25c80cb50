"""`newsbot sources ...` against a local news site and a commented sources file."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path

import pytest

from bot.cli.main import main
from bot.config import load_config
from bot.models import Source
from bot.sources import SourceError, export_opml, inspect_source
from bot.store.store import State
from bot.urls import google_news_url, youtube_channel_url
from tests.newssite import NewsSite

SOURCES = """\
# Sources for the command-line tests: every comment here must survive edits.
watches:
  - id: aouad-s2
    title: All of Us Are Dead   # the show
    season: 2
    aliases: [지금 우리 학교는]

sources:
  # the first source stays first
  - name: Alpha News
    url: {alpha}
    kind: feed
    interval: 15m   # poll every quarter hour
  - name: Beta Wire
    url: {beta}
    kind: feed
    paused: true
# trailing comment
"""

NO_SOURCES = """\
# a file with a watch and no sources yet
watches:
  - id: aouad-s2
    title: All of Us Are Dead
    season: 2
sources: []
"""

WHEN = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def rss(title: str, headlines: list[str]) -> str:
    """An RSS 2.0 feed called `title` with one item per headline, newest first."""
    items = "".join(
        f"<item><title>{h}</title><link>https://news.example/{i}</link><guid>g{i}</guid>"
        f"<pubDate>{format_datetime(WHEN.replace(day=20 - i))}</pubDate></item>"
        for i, h in enumerate(headlines)
    )
    return f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{title}</title>' \
           f"<link>https://news.example/</link>{items}</channel></rss>"


HEADLINES = ["Netflix renews All of Us Are Dead for season 2", "Ten zombie shows to watch this weekend"]
LISTING = """<!doctype html><html><head><title>Drama Desk</title>{link}</head><body>
<div class="post"><h2><a href="/a/1">All of Us Are Dead season 2 trailer released</a></h2></div>
<div class="post"><h2><a href="/a/2">Cooking show returns</a></h2></div>
</body></html>"""
FEED_LINK = '<link rel="alternate" type="application/rss+xml" title="RSS" href="/desk/feed.xml">'


@pytest.fixture
def files(tmp_path: Path, news_site: NewsSite) -> tuple[Path, Path]:
    """(sources file with comments, state dir); Alpha is served, Beta answers 503."""
    news_site.set("/alpha.xml", rss("Alpha", HEADLINES))
    news_site.fault("/beta.xml", "status", code=503)
    path = tmp_path / "sources.yaml"
    path.write_text(SOURCES.format(alpha=news_site.url("/alpha.xml"), beta=news_site.url("/beta.xml")),
                    encoding="utf-8")
    return path, tmp_path / "state"


def run(files: tuple[Path, Path], *argv: str) -> int:
    """`newsbot sources ACTION ...` on these files: --state only for the actions that use the state."""
    path, state = files
    with_state = ["--state", str(state)] if argv and argv[0] in ("list", "remove") else []
    return main(["sources", *argv, "--sources", str(path), *with_state])


def comments_kept(before: str, after: str) -> None:
    for line in before.splitlines():
        if "#" in line:
            assert "#" + line.split("#", 1)[1] in after, f"lost comment: {line!r}"


def test_add_feed_keeps_comments_and_order(files: tuple[Path, Path], news_site: NewsSite,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    news_site.set("/new.xml", rss("Zombie Watch", HEADLINES))
    before = files[0].read_text(encoding="utf-8")
    assert run(files, "add", news_site.url("/new.xml"), "--interval", "30m") == 0
    out = capsys.readouterr().out
    assert "added 'Zombie Watch'" in out
    assert HEADLINES[0] in out and HEADLINES[1] in out
    assert "ALERT renewal" in out  # what detection says is shown beside each headline
    after = files[0].read_text(encoding="utf-8")
    comments_kept(before, after)
    assert after.index("name: Zombie Watch") < after.index("# trailing comment")  # the list's end stays its end
    config = load_config(files[0])
    assert [s.name for s in config.sources] == ["Alpha News", "Beta Wire", "Zombie Watch"]
    new = config.sources[-1]
    assert (new.url, new.kind, new.interval) == (news_site.url("/new.xml"), "feed", 1800.0)
    assert new.allow_private  # a loopback address added from the command line is allowed explicitly


def test_add_html_page_discovers_its_feed(files: tuple[Path, Path], news_site: NewsSite,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    news_site.set("/desk/", LISTING.format(link=FEED_LINK), content_type="text/html; charset=utf-8")
    news_site.set("/desk/feed.xml", rss("Drama Desk feed", HEADLINES))
    assert run(files, "add", news_site.url("/desk/"), "--name", "Desk") == 0
    out = capsys.readouterr().out
    assert f"feed discovered at {news_site.url('/desk/feed.xml')}" in out
    source = load_config(files[0]).sources[-1]
    assert (source.name, source.url, source.kind) == ("Desk", news_site.url("/desk/feed.xml"), "feed")


def test_add_html_page_without_feed_or_selectors_is_refused(files: tuple[Path, Path], news_site: NewsSite,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    news_site.set("/plain/", LISTING.format(link=""), content_type="text/html")
    before = files[0].read_text(encoding="utf-8")
    assert run(files, "add", news_site.url("/plain/")) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "announces no feed" in err and "--kind html" in err and "--item" in err
    assert files[0].read_text(encoding="utf-8") == before


def test_add_html_page_with_selectors(files: tuple[Path, Path], news_site: NewsSite,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    news_site.set("/plain/", LISTING.format(link=""), content_type="text/html")
    code = run(files, "add", news_site.url("/plain/"), "--kind", "html", "--item", "div.post",
               "--title", "h2", "--link", "h2 a")
    assert code == 0
    out = capsys.readouterr().out
    assert "added 'Drama Desk'" in out and "trailer released" in out
    source = load_config(files[0]).sources[-1]
    assert source.kind == "html" and source.selectors is not None
    selectors = source.selectors
    assert (selectors.item, selectors.title, selectors.link) == ("div.post", "h2", "h2 a")


def test_selectors_that_match_nothing_are_refused(files: tuple[Path, Path], news_site: NewsSite,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    news_site.set("/plain/", LISTING.format(link=""), content_type="text/html")
    assert run(files, "add", news_site.url("/plain/"), "--kind", "html", "--item", "li.none",
               "--title", "h2") == 2
    assert "matches nothing" in capsys.readouterr().err


def test_selectors_that_find_items_but_nothing_inside_them_say_so(files: tuple[Path, Path], news_site: NewsSite,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    news_site.set("/plain/", LISTING.format(link=""), content_type="text/html")
    assert run(files, "add", news_site.url("/plain/"), "--kind", "html", "--item", "div.post",
               "--title", "h3", "--link", "span") == 2
    err = capsys.readouterr().err
    assert "matches 2 elements, but none holds a title, summary or link" in err and "inside each item" in err


def test_google_news_and_youtube_shorthands(files: tuple[Path, Path],
                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert run(files, "add", "--google-news", "지금 우리 학교는 시즌2", "--lang", "ko", "--no-check") == 0
    assert run(files, "add", "--youtube", "UCabc123", "--no-check", "--name", "Channel") == 0
    out = capsys.readouterr().out
    assert "added 'Google News ko: 지금 우리 학교는 시즌2'" in out and "added 'Channel'" in out
    google, youtube = load_config(files[0]).sources[-2:]
    assert google.url == google_news_url("지금 우리 학교는 시즌2", "ko")
    assert google.language == "ko" and not google.allow_private
    assert youtube.url == youtube_channel_url("UCabc123")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ((), "give exactly one of"),
        (("http://a.example/x", "--youtube", "UC1"), "give exactly one of"),
        (("--google-news", "q", "--lang", "fr"), "invalid choice"),
        (("http://a.example/x", "--no-check"), "--no-check needs --name"),
        (("http://a.example/x", "--interval", "soon"), "--interval"),
        (("http://a.example/x", "--kind", "html"), "needs CSS selectors"),
        (("ftp://a.example/x", "--no-check", "--name", "F"), "not an http(s) URL"),
    ],
)
def test_bad_add_usage_exits_2(files: tuple[Path, Path], capsys: pytest.CaptureFixture[str],
                               argv: tuple[str, ...], message: str) -> None:
    try:
        code = run(files, "add", *argv)
    except SystemExit as exc:  # argparse's own usage errors
        code = int(exc.code or 0)
    assert code == 2
    assert message in capsys.readouterr().err


def test_duplicates_are_refused(files: tuple[Path, Path], news_site: NewsSite,
                                capsys: pytest.CaptureFixture[str]) -> None:
    before = files[0].read_text(encoding="utf-8")
    same_url = news_site.url("/alpha.xml") + "?utm_source=newsletter"
    assert run(files, "add", same_url) == 2
    assert "already watched as 'Alpha News'" in capsys.readouterr().err
    news_site.set("/other.xml", rss("Other", HEADLINES))
    assert run(files, "add", news_site.url("/other.xml"), "--name", "alpha NEWS") == 2
    assert "'Alpha News' already exists" in capsys.readouterr().err
    assert files[0].read_text(encoding="utf-8") == before


def test_failed_fetch_exits_1(files: tuple[Path, Path], news_site: NewsSite,
                              capsys: pytest.CaptureFixture[str]) -> None:
    news_site.fault("/down.xml", "status", code=500)
    assert run(files, "add", news_site.url("/down.xml")) == 1
    err = capsys.readouterr().err
    assert "cannot fetch" in err and "500" in err and "Traceback" not in err


def test_remove_forgets_state_and_keeps_comments(files: tuple[Path, Path],
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    state = State.open(files[1])
    state.record_fetch_error("Beta Wire", now=WHEN, error="HTTP 503")
    state.close()
    before = files[0].read_text(encoding="utf-8")
    assert run(files, "remove", "beta wire") == 0
    assert "removed 'Beta Wire'" in capsys.readouterr().out
    assert [s.name for s in load_config(files[0]).sources] == ["Alpha News"]
    after = files[0].read_text(encoding="utf-8")
    comments_kept(before, after)
    assert after.endswith("    interval: 15m   # poll every quarter hour\n# trailing comment\n")  # still after the list
    state = State.open(files[1])
    assert state.source_state("Beta Wire").consecutive_errors == 0
    state.close()
    assert run(files, "remove", "Alpha New") == 2
    assert "no source named 'Alpha New' (did you mean 'Alpha News'?)" in capsys.readouterr().err


def test_list_shows_health_from_state(files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert run(files, "list") == 0
    out = capsys.readouterr().out
    assert not files[1].exists()  # listing creates no state
    assert out.splitlines()[0].split()[:3] == ["NAME", "KIND", "INTERVAL"]
    state = State.open(files[1])
    state.record_fetched("Alpha News", now=WHEN, items_seen=[], findings=[], etag=None, last_modified=None)
    for _ in range(3):
        state.record_fetch_error("Beta Wire", now=WHEN, error="HTTP 503 Service Unavailable")
    state.close()
    assert run(files, "list") == 0
    rows = {line.split("  ")[0]: line for line in capsys.readouterr().out.splitlines()[1:]}
    assert "2026-03-02 09:00" in rows["Alpha News"] and "15m" in rows["Alpha News"]
    beta = rows["Beta Wire"]
    assert "HTTP 503 Service Unavailable" in beta and " 3 " in beta and "paused" in beta


def test_list_json(files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    state = State.open(files[1])
    state.record_fetch_error("Beta Wire", now=WHEN, error="HTTP 503 Service Unavailable")
    state.close()
    assert run(files, "list", "--json") == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["name"] for r in rows] == ["Alpha News", "Beta Wire"]
    assert rows[0]["health"] == "not_fetched" and rows[0]["interval_seconds"] == 900
    assert rows[1]["consecutive_errors"] == 1 and rows[1]["last_error"] == "HTTP 503 Service Unavailable"
    assert rows[1]["paused"] is True and rows[1]["health"] == "paused"


def test_list_shows_address_flags(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text(NO_SOURCES.replace("sources: []\n", "sources:\n"
                    "  - {name: From Telegram, url: 'https://wire.example/feed.xml', public_only: true}\n"
                    "  - {name: Home server, url: 'http://192.168.1.20/feed.xml', allow_private: true}\n"),
                    encoding="utf-8")
    assert run((path, tmp_path / "state"), "list") == 0
    rows = {line.split("  ")[0]: line.split()[-1] for line in capsys.readouterr().out.splitlines()[1:]}
    assert rows == {"From Telegram": "public-only", "Home server": "private-ok"}


def test_check_reports_each_source_without_writing_state(files: tuple[Path, Path],
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert run(files, "check") == 1  # Beta answers 503
    captured = capsys.readouterr()
    assert "Beta Wire: FAILED" in captured.out and "503" in captured.out
    assert "HTTP 200, 2 items" in captured.out and HEADLINES[0] in captured.out
    assert "1 of 2 sources failed" in captured.err
    assert run(files, "check", "alpha news") == 0
    assert "Beta Wire" not in capsys.readouterr().out
    assert not files[1].exists()
    assert run(files, "check", "Gamma") == 2


def test_opml_round_trip_into_an_empty_file(files: tuple[Path, Path], tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert run(files, "export") == 0
    opml = capsys.readouterr().out
    assert opml.startswith("<?xml") and 'version="2.0"' in opml and 'type="rss"' in opml
    (tmp_path / "export.opml").write_text(opml, encoding="utf-8")
    empty = tmp_path / "empty.yaml"
    empty.write_text(NO_SOURCES, encoding="utf-8")
    code = main(["sources", "import", str(tmp_path / "export.opml"), "--interval", "1h",
                 "--sources", str(empty)])
    assert code == 0
    assert "2 added, 0 skipped" in capsys.readouterr().out
    original = load_config(files[0]).sources
    imported = load_config(empty).sources
    assert [(s.name, s.url) for s in imported] == [(s.name, s.url) for s in original]
    assert all(s.interval == 3600.0 for s in imported)
    assert "# a file with a watch and no sources yet" in empty.read_text(encoding="utf-8")


def test_export_then_import_keeps_interval_and_language(tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text(NO_SOURCES.replace("sources: []\n", """sources:
  - {name: Seoul Daily, url: https://seoul.example/rss, interval: 2h, language: ko}
  - {name: Quick Wire, url: https://quick.example/feed, interval: 90s, language: en}
  - {name: Plain, url: https://plain.example/feed}
  - {name: Desk page, url: https://desk.example/tv, kind: html, selectors: {item: article, title: h2}}
"""), encoding="utf-8")
    assert main(["sources", "export", "--sources", str(path)]) == 0
    opml = tmp_path / "export.opml"
    opml.write_text(capsys.readouterr().out, encoding="utf-8")
    empty = tmp_path / "empty.yaml"
    empty.write_text(NO_SOURCES, encoding="utf-8")
    assert main(["sources", "import", str(opml), "--sources", str(empty)]) == 0
    out = capsys.readouterr().out
    assert "skipped Desk page: a web page, not a feed" in out and "3 added, 1 skipped" in out
    feeds = [s for s in load_config(path).sources if s.kind == "feed"]
    assert load_config(empty).sources == tuple(feeds)  # names, URLs, intervals and languages


def test_import_refuses_a_bad_interval_or_language_per_feed(files: tuple[Path, Path], tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    opml = tmp_path / "reader.opml"
    opml.write_text("""<?xml version="1.0"?><opml version="2.0"><head/><body>
<outline text="Slow" type="rss" xmlUrl="https://slow.example/feed" interval="often"/>
<outline text="Wordy" type="rss" xmlUrl="https://wordy.example/feed" language="english"/>
<outline text="Three" type="rss" xmlUrl="https://three.example/feed" language="eng"/>
<outline text="Fine" type="rss" xmlUrl="https://fine.example/feed" interval="1h" language="pt_BR"/>
</body></opml>""", encoding="utf-8")
    assert run(files, "import", str(opml)) == 0
    out = capsys.readouterr().out
    assert "skipped Slow: interval 'often' is not a duration" in out
    assert "skipped Wordy: language 'english' is not a language code (did you mean 'en'?)" in out
    assert "skipped Three: language 'eng' is not a language code" in out  # the sources file's own check
    fine = load_config(files[0]).sources[-1]
    assert (fine.name, fine.interval, fine.language) == ("Fine", 3600.0, "pt-BR")


def test_import_skips_duplicates_and_bad_entries(files: tuple[Path, Path], tmp_path: Path,
                                                 news_site: NewsSite,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    opml = tmp_path / "reader.opml"
    opml.write_text(f"""<?xml version="1.0"?><opml version="1.0"><head><title>reader</title></head><body>
<outline text="K-drama">
  <outline text="Alpha again" type="rss" xmlUrl="{news_site.url('/alpha.xml')}/"/>
  <outline text="Fresh" type="rss" xmlUrl="https://fresh.example/feed"/>
  <outline text="alpha news" type="rss" xmlUrl="https://other.example/feed"/>
</outline>
<outline text="Fresh twice" type="rss" xmlUrl="https://FRESH.example/feed#top"/>
</body></opml>""", encoding="utf-8")
    assert run(files, "import", str(opml)) == 0
    out = capsys.readouterr().out
    assert "skipped Alpha again:" in out and "already watched as 'Alpha News'" in out
    assert "skipped Fresh twice:" in out and "already watched as 'Fresh'" in out
    assert "2 added, 2 skipped" in out
    names = [s.name for s in load_config(files[0]).sources]
    assert names == ["Alpha News", "Beta Wire", "Fresh", "alpha news 2"]


def test_import_of_a_file_that_is_not_opml(files: tuple[Path, Path], tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "x.opml").write_text("just words", encoding="utf-8")
    assert run(files, "import", str(tmp_path / "x.opml")) == 2
    assert "not an OPML" in capsys.readouterr().err
    assert run(files, "import", str(tmp_path / "missing.opml")) == 2
    assert "cannot read" in capsys.readouterr().err


@pytest.mark.parametrize("action", [("list",), ("export",), ("remove", "Alpha News"),
                                    ("add", "--youtube", "UC1", "--no-check")])
def test_broken_sources_file_exits_2_with_file_and_line(files: tuple[Path, Path], action: tuple[str, ...],
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    path = files[0]
    path.write_text(path.read_text(encoding="utf-8").replace("    kind: feed\n    paused", "    kind: fed\n"
                                                                                         "    paused"),
                    encoding="utf-8")
    assert run(files, *action) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"newsbot: {path}:16: sources[1].kind")
    assert len(err.splitlines()) == 1


def test_export_marks_html_sources_as_links() -> None:
    from bot.models import Config, Selectors, Watch

    config = Config((Watch("w", "Show", 2),), (
        Source("Feed & Co", "https://a.example/feed", language="ko"),
        Source("Page", "https://b.example/news", kind="html", selectors=Selectors("li", "h2")),
    ))
    text = export_opml(config)
    assert 'text="Feed &amp; Co"' in text and 'xmlUrl="https://a.example/feed"' in text
    assert 'language="ko"' in text
    assert 'type="link" url="https://b.example/news"' in text.replace('text="Page" title="Page" ', "")


async def test_inspect_refuses_private_addresses_unless_allowed(files: tuple[Path, Path],
                                                                news_site: NewsSite) -> None:
    from bot.fetch.client import Fetcher

    config = load_config(files[0])
    news_site.set("/priv.xml", rss("Private", HEADLINES))
    async with Fetcher(config.settings) as fetcher:
        with pytest.raises(SourceError, match="not a public address"):
            await inspect_source(news_site.url("/priv.xml"), name=None, interval=None, config=config,
                                 fetcher=fetcher, allow_private=False)
        assert news_site.hits("/priv.xml") == 0
        preview = await inspect_source(news_site.url("/priv.xml"), name=None, interval=None, config=config,
                                       fetcher=fetcher, newest=1)
    assert preview.source.name == "Private" and preview.source.allow_private
    assert [item.title for item, _ in preview.items] == [HEADLINES[0]]


def test_built_url_is_added_with_a_warning_when_its_host_cannot_be_reached(
        files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    # Tests may not leave the machine, so fetching youtube.com fails here as it may in the field.
    assert run(files, "add", "--youtube", "UCxyz") == 0
    captured = capsys.readouterr()
    assert "warning: cannot fetch" in captured.err and "adding the built URL anyway" in captured.err
    assert "added 'YouTube UCxyz'" in captured.out
    assert load_config(files[0]).sources[-1].url == youtube_channel_url("UCxyz")


def test_a_plain_url_that_cannot_be_reached_is_not_added(files: tuple[Path, Path],
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    before = files[0].read_text(encoding="utf-8")
    assert run(files, "add", "https://unreachable.example/feed") == 1
    assert "cannot fetch https://unreachable.example/feed" in capsys.readouterr().err
    assert files[0].read_text(encoding="utf-8") == before


def test_sources_without_action_and_unusable_state(files: tuple[Path, Path],
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sources"]) == 2
    assert "give an action" in capsys.readouterr().err
    files[1].mkdir()
    (files[1] / "newsbot.db").write_bytes(b"this is not a database" * 100)
    assert run(files, "list") == 2  # an unusable state: exit 2, as for every command
    err = capsys.readouterr().err
    assert err.startswith("newsbot: cannot use state database") and "Traceback" not in err


def test_check_names_a_source_that_cannot_be_parsed_once(files: tuple[Path, Path], news_site: NewsSite,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    news_site.clear_fault("/beta.xml")
    news_site.set("/beta.xml", "\x00\x01 not a feed, not a page", content_type="application/rss+xml")
    assert run(files, "check", "Beta Wire") == 1
    line = capsys.readouterr().out.strip()
    assert line.startswith("Beta Wire: FAILED: cannot parse ") and line.count("Beta Wire") == 1
