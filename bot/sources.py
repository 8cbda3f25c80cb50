"""Source operations shared by the command line and the Telegram admin commands.

Inspecting a URL before it is added (fetch once, find the feed, preview what detection says of
the newest items), adding and removing sources in the sources file, and OPML import/export.
"""

from __future__ import annotations

import asyncio
import difflib
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import listparser
from bs4 import BeautifulSoup

from bot.config import (
    ConfigError,
    add_source_to_file,
    add_sources_to_file,
    format_interval,
    language_code,
    load_config,
    parse_interval,
    remove_source_from_file,
    source_url,
)
from bot.detect import Detector
from bot.fetch.client import Fetcher, FetchResult
from bot.models import Config, Decision, Item, Selectors, Source, SourceKind
from bot.parse.feed import (
    ParseError,
    decode_text,
    discover_feeds,
    feed_title,
    parse_feed,
    parse_html,
    parse_source,
)
from bot.parse.html import count_matches
from bot.store.store import State
from bot.urls import NotPublic, canonical_url, check_public_url, host_of, public_addresses

DEFAULT_INTERVAL = 900.0
NAME_MAX = 80
_SELECTOR_HINT = (
    "to read the page itself, pass --kind html with CSS selectors: --item SEL --title SEL "
    "[--link SEL --summary SEL --date SEL]"
)


class SourceError(Exception):
    """A source cannot be added, removed or read; the message is phrased for the user."""


class FetchFailed(SourceError):
    """The source was fine to ask for, but fetching it failed (network, HTTP status)."""


@dataclass(frozen=True, slots=True)
class Preview:
    """A source as it would be added, with what detection says of its newest items."""

    source: Source
    items: tuple[tuple[Item, Decision], ...]
    note: str = ""


@dataclass(frozen=True, slots=True)
class _Found:
    """What one inspection read: where the items came from and how."""

    url: str
    kind: SourceKind
    items: list[Item]
    title: str
    note: str = ""


# -- inspecting -------------------------------------------------------------------------------


def checked_url(url: str) -> str:
    """`url` stripped, or SourceError if the sources file would not take it (config.source_url)."""
    if not url.strip():
        raise SourceError("no URL given")
    try:
        return source_url(url.strip())
    except ValueError as exc:
        raise SourceError(str(exc)) from None


async def inspect_source(
    url: str,
    *,
    name: str | None,
    interval: float | None,
    config: Config,
    fetcher: Fetcher,
    kind: str | None = None,
    selectors: Selectors | None = None,
    language: str = "",
    allow_private: bool = True,
    newest: int = 5,
) -> Preview:
    """Fetches `url` once and describes the source it would make; SourceError if it cannot be one.

    A feed is taken as is; an HTML page is searched for <link rel="alternate"> feeds first, and
    read with `selectors` only when it announces none (or when `kind` is "html").
    """
    url = checked_url(url)
    if kind == "html" and selectors is None:
        raise SourceError(f"a source of kind html needs CSS selectors: {_SELECTOR_HINT}")
    private = await _guard(url, allow_private)
    refuse_duplicate(config, url, name)
    first = await _fetch(fetcher, url, public_only=not allow_private)
    found = await _read(url, first, fetcher, kind, selectors, language, allow_private)
    if found.url != url:
        private = await _guard(found.url, allow_private) or private
    source = Source(
        name=name.strip() if name else unique_name(found.title or host_of(found.url), config),
        url=found.url,
        kind=found.kind,
        interval=interval or DEFAULT_INTERVAL,
        selectors=selectors if found.kind == "html" else None,
        language=language,
        allow_private=private,
    )
    refuse_duplicate(config, source.url, source.name)
    return Preview(source, judge(config, found.items, newest), found.note)


async def planned_source(
    url: str,
    *,
    name: str,
    interval: float | None,
    config: Config,
    kind: str | None = None,
    selectors: Selectors | None = None,
    language: str = "",
) -> Source:
    """The source `url` would make, without fetching it (for URLs built from a known pattern)."""
    url = checked_url(url)
    html = kind == "html"
    if html and selectors is None:
        raise SourceError(f"a source of kind html needs CSS selectors: {_SELECTOR_HINT}")
    refuse_duplicate(config, url, name)
    return Source(name=name.strip(), url=url, kind="html" if html else "feed",
                  interval=interval or DEFAULT_INTERVAL, selectors=selectors if html else None,
                  language=language, allow_private=await _private(url, lookup=False))


async def check_source(source: Source, *, config: Config, fetcher: Fetcher, newest: int = 5) -> Preview:
    """Fetches a configured source now and previews its newest items (records nothing)."""
    result = await _fetch(fetcher, source.url, public_only=source.public_only)
    try:
        items = parse_source(source, result.body, result.final_url, content_type=result.content_type)
    except ParseError as exc:
        raise FetchFailed(f"cannot parse {result.final_url}: {exc}") from None
    note = f"HTTP {result.status}, {len(items)} items, {_size(len(result.body))}, {result.elapsed:.2f}s"
    if result.permanent_url:
        note += f"; moved permanently to {result.permanent_url}"
    return Preview(source, judge(config, items, newest), note)


async def _fetch(fetcher: Fetcher, url: str, *, public_only: bool = False) -> FetchResult:
    result = await fetcher.fetch(url, public_only=public_only)
    if not result.ok:
        raise FetchFailed(f"cannot fetch {url}: {result.error or f'HTTP {result.status}'}")
    return result


async def _read(url: str, result: FetchResult, fetcher: Fetcher, kind: str | None,
                selectors: Selectors | None, language: str, allow_private: bool) -> _Found:
    """Reads a fetched body as a feed, a page announcing a feed, or a page read with selectors (each
    parse in a worker thread: the daemon's loop keeps answering meanwhile)."""
    page = await asyncio.to_thread(_read_feed, url, result, language) if kind != "html" else None
    if isinstance(page, _Found):
        return page
    if kind != "html":
        feeds = await asyncio.to_thread(discover_feeds, result.body, result.final_url,
                                        content_type=result.content_type)
        if feeds:
            await _guard(feeds[0], allow_private)
            announced = await _fetch(fetcher, feeds[0], public_only=not allow_private)
            found = await asyncio.to_thread(_read_feed, feeds[0], announced, language)
            if isinstance(found, ParseError):
                raise SourceError(f"{url} announces the feed {feeds[0]}, but it is not a feed: {found}")
            title = found.title or _page_title(result)
            return _Found(feeds[0], "feed", found.items, title, f"feed discovered at {feeds[0]}")
    if selectors is None:
        why = page if isinstance(page, ParseError) else "not a feed"
        raise SourceError(f"{url}: {why}, and the page announces no feed (<link rel=\"alternate\">); "
                          f"{_SELECTOR_HINT}")
    try:
        items = await asyncio.to_thread(parse_html, result.body, result.final_url, selectors,
                                        content_type=result.content_type, language=language)
    except ParseError as exc:
        raise SourceError(f"{url}: the selectors do not read this page: {exc}") from None
    if not items:
        matched = await asyncio.to_thread(count_matches, result.body, selectors.item,
                                          content_type=result.content_type)
        if matched:
            raise SourceError(f"{url}: the item selector {selectors.item!r} matches {matched} elements, but none "
                              "holds a title, summary or link (those selectors are looked up inside each item)")
        raise SourceError(f"{url}: the item selector {selectors.item!r} matches nothing on the page")
    return _Found(url, "html", items, _page_title(result), "read as an HTML page with CSS selectors")


def _read_feed(url: str, result: FetchResult, language: str) -> _Found | ParseError:
    try:
        items = parse_feed(result.body, result.final_url, content_type=result.content_type, language=language)
    except ParseError as exc:
        return exc
    return _Found(result.permanent_url or url, "feed", items, feed_title(result.body, result.content_type))


def judge(config: Config, items: list[Item], newest: int) -> tuple[tuple[Item, Decision], ...]:
    """The `newest` items (by date, undated last, else in document order) with detection's decision."""
    order = sorted(range(len(items)), key=lambda i: (items[i].published is None, _stamp(items[i]), i))
    detector = Detector(config.watches)
    return tuple((items[i], detector.classify(items[i])) for i in order[: max(0, newest)])


def _stamp(item: Item) -> float:
    return -item.published.timestamp() if item.published is not None else 0.0


def _size(n: int) -> str:
    return f"{n / 1024:.1f} KB" if n >= 1024 else f"{n} B"


# -- names, duplicates and addresses -------------------------------------------------------


def find_source(config: Config, name: str) -> Source | None:
    """The source called `name` (case-insensitive), if any."""
    key = name.strip().casefold()
    return next((s for s in config.sources if s.name.casefold() == key), None)


def refuse_duplicate(config: Config, url: str, name: str | None) -> None:
    """SourceError if `url` (canonically) or `name` (case-insensitively) is already a source."""
    canon = canonical_url(url)
    for source in config.sources:
        if canonical_url(source.url) == canon:
            raise SourceError(f"{url} is already watched as '{source.name}'")
    if name and (same := find_source(config, name)) is not None:
        raise SourceError(f"a source named '{same.name}' already exists; choose another name")


def unique_name(base: str, config: Config, taken: set[str] | None = None) -> str:
    """`base` tidied and shortened, with " 2", " 3"... added if another source has that name."""
    base = " ".join(base.split())[:NAME_MAX].strip() or "source"
    names = {s.name.casefold() for s in config.sources} | (taken or set())
    candidate, n = base, 1
    while candidate.casefold() in names:
        n += 1
        candidate = f"{base} {n}"
    return candidate


async def _guard(url: str, allow_private: bool) -> bool:
    """True if `url`'s host is a non-public address; SourceError for one unless `allow_private`."""
    if not allow_private:
        error = await check_public_url(url)
        if error is not None:
            raise SourceError(f"refused {url}: {error}")
        return False
    return await _private(url)


async def _private(url: str, *, lookup: bool = True) -> bool:
    """True if `url`'s host is, or (with `lookup`) resolves to, a non-public address."""
    host = host_of(url)
    if not host:
        return False
    try:
        await public_addresses(host, 0, lookup=lookup)
    except NotPublic:
        return True
    except (OSError, UnicodeError):
        return False
    return False


# -- titles --------------------------------------------------------------------------------


def _page_title(result: FetchResult) -> str:
    soup = BeautifulSoup(decode_text(result.body, result.content_type), "lxml")
    tag = soup.find("title")
    return " ".join(tag.get_text().split()) if tag is not None else ""


# -- the sources file ------------------------------------------------------------------------


def _load(path: Path) -> Config:
    try:
        return load_config(path)
    except ConfigError as exc:
        raise SourceError(str(exc)) from None


def add_source(path: Path, source: Source) -> None:
    """Appends `source` to the sources file (comments and order kept); SourceError if it cannot be."""
    refuse_duplicate(_load(path), source.url, source.name)
    try:
        add_source_to_file(path, source)
    except ConfigError as exc:
        raise SourceError(str(exc)) from None
    except OSError as exc:
        raise SourceError(f"{path}: cannot write: {exc.strerror or exc}") from None


def remove_source(path: Path, name: str, state: State | None) -> Source:
    """Removes the source called `name` from the file and forgets its state; returns what was removed."""
    config = _load(path)
    source = find_source(config, name)
    if source is None:
        close = difflib.get_close_matches(name, [s.name for s in config.sources], n=3)
        hint = f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""
        raise SourceError(f"no source named {name!r}{hint}")
    try:
        removed = remove_source_from_file(path, source.name)
    except ConfigError as exc:
        raise SourceError(str(exc)) from None
    except OSError as exc:
        raise SourceError(f"{path}: cannot write: {exc.strerror or exc}") from None
    if not removed:
        raise SourceError(f"no source named {name!r}")
    if state is not None:
        state.forget_source(source.name)
    return source


# -- OPML ----------------------------------------------------------------------------------


def import_opml(path: Path, opml_file: Path, *,
                interval: float | None = None) -> tuple[list[Source], list[str]]:
    """Adds every feed of an OPML file not watched yet; returns (added sources, one reason per skip).

    listparser reads the OPML: it follows nested outlines and the dialects real readers export.
    The `interval` and `language` attributes that `export_opml` writes are read back; `interval`,
    when given, replaces every outline's. The file is written once, after every feed was
    considered (all or nothing).
    """
    try:
        data = opml_file.read_bytes()
    except OSError as exc:
        raise SourceError(f"{opml_file}: cannot read: {exc.strerror or exc}") from None
    parsed: Any = listparser.parse(data)
    if not parsed.feeds and (parsed.bozo or b"<opml" not in data[:4096].lower()):
        why = parsed.get("bozo_exception") or "no <opml> element"
        raise SourceError(f"{opml_file}: not an OPML subscription list ({why})")
    config = _load(path)
    extra = outline_attributes(data)
    added: list[Source] = []
    skipped: list[str] = [f"{name}: a web page, not a feed (add it with `newsbot sources add URL --kind html`)"
                          for name in extra.pages]
    for feed in parsed.feeds:
        url, title = str(feed.get("url") or ""), str(feed.get("title") or "")
        current = Config(config.watches, config.sources + tuple(added), config.settings, config.path)
        outcome = _import_one(current, url, title, interval, extra.feeds.get(url.strip(), {}))
        if isinstance(outcome, Source):
            added.append(outcome)
        else:
            skipped.append(outcome)
    if added:
        _append_sources(path, added)
    return added, skipped


@dataclass(frozen=True, slots=True)
class OutlineAttributes:
    """What listparser does not keep of an OPML file: newsbot's own outline attributes by feed URL,
    and the names of the page (`type="link"`) outlines, which are not feeds."""

    feeds: dict[str, dict[str, str]]
    pages: tuple[str, ...]


def outline_attributes(data: bytes) -> OutlineAttributes:
    """Reads the `interval` and `language` attributes of an OPML file's feed outlines."""
    from lxml import etree  # type: ignore[import-untyped]

    parser = etree.XMLParser(resolve_entities=False, no_network=True, recover=True)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError:
        root = None
    feeds: dict[str, dict[str, str]] = {}
    pages: list[str] = []
    for node in root.iter("outline") if root is not None else ():
        url = (node.get("xmlUrl") or node.get("xmlurl") or "").strip()
        if url:
            feeds[url] = {key: str(node.get(key)).strip() for key in ("interval", "language") if node.get(key)}
        elif (node.get("type") or "").lower() == "link" and node.get("url"):
            pages.append(" ".join(str(node.get("text") or node.get("title") or node.get("url")).split()))
    return OutlineAttributes(feeds, tuple(pages))


def _import_one(config: Config, url: str, title: str, interval: float | None,
                attrs: dict[str, str]) -> Source | str:
    """The source one OPML feed makes, or why it is skipped."""
    label = " ".join(title.split()) or url.strip()
    try:
        url = checked_url(url)
        refuse_duplicate(config, url, None)
        if interval is None:
            interval = parse_interval(attrs["interval"]) if "interval" in attrs else DEFAULT_INTERVAL
    except SourceError as exc:
        return f"{label}: {exc}"
    except ValueError as exc:
        return f"{label}: interval {exc}"
    try:
        language = language_code(attrs["language"]) if attrs.get("language") else ""
    except ValueError as exc:
        return f"{label}: language {exc}"
    return Source(name=unique_name(title or host_of(url), config), url=url, interval=interval,
                  language=language)


def _append_sources(path: Path, sources: list[Source]) -> None:
    """Appends many sources with one read and one write of the file."""
    try:
        add_sources_to_file(path, sources)
    except ConfigError as exc:
        raise SourceError(f"nothing imported: {exc}") from None
    except OSError as exc:
        raise SourceError(f"{path}: cannot write: {exc.strerror or exc}") from None


def export_opml(config: Config) -> str:
    """The sources as OPML 2.0: one rss outline per feed; html sources as link outlines.

    Each outline carries the source's `interval` (as in the sources file: 15m, 2h) and `language`,
    which `import_opml` reads back.
    """
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = "newsbot sources"
    body = ET.SubElement(root, "body")
    for source in config.sources:
        attrs = {"text": source.name, "title": source.name}
        if source.kind == "feed":
            attrs.update(type="rss", xmlUrl=source.url)
        else:  # OPML 2.0's "link" type: a page, which feed readers must not subscribe to as a feed
            attrs.update(type="link", url=source.url)
        attrs["interval"] = format_interval(source.interval)
        if source.language:
            attrs["language"] = source.language
        ET.SubElement(body, "outline", attrs)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"

