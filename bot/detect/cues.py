"""Cue families from the per-language tables in `tables/*.tsv`: words that say renewal, trailer,
date, filming, speculation... in each language. Families are features; their weights are fitted."""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Final

from bot.detect.text import has_cjk, normalise, tokens, trie_pattern

_DIGIT: Final = re.compile("[0-9]")
"""A Korean or Japanese phrase of the tables writes a digit as "#" ("#화": an episode number): text is
written so by a regular expression (`str.translate` costs several times more on text that is not ASCII)."""
_SPACE: Final = re.escape(" ")
_UMLAUTS: Final = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})
"""How German addresses and slugs write umlauts ("bestaetigt", "zurueck"); `normalise` drops the dots
("bestatigt"), so a phrase with them is read in both forms."""
NEWS_OF: Final = {"renew": "renewal", "return": "release_date", "trailer": "trailer", "teaser": "trailer",
                  "date": "release_date", "filming": "production", "wrap": "production", "cast": "production",
                  "table_read": "production", "delay": "release_date"}
"""The families that tell a kind of news, and the kind each is evidence of (a teaser is a trailer, a
wrap production; a return is a renewal or a premiere, evidence of the premiere: long after the
season's renewal, "<title> returns after three years" tells the premiere)."""
KINDS: Final = tuple(NEWS_OF)
"""The families that tell a kind of news."""
NAME: Final = "name"
"""The family of a name that holds cue words ("Prime Video", "Tencent Video": a streaming service, not
a trailer): the words of such a name are no cue, and the name itself is none."""
ASKED: Final = "spec"
"""The family of a Korean, Japanese or Chinese cue that a question ending follows ("撮影開始か", is filming
starting?; "제작 확정될까", will it be confirmed?; "官宣了吗"): it asks, as a speculation phrase does."""
_QUESTION_ENDINGS: Final = ("されるのか", "されるか", "するのか", "するか", "できるか", "なるのか", "なるか", "なのか",
                            "のか", "かもしれない", "かも", "か", "될까요", "될까", "되나요", "되나", "될지", "될듯",
                            "할까요", "할까", "하나요", "하나", "할지", "할듯", "일까", "인가", "了吗", "了嗎", "吗",
                            "嗎")
"""Korean, Japanese and Chinese endings glued to a verb that make it ask or guess: where English writes "?"
or "may", these follow the verb ("配信開始か", "시작하나", "官宣了吗", "配信延期かも"; a "?" may follow too)."""
_ASKING: Final = re.compile("(?:" + "|".join(_QUESTION_ENDINGS) + r")(?![^\W_])")
ENDING: Final = "*"
"""A table phrase "*trailer" is a word ending: German and its neighbours build compounds
("Ankündigungstrailer", "Premierendatum") that no list of whole words can hold."""


def _other_news(word: tuple[str, ...], phrase: tuple[str, ...]) -> bool:
    """Whether a phrase tells other news than its first word does, both telling a kind ("lands on", a
    date, and "lands", a renewal; not "teaser trailer" nor "filming wrapped")."""
    news = {NEWS_OF.get(f) for f in word}
    told = {NEWS_OF.get(f) for f in phrase}
    return None not in news and None not in told and news.isdisjoint(told)


@dataclass(frozen=True, slots=True)
class CueTable:
    """Phrase → families: Latin phrases by their space-joined words, CJK phrases by characters (a
    space in a CJK phrase may be there or not: Korean is spaced as each writer likes, "제작 확정" and
    "제작확정")."""

    words: dict[str, tuple[str, ...]]
    chars: dict[str, tuple[str, ...]]
    prefixes: frozenset[str]
    char_pattern: re.Pattern[str] | None
    endings: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Word endings ("trailer" of "*trailer") → families, for words the whole-word map does not hold."""
    _look: dict[str, tuple[tuple[str, ...], bool]] = field(init=False, repr=False, compare=False)
    """Phrase, or the start of one → (its families, whether a longer phrase starts with it): one
    look-up per word."""
    _endings: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        none: tuple[str, ...] = ()
        look = dict.fromkeys(self.prefixes, (none, True))
        look.update((phrase, (fams, phrase in self.prefixes)) for phrase, fams in self.words.items())
        object.__setattr__(self, "_look", look)
        object.__setattr__(self, "_endings", tuple(self.endings))

    def find(self, toks: list[str]) -> list[tuple[int, str]]:
        """(token index, family) of every cue in a token list. A word that a longer phrase holds after
        its first word is read as that phrase only ("bande annonce" is a trailer, its "annonce" no verb
        that tells; "release date" a date): its own cue, if it has one, is not counted; nor is the first
        word's when both tell news and the news differs ("lands on" tells when, its "lands" no renewal;
        "filming wrapped" keeps its "filming", production both). A doubt's phrase keeps the kind word it
        opens with, which it denies ("renewal status")."""
        hits: list[tuple[int, str]] = []
        names: list[tuple[int, int]] = []
        spans: list[tuple[int, int]] = []  # phrases of two words or more
        ones: list[tuple[int, int]] = []  # where the hits of a word alone start in `hits`, and how many
        other_news: set[int] = set()  # words a phrase of other news starts with
        look, n = self._look, len(toks)
        joined = " ".join(toks)
        endings = self._endings if any(end in joined for end in self._endings) else ()
        cjk = self.char_pattern is not None and has_cjk(joined)
        if cjk:
            starts, at = [], 0
            for tok in toks:
                starts.append(at)
                at += len(tok) + 1
            text = _DIGIT.sub("#", joined)
            found = list(self.char_pattern.finditer(text))  # type: ignore[union-attr]
            asked = _asked(found, text)
            hits.extend((bisect_right(starts, m.start()) - 1, f) for j, m in enumerate(found)
                        for f in ((ASKED,) if j in asked else self.chars["".join(m.group(0).split())]))
        for i, tok in enumerate(toks):
            entry = look.get(tok)
            if entry is None and not (endings and tok.endswith(endings)):
                continue  # most words: one look-up (a word ending is looked for only in text that has it)
            if cjk and has_cjk(tok):
                continue
            fams, longer = entry or ((), False)
            own = fams  # the word's own families, which a longer phrase of other news replaces
            if fams:
                ones.append((len(hits), len(fams)))
                hits += [(i, f) for f in fams]
                if NAME in fams:
                    names.append((i, i))
            elif endings and tok.endswith(endings):
                hits.extend((i, f) for end in endings if tok.endswith(end) for f in self.endings[end])
            phrase, k = tok, i + 1
            while longer and k < n:
                phrase = phrase + " " + toks[k]
                entry = look.get(phrase)
                if entry is None:
                    break
                fams, longer = entry
                if fams:
                    hits.extend((i, f) for f in fams)
                    if NAME in fams:
                        names.append((i, k))
                    elif own and _other_news(own, fams):
                        other_news.add(i)  # "lands on" (a date): "lands" (a renewal) is none here
                    spans.append((i, k))
                k += 1
        if spans:  # a word inside a longer phrase is that phrase's: "annonce" of "bande annonce"; so is its
            # first word when it tells other news ("lands" of "lands on")
            one = {h for at, count in ones for h in range(at, at + count)}
            hits = [hit for h, hit in enumerate(hits)
                    if h not in one or not (hit[0] in other_news or any(a < hit[0] <= b for a, b in spans))]
        if names:  # rare: a name's words are no cue
            return [(i, f) for i, f in hits if not any(a <= i <= b for a, b in names)]
        return hits

    def phrases(self, toks: list[str], family: str) -> int:
        """How many phrases of two words or more of one family a (Latin) token list holds."""
        count = 0
        for i in range(len(toks) - 1):
            phrase = toks[i]
            for k in range(i + 1, len(toks)):
                if phrase not in self.prefixes:
                    break
                phrase = phrase + " " + toks[k]
                if family in self.words.get(phrase, ()):
                    count += 1
        return count


def _asked(found: list[re.Match[str]], text: str) -> set[int]:
    """The indices of the Korean, Japanese and Chinese phrases found in a text that a question ending follows,
    glued or written with them ("撮影開始か", "공개될까"), and of the phrases just before such a one, which
    it asks about too ("予告編公開か": is the trailer out?)."""
    asked: set[int] = set()
    start = -1  # where the phrases asked about begin
    for j in range(len(found) - 1, -1, -1):
        m = found[j]
        if _ASKING.match(text, m.end()) is not None or m.end() == start or (
                m.end() + 1 == start and text[m.end()] == " "):
            asked.add(j)
            start = m.start()
        elif m.group(0).endswith(_QUESTION_ENDINGS):
            start = m.start()  # an asking phrase ("配信か", "吗") keeps its family, and asks about those before
        else:
            start = -1
    return asked


def parse_table(text: str, words: dict[str, list[str]], chars: dict[str, list[str]],
                endings: dict[str, list[str]]) -> None:
    """Add the lines of one table ("family<TAB>phrase") to the phrase maps: Latin, CJK, word endings."""
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        family, _, phrase = line.partition("\t")
        if phrase.startswith(ENDING):
            if end := normalise(phrase[1:]):
                endings.setdefault(end, []).append(family)
            continue
        norm = normalise(phrase)
        if has_cjk(norm):
            chars.setdefault(norm, []).append(family)
            continue
        for form in dict.fromkeys((norm, normalise(phrase.lower().translate(_UMLAUTS)))):
            key = " ".join(tokens(form))
            if key:
                words.setdefault(key, []).append(family)


@cache
def load() -> CueTable:
    """Every language's table merged (an item's language is often unknown or wrong)."""
    words: dict[str, list[str]] = {}
    chars: dict[str, list[str]] = {}
    endings: dict[str, list[str]] = {}
    folder = resources.files("bot.detect") / "tables"
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".tsv"):
            parse_table(entry.read_text(encoding="utf-8"), words, chars, endings)
    prefixes = {" ".join(k.split()[:j]) for k in words for j in range(1, k.count(" ") + 1)}
    joined: dict[str, set[str]] = {}
    for phrase, fams in chars.items():
        joined.setdefault("".join(phrase.split()), set()).update(fams)
    return CueTable(
        words={k: tuple(sorted(set(v))) for k, v in words.items()},
        chars={k: tuple(sorted(v)) for k, v in joined.items()},
        prefixes=frozenset(prefixes),
        char_pattern=re.compile(trie_pattern(chars).replace(_SPACE, " ?")) if chars else None,
        endings={k: tuple(sorted(set(v))) for k, v in endings.items()},
    )
