"""Reading HTML pages: news listings via CSS selectors, feed discovery, and an article's main text.

Listings use BeautifulSoup for its CSS selectors (soupsieve); discovery and article text use lxml's
HTML parser directly, which builds a tree of a large page several times faster.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from bs4 import BeautifulSoup, Tag
from lxml import etree  # type: ignore[import-untyped]
from lxml import html as lxml_html
from soupsieve import SelectorSyntaxError

from bot.models import Item, Selectors
from bot.parse.text import (
    MAX_ITEMS,
    MAX_PAGE_TAGS,
    MAX_TAGS,
    SUMMARY_MAX,
    TITLE_FROM_SUMMARY_MAX,
    TITLE_MAX,
    ParseError,
    bounded_item,
    check_markup,
    collapse,
    decode_text,
    parse_date,
    resolve_base,
    resolve_url,
    shorten,
)

FEED_TYPES = frozenset(
    {"application/rss+xml", "application/atom+xml", "application/rdf+xml", "application/feed+json"}
)
# Elements that are never part of an article's text.
_NOISE_TAGS = [
    "script", "style", "noscript", "template", "svg", "iframe", "nav", "header", "footer", "aside",
    "form", "button", "select",
]
_NOISE_ROLES = ("navigation", "banner", "contentinfo", "complementary", "search", "dialog")
_NOISE_CLASS = re.compile(
    r"(?:^|[\s_-])(?:nav|navbar|menu|footer|sidebar|related|share|sharing|social|comments?|cookies?|"
    r"newsletter|subscribe|promo|advert\w*|ads?|breadcrumbs?|popup|modal)(?:$|[\s_-])",
    re.I,
)
_BLOCKS = ("p", "h2", "h3", "h4", "li", "blockquote", "pre")
_KEEP_TAGS = frozenset({"html", "body", "main", "article"})


def _soup(body: bytes, content_type: str) -> BeautifulSoup:
    """A BeautifulSoup tree of a page, decoded as `decode_text` does."""
    return BeautifulSoup(decode_text(body, content_type), "lxml")


def _page_base(soup: BeautifulSoup, base_url: str) -> str:
    """The base URL for the page's relative links: its <base href>, else the page's URL."""
    base = soup.find("base", href=True)
    return resolve_base(str(base["href"]), base_url) if isinstance(base, Tag) else base_url


def _select(node: Tag | BeautifulSoup, selector: str, what: str, *, first: bool = False) -> list[Tag]:
    """Elements matching a selector (only the first one if `first`); ParseError for invalid CSS."""
    try:
        if first:
            found = node.select_one(selector)
            return [found] if found is not None else []
        return list(node.select(selector))
    except (SelectorSyntaxError, ValueError, NotImplementedError) as exc:
        raise ParseError(f"bad CSS selector for {what}: {selector!r}: {exc}") from None


def _meta(soup: BeautifulSoup, *names: str) -> str:
    """The content of the first <meta property|name=...> present among `names`."""
    for name in names:
        tag = soup.find("meta", attrs={"property": name}) or soup.find("meta", attrs={"name": name})
        if isinstance(tag, Tag) and tag.get("content"):
            return collapse(str(tag["content"]))
    return ""


def parse_html(
    body: bytes,
    base_url: str,
    selectors: Selectors,
    *,
    content_type: str = "",
    language: str = "",
    max_items: int = MAX_ITEMS,
) -> list[Item]:
    """Items of a news listing page, one per element matching `selectors.item`, in page order
    (ParseError for a page with more markup than MAX_PAGE_TAGS)."""
    check_markup(body, "the page", MAX_PAGE_TAGS)
    soup = _soup(body, content_type)
    base = _page_base(soup, base_url)
    html_tag = soup.find("html")
    lang = str(html_tag.get("lang") or "") if isinstance(html_tag, Tag) else ""
    publisher = _meta(soup, "og:site_name")
    origin = urlsplit(base_url)
    publisher_url = f"{origin.scheme}://{origin.netloc}" if publisher and origin.netloc else ""
    items: list[Item] = []
    for node in _select(soup, selectors.item, "item"):
        item = _html_item(node, selectors, base, lang.strip() or language, publisher, publisher_url)
        if item is not None:
            items.append(item)
            if len(items) >= max_items:
                break
    return items


def count_matches(body: bytes, selector: str, *, content_type: str = "") -> int:
    """How many elements of a page a selector matches (to tell a user why a listing read no items)."""
    return len(_select(_soup(body, content_type), selector, "item"))


def _first(node: Tag, selector: str, what: str) -> Tag | None:
    """The first element under `node` matching `selector`, or None (also for an empty selector)."""
    if not selector:
        return None
    found = _select(node, selector, what, first=True)
    return found[0] if found else None


def _html_link(node: Tag, selectors: Selectors, base: str) -> str:
    """The item's link: the link element's href, a link inside it, or the item's own href."""
    element = _first(node, selectors.link, "link")
    inner = element.find("a", href=True) if element is not None else None
    for candidate in (element, inner, node):
        if isinstance(candidate, Tag) and candidate.get("href"):
            return resolve_url(str(candidate["href"]), base)
    return ""


def _html_date(node: Tag, selectors: Selectors) -> str:
    """The item's date text: the date element's datetime attribute, else its text."""
    element = _first(node, selectors.date, "date")
    if element is None:
        return ""
    for attribute in ("datetime", "content", "data-date", "title"):
        if element.get(attribute):
            return str(element[attribute])
    return element.get_text(" ")


def _element_text(element: Tag | None, limit: int) -> str:
    """An element's text with whitespace collapsed, cut to about `limit` characters, or "" for None."""
    if element is None:
        return ""
    return shorten(collapse(element.get_text(" ")[: limit * 8]), limit)


def _html_item(
    node: Tag, selectors: Selectors, base: str, language: str, publisher: str, publisher_url: str
) -> Item | None:
    """One Item from a listing element, or None when it has neither title, summary nor link."""
    title = _element_text(_first(node, selectors.title, "title"), TITLE_MAX)
    summary = _element_text(_first(node, selectors.summary, "summary"), SUMMARY_MAX)
    url = _html_link(node, selectors, base)
    if not (title or summary or url):
        return None
    title = title or shorten(summary, TITLE_FROM_SUMMARY_MAX)
    date = _html_date(node, selectors)
    return bounded_item(
        title=title,
        summary=summary,
        url=url,
        published=parse_date(date[:200]) if date else None,
        language=language,
        guid="",
        publisher=publisher,
        publisher_url=publisher_url,
    )


def _tree(body: bytes, content_type: str) -> Any:
    """An lxml HTML tree of a page (several times faster than BeautifulSoup), or None if empty or
    with more markup than MAX_TAGS."""
    if body.count(b"<") > MAX_TAGS:
        return None
    data = decode_text(body, content_type).encode("utf-8")
    parser = lxml_html.HTMLParser(encoding="utf-8", remove_comments=True, remove_pis=True, no_network=True)
    try:
        return lxml_html.document_fromstring(data, parser=parser)
    except (etree.ParserError, ValueError):
        return None


def _tree_base(tree: Any, base_url: str) -> str:
    """The base URL for relative links in an lxml tree: its <base href>, else the page's URL."""
    for base in tree.iter("base"):
        if base.get("href"):
            return resolve_base(base.get("href"), base_url)
    return base_url


def discover_feeds(body: bytes, base_url: str, *, content_type: str = "") -> list[str]:
    """Absolute URLs of the feeds a page announces with <link rel="alternate" type=...>, in page order."""
    tree = _tree(body, content_type)
    if tree is None:
        return []
    base = _tree_base(tree, base_url)
    found: list[str] = []
    for link in tree.iter("link"):
        rels = (link.get("rel") or "").lower().split()
        kind = (link.get("type") or "").split(";")[0].strip().lower()
        if "alternate" in rels and kind in FEED_TYPES and link.get("href"):
            url = resolve_url(link.get("href"), base)
            if url and url not in found:
                found.append(url)
    return found


def article_text(body: bytes, base_url: str, *, content_type: str = "", max_chars: int = 20000) -> str:
    """The main text of an article page: its headings and lede, then its body paragraphs.

    Navigation, headers, footers, asides, forms and scripts are dropped; the body is the largest
    <article>, else the element holding the most paragraph text.
    """
    tree = _tree(body, content_type)
    if tree is None:
        return ""
    head = _headings(tree)
    _drop_noise(tree)
    lines = head + [line for line in _block_lines(_main_block(tree)) if line not in head]
    return "\n".join(lines)[:max_chars]


def _meta_content(tree: Any, *names: str) -> str:
    """The content of the first <meta property|name=...> present among `names`."""
    metas = [meta for meta in tree.iter("meta") if meta.get("content")]
    for name in names:
        for meta in metas:
            if name in (meta.get("property"), meta.get("name")):
                return collapse(meta.get("content"))
    return ""


def _first_text(tree: Any, tag: str) -> str:
    """The text of the first element with this tag, or ""."""
    for element in tree.iter(tag):
        return collapse(element.text_content())
    return ""


def _headings(tree: Any) -> list[str]:
    """og:title, <title>, <h1> and og:description/description, each once, in that order."""
    candidates = [
        _meta_content(tree, "og:title", "twitter:title"),
        _first_text(tree, "title"),
        _first_text(tree, "h1"),
        _meta_content(tree, "og:description", "description", "twitter:description"),
    ]
    lines: list[str] = []
    for line in candidates:
        if line and line not in lines:
            lines.append(line)
    return lines


def _is_noise(element: Any) -> bool:
    """Whether an element is page furniture judged by its role, class or id."""
    if element.tag in _KEEP_TAGS:
        return False
    if (element.get("role") or "").lower() in _NOISE_ROLES:
        return True
    marks = f"{element.get('class') or ''} {element.get('id') or ''}"
    if not marks.strip() or not _NOISE_CLASS.search(marks):
        return False
    # Never drop a container that holds the article itself.
    return next(element.iter("article", "main", "h1"), None) is None


def _drop_noise(tree: Any) -> None:
    """Remove navigation, scripts and other page furniture from the tree, in place."""
    for element in list(tree.iter(*_NOISE_TAGS)):
        element.drop_tree()
    for element in list(tree.iter()):
        if isinstance(element.tag, str) and element.getparent() is not None and _is_noise(element):
            element.drop_tree()


def _main_block(tree: Any) -> Any:
    """The element holding the article's body text."""
    articles = list(tree.iter("article"))
    if articles:
        return max(articles, key=lambda article: len(article.text_content()))
    scores: dict[Any, int] = {}
    for paragraph in tree.iter("p"):
        parent = paragraph.getparent()
        if parent is not None:
            scores[parent] = scores.get(parent, 0) + len(paragraph.text_content().strip())
    if not scores:
        return tree
    return max(scores, key=lambda parent: scores[parent])


def _block_lines(main: Any) -> list[str]:
    """The text of a block's paragraphs, headings and list items, one line each."""
    lines: list[str] = []
    known: set[str] = set()
    for block in main.iter(*_BLOCKS):
        if block.tag in ("p", "li") and any(a.tag in ("li", "blockquote") for a in block.iterancestors()):
            continue
        line = collapse(block.text_content())
        if line and line not in known:
            known.add(line)
            lines.append(line)
    if not lines:
        line = collapse(main.text_content())
        return [line] if line else []
    return lines
