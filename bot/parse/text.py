"""Text helpers shared by feed and page parsing: decoding, HTML stripping, dates, links and ids."""

from __future__ import annotations

import codecs
import hashlib
import html
import re
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin, urlsplit, urlunsplit

from bot.models import Item

# What is kept of one item, whatever the source sends: a 5 MB headline must not become a 5 MB
# alert, event or state row.
TITLE_MAX = 300
SUMMARY_MAX = 1000
TITLE_FROM_SUMMARY_MAX = 100
URL_MAX = 2048  # a longer link is dropped (a cut link leads nowhere); a longer guid is hashed
GUID_MAX = 2048
NAME_MAX = 200  # publisher names
LANGUAGE_MAX = 35  # the longest BCP 47 tags in use
# Markup a body may hold (counted as "<" characters): real feeds and pages have a few thousand,
# bodies built to exhaust a parser have millions, and parsers spend memory and time per element.
# lxml reads 250,000 in well under a second; BeautifulSoup (pages read with CSS selectors) needs
# about 2 s and 100 MB per 100,000.
MAX_TAGS = 250_000
MAX_PAGE_TAGS = 100_000
MAX_ITEMS = 500  # items read from one feed or page


class ParseError(Exception):
    """A body that cannot be read as what was asked for; the message says what is wrong."""


_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.I)
_XML_DECL_CHARSET = re.compile(rb"^\s*<\?xml[^>]*?encoding\s*=\s*[\"']([\w.:-]+)[\"']", re.I)
_META_CHARSET = re.compile(
    rb"<meta\s[^>]*?charset\s*=\s*[\"']?([\w.:-]+)", re.I
)
# Browsers read these labels as windows-1252, a superset; ASCII-labelled bodies are usually UTF-8.
_CHARSET_ALIASES = {
    "iso-8859-1": "cp1252",
    "iso8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "us-ascii": "utf-8",
    "ascii": "utf-8",
    "x-user-defined": "cp1252",
}


def _codec(label: str) -> str | None:
    """The Python codec for a charset label, or None when the label is unknown."""
    name = _CHARSET_ALIASES.get(label.strip().lower(), label.strip().lower())
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def sniff_charset(body: bytes, content_type: str = "") -> str:
    """The codec that `decode_text` would use for this body."""
    for bom, name in _BOMS:
        if body.startswith(bom):
            return name
    found = _HEADER_CHARSET.search(content_type)
    if found and (codec := _codec(found.group(1))):
        return codec
    head = body[:2048]
    for pattern in (_XML_DECL_CHARSET, _META_CHARSET):
        match = pattern.search(head)
        if match and (codec := _codec(match.group(1).decode("ascii", "replace"))):
            # A document that says UTF-16 in ASCII bytes is not UTF-16.
            return "utf-8" if codec.startswith("utf-16") or codec.startswith("utf-32") else codec
    return "utf-8"


def decode_text(body: bytes, content_type: str = "") -> str:
    """Decode a body using its BOM, HTTP charset, XML declaration or <meta> charset, else UTF-8.

    A byte-order mark wins over the header, as in browsers and the XML spec: a body that starts
    with one cannot be in any other encoding. Undecodable bytes become U+FFFD.
    """
    return body.decode(sniff_charset(body, content_type), errors="replace")


_SCRIPT_STYLE = re.compile(r"<(script|style)\b[^>]*>.*?</\1\s*>", re.I | re.S)
_COMMENT = re.compile(r"<!--.*?-->|<!\[CDATA\[|\]\]>", re.S)
_INLINE_NAMES = ("a", "b", "i", "u", "s", "em", "strong", "span", "font", "small", "big", "sup", "sub", "abbr",
                 "code", "mark", "q", "cite", "time")
_INLINE_FIRST = "".join(sorted({name[0] for name in _INLINE_NAMES}))
# The lookahead on first letters lets most other tags (<p>, <div>, <li>) fail at once: without it
# the engine tries every name at every tag, and this pass took 40% of cleaning a summary.
_INLINE_TAG = re.compile(rf"</?(?=[{_INLINE_FIRST}])(?:{'|'.join(_INLINE_NAMES)})\b[^<>]*>", re.I)
_ANY_TAG = re.compile(r"</?[A-Za-z][^<>]*>")
_OPEN_TAG_AT_END = re.compile(r"<[A-Za-z/][^<>]*$")
def collapse(text: str) -> str:
    """Collapse runs of whitespace (including no-break spaces) into single spaces."""
    # str.split is several times faster than a regex here and splits on the same Unicode spaces.
    return " ".join(text.split())


def strip_tags(markup: str) -> str:
    """Plain text of an HTML fragment: tags and scripts dropped, entities unescaped, spaces collapsed."""
    if "<" in markup:
        # Each pass is skipped when its marker is absent: feeds carry thousands of short fragments.
        if "<s" in markup or "<S" in markup:
            markup = _SCRIPT_STYLE.sub(" ", markup)
        if "<!" in markup or "]]>" in markup:
            markup = _COMMENT.sub(" ", markup)
        markup = _INLINE_TAG.sub("", markup)
        markup = _ANY_TAG.sub(" ", markup)
        if "<" in markup:
            markup = _OPEN_TAG_AT_END.sub("", markup)
    if "&" in markup:
        markup = html.unescape(markup)
    return collapse(markup)


def check_markup(body: bytes, what: str = "the feed", limit: int = MAX_TAGS) -> None:
    """Raise ParseError when a body holds more markup than any real feed or page (see MAX_TAGS)."""
    tags = body.count(b"<")
    if tags > limit:
        raise ParseError(f"refused: {what} has {tags:,} tags in {len(body) / 1e6:.1f} MB, more than the "
                         f"{limit:,} newsbot reads (built to exhaust the parser?)")


def clean_title(raw: str) -> str:
    """A title as plain text; titles are often escaped twice, so unescape before dropping tags."""
    raw = raw[: TITLE_MAX * 8]  # cleaning is linear, but only the start is kept
    if "&" in raw:
        raw = html.unescape(raw)
    return strip_tags(raw)


def clean_summary(markup: str, limit: int = SUMMARY_MAX) -> str:
    """A summary as plain text of at most about `limit` characters, without WordPress's footer."""
    # Stripping is linear but long article bodies only need their start.
    return shorten(_drop_wordpress_footer(strip_tags(markup[: limit * 8])), limit)


def _drop_wordpress_footer(text: str) -> str:
    """Text without the "The post <title> appeared first on <site>." WordPress adds to excerpts."""
    end = text.rfind(" appeared first on ")
    if end < 0 or len(text) - end > 140:
        return text
    start = text.rfind("The post ", 0, end)
    if start < 0 or end - start > 400:
        return text
    return text[:start].rstrip()


def shorten(text: str, limit: int) -> str:
    """Cut text to at most `limit` characters at a word boundary, marking the cut with an ellipsis."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:-") + "…"


def bounded_item(
    *, title: str, summary: str, url: str, published: datetime | None, language: str, guid: str,
    publisher: str, publisher_url: str, canonical: str = "",
) -> Item:
    """The one place parsed items are made: every field cut to its bound (TITLE_MAX and the rest).

    Text is cut at a word with an ellipsis; a link over URL_MAX is dropped rather than cut, and a
    guid over GUID_MAX is replaced by its digest, so it stays stable and distinct.
    """
    if len(url) > URL_MAX:
        url = canonical = ""
    guid = guid or url or stable_id(title, summary)
    if len(guid) > GUID_MAX:
        guid = "sha256:" + hashlib.sha256(guid.encode("utf-8", "replace")).hexdigest()
    return Item(
        title=shorten(title, TITLE_MAX),
        summary=shorten(summary, SUMMARY_MAX),
        url=url,
        published=published,
        language=language[:LANGUAGE_MAX],
        guid=guid,
        publisher=shorten(publisher, NAME_MAX),
        publisher_url=publisher_url if len(publisher_url) <= URL_MAX else "",
        canonical_url=canonical if len(canonical) <= URL_MAX else "",
    )


def resolve_url(link: str, base: str) -> str:
    """An absolute http(s) link with utm_* tracking parameters dropped, or "" for other schemes."""
    link = link.strip()
    if not link:
        return ""
    if link.startswith(("https://", "http://")):
        absolute = link
    else:
        absolute = urljoin(base, link) if base else link
        scheme = urlsplit(absolute).scheme
        if scheme and scheme.lower() not in ("http", "https"):
            return ""
    if "utm_" in absolute:
        parts = urlsplit(absolute)
        kept = [pair for pair in parts.query.split("&") if not pair.startswith("utm_")]
        absolute = urlunsplit(parts._replace(query="&".join(kept)))
    return absolute


def resolve_base(link: str, base: str) -> str:
    """A base URL (xml:base, channel link, <base href>) resolved against an outer base."""
    link = link.strip()
    return urljoin(base, link) if link else base


def stable_id(title: str, summary: str) -> str:
    """An id for items with neither guid nor link, stable across fetches."""
    digest = hashlib.sha256(f"{title}\n{summary}".encode()).hexdigest()
    return f"sha256:{digest[:32]}"


_ISO_START = re.compile(r"\d{4}-?\d\d-?\d\d")
_PAGE_DATE_FORMATS = (
    "%B %d, %Y",
    "%b %d, %Y",
    "%d %B %Y",
    "%d %b %Y",
    "%Y.%m.%d %H:%M",
    "%Y.%m.%d",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d %H:%M:%S",
)


def _as_utc(value: datetime) -> datetime:
    """A datetime in UTC; naive values are taken to be UTC already."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _feedparser_date(text: str) -> datetime | None:
    """Fallback for unusual formats, using feedparser's table of date handlers."""
    from feedparser.datetimes import _parse_date

    parsed = _parse_date(text)
    if not parsed:
        return None
    year, month, day, hour, minute, second = parsed[:6]
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def _valid_iso_day(text: str) -> bool:
    """Whether the leading YYYY-MM-DD of a string is a real calendar day."""
    digits = text[:10].replace("-", "")[:8]
    try:
        datetime.strptime(digits, "%Y%m%d")
    except ValueError:
        return False
    return True


_RFC822 = re.compile(
    r"(?:\w{3},\s*)?(\d{1,2}) ([A-Za-z]{3}) (\d{4}) (\d\d):(\d\d)(?::(\d\d))? (GMT|UTC?|Z|[+-]\d\d:?\d\d)$"
)
_MONTHS = {name: n for n, name in enumerate(("jan feb mar apr may jun jul aug sep oct nov dec").split(), 1)}


def _in_utc(value: datetime, zone: str) -> datetime:
    """A wall-clock time read with tzinfo=UTC, moved to UTC from its zone ("GMT", "+0900", "+09:00"...)."""
    zone = zone.replace(":", "")
    if zone[0] in "+-" and zone[1:] != "0000":
        offset = (int(zone[1:3]) * 60 + int(zone[3:5])) * (1 if zone[0] == "+" else -1)
        value -= timedelta(minutes=offset)
    return value


def _rfc822_fixed(text: str) -> datetime | None:
    """The commonest shape of all, "Wed, 23 Sep 2026 07:10:00 +0000" (or "GMT"), read by position."""
    if not (len(text) in (29, 31) and text[3:5] == ", " and text[7] == " " and text[11] == " "
            and text[16] == " " and text[19] == ":" and text[22] == ":" and text[25] == " "):
        return None
    digits = text[5:7] + text[12:16] + text[17:19] + text[20:22] + text[23:25]
    zone = text[26:]
    month = _MONTHS.get(text[8:11].lower())
    if (month is None or not (digits.isascii() and digits.isdigit() and text[:3].isascii() and text[:3].isalpha())
            or not (zone == "GMT" or (len(zone) == 5 and zone[0] in "+-" and zone[1:].isascii()
                                      and zone[1:].isdigit()))):
        return None
    value = datetime(int(text[12:16]), month, int(text[5:7]), int(text[17:19]), int(text[20:22]), int(text[23:25]),
                     tzinfo=UTC)
    return _in_utc(value, zone)


def _rfc822_fast(text: str) -> datetime | None:
    """The common RFC 822 shapes ("Wed, 23 Sep 2026 07:10:00 GMT"/"+0900"), parsed without email.utils."""
    fixed = _rfc822_fixed(text)
    return fixed if fixed is not None else _rfc822_pattern(text)


def _rfc822_pattern(text: str) -> datetime | None:
    """The RFC 822 shapes `_rfc822_fast` reads, by pattern."""
    match = _RFC822.match(text)
    month = _MONTHS.get(match.group(2).lower()) if match else None
    if match is None or month is None:
        return None
    day, _, year, hour, minute, second, zone = match.groups()
    value = datetime(int(year), month, int(day), int(hour), int(minute), int(second or 0), tzinfo=UTC)
    return _in_utc(value, zone)


def parse_date(text: str) -> datetime | None:
    """A tz-aware UTC datetime from an RFC 822, ISO 8601 or common page date; None if unreadable."""
    text = collapse(text)
    if not text:
        return None
    try:
        if (fast := _rfc822_fast(text)) is not None:
            return fast
        if _ISO_START.match(text):
            try:
                return _as_utc(datetime.fromisoformat(text))
            except ValueError:
                if not _valid_iso_day(text):
                    # 30 February: do not let the fallbacks below roll it over into March.
                    return None
        try:
            return _as_utc(parsedate_to_datetime(text))
        except (ValueError, TypeError, IndexError):
            pass
        for fmt in _PAGE_DATE_FORMATS:
            try:
                return _as_utc(datetime.strptime(text, fmt))
            except ValueError:
                continue
        return _feedparser_date(text)
    except (ValueError, TypeError, OverflowError, IndexError):
        return None
