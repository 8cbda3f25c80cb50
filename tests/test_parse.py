"""Tests for bot.parse.feed: fixture feeds and pages in, Items out, hostile bodies refused."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.models import Item, Selectors, Source
from bot.parse.feed import (
    ParseError,
    _parse_with_feedparser,
    article_text,
    decode_text,
    discover_feeds,
    parse_feed,
    parse_html,
    parse_source,
)
from bot.parse.text import _rfc822_fixed, _rfc822_pattern, clean_title, parse_date, resolve_url

FEEDS = Path(__file__).parent / "data" / "feeds"
BASE = "https://fetched.example/feed.xml"


def read(name: str) -> bytes:
    """The bytes of a fixture file."""
    return (FEEDS / name).read_bytes()


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A UTC datetime."""
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


GN_EN = "https://news.google.com/rss/articles/"
GN_ID = "CBMiQWh0dHBzOi8vbGVkZ2VyLmV4YW1wbGUvYWxsLW9mLXVzLWFyZS1kZWFkLXMyLWRhdGXSAQA"

# Each case: fixture, then for each expected item the fields that matter (all items listed, in order).
FEED_CASES: list[tuple[str, list[dict[str, Any]]]] = [
    (
        "google_news_en.xml",
        [
            {
                "title": "Netflix finally dates 'All of Us Are Dead' season 2 for a winter premiere",
                "summary": "Netflix finally dates 'All of Us Are Dead' season 2 for a winter premiere",
                "url": f"{GN_EN}{GN_ID}?oc=5",
                "guid": GN_ID,
                "published": utc(2026, 9, 23, 7, 10),
                "language": "en-US",
                "publisher": "Daily Screen Ledger",
                "publisher_url": "https://ledger.example",
            },
            {
                "title": "'All of Us Are Dead' season 2 wraps its shoot after seven months",
                "published": utc(2026, 2, 19, 3, 25),
                "publisher": "K-Screen Weekly",
                "publisher_url": "https://kscreen.example",
            },
            {
                "title": "All of Us Are Dead season 2: every rumour we could find",
                "publisher": "Stream Guide",
            },
            {
                # The suffix is not the <source> text, so the title is left whole.
                "title": "Zombie school drama returns - a first look - Night Owl Post",
                "summary": "Zombie school drama returns - a first look The Night Owl",
                "publisher": "The Night Owl",
            },
        ],
    ),
    (
        "google_news_ko.xml",
        [
            {
                "title": "'지금 우리 학교는' 시즌2, 7개월 촬영 마치고 후반 작업 돌입",
                "language": "ko",
                "publisher": "예시일보",
                "publisher_url": "https://ilbo.example",
                "published": utc(2026, 2, 18, 9, 30),
            },
            {
                "title": '지우학2 공개일 언제?…넷플릭스 "아직 정해진 바 없다"',
                "summary": '지우학2 공개일 언제?…넷플릭스 "아직 정해진 바 없다"',
                "publisher": "연예스포츠",
            },
        ],
    ),
    (
        "youtube.xml",
        [
            {
                "title": "All of Us Are Dead: Season 2 | Official Teaser | Netflix",
                "summary": "The students of Hyosan High are back, and so is the outbreak. "
                "All of Us Are Dead returns for a second season, only on Netflix.",
                "url": "https://www.youtube.com/watch?v=Ab3dEf9hIjK",
                "guid": "yt:video:Ab3dEf9hIjK",
                "published": utc(2026, 9, 27, 10, 0),
                "language": "",
                "publisher": "Netflix",
                "publisher_url": "https://www.youtube.com/channel/UCfixture0000000000000000",
            },
            {
                "title": "Lanternfall | Official Trailer | Netflix",
                "url": "https://www.youtube.com/watch?v=Zz9yX8wV7uT",
                "guid": "yt:video:Zz9yX8wV7uT",
            },
        ],
    ),
    (
        "wordpress.xml",
        [
            {
                "title": "“All of Us Are Dead” Season 2: Netflix Confirms a January Release",
                "summary": "Netflix put a date on the zombie drama’s return: the second season lands on "
                "15 January. Here’s what the streamer said…",
                "url": "https://dispatch.example/2026/09/all-of-us-are-dead-season-2-release/",
                "guid": "https://dispatch.example/?p=40112",
                "published": utc(2026, 9, 25, 17, 45),
                "language": "en-US",
                "publisher": "Streaming Dispatch",
                "publisher_url": "https://dispatch.example",
            },
            {
                "title": "Lanternfall Isn’t Coming Back – Here’s Why",
                "summary": "The lighthouse drama will not get a second season, according to people close "
                "to the production.",
                "url": "https://dispatch.example/2026/09/lanternfall-cancelled/",
                "published": utc(2026, 9, 24, 13, 0),
            },
            {
                "title": "Everything We Know About All of Us Are Dead Season 2",
                "summary": "Cast, plot guesses and a release window nobody has confirmed. […]",
                "url": "https://dispatch.example/2026/09/aouad-everything-we-know/?ref=home",
                "guid": "https://dispatch.example/2026/09/aouad-everything-we-know/?ref=home",
            },
        ],
    ),
    (
        "rdf.xml",
        [
            {
                "title": "Main cast back on set as All of Us Are Dead 2 starts filming",
                "url": "https://drama-notes.example/notes/aouad-cast-returns",
                "guid": "https://drama-notes.example/notes/aouad-cast-returns",
                "published": utc(2025, 7, 10, 9, 20),
                "language": "en",
                "publisher": "Drama Notes",
            },
            {
                "title": "Lanternfall drew a small but loyal audience",
                "summary": "",
                "url": "https://drama-notes.example/notes/lanternfall-ratings",
                "published": utc(2026, 1, 3),
            },
        ],
    ),
    (
        "atom.xml",
        [
            {
                "title": "Filming wraps on All of Us Are Dead season 2",
                "summary": "The cast said goodbye to the set on Wednesday & thanked the crew.",
                "url": "https://blog.example/tv/posts/aouad-s2-wrap.html",
                "guid": "tag:blog.example,2026:tv/101",
                "published": utc(2026, 2, 19, 0, 15),
                "language": "en-GB",
                "publisher": "Small Screen Blog",
                "publisher_url": "https://blog.example/tv/",
            },
            {
                "title": "Lanternfall : la bande-annonce est là",
                "summary": "La série revient cet hiver.",
                "url": "https://other.example/lanternfall",
                "published": utc(2026, 9, 25, 20, 0),
                "language": "fr",
            },
        ],
    ),
    (
        "latin1.xml",
        [
            {
                "title": "« All of Us Are Dead » : la saison 2 a terminé son tournage",
                "summary": "Le tournage s'est achevé à Séoul, d'après la presse coréenne.",
                "publisher": "Café Télé",
                "language": "fr",
                "published": utc(2026, 2, 19, 11, 0),
            },
        ],
    ),
    (
        "truncated.xml",
        [
            {
                "title": "All of Us Are Dead season 2 adds two new faces to its cast",
                "summary": "Casting news for the second season.",
                "url": "https://cut.example/news/cast-additions",
            },
            {"title": "Lanternfall tops the weekend charts", "published": utc(2025, 6, 15, 8, 0)},
        ],
    ),
    (
        "no_link_no_title.xml",
        [
            {
                "title": "A summary with no title: Netflix says All of Us Are Dead season 2 will stream "
                "worldwide on the…",
                "url": "",
                "guid": "sparse-0001",
            },
            {"title": "", "url": "https://sparse.example/wire/0003", "guid": "https://sparse.example/wire/0003"},
            {"title": "Only a title here", "url": "", "guid": "sha256:e075fcba5ef4517f6d67c0650b95fc86"},
            {"title": "Guid doubles as the link", "url": "https://sparse.example/wire/0005"},
        ],
    ),
    (
        "future_and_bad_dates.xml",
        [
            {"title": "From the future", "published": utc(2033, 1, 1)},
            {"title": "Not a date at all", "published": None},
            {"title": "The thirty-first of February", "published": None},
            {"title": "Empty date", "published": None},
            {"title": "Seoul time", "published": utc(2025, 7, 10, 5, 0)},
            {"title": "ISO date without zone", "published": utc(2025, 7, 23, 10, 0)},
            {"title": "Year nine thousand", "published": None},
        ],
    ),
    ("empty.xml", []),
]


def assert_items(items: list[Item], expected: list[dict[str, Any]]) -> None:
    """Every expected item is there, in order, with the expected fields."""
    assert [item.title for item in items] == [e["title"] for e in expected]
    for item, fields in zip(items, expected, strict=True):
        for name, value in fields.items():
            assert getattr(item, name) == value, f"{item.title!r}: {name}"


@pytest.mark.parametrize(("fixture", "expected"), FEED_CASES, ids=[case[0] for case in FEED_CASES])
def test_feed_fixture(fixture: str, expected: list[dict[str, Any]]) -> None:
    assert_items(parse_feed(read(fixture), BASE), expected)


@pytest.mark.parametrize(("fixture", "expected"), FEED_CASES, ids=[case[0] for case in FEED_CASES])
def test_every_item_is_well_formed(fixture: str, expected: list[dict[str, Any]]) -> None:
    for item in parse_feed(read(fixture), BASE):
        assert item.guid
        assert item.url == "" or item.url.startswith(("http://", "https://"))
        assert item.published is None or item.published.utcoffset() is not None
        assert len(item.summary) <= 1001
        for text in (item.title, item.summary):
            assert "<" not in text.replace("<3", "") and "&#" not in text and "  " not in text


def test_language_argument_is_the_default() -> None:
    items = parse_feed(read("youtube.xml"), BASE, language="ko")
    assert {item.language for item in items} == {"ko"}
    # A feed's own <language> wins over the argument.
    assert parse_feed(read("google_news_en.xml"), BASE, language="ko")[0].language == "en-US"


def test_guid_hash_is_stable() -> None:
    first = parse_feed(read("no_link_no_title.xml"), BASE)
    second = parse_feed(read("no_link_no_title.xml"), "https://elsewhere.example/")
    assert first[2].guid == second[2].guid != ""


@pytest.mark.parametrize(
    ("fixture", "message"),
    [
        ("billion_laughs.xml", "declares XML entities"),
        ("xxe.xml", "declares XML entities"),
        ("not_a_feed.html", "not a feed: the body is an HTML page"),
    ],
)
def test_hostile_or_wrong_bodies_are_refused(fixture: str, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse_feed(read(fixture), BASE)


@pytest.mark.parametrize("fixture", ["billion_laughs.xml", "xxe.xml"])
def test_fallback_does_not_expand_entities_either(fixture: str) -> None:
    items = _parse_with_feedparser(read(fixture), BASE, "", 10) or []
    text = " ".join(f"{item.title} {item.summary}" for item in items)
    assert "root:" not in text
    assert "hahahaha" not in text
    assert len(text) < 1000


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "not a feed: the body is empty"),
        (b"  \n ", "not a feed: the body is empty"),
        (b'{"version": "https://jsonfeed.org/version/1.1"}', "not a feed: the body is not XML"),
        (b'<?xml version="1.0"?><catalog><book/></catalog>', "not a feed: the root element is <catalog>"),
        (b"<html><body><p>hi</p></body></html>", "not a feed: the body is an HTML page"),
        (b'<?xml version="1.0"?>\n<rss version="2.0">\n<channel>\n<title>x</title>\n<item>\n<title>t',
         "truncated XML at line 6"),
        (b'<rss version="2.0"><channel><title>x</title></channel><</rss>', "bad XML at line 1"),
    ],
)
def test_bad_bodies_raise_clear_errors(body: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse_feed(body, BASE)


REPAIR_CASES: list[tuple[str, bytes, list[dict[str, Any]]]] = [
    (
        "html entities and bare ampersands",
        b'<rss version="2.0"><channel><title>X</title><link>https://x.example/</link>'
        b"<item><title>Tom &amp; Jerry &nbsp; AT&T reunion</title><link>https://x.example/1?a=1&b=2</link>"
        b"<description>Hi &mdash; there</description></item></channel></rss>",
        [{"title": "Tom & Jerry AT&T reunion", "summary": "Hi — there", "url": "https://x.example/1?a=1&b=2"}],
    ),
    (
        "RSS 0.91 with the Netscape DOCTYPE",
        b'<?xml version="1.0" encoding="ISO-8859-1"?>\n<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD'
        b' RSS 0.91//EN" "http://my.netscape.com/publish/formats/rss-0.91.dtd">\n'
        b'<rss version="0.91"><channel>'
        b"<title>Old</title><link>http://old.example/</link><language>en-us</language><item>"
        b"<title>Caf&eacute; caf\xe9</title><link>http://old.example/1</link></item></channel></rss>",
        [{"title": "Café café", "language": "en-us", "url": "http://old.example/1"}],
    ),
    (
        "Atom 0.3 through feedparser",
        b'<?xml version="1.0"?><feed version="0.3" xmlns="http://purl.org/atom/ns#"><title>Old atom</title>'
        b'<entry><title>Atom 0.3 entry</title><link rel="alternate" type="text/html" href="http://a.example/1"/>'
        b"<id>tag:a,1</id><issued>2005-01-01T00:00:00Z</issued><summary>Sum</summary></entry></feed>",
        [{"title": "Atom 0.3 entry", "summary": "Sum", "url": "http://a.example/1", "guid": "tag:a,1",
          "published": utc(2005, 1, 1)}],
    ),
    (
        "a channel title escaped twice names the publisher once, and is cut from its items' titles",
        b'<rss version="2.0"><channel><title>AT&amp;amp;T &amp;lt;i&amp;gt;Wire&amp;lt;/i&amp;gt;</title>'
        b"<item><title>Rates hold - AT&amp;amp;T Wire</title><link>/1</link></item></channel></rss>",
        [{"title": "Rates hold", "publisher": "AT&T Wire"}],
    ),
    (
        "junk after the root element",
        b'<rss version="2.0"><channel><title>x</title><item><title>a</title><link>/1</link></item></channel>'
        b"</rss>\n<b>Warning</b>: something",
        [{"title": "a", "url": "https://fetched.example/1"}],
    ),
    (
        "UTF-16 with BOM",
        '<?xml version="1.0" encoding="UTF-16"?><rss version="2.0"><channel><item><title>시즌2</title>'
        "</item></channel></rss>".encode("utf-16"),
        [{"title": "시즌2"}],
    ),
    (
        "double-escaped markup and CDATA in titles",
        b'<rss version="2.0"><channel><item><title><![CDATA[<b>Bold</b> &amp; &#8216;quoted&#8217;]]></title>'
        b"</item><item><title>&lt;em&gt;Dead&lt;/em&gt; &amp;#8211; I &lt;3 it</title></item>"
        b"</channel></rss>",
        [{"title": "Bold & ‘quoted’"}, {"title": "Dead – I <3 it"}],
    ),
    (
        "Atom entry with a <source> feed",
        b'<feed xmlns="http://www.w3.org/2005/Atom"><title>Planet</title>'
        b"<entry><title>Post - Origin Blog</title>"
        b'<id>urn:1</id><source><title>Origin Blog</title><link href="https://origin.example/"/></source>'
        b"</entry></feed>",
        [{"title": "Post", "guid": "urn:1", "publisher": "Origin Blog", "publisher_url": "https://origin.example/"}],
    ),
    (
        "unsafe link schemes are dropped",
        b'<rss version="2.0"><channel><item><title>t</title><link>javascript:alert(1)</link></item></channel>'
        b"</rss>",
        [{"title": "t", "url": ""}],
    ),
    (
        "xml:base on an RSS item",
        b'<rss version="2.0" xml:base="https://a.example/x/"><channel><item><title>t</title><link>y</link>'
        b"</item></channel></rss>",
        [{"title": "t", "url": "https://a.example/x/y"}],
    ),
]


@pytest.mark.parametrize(
    ("body", "expected"), [case[1:] for case in REPAIR_CASES], ids=[case[0] for case in REPAIR_CASES]
)
def test_odd_feeds(body: bytes, expected: list[dict[str, Any]]) -> None:
    assert_items(parse_feed(body, BASE), expected)


def test_a_source_is_read_as_its_kind_says() -> None:
    page = Source(name="p", url="https://couch.example/news/", kind="html", selectors=LISTING)
    items = parse_source(page, read("page.html"), page.url)
    assert items == parse_html(read("page.html"), page.url, LISTING) and items[0].published == utc(2026, 9, 27, 10, 5)
    feed = Source(name="f", url=BASE)
    assert parse_source(feed, read("atom.xml"), BASE) == parse_feed(read("atom.xml"), BASE)


def test_bad_utf8_is_replaced() -> None:
    (item,) = parse_feed(read("bad_utf8.xml"), BASE)
    assert item.title.startswith("Season 2 news — caf\ufffd")
    assert item.title.endswith(" ok")
    assert item.summary == "A control char here: and a proper one: é."


def test_header_charset_wins_over_xml_declaration() -> None:
    body = '<?xml version="1.0" encoding="utf-8"?><rss><channel><item><title>é</title></item></channel></rss>'
    header = "application/rss+xml; charset=windows-1252"
    (item,) = parse_feed(body.encode("cp1252"), BASE, content_type=header)
    assert item.title == "é"


def generated_feed(count: int) -> bytes:
    """An RSS feed of `count` items, newest first."""
    items = "".join(
        f"<item><title>Item {n}</title><link>https://big.example/{n}</link>"
        f"<pubDate>Mon, 21 Sep 2026 10:00:00 GMT</pubDate><description>Body {n}</description></item>"
        for n in range(count)
    )
    return f'<rss version="2.0"><channel><title>Big</title>{items}</channel></rss>'.encode()


@pytest.mark.parametrize(("max_items", "count"), [(1000, 1000), (5, 5), (20000, 10000), (0, 0)])
def test_ten_thousand_items_are_capped(max_items: int, count: int) -> None:
    items = parse_feed(generated_feed(10000), BASE, max_items=max_items)
    assert len(items) == count
    if count:
        assert items[0].title == "Item 0"
        assert items[-1].url == f"https://big.example/{count - 1}"


def test_parsing_is_thread_safe() -> None:
    names = ["google_news_en.xml", "youtube.xml", "wordpress.xml", "rdf.xml", "atom.xml", "truncated.xml"] * 8
    expected = {name: parse_feed(read(name), BASE) for name in set(names)}
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda name: (name, parse_feed(read(name), BASE)), names))
    for name, items in results:
        assert items == expected[name]


DECODE_CASES: list[tuple[str, str, str]] = [
    # (text, how it is encoded, Content-Type header); the decoded text must equal the original.
    ("é", "cp1252", "text/html; charset=ISO-8859-1"),
    ("시즌", "euc-kr", 'text/html; charset="EUC-KR"'),
    ("\ufeffplain", "utf-8", "text/plain; charset=latin1"),
    ('<?xml version="1.0" encoding="windows-1252"?><a>“</a>', "cp1252", ""),
    ("<?xml version='1.0' encoding='euc-kr'?><a>학교</a>", "euc-kr", "application/xml"),
    ('<meta charset="euc-kr"><p>학교</p>', "euc-kr", ""),
    ('<meta http-equiv="Content-Type" content="text/html; charset=shift_jis">日本', "shift_jis", ""),
    ("café", "utf-8", "text/html; charset=no-such-charset"),
    ("café", "utf-8", ""),
    ("", "utf-8", ""),
]


@pytest.mark.parametrize(("text", "encoding", "content_type"), DECODE_CASES)
def test_decode_text(text: str, encoding: str, content_type: str) -> None:
    assert decode_text(text.encode(encoding), content_type) == text.lstrip("\ufeff")


def test_decode_text_replaces_undecodable_bytes() -> None:
    assert decode_text(b"caf\xc3\xa9 \xff!") == "café \ufffd!"
    assert decode_text("\u00e9".encode("utf-16-le") + b"\x00", "text/xml; charset=utf-16-le") == "é\ufffd"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Wed, 23 Sep 2026 07:10:00 GMT", utc(2026, 9, 23, 7, 10)),
        ("Wed, 23 Sep 2026 16:10:00 +0900", utc(2026, 9, 23, 7, 10)),
        ("2026-09-23T07:10:00Z", utc(2026, 9, 23, 7, 10)),
        ("2026-09-23T16:10:00+09:00", utc(2026, 9, 23, 7, 10)),
        ("2026.09.23 07:10", utc(2026, 9, 23, 7, 10)),
        ("September 23, 2026", utc(2026, 9, 23)),
        ("2026-02-30", None),
        ("yesterday", None),
        ("", None),
    ],
)
def test_parse_date(text: str, expected: datetime | None) -> None:
    assert parse_date(text) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("&#8220;Dead&#8221;", "“Dead”"),
        ("&lt;i&gt;Dead&lt;/i&gt;  season\n 2", "Dead season 2"),
        ("a < b and c > d", "a < b and c > d"),
        ("<script>x()</script>Title", "Title"),
    ],
)
def test_clean_title(raw: str, expected: str) -> None:
    assert clean_title(raw) == expected


def test_resolve_url_drops_tracking_only() -> None:
    url = resolve_url("/a?utm_source=rss&id=3&utm_campaign=x#top", "https://site.example/feed/")
    assert url == "https://site.example/a?id=3#top"


LISTING = Selectors(item="article.card", title=".card-title", link="a", summary=".dek", date="time, .date")


def test_parse_html_listing() -> None:
    items = parse_html(read("page.html"), "https://couch.example/news/index.html", LISTING)
    assert_items(
        items,
        [
            {
                "title": "Netflix drops the first teaser for All of Us Are Dead season 2",
                "summary": "Ninety seconds of the outbreak spreading again.",
                "url": "https://couch.example/news/aouad-season-2-teaser",
                "guid": "https://couch.example/news/aouad-season-2-teaser",
                "published": utc(2026, 9, 27, 10, 5),
                "language": "en",
                "publisher": "Couch Report",
                "publisher_url": "https://couch.example",
            },
            {
                "title": "Lanternfall review: a slow, lovely burn",
                "url": "https://couch.example/news/lanternfall-review",
                "published": utc(2026, 9, 20),
            },
            {"title": "A card with no link at all", "url": "", "published": None},
        ],
    )
    assert len(parse_html(read("page.html"), "https://couch.example/", LISTING, max_items=1)) == 1


def test_parse_html_bad_selector_names_it() -> None:
    with pytest.raises(ParseError, match="bad CSS selector for item: 'article..card'"):
        parse_html(read("page.html"), "https://couch.example/", Selectors(item="article..card", title="h3"))


def test_discover_feeds_in_page_order() -> None:
    assert discover_feeds(read("discovery.html"), "https://dispatch.example/about/") == [
        "https://dispatch.example/feed/",
        "https://dispatch.example/feed/atom/",
        "https://dispatch.example/about/feed.json",
        "https://dispatch.example/rdf",
    ]
    assert discover_feeds(read("not_a_feed.html"), "https://x.example/a/b") == ["https://x.example/feed/"]
    assert discover_feeds(b"", "https://x.example/") == []


def test_article_text_keeps_the_story_and_drops_the_furniture() -> None:
    text = article_text(read("article.html"), "https://couch.example/a")
    lines = text.splitlines()
    assert lines[0] == "All of Us Are Dead season 2: what the director hopes for"
    assert (
        "The director talks about where the story could go next, but Netflix has not announced a date."
    ) in lines
    assert (
        "He said the team wanted to follow the surviving students into adulthood, and hinted that new "
        "characters would join them."
    ) in lines
    assert "Season 2 was confirmed in June 2022." in lines
    noises = ("Trending", "snacks", "Share this", "Related", "newsletter", "All rights", "track(")
    for noise in (*noises, "dataLayer", "font-family", "Film"):
        assert noise not in text
    assert len(article_text(read("article.html"), "https://couch.example/a", max_chars=50)) == 50


def test_article_text_without_article_element_takes_densest_paragraphs() -> None:
    page = (
        b"<html><head><title>T</title></head><body><div class='menu'><p>Home</p><p>About</p></div>"
        b"<div id='content'><p>First paragraph of the story, long enough to count.</p>"
        b"<p>Second paragraph of the story, also long enough.</p></div>"
        b"<div class='footer-links'><p>Privacy</p></div></body></html>"
    )
    text = article_text(page, "https://x.example/")
    assert text.splitlines() == [
        "T",
        "First paragraph of the story, long enough to count.",
        "Second paragraph of the story, also long enough.",
    ]


@pytest.mark.parametrize(
    "fixture",
    ["google_news_en.xml", "google_news_ko.xml", "youtube.xml", "wordpress.xml", "rdf.xml", "atom.xml",
     "latin1.xml", "bad_utf8.xml", "truncated.xml", "empty.xml"],
)
def test_fast_path_never_calls_feedparser(fixture: str, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _refuse_feedparser(monkeypatch)
    parse_feed(read(fixture), BASE)
    assert calls == []


def test_the_feedparser_check_sees_the_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    """The check above would fail: a feed only feedparser reads (Atom 0.3) trips it."""
    calls = _refuse_feedparser(monkeypatch)
    atom03 = next(case[1] for case in REPAIR_CASES if case[0] == "Atom 0.3 through feedparser")
    with pytest.raises(AssertionError, match="feedparser was used"):
        parse_feed(atom03, BASE)
    assert calls


def _refuse_feedparser(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Makes any use of feedparser by the feed reader raise; returns the list of attempts."""
    import feedparser

    calls: list[object] = []

    def refuse(*args: object, **kwargs: object) -> None:
        calls.append(args)
        raise AssertionError("feedparser was used")

    monkeypatch.setattr("bot.parse.feed._parse_with_feedparser", refuse)
    monkeypatch.setattr(feedparser, "parse", refuse)
    return calls


def test_empty_pages_give_nothing() -> None:
    assert parse_html(b"", BASE, LISTING) == []
    assert article_text(b"", BASE) == ""
    assert article_text(b"  \n", BASE) == ""
    assert discover_feeds(b"<html></html>", BASE) == []


def test_listing_text_is_taken_literally() -> None:
    page = (
        b"<html><body><div class='c'><h2>I &lt;3 zombies &amp;amp; you</h2><a href='/x'>more</a>"
        b"<time datetime='not a date'>soon</time></div></body></html>"
    )
    (item,) = parse_html(page, "https://x.example/a/", Selectors(item=".c", title="h2", date="time"))
    assert (item.title, item.url, item.published) == ("I <3 zombies &amp; you", "https://x.example/x", None)


_OFFSETS = {"+0000": 0, "GMT": 0, "UTC": 0, "+0930": 570, "-0500": -300, "+09:00": 540, "EST": -300}
_MONTH_NUMBERS = {"Jan": 1, "feb": 2, "SEP": 9, "Dec": 12, "Foo": None}
# (template, seconds in it, readable): a well-formed shape reads; a broken time ("1x") never does.
_DATE_SHAPES = (
    ("Wed, {day} {month} 2026 07:10:59 {zone}", 59, True),
    ("Wed,  {day} {month} 2026 07:10:59 {zone}", 59, True),
    ("Wed, {day} {month} 2026 07:10 {zone}", 0, True),
    ("W3d, {day} {month} 2026 07:10:59 {zone}", 59, True),
    ("Wed, {day} {month} 2026 07:1x:59 {zone}", 59, False),
    ("Wed, {day} {month} 2026 ０7:10:59 {zone}", 59, True),
)


def _outcome(read: Any, text: str) -> tuple[str, object]:
    """What a date reader does with `text`: ("value", its result) or ("error", the exception's type)."""
    try:
        return "value", read(text)
    except ValueError as exc:
        return "error", type(exc)


def _intended(day: str, month: str, zone: str, seconds: int, readable: bool) -> datetime | None:
    """The instant a test date names, worked out without any of the readers under test."""
    number = _MONTH_NUMBERS[month]
    if not readable or number is None:
        return None
    try:
        wall = datetime(2026, number, int(day), 7, 10, seconds, tzinfo=UTC)
    except ValueError:  # a day the month does not have
        return None
    return wall - timedelta(minutes=_OFFSETS[zone])


def test_dates_read_by_position_agree_with_the_pattern() -> None:
    """The fixed-position reader of the commonest RFC 822 shape gives what the pattern gives (a day
    the month lacks included), leaves every other shape to it, and every date reads as it should."""
    read_by_position = 0
    cases = 0
    for day in ("01", "09", "23", "31", "30"):
        for month in _MONTH_NUMBERS:
            for zone in _OFFSETS:
                for index, (shape, seconds, readable) in enumerate(_DATE_SHAPES):
                    text = shape.format(day=day, month=month, zone=zone)
                    cases += 1
                    fixed = _outcome(_rfc822_fixed, text)
                    commonest = index == 0 and month != "Foo" and zone in ("+0000", "GMT", "+0930", "-0500")
                    if commonest:
                        read_by_position += 1
                        assert fixed == _outcome(_rfc822_pattern, text), text
                    else:
                        assert fixed == ("value", None), text
                    assert parse_date(text) == _intended(day, month, zone, seconds, readable), text
    assert (cases, read_by_position) == (1050, 80)
    assert _rfc822_fixed("Sun, 22 Nov 2026 17:11:57 +0900") == datetime(2026, 11, 22, 8, 11, 57, tzinfo=UTC)
