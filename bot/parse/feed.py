"""Feed parsing: bytes of an RSS, RDF or Atom feed in, Items out.

lxml reads well-formed feeds in well under a millisecond, so it is the fast path; feedparser,
about fifty times slower but forgiving, is only the fallback for feeds lxml cannot read.
Documents that declare XML entities are refused before any parser sees them.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from html.entities import name2codepoint
from itertools import islice
from typing import Any, Final

from lxml import etree  # type: ignore[import-untyped]  # no stubs in the environment

from bot.models import Item, Source
from bot.parse.html import article_text, discover_feeds, parse_html
from bot.parse.text import (
    MAX_ITEMS,
    MAX_TAGS,
    TITLE_FROM_SUMMARY_MAX,
    URL_MAX,
    ParseError,
    bounded_item,
    check_markup,
    clean_summary,
    clean_title,
    decode_text,
    parse_date,
    resolve_base,
    resolve_url,
    shorten,
    sniff_charset,
)
from bot.urls import canonical_url

__all__ = [
    "ParseError", "article_text", "decode_text", "discover_feeds", "feed_title", "local_name", "parse_feed",
    "parse_html", "parse_source",
]

_XML = "{http://www.w3.org/XML/1998/namespace}"
_ATOM = "{http://www.w3.org/2005/Atom}"
_RDF = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}"
_RSS1 = "{http://purl.org/rss/1.0/}"
_RSS090 = "{http://my.netscape.com/rdf/simple/0.9/}"
_DC = "{http://purl.org/dc/elements/1.1/}"
_CONTENT = "{http://purl.org/rss/1.0/modules/content/}"
_MEDIA = "{http://search.yahoo.com/mrss/}"
_YT = "{http://www.youtube.com/xml/schemas/2015}"

# Characters XML 1.0 forbids; feeds built by string concatenation often carry them.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_FIRST_ELEMENT = re.compile(rb"<[A-Za-z_]")
_HTML_START = re.compile(
    rb"\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html[\s>]|head[\s>]|body[\s>])", re.I | re.S
)
_CLOSED_ITEM = re.compile(r"</(?:[\w-]+:)?(?:item|entry)\s*>")
_ROOT_END = re.compile(r"</(?:[\w-]+:)?(?:rss|feed|RDF)\s*>\s*(?:<!--.*?-->\s*)*$", re.S)


@dataclass(frozen=True, slots=True)
class _Raw:
    """One item's fields as found in the document, before cleaning (but for the publisher's name,
    which a feed gives once for all its items and is cleaned once)."""

    title: str = ""
    summary: str = ""
    link: str = ""
    guid: str = ""
    date: str = ""
    language: str = ""
    publisher: str = ""
    publisher_url: str = ""
    base: str = ""


@dataclass(frozen=True, slots=True)
class _Feed:
    """What a feed says about all its items."""

    base: str
    language: str
    publisher: str = ""
    publisher_url: str = ""


def parse_feed(
    body: bytes, base_url: str, *, content_type: str = "", language: str = "", max_items: int = MAX_ITEMS
) -> list[Item]:
    """Items of an RSS 2.0/0.9x, RSS 1.0 (RDF) or Atom feed, in document order, at most `max_items`.

    Raises ParseError when the body is not a feed (an HTML page, not XML, entity declarations,
    XML too broken to recover anything from).
    """
    codec = sniff_charset(body, content_type)
    # UTF-8 bodies go to lxml as they are; others are decoded once and handed over as UTF-8.
    data = body if codec == "utf-8" else body.decode(codec, errors="replace").encode("utf-8")
    _refuse_non_feeds(data)
    check_markup(data)
    if max_items <= 0:
        return []
    try:
        root = etree.fromstring(data, _parser(recover=False))
    except etree.XMLSyntaxError as exc:
        return _parse_broken(decode_text(body, content_type), exc, base_url, language, max_items)
    raws = _read_tree(root, base_url, language, max_items)
    if raws is not None:
        return _items(raws, max_items)
    items = _parse_with_feedparser(data, base_url, language, max_items)
    if items is None:
        raise ParseError(f"not a feed: the root element is <{local_name(root)}>")
    return items


def parse_source(source: Source, body: bytes, base_url: str, *, content_type: str = "") -> list[Item]:
    """Reads a source's fetched body the way its kind says: a feed, or a page with CSS selectors."""
    if source.kind == "html" and source.selectors is not None:
        return parse_html(body, base_url, source.selectors, content_type=content_type, language=source.language)
    return parse_feed(body, base_url, content_type=content_type, language=source.language)


def _parser(*, recover: bool) -> etree.XMLParser:
    """A fresh lxml parser that never loads DTDs, resolves entities or touches the network."""
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        huge_tree=False,
        load_dtd=False,
        recover=recover,
        encoding="utf-8",
    )


def _refuse_non_feeds(data: bytes) -> None:
    """Raise ParseError for bodies that are empty, HTML, not markup, or declare entities."""
    start = data.lstrip()
    if not start:
        raise ParseError("not a feed: the body is empty")
    if _HTML_START.match(data):
        raise ParseError("not a feed: the body is an HTML page")
    first = _FIRST_ELEMENT.search(data)
    prolog = data[: first.start()] if first else data
    if b"<!ENTITY" in prolog.upper():
        raise ParseError("refused: the feed's DOCTYPE declares XML entities (entity expansion attack?)")
    if not start.startswith(b"<"):
        snippet = start[:20].decode("utf-8", errors="replace")
        raise ParseError(f"not a feed: the body is not XML (starts with {snippet!r})")


def _parse_broken(
    text: str, exc: etree.XMLSyntaxError, base_url: str, language: str, max_items: int
) -> list[Item]:
    """Items of a feed lxml refused, by the cheapest repair that works.

    Bad bytes, control characters, undefined HTML entities and bare ampersands are fixed and lxml
    tried again; then feedparser; then lxml's recovery mode, keeping only items whose closing tag
    arrived (truncated bodies).
    """
    where = f"line {exc.lineno or 0}"
    truncated = _ROOT_END.search(text) is None
    repaired = _repair_entities(_XML_INVALID.sub("", text))
    data = repaired.encode("utf-8")
    if not truncated:
        try:
            root = etree.fromstring(data, _parser(recover=False))
            raws = _read_tree(root, base_url, language, max_items)
            if raws is not None:
                return _items(raws, max_items)
        except etree.XMLSyntaxError:
            pass
        items = _parse_with_feedparser(data, base_url, language, max_items)
        if items:
            return items
    complete = len(_CLOSED_ITEM.findall(repaired))
    root = etree.fromstring(data, _parser(recover=True)) if complete else None
    raws = _read_tree(root, base_url, language, min(max_items, complete)) if root is not None else None
    if raws and (items := _items(raws, max_items)):
        return items
    if truncated:
        raise ParseError(f"truncated XML at {where}: no complete item")
    raise ParseError(f"bad XML at {where}: {exc.msg}")


_CDATA = re.compile(r"(<!\[CDATA\[.*?\]\]>)", re.S)
_BARE_AMP = re.compile(r"&(?!#\d+;|#[xX][0-9a-fA-F]+;|[A-Za-z][A-Za-z0-9]*;)")
_NAMED_ENTITY = re.compile(r"&([A-Za-z][A-Za-z0-9]*);")
_XML_ENTITIES = frozenset({"amp", "lt", "gt", "quot", "apos"})


def _numeric_entity(match: re.Match[str]) -> str:
    """An HTML named entity as a numeric character reference XML understands."""
    name = match.group(1)
    if name in _XML_ENTITIES:
        return match.group(0)
    codepoint = name2codepoint.get(name)
    return f"&#{codepoint};" if codepoint else f"&amp;{name};"


def _repair_entities(text: str) -> str:
    """Text with bare ampersands escaped and HTML entities made numeric, CDATA sections untouched."""
    if "&" not in text:
        return text
    parts = _CDATA.split(text)
    for index in range(0, len(parts), 2):
        if "&" in parts[index]:
            parts[index] = _NAMED_ENTITY.sub(_numeric_entity, _BARE_AMP.sub("&amp;", parts[index]))
    return "".join(parts)


def local_name(element: Any) -> str:
    """The local name of an element's tag, without namespace."""
    tag = element.tag
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def feed_title(body: bytes, content_type: str = "") -> str:
    """The title of a feed (channel or feed <title>), or "" if it has none."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, recover=True,
                             huge_tree=False)
    if body.count(b"<") > MAX_TAGS:
        return ""
    try:
        root = etree.fromstring(decode_text(body, content_type).encode("utf-8"), parser)
    except etree.LxmlError:
        return ""
    if root is None:
        return ""
    for element in root.iter():
        parent = element.getparent()
        if local_name(element) == "title" and parent is not None and local_name(parent) in ("channel", "feed"):
            return " ".join("".join(element.itertext()).split())
    return ""


def _read_tree(root: Any, base_url: str, language: str, max_items: int) -> list[_Raw] | None:
    """Raw items of a parsed document, or None when its dialect is not one the fast path knows."""
    tag = root.tag
    if not isinstance(tag, str):
        return None
    if tag == "html" or tag.endswith("}html"):
        raise ParseError("not a feed: the body is an HTML page")
    if tag == "rss":
        channel = root.find("channel")
        return _read_rss(root, channel, "", base_url, language, max_items) if channel is not None else []
    if tag == f"{_RDF}RDF":
        for ns in (_RSS1, _RSS090):
            channel = root.find(f"{ns}channel")
            if channel is not None or root.find(f"{ns}item") is not None:
                return _read_rss(root, channel, ns, base_url, language, max_items)
        return None
    if tag == f"{_ATOM}feed":
        return _read_atom(root, base_url, language, max_items)
    return None


def _text(element: Any) -> str:
    """All text inside an element, or "" for None."""
    if element is None:
        return ""
    if len(element):
        return "".join(element.itertext())
    return element.text or ""


def _children(element: Any) -> dict[str, Any]:
    """An element's children by tag (first of each), read in one pass."""
    found: dict[str, Any] = {}
    for child in element:
        tag = child.tag
        if isinstance(tag, str) and tag not in found:
            found[tag] = child
    return found


@dataclass(frozen=True, slots=True)
class _RssNames:
    """Element names of one RSS dialect, made once rather than for every item."""

    item: str
    title: str
    link: str
    guid: str
    description: str
    pub_date: str
    language: str


_RSS_NAMES: Final = {
    ns: _RssNames(f"{ns}item", f"{ns}title", f"{ns}link", f"{ns}guid", f"{ns}description",
                  f"{ns}pubDate", f"{ns}language")
    for ns in ("", _RSS1, _RSS090)
}
_XML_BASE: Final = f"{_XML}base"
_XML_LANG: Final = f"{_XML}lang"
_RDF_ABOUT: Final = f"{_RDF}about"
_DC_TITLE: Final = f"{_DC}title"
_DC_DATE: Final = f"{_DC}date"
_DC_LANGUAGE: Final = f"{_DC}language"
_DC_DESCRIPTION: Final = f"{_DC}description"
_CONTENT_ENCODED: Final = f"{_CONTENT}encoded"
_ATOM_CONTENT: Final = f"{_ATOM}content"
_ATOM_ENTRY: Final = f"{_ATOM}entry"
_ATOM_ID: Final = f"{_ATOM}id"
_ATOM_LINK: Final = f"{_ATOM}link"
_ATOM_PUBLISHED: Final = f"{_ATOM}published"
_ATOM_SOURCE: Final = f"{_ATOM}source"
_ATOM_SUMMARY: Final = f"{_ATOM}summary"
_ATOM_TITLE: Final = f"{_ATOM}title"
_ATOM_UPDATED: Final = f"{_ATOM}updated"
_MEDIA_DESCRIPTION: Final = f"{_MEDIA}description"
_MEDIA_GROUP: Final = f"{_MEDIA}group"
_YT_VIDEO_ID: Final = f"{_YT}videoId"


def _read_rss(
    root: Any, channel: Any, ns: str, base_url: str, language: str, max_items: int
) -> list[_Raw]:
    """Raw items of RSS 2.0/0.9x (ns "") or RDF-based RSS 1.0/0.90 (ns of the RSS vocabulary)."""
    names = _RSS_NAMES[ns]
    info = _children(channel) if channel is not None else {}
    base = resolve_base(root.get(_XML_BASE) or "", base_url)
    if channel is not None and channel.get(_XML_BASE):
        base = resolve_base(channel.get(_XML_BASE), base)
    else:
        base = resolve_base(_text(info.get(names.link)), base)
    feed = _Feed(
        base=base,
        language=(
            _text(info.get(names.language)) or _text(info.get(_DC_LANGUAGE))
            or root.get(_XML_LANG) or (channel.get(_XML_LANG) if channel is not None else "")
            or language
        ).strip(),
        publisher=clean_title(_text(info.get(names.title))),
        publisher_url=resolve_url(_text(info.get(names.link)), base_url),
    )
    parent = root if ns else channel
    return [_rss_item(node, names, feed) for node in islice(parent.iterchildren(names.item), max_items)]


def _rss_item(node: Any, names: _RssNames, feed: _Feed) -> _Raw:
    """Raw fields of one RSS <item>; the publisher comes cleaned (the feed's is cleaned once)."""
    fields = _children(node)
    source = fields.get("source")
    guid_element = fields.get(names.guid)
    guid = _text(guid_element).strip() or node.get(_RDF_ABOUT) or ""
    link = _text(fields.get(names.link)) or _alternate(node)
    if not link and guid_element is not None and guid_element.get("isPermaLink", "true").lower() != "false":
        link = guid
    summary = (
        _text(fields.get(names.description))
        or _text(fields.get(_CONTENT_ENCODED))
        or _text(fields.get(_DC_DESCRIPTION))
    )
    item_base = node.get(_XML_BASE)
    return _Raw(
        title=_text(fields.get(names.title)) or _text(fields.get(_DC_TITLE)),
        summary=summary,
        link=link,
        guid=guid,
        date=_text(fields.get(names.pub_date)) or _text(fields.get(_DC_DATE)),
        language=node.get(_XML_LANG) or _text(fields.get(_DC_LANGUAGE)) or feed.language,
        publisher=clean_title(_text(source)) if source is not None else feed.publisher,
        publisher_url=resolve_url(source.get("url", ""), feed.base) if source is not None
        else feed.publisher_url,
        base=resolve_base(item_base, feed.base) if item_base else feed.base,
    )


def _alternate(node: Any) -> str:
    """The href of an Atom element's alternate link, an HTML one preferred; "" if it has none."""
    first = ""
    for link in node.iterchildren(_ATOM_LINK):
        href = link.get("href") or ""
        if href and link.get("rel", "alternate") == "alternate":
            if link.get("type", "text/html") in ("text/html", "application/xhtml+xml"):
                return str(href)
            first = first or str(href)
    return first


def _read_atom(root: Any, base_url: str, language: str, max_items: int) -> list[_Raw]:
    """Raw items of an Atom 1.0 feed, YouTube channel feeds included."""
    base = resolve_base(root.get(_XML_BASE) or "", base_url)
    feed = _Feed(
        base=base,
        language=(root.get(_XML_LANG) or language).strip(),
        publisher=clean_title(_text(root.find(_ATOM_TITLE))),
        publisher_url=resolve_url(_alternate(root), base),
    )
    return [_atom_entry(node, feed) for node in islice(root.iterchildren(_ATOM_ENTRY), max_items)]


def _atom_entry(node: Any, feed: _Feed) -> _Raw:
    """Raw fields of one Atom <entry>."""
    fields = _children(node)
    group = fields.get(_MEDIA_GROUP)
    media_description = group.find(_MEDIA_DESCRIPTION) if group is not None else None
    video = _text(fields.get(_YT_VIDEO_ID)).strip()
    summary = (
        _text(fields.get(_ATOM_SUMMARY))
        or _text(media_description)
        or _text(fields.get(_MEDIA_DESCRIPTION))
        or _text(fields.get(_ATOM_CONTENT))
    )
    source = fields.get(_ATOM_SOURCE)
    return _Raw(
        title=_text(fields.get(_ATOM_TITLE)),
        summary=summary,
        link=_alternate(node),
        guid=_text(fields.get(_ATOM_ID)) or (f"yt:video:{video}" if video else ""),
        date=_text(fields.get(_ATOM_PUBLISHED)) or _text(fields.get(_ATOM_UPDATED)),
        language=node.get(_XML_LANG) or feed.language,
        # An aggregated entry names the feed it came from in <source>.
        publisher=clean_title(_text(source.find(_ATOM_TITLE))) if source is not None else feed.publisher,
        publisher_url=resolve_url(_alternate(source), feed.base) if source is not None
        else feed.publisher_url,
        base=resolve_base(node.get(_XML_BASE) or "", feed.base),
    )


def _items(raws: list[_Raw], max_items: int) -> list[Item]:
    """Clean raw items into Items, skipping empty ones, at most `max_items`."""
    items: list[Item] = []
    for raw in raws:
        item = _item(raw)
        if item is not None:
            items.append(item)
            if len(items) >= max_items:
                break
    return items


def _item(raw: _Raw) -> Item | None:
    """One Item from raw fields, or None when it has neither title, summary nor link."""
    title = clean_title(raw.title)
    summary = clean_summary(raw.summary) if raw.summary else ""
    url = resolve_url(raw.link, raw.base)
    if not (title or summary or url):
        return None
    publisher = raw.publisher
    if publisher and title.endswith(f" - {publisher}"):
        title = title[: -len(publisher) - 3].rstrip()
    if publisher and title and summary == f"{title} {publisher}":
        # Google News descriptions are the headline followed by the publisher's name.
        summary = summary[: -len(publisher) - 1].rstrip()
    if not title:
        title = shorten(summary, TITLE_FROM_SUMMARY_MAX)
    return bounded_item(
        title=title,
        summary=summary,
        url=url,
        published=parse_date(raw.date[:200]) if raw.date else None,
        language=raw.language.strip(),
        guid=raw.guid.strip(),
        publisher=publisher,
        publisher_url=raw.publisher_url,
        canonical=canonical_url(url) if url and len(url) <= URL_MAX else "",
    )


# feedparser takes about 1 s of CPU per 10,000 tags and far more memory than lxml: it reads only
# bodies it can finish within the bounds; larger broken feeds go to lxml's recovery mode.
FEEDPARSER_MAX_TAGS = 10_000
FEEDPARSER_MAX_BYTES = 2 * 1024 * 1024


def _parse_with_feedparser(data: bytes, base_url: str, language: str, max_items: int) -> list[Item] | None:
    """Items read by feedparser, for feeds the fast path cannot read; None if it finds no feed
    (or the body is too large for it, see FEEDPARSER_MAX_TAGS)."""
    if len(data) > FEEDPARSER_MAX_BYTES or data.count(b"<") > FEEDPARSER_MAX_TAGS:
        return None
    import feedparser

    # A stream, never bytes or str: feedparser opens strings that look like paths or URLs.
    result = feedparser.parse(
        io.BytesIO(data),
        response_headers={"content-type": "application/xml; charset=utf-8", "content-location": base_url},
        resolve_relative_uris=False,
        sanitize_html=False,
    )
    entries = result.get("entries") or []
    if not entries:
        return [] if result.get("version") and not result.get("bozo") else None
    head = result.get("feed") or {}
    feed = _Feed(
        base=base_url,
        language=(head.get("language") or language or "").strip(),
        publisher=clean_title(head.get("title", "")),
        publisher_url=resolve_url(head.get("link", ""), base_url),
    )
    return _items([_feedparser_raw(entry, feed) for entry in entries[:max_items]], max_items)


def _feedparser_raw(entry: Any, feed: _Feed) -> _Raw:
    """Raw fields of one feedparser entry."""
    source = entry.get("source") or {}
    content = entry.get("content") or [{}]
    video = entry.get("yt_videoid", "")
    return _Raw(
        title=entry.get("title", ""),
        summary=entry.get("summary", "") or content[0].get("value", ""),
        link=entry.get("link", ""),
        guid=entry.get("id", "") or (f"yt:video:{video}" if video else ""),
        date=entry.get("published", "") or entry.get("updated", ""),
        language=feed.language,
        publisher=clean_title(source.get("title", "")) if source else feed.publisher,
        publisher_url=resolve_url(source.get("href", ""), feed.base) if source else feed.publisher_url,
        base=feed.base,
    )
