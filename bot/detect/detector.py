"""The detector: which watch an item is about, whether it is news of the watched season, and what kind."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from typing import Final

import bot.detect.seasons as seasons
from bot.detect.cues import NEWS_OF, CueTable, load
from bot.detect.features import SUMMARY_CHARS, Reading, opens_with_a_name, read
from bot.detect.model import Model, shipped
from bot.detect.names import URL, NameIndex, Names
from bot.detect.text import fold, normalise, sentences, tokens
from bot.models import SURE_CONFIDENCE, Decision, Item, Kind, Watch

log = logging.getLogger("newsbot.detect")

NEAR_MISS: Final = 0.25
"""From this probability up, a refused item is a near miss that its article could decide."""
EXPLAINER_SIGNS: Final = 3
"""An article with this many questions and speculation phrases ("what we know", "will there be") is
an explainer, never an alert."""
_NOTHING: Final = Decision(alert=False, confidence=0.0)
_NOT_NEWS: Final = frozenset(("fan",))
"""Headline families that make an item no news whatever else it says: a fan-made, AI-made or fake
trailer, a parody or a remake ("fan-made", "KI-Trailer", "feito por fãs", "ファンメイド") is not the
season's own. Few shows' items have one, too few for a fitted weight to hold it; a real trailer is
reported by many headlines, so the one that also mentions a fan-made video is not missed. Such an
item is no near miss either: its article is not fetched."""
_EVIDENCE: Final[dict[str, frozenset[str]]] = {
    kind: frozenset(family for family, news in NEWS_OF.items() if news == kind) for kind in set(NEWS_OF.values())}
"""The cue families that tell each kind (`cues.NEWS_OF`): an item is read as its next kind only if its
headline has one of them (a lede tells the past too: "renewed ... after its January premiere")."""
_KIND_CUES: Final = frozenset(NEWS_OF)
"""Families that announce something (a return is a renewal or a premiere)."""
_UNFITTED: Final[dict[str, tuple[Kind, frozenset[str]]]] = {
    "delay": ("release_date", _EVIDENCE["trailer"] | _EVIDENCE["production"]),
    "table_read": ("production", _EVIDENCE["release_date"]),
}
"""Headline families that tell one kind, but that too few labelled headlines hold for a fitted kind
weight to read them, each with the families that, beside it, leave the kind to the fit. A delay moves
the release date ("<title> season 3 delayed to 2027", "공개 연기", "配信延期"; a confirmed delay,
"延期が決定", is no renewal: a delayed season was ordered long ago), unless a trailer or production cue
is there ("a new teaser confirms the delay"). A table read is production ("대본 리딩 현장 공개",
"本読みに潜入", a "table read video" is no trailer), unless a date cue is there."""
_MILESTONES: Final[dict[str, tuple[tuple[str, str], ...]]] = {
    "production": (("wrap", "filming_wrap"), ("filming", "filming_start"), ("table_read", "table_read"),
                   ("cast", "cast")),
    "trailer": (("trailer", "trailer"), ("teaser", "teaser")),
}


def milestone(kind: Kind, reading: Reading) -> str:
    """The event within its kind, from the cue families of the headline first, then of the whole item."""
    rules = _MILESTONES.get(kind)
    if rules is None:
        return kind
    for families in (reading.head_families, reading.families):
        for family, name in rules:
            if family in families:
                return name
    return "trailer" if kind == "trailer" else "production"


def decision_json(decision: Decision) -> dict[str, object]:
    """The JSON form of a decision (for `newsbot classify` and logs)."""
    return {
        "alert": decision.alert,
        "kind": decision.kind if decision.alert else None,
        "watch": decision.watch,
        "confidence": round(min(1.0, max(0.0, decision.confidence)), 3),
        "evidence": decision.evidence,
        "needs_confirmation": decision.needs_confirmation,
    }


class Detector:
    """Classifies news items against a fixed set of watches with a fitted model (the shipped one by default)."""

    def __init__(self, watches: Sequence[Watch], model: Model | None = None, *, sure: float = SURE_CONFIDENCE) -> None:
        self._sure = sure
        self._names = tuple(Names.of(w) for w in watches)
        self._index = NameIndex(watches)
        self._model = model if model is not None else shipped()
        self._table: CueTable = load()
        self._seasons = sorted({w.season for w in watches})

    def classify(self, item: Item) -> Decision:
        """Judge a feed's item from its headline and summary (what follows a web address in the summary
        is no lede: a video description's links, "subscribe", the channel's boilerplate). An item
        detection fails on is logged in one line and is no alert: one odd item must not stop its
        source, whose other items are judged."""
        return self._judge(_to_first_address(item))

    def _judge(self, item: Item) -> Decision:
        try:
            return self._classify(item)
        except Exception as exc:  # noqa: BLE001 - whatever a feed holds, the cycle goes on
            log.warning("detection failed on %s: %s: %s", item.url or repr(item.title[:80]), type(exc).__name__,
                        " ".join(str(exc).split()))  # one line, whatever the message holds
            return Decision(alert=False, evidence=f"detection failed: {type(exc).__name__}")

    def _classify(self, item: Item) -> Decision:
        headline, publisher = normalise(item.title), normalise(item.publisher)
        title = _strip_publisher(headline, publisher)
        if title is not headline and self._names_a_watch(publisher):
            title = headline  # the show's own channel ("Official Teaser | <title>"): its name stays
        summary = normalise(item.summary)
        named = self._index.candidates(title + "\n" + summary[:SUMMARY_CHARS])
        best: tuple[float, Names, Reading] | None = None
        as_written: tuple[str, str] | None = None
        name_first = title.startswith("will ") and opens_with_a_name(item.title)
        for i in sorted(named):
            names = self._names[i]
            reading = read(names, self._table, title, summary, name_first=name_first)
            if reading is None:
                continue
            if as_written is None:  # what case tells, read once per item
                as_written = (fold(item.title), fold(" ".join(item.summary.split())[:SUMMARY_CHARS]))
            read_text = (title, summary[:SUMMARY_CHARS])
            if names.only_as_words(as_written, read_text) or (
                    reading.names_season and names.seasons_of_others(as_written, read_text)):
                continue  # the name is a word here, or the season is another title's
            p = self._model.probability(reading.features)
            if best is None or p > best[0]:
                best = (p, names, reading)
        if best is None:
            return self._unnamed(title, item.title)
        p, names, reading = best
        return self._decision(p, names, reading, item)

    def classify_article(self, item: Item, article_text: str) -> Decision:
        """Judge a near miss, or an unsure headline alone, again from its article: the first paragraphs
        below the headline as the lede; an explainer never alerts (its signs counted with the headline
        once, however often the page repeats it). A page that names no watch, not even in its title, is
        not the item's article (a redirect or consent page, as a Google News link may give): the
        decision stays the headline's."""
        page = article_text[:40000]
        whole = normalise(page)
        if not self._names_a_watch(whole):
            return replace(self.classify(item), needs_article=False)
        below = _below_headline(item.title, page)
        text = whole if below == page else normalise(f"{item.title}\n{below}")
        lede = " ".join(below.split())[:1200] or _to_first_address(item).summary  # as written: capitals
        # tell a title from a word; a page that only repeats its headline leaves the feed's own summary
        decision = replace(self._judge(replace(item, summary=lede)), needs_article=False)
        if decision.alert and self.explainer_signs(text) >= EXPLAINER_SIGNS:
            return replace(decision, alert=False, confidence=min(decision.confidence, 0.2),
                           evidence="the article is an explainer: " + decision.evidence)
        return decision

    def _names_a_watch(self, text: str) -> bool:
        """Whether a normalised text names one of the watches by one of its names."""
        return any((show := self._names[i].show) is not None and show.search(text) is not None
                   for i in self._index.candidates(text))

    def explainer_signs(self, text: str) -> int:
        """Questions and speculation phrases in a normalised text (single hedging words do not count:
        real news has them too)."""
        return text.count("?") + self._table.phrases(tokens(text), "spec")

    def _unnamed(self, title: str, headline: str) -> Decision:
        """A headline that names no watch but announces a watched season ("<genre> series season 2
        begins filming"): a near miss, for the article to name the show."""
        for season in self._seasons:
            masked = seasons.mask(title, season)
            if "ztseason" not in masked:  # no token of it either: most headlines stop here
                continue
            head = tokens(masked)
            if "ztseason" in head and any(fam in _KIND_CUES for _, fam in self._table.find(head)):
                return Decision(alert=False, confidence=NEAR_MISS, evidence=headline.strip()[:200],
                                needs_article=True)
        return _NOTHING

    def _decision(self, p: float, names: Names, reading: Reading, item: Item) -> Decision:
        evidence = _evidence(item, reading, names)
        if why := _never_news(reading):
            return Decision(alert=False, watch=names.watch.id, confidence=min(p, 0.2), evidence=why + evidence)
        if p < 0.5:
            return Decision(alert=False, watch=names.watch.id, confidence=p, evidence=evidence,
                            needs_article=p >= NEAR_MISS)
        kind, *others = _denied_last(self._model.kinds_ranked(reading.features), reading)
        if (told := _unfitted(reading)) is not None and kind != told:
            kind, others = told, [kind, *(k for k in others if k != told)]
        then = next((k for k in others if _EVIDENCE[k] & (reading.head_families - reading.denied)), None)
        unsure = p < self._sure
        return Decision(alert=True, kind=kind, watch=names.watch.id, confidence=p, evidence=evidence,
                        milestone=milestone(kind, reading), needs_confirmation=unsure,
                        needs_article=unsure and "x:no_summary" in reading.features,  # its article may be sure
                        next_kind=then, next_milestone=milestone(then, reading) if then else "")


_TOPICS: Final = (frozenset(("cast",)), frozenset(("date",)), frozenset(("trailer", "teaser")))
"""A headline with a cue of each of these (the cast, the date, the trailer) and no verb that tells
(`_TELLS`: "revealed", "drops", "sets") lists a guide's topics ("<title> season 3: release date, cast
and trailer", "fecha de estreno, reparto y tráiler"): in the shared corpus every such headline is
speculation, and headlines alone give too few of them for a fitted weight."""
_TELLS: Final = "announce"


def _never_news(reading: Reading) -> str:
    """Why a headline never alerts, whatever its score (the rules no fitted weight holds), or "" if it
    may: a fan-made video, a spin-off's news, a yes-or-no question, every kind denied or asked about,
    a list of a guide's topics."""
    head = reading.head_families
    if not _NOT_NEWS.isdisjoint(head):
        return "fan-made or a remake, not news: "
    if _TELLS not in head and all(not topic.isdisjoint(head) for topic in _TOPICS):
        return "a guide's topics, not news: "
    if reading.offshoot:
        return "a spin-off's news, not the season's: "
    if reading.asks:
        return "a question, not news: "
    return "denied or asked, not news: " if reading.denies else ""


def _unfitted(reading: Reading) -> Kind | None:
    """The kind an unfitted family in the headline tells, if no family of other news is beside it."""
    for family, (kind, other_news) in _UNFITTED.items():
        if family in reading.head_families and other_news.isdisjoint(reading.head_families):
            return kind
    return None


def _denied_last(ranked: tuple[Kind, ...], reading: Reading) -> tuple[Kind, ...]:
    """The kinds in their fitted order, but a kind that the headline only denies last: "<title> season 3
    renewed, no date yet" is a renewal."""
    if not reading.denied:
        return ranked
    told = reading.head_families - reading.denied

    def denied(kind: Kind) -> bool:
        return _EVIDENCE[kind].isdisjoint(told) and not _EVIDENCE[kind].isdisjoint(reading.denied)

    return tuple(sorted(ranked, key=denied))


def _below_headline(headline: str, article_text: str) -> str:
    """An article's text without the lines at its top that repeat the headline (the page's title, its
    og:title, its <h1>, alone or with the site's name after a separator: "<headline> | Screen News"):
    a lede without the headline, as the weights were fitted (read with it, the headline's words count
    twice: leave one show out, 70 false alerts instead of 51)."""
    head = normalise(headline)
    lines = article_text.split("\n")
    top = 0
    while head and top < len(lines) and _repeats(normalise(lines[top]), head):
        top += 1
    return "\n".join(lines[top:])


def _repeats(line: str, head: str) -> bool:
    """Whether a normalised line is the headline, or the headline and a site's name joined by a
    separator ("<headline> | Screen News", "Screen News - <headline>")."""
    if line == head:
        return True
    if len(line) > len(head) + _AFFIX:
        return False
    return ((line.startswith(head) and line[len(head):].startswith(_SEPARATORS))
            or (line.endswith(head) and line[:-len(head)].endswith(_SEPARATORS)))


_AFFIX: Final = 40
"""How long a site's name beside the headline may be."""
_SEPARATORS: Final = (" | ", " - ", " · ", " / ")


def _to_first_address(item: Item) -> Item:
    """An item whose summary ends with its first web address: no labelled lede holds one, and a video's
    description puts its links, calls to subscribe and the channel's boilerplate after it (the address
    itself may name the show)."""
    summary = item.summary
    if ("://" in summary or "www." in summary.lower()) and (address := URL.search(summary)) is not None:
        return replace(item, summary=summary[:address.end()])
    return item


def _strip_publisher(title: str, publisher: str) -> str:
    """A headline without a trailing " - Publisher" (news aggregators add it) or " | Publisher" (a
    channel's video titles: "<title>: Season 2 | Official Teaser | Netflix")."""
    if publisher and title.endswith((" - " + publisher, " | " + publisher)):
        return title[: -len(publisher) - 3]
    return title


def _evidence(item: Item, reading: Reading, names: Names) -> str:
    """The headline when it names the show, else the summary's first sentence that does."""
    if reading.show_in_title or not item.summary:
        return item.title.strip()[:200]
    parts = sentences(item.summary.strip())
    naming = next((p for p in parts if "zshow" in names.mask(normalise(p))), None)  # the first one only
    return (naming or (parts or [item.summary])[0]).strip()[:200]
