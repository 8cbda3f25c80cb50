"""URL helpers: canonical forms, feed URL builders and the public-address check."""

from __future__ import annotations

import pytest

from bot.urls import canonical_url, check_public_url, google_news_url, host_of, youtube_channel_url

CANONICAL_CASES = [
    # (input, expected)
    ("HTTPS://Example.COM/News", "https://example.com/News"),
    ("http://example.com:80/a", "http://example.com/a"),
    ("https://example.com:443/a", "https://example.com/a"),
    ("https://example.com:8443/a", "https://example.com:8443/a"),
    ("http://example.com:443/a", "http://example.com:443/a"),
    ("https://example.com/a/", "https://example.com/a"),
    ("https://example.com/", "https://example.com"),
    ("https://example.com", "https://example.com"),
    ("https://example.com/a#section-2", "https://example.com/a"),
    ("https://example.com/a?utm_source=x&utm_medium=y&UTM_Campaign=z", "https://example.com/a"),
    ("https://example.com/a?fbclid=abc&gclid=def&mc_cid=1&mc_eid=2", "https://example.com/a"),
    ("https://example.com/a?b=2&a=1", "https://example.com/a?a=1&b=2"),
    ("https://example.com/a?id=7&utm_source=feed", "https://example.com/a?id=7"),
    ("https://example.com/a?x=&b=1", "https://example.com/a?b=1&x="),
    ("https://example.com/amp/news/story", "https://example.com/news/story"),
    ("https://example.com/news/story/amp", "https://example.com/news/story"),
    ("https://example.com/news/story/amp/", "https://example.com/news/story"),
    ("https://example.com/news/story?amp=1", "https://example.com/news/story"),
    ("https://example.com/news/story?amp", "https://example.com/news/story"),
    ("https://example.com/news/story?amp=true&page=2", "https://example.com/news/story?page=2"),
    ("https://amp.example.com/news/story", "https://example.com/news/story"),
    ("https://example.com/news/story.amp.html", "https://example.com/news/story.html"),
    ("https://example.com/news/ampere-story", "https://example.com/news/ampere-story"),
    ("https://example.com/news/example.html", "https://example.com/news/example.html"),
    ("https://example.com/a?amp=0", "https://example.com/a?amp=0"),
    ("http://[2001:DB8::1]:80/x", "http://[2001:db8::1]/x"),
    ("  https://example.com/a  ", "https://example.com/a"),
    ("https://Example.com./a", "https://example.com/a"),
    ("not a url", "not a url"),
    ("", ""),
    ("/relative/path", "/relative/path"),
    ("https://example.com:99999/a", "https://example.com:99999/a"),
]


@pytest.mark.parametrize(("url", "expected"), CANONICAL_CASES)
def test_canonical_url(url: str, expected: str) -> None:
    assert canonical_url(url) == expected


@pytest.mark.parametrize(
    "variants",
    [
        [
            "https://www.example.com/2024/06/show-renewed/",
            "https://www.example.com/2024/06/show-renewed/amp/",
            "https://www.example.com/2024/06/show-renewed?utm_source=rss&utm_medium=rss",
            "HTTPS://WWW.EXAMPLE.COM:443/2024/06/show-renewed#comments",
        ],
        ["https://example.com/a?b=1&a=2", "https://example.com/a?a=2&b=1&fbclid=XYZ"],
    ],
)
def test_variants_fold_together(variants: list[str]) -> None:
    assert len({canonical_url(v) for v in variants}) == 1


PLAIN_LINKS = [
    "http://127.0.0.5:8000/article/3/0", "https://example.com", "https://example.com/", "http://example.com:80/a",
    "https://example.com:443/a/", "https://example.com:0443/a", "http://example.com:080/a", "http://example.com:0/a",
    "https://example.com:65535/a", "https://example.com:65536/a", "https://example.com:99999/a",
    "https://news.example.co.kr/amp/2026/story/amp/", "https://example.com/story.amp.html",
    "https://example.com/story.AMP.HTM", "https://amp.example.com/a", "https://ampexample.com/a",
    "https://a-b.example.com/x//y//", "https://example.com/a;b=c/d", "https://example.com/a:b@c",
    "https://example.com/~user/_x-y.z", "https://example.com/a%20b", "https://example.com/뉴스/%EC%8B%9C/", "http://1.2.3.4/x",
    "https://example.com/a?b", "https://example.com/a#b", "https://Example.com/a", "HTTP://example.com/a",
    "https://example.com./a", "https://user@example.com/a", "https://example.com/a b", "https://example.com/\u00e9",
    "ftp://example.com/a",
]


@pytest.mark.parametrize("url", PLAIN_LINKS)
def test_fast_path_agrees_with_the_general_parser(url: str) -> None:
    from bot.urls import _canonical_general

    assert canonical_url(url) == _canonical_general(url.strip())


def test_canonical_url_is_idempotent() -> None:
    for url, _expected in CANONICAL_CASES:
        once = canonical_url(url)
        assert canonical_url(once) == once


@pytest.mark.parametrize(
    ("lang", "tail"),
    [
        ("en", "&hl=en-US&gl=US&ceid=US:en"),
        ("ko", "&hl=ko&gl=KR&ceid=KR:ko"),
        ("id", "&hl=id&gl=ID&ceid=ID:id"),
        ("es", "&hl=es-419&gl=AR&ceid=AR:es-419"),
        ("pt", "&hl=pt-BR&gl=BR&ceid=BR:pt-419"),
    ],
)
def test_google_news_url(lang: str, tail: str) -> None:
    url = google_news_url('"All of Us Are Dead" season 2', lang)
    assert url == "https://news.google.com/rss/search?q=%22All+of+Us+Are+Dead%22+season+2" + tail


def test_google_news_url_quotes_non_ascii() -> None:
    url = google_news_url("지금 우리 학교는 시즌2", "ko")
    assert url.startswith("https://news.google.com/rss/search?q=%EC%A7%80%EA%B8%88+")
    assert " " not in url


def test_google_news_url_rejects_unknown_language() -> None:
    with pytest.raises(ValueError, match="unsupported Google News language 'fr'"):
        google_news_url("x", "fr")


def test_youtube_channel_url() -> None:
    assert (
        youtube_channel_url("UCWOA1ZGywLbqmigxE4Qlvuw")
        == "https://www.youtube.com/feeds/videos.xml?channel_id=UCWOA1ZGywLbqmigxE4Qlvuw"
    )


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("https://News.Example.com:8080/a", "news.example.com"),
        ("http://[::1]:80/", "::1"),
        ("https://example.com./x", "example.com"),
        ("not a url", ""),
        ("http://[broken/", ""),
    ],
)
def test_host_of(url: str, host: str) -> None:
    assert host_of(url) == host


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1/feed", "loopback"),
        ("http://127.8.9.10:8080/feed", "loopback"),
        ("http://10.1.2.3/", "private"),
        ("http://192.168.1.1/", "private"),
        ("http://172.16.0.5/", "private"),
        ("http://172.31.255.255/", "private"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://100.64.0.1/", "CGNAT"),
        ("http://224.0.0.1/", "multicast"),
        ("http://0.0.0.0/", "unspecified"),
        ("http://240.0.0.1/", "reserved"),
        ("http://[::1]/", "loopback"),
        ("http://[fe80::1]/", "link-local"),
        ("http://[fc00::1]/", "private"),
        ("http://[fd12:3456::1]/", "private"),
        ("http://[::ffff:127.0.0.1]/", "loopback"),
        ("http://[::ffff:10.0.0.1]/", "private"),
        ("http://[::]/", "unspecified"),
        ("http://localhost:8080/", "loopback"),
    ],
)
async def test_check_public_url_rejects_non_public(url: str, reason: str) -> None:
    error = await check_public_url(url)
    assert error is not None
    assert "not a public address" in error
    assert reason in error


@pytest.mark.parametrize(
    "url",
    [
        "http://93.184.216.34/feed.xml",
        "https://93.184.216.34:8443/",
        "http://[2606:4700:4700::1111]/",
        "http://8.8.8.8",
    ],
)
async def test_check_public_url_accepts_public_literals(url: str) -> None:
    assert await check_public_url(url) is None


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("ftp://93.184.216.34/feed", "only http and https"),
        ("file:///etc/passwd", "only http and https"),
        ("javascript:alert(1)", "only http and https"),
        ("example.com/feed", "only http and https"),
        ("http:///feed", "no host"),
        ("http://93.184.216.34:99999/", "invalid URL"),
    ],
)
async def test_check_public_url_rejects_bad_urls(url: str, fragment: str) -> None:
    error = await check_public_url(url)
    assert error is not None
    assert fragment in error


async def test_check_public_url_reports_unresolvable_host() -> None:
    # .invalid never resolves (RFC 6761); resolvers answer it locally.
    error = await check_public_url("http://no-such-host.invalid/feed")
    assert error is not None
    assert "cannot resolve host no-such-host.invalid" in error
