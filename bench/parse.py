"""CPU cost of parsing a 50-item feed: the lxml fast path against feedparser.

Run: python bench/parse.py [repetitions]
Prints CPU milliseconds per feed (time.process_time), best of a few rounds.
Headlines come from the shared corpus when it is there (read at run time), else are generated.
"""

from __future__ import annotations

import io
import json
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

import feedparser
from lxml import etree  # type: ignore[import-untyped]

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.models import Selectors  # noqa: E402
from bot.parse.feed import _parse_with_feedparser as _fallback  # noqa: E402
from bot.parse.feed import article_text, discover_feeds, parse_feed, parse_html  # noqa: E402

CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus" / "headlines-dev.jsonl"
START = datetime(2026, 9, 27, 10, 0, tzinfo=UTC)


def headlines(count: int) -> list[tuple[str, str]]:
    """`count` (title, summary) pairs, from the corpus if readable."""
    pairs: list[tuple[str, str]] = []
    if CORPUS.exists():
        for line in CORPUS.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            pairs.append((record.get("title", ""), record.get("summary", "")))
    if not pairs:
        pairs = [(f"Show news {n}", f"What happened in story {n}, told at some length.") for n in range(50)]
    return [pairs[n % len(pairs)] for n in range(count)]


def rss_feed(count: int) -> bytes:
    """A WordPress-shaped RSS 2.0 feed with HTML descriptions and content:encoded."""
    items = []
    for n, (title, summary) in enumerate(headlines(count)):
        date = format_datetime(START - timedelta(hours=n))
        body = escape(f"<p>{summary}</p><p>The post <a href='#'>{title}</a> appeared first on Site.</p>")
        items.append(
            f"<item><title>{escape(title)} &#8211; #{n}</title>"
            f"<link>https://site.example/{n}/?utm_source=rss&amp;utm_medium=rss</link>"
            f"<pubDate>{date}</pubDate><guid isPermaLink='false'>https://site.example/?p={n}</guid>"
            f"<description>{body}</description>"
            f"<content:encoded><![CDATA[<p>{summary}</p>{'<p>More text.</p>' * 20}]]></content:encoded>"
            "</item>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>Site</title>'
        f"<link>https://site.example</link><language>en-US</language>{''.join(items)}</channel></rss>"
    ).encode()


def atom_feed(count: int) -> bytes:
    """A YouTube-shaped Atom feed with yt: and media: elements."""
    entries = []
    for n, (title, summary) in enumerate(headlines(count)):
        date = (START - timedelta(hours=n)).isoformat()
        entries.append(
            f"<entry><id>yt:video:v{n:010d}</id><yt:videoId>v{n:010d}</yt:videoId><title>{escape(title)}</title>"
            f"<link rel='alternate' href='https://www.youtube.com/watch?v=v{n:010d}'/>"
            f"<published>{date}</published><updated>{date}</updated>"
            f"<media:group><media:title>{escape(title)}</media:title>"
            f"<media:description>{escape(summary)}</media:description></media:group></entry>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><feed xmlns:yt="http://www.youtube.com/xml/schemas/2015" '
        'xmlns:media="http://search.yahoo.com/mrss/" xmlns="http://www.w3.org/2005/Atom">'
        f"<title>Channel</title>{''.join(entries)}</feed>"
    ).encode()


def listing_page(count: int) -> bytes:
    """A news listing page of `count` cards among navigation and footer links."""
    nav = "".join(f"<a href='/section/{n}'>Section {n}</a>" for n in range(150))
    cards = "".join(
        f"<article class='card'><h3 class='title'><a href='/news/{n}?utm_source=home'>{escape(title)}</a>"
        f"</h3><p class='dek'>{escape(summary)}</p>"
        "<time datetime='2026-09-27T10:00:00+09:00'>27 Sep</time></article>"
        for n, (title, summary) in enumerate(headlines(count))
    )
    script = "<script>" + "var tracking = 1;" * 3000 + "</script>"
    return (
        f"<!DOCTYPE html><html lang='en'><head><title>News</title>{script}</head><body><nav>{nav}</nav>"
        f"<main>{cards}</main><footer>{nav}</footer></body></html>"
    ).encode()


def article_page() -> bytes:
    """An article page: a long story wrapped in navigation, related links and scripts."""
    paragraphs = "".join(f"<p>{escape(summary)}</p>" for _, summary in headlines(40))
    related = "".join(f"<div class='related'><a href='/r/{n}'>Related {n}</a></div>" for n in range(200))
    script = "<script>" + "var tracking = 1;" * 3000 + "</script>"
    return (
        f"<!DOCTYPE html><html><head><title>Story</title>{script}</head><body><nav>{related}</nav>"
        f"<article><h1>Story</h1>{paragraphs}</article><aside>{related}</aside><footer>{related}</footer>"
        "</body></html>"
    ).encode()


def cpu_ms(run: Callable[[], object], repetitions: int) -> float:
    """CPU milliseconds per call, best of three rounds of `repetitions` calls."""
    best = float("inf")
    for _ in range(3):
        start = time.process_time()
        for _ in range(repetitions):
            run()
        best = min(best, (time.process_time() - start) / repetitions * 1000)
    return best


def report(label: str, run: Callable[[], object], repetitions: int) -> None:
    """Print one figure."""
    print(f"  {label:<30}{cpu_ms(run, repetitions):8.2f} ms")


def main() -> None:
    """Print per-feed CPU figures for each path."""
    repetitions = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    slow = max(1, repetitions // 10)
    base = "https://site.example/feed/"
    for name, body in (("RSS 2.0 (WordPress shape)", rss_feed(50)), ("Atom (YouTube shape)", atom_feed(50))):
        assert len(parse_feed(body, base)) == 50
        print(f"{name}: 50 items, {len(body) / 1024:.0f} KiB, CPU per feed")
        report("lxml etree.fromstring alone", lambda b=body: etree.fromstring(b), repetitions)
        report("parse_feed (lxml fast path)", lambda b=body: parse_feed(b, base), repetitions)
        report("feedparser.parse alone", lambda b=body: feedparser.parse(io.BytesIO(b)), slow)
        report("fallback (feedparser + Items)", lambda b=body: _fallback(b, base, "", 1000), slow)
    listing, article = listing_page(50), article_page()
    selectors = Selectors(item="article.card", title=".title", link="a", summary=".dek", date="time")
    assert len(parse_html(listing, base, selectors)) == 50
    print(f"HTML listing page, 50 cards ({len(listing) / 1024:.0f} KiB)")
    report("parse_html (BeautifulSoup)", lambda: parse_html(listing, base, selectors), slow)
    report("discover_feeds (lxml.html)", lambda: discover_feeds(listing, base), repetitions // 4)
    print(f"Article page ({len(article) / 1024:.0f} KiB)")
    report("article_text (lxml.html)", lambda: article_text(article, base), repetitions // 4)
    big = rss_feed(10000)
    print(f"RSS 2.0, 10,000 items ({len(big) / 1024 / 1024:.1f} MiB), capped at 1000 items")
    report("parse_feed", lambda: parse_feed(big, base), 3)


if __name__ == "__main__":
    main()
