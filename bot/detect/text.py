"""Text preparation for detection: normalising, sentences, season references and title patterns."""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from collections.abc import Callable, Iterable, Sequence
from typing import Final

from bot.detect import cues
from bot.models import Watch

_QUOTES: Final = "‘’‚‛`´′″“”„‟«»「」『』〈〉《》<>\"＜＞"
_DASHES: Final = "‐‑‒–—―−"
_TRANSLATE: Final = {ord(c): "'" for c in _QUOTES} | {ord(c): "-" for c in _DASHES}
_QUOTE_OR_DASH: Final = re.compile("[" + re.escape(_QUOTES + _DASHES) + "]")
_MATCH_END: Final = re.Match.end
_SPACES: Final = re.compile(r"\s+")
_SENTENCE_END: Final = re.compile(  # one punctuation mark first, so the engine can skip to candidates
    r"[.!?\n|;\-\[\]](?:(?<=\.\.\.)|(?<=[.!?])(?=\s)|(?<=\n)|(?<=\s\|)\s|(?<=;)\s|(?<=\s-)\s|(?<=\s\[)|(?<=\])\s)"
)
_CLAUSE_MARKS: Final = ",·:"
_PUBLISHER_TAIL: Final = re.compile(r"\s+-\s+([^-\n]{1,60})$")
_HANGUL: Final = re.compile(r"[\uac00-\ud7a3]")
_LONG_WORD: Final = re.compile(r"[A-Za-z][\w'&!.+-]{3,}")


def normalise(text: str) -> str:
    """NFKC, one kind of quote (') and dash (-), single spaces; case is kept."""
    if text.isascii():
        if '"' in text or "`" in text or "<" in text or ">" in text:
            text = text.translate(_TRANSLATE)
    else:  # on non-ASCII text a table lookup per character is slower than one search
        text = unicodedata.normalize("NFKC", text)
        for mark in set(_QUOTE_OR_DASH.findall(text)):
            text = text.replace(mark, _TRANSLATE[ord(mark)])
    if "  " in text or "\n" in text or "\t" in text or "\r" in text:
        text = _SPACES.sub(" ", text.replace("\n", " "))
    return text.strip()


def strip_publisher(title: str, publisher: str, keep: Callable[[str], bool]) -> str:
    """Drop a trailing " - Publisher" (news aggregators) unless the tail carries a cue or a title."""
    dash = title.rfind("-")  # a tail has no dash, so its dash is the last one, between spaces
    spaced = 0 < dash < len(title) - 1 and title[dash - 1].isspace() and title[dash + 1].isspace()
    m = _PUBLISHER_TAIL.search(title) if spaced else None
    if m is None:
        return title
    tail = m.group(1).strip()
    if publisher and tail.lower() == normalise(publisher).lower():
        return title[: m.start()]
    if len(tail.split()) <= 5 and not keep(tail.lower()):
        return title[: m.start()]
    return title


def fragments(table: cues.CueTable) -> list[str]:
    """Every fragment of a cue table as a pattern, with word boundaries around Latin words."""
    parts: list[str] = []
    for lang, frags in table.items():
        for frag in frags:
            if lang in ("ko", "all") or _HANGUL.search(frag):
                parts.append(frag)
                continue
            head = "" if frag[0] in "-'?¿" else r"(?<![\w])"
            tail = "" if frag[-1] in "-' " else r"(?![\w])"
            parts.append(f"{head}(?:{frag}){tail}")
    return parts


def _words(names: Iterable[str]) -> str:
    return "|".join(sorted((re.escape(n) for n in names), key=len, reverse=True))


_NUMBERS: Final = "|".join(str(n) for n in range(20, 0, -1))


def season_patterns() -> list[str]:
    """Patterns for every form of season reference; the named group says how to read the number
    (n: digits, w: a number word, o: an ordinal, r: "the new season"); no two share a group name."""
    nums = _words(cues.NUMBER_WORDS)
    ords = _words(cues.ORDINALS)
    season_words = _words({w for ws in cues.SEASON_WORDS.values() for w in ws})
    after = "|".join(cues.SEASON_NOUNS_AFTER_ORDINAL)
    return [
        rf"(?<![\w])(?:{season_words})[ -]?(?:ke-? ?)?(?P<n1>\d{{1,2}})(?![\w])",
        rf"(?<![\w])(?:{season_words}) (?P<w1>{nums})(?![\w])",
        rf"(?<![\w])(?:season|musim) (?P<o1>{ords})(?![\w])",
        rf"(?<![\w])(?P<o2>{ords}) (?:{after})(?![\w])",
        rf"(?<![\w])(?P<o3>{ords}) temporada(?![\w])",
        rf"(?<![\w])(?P<n2>{_NUMBERS})(?:a|o|°)? temporada(?![\w])",
        rf"(?<![\w])s0?(?P<n3>{_NUMBERS})(?![\w])",
        r"시즌 ?(?P<n4>\d{1,2})(?!\d)",
        rf"(?P<o4>{ords}) ?번째 시즌",
        *(f"(?P<r{i}>{frag})" for i, frag in enumerate(fragments(cues.RELATIVE_SEASON))),
    ]


def season_value(m: re.Match[str]) -> int:
    """The season number a season pattern's match names, or -1 for "the new season"."""
    group = m.lastgroup or ""
    if group[0] == "r":
        return -1
    text = m.group(group)
    if group[0] == "n":
        return int(text)
    if group[0] == "w":
        return cues.NUMBER_WORDS.get(text, 0)
    return cues.ORDINALS.get(text, 0)


def alias_key(text: str) -> str:
    """How a matched name is looked up: no spaces, no quotes."""
    return text.replace(" ", "").replace("'", "")


def _alias_pattern(alias: str) -> str:
    name = normalise(alias).lower()
    if _HANGUL.search(name):
        return r"\s?".join(re.escape(c) for c in name.replace(" ", ""))
    body = " ".join(re.escape(w) for w in name.split())
    return rf"(?<![\w]){body}(?![a-z0-9])"


def alias_patterns(watches: Sequence[Watch]) -> tuple[list[str], dict[str, tuple[int, ...]]]:
    """A pattern per watched name (title+number form included) and name key → watch indices."""
    keys: dict[str, list[int]] = {}
    pats: dict[str, str] = {}
    for i, watch in enumerate(watches):
        for name in watch.names:
            if not name.strip():
                continue
            key = alias_key(normalise(name).lower())
            keys.setdefault(key, []).append(i)
            pats[key] = _alias_pattern(name)
    units = "|".join(cues.NUMBER_UNITS)
    number = rf"(?:'? ?(?P<tn>\d{{1,2}})(?![\d.,:/])(?! ?(?:{units})))?"
    return [f"(?P<a>{p}){number}" for p in pats.values()], {k: tuple(v) for k, v in keys.items()}


class Prepared:
    """An item's text ready for matching: `low` is lowercase, `orig` keeps case, same positions.

    `bounds` (sentence ends) is filled by `with_sentences`; `memo` keeps answers computed on demand
    for this item, so they are computed once."""

    __slots__ = ("low", "orig", "head_end", "bounds", "memo")

    def __init__(self, low: str, orig: str, head_end: int, bounds: tuple[int, ...] = ()) -> None:
        self.low = low
        self.orig = orig
        self.head_end = head_end
        self.bounds = bounds
        self.memo: dict[str, bool] = {}

    def head_title_case(self) -> bool:
        """Whether the headline is in Title Case (see `is_title_case`)."""
        found = self.memo.get("title_case")
        if found is None:
            found = self.memo["title_case"] = is_title_case(self.orig[: self.head_end])
        return found

    def sentence(self, pos: int) -> int:
        """Index of the sentence holding position `pos`."""
        return bisect_right(self.bounds, pos)

    def sentence_span(self, index: int) -> tuple[int, int]:
        """Start and end of sentence `index`."""
        start = self.bounds[index - 1] if index > 0 else 0
        end = self.bounds[index] if index < len(self.bounds) else len(self.low)
        return start, end

    def sentence_text(self, index: int) -> str:
        """The sentence as written (case kept), trimmed of separators."""
        start, end = self.sentence_span(index)
        return self.orig[start:end].strip(" .;|-[]\n")

    def clause_span(self, pos: int) -> tuple[int, int]:
        """Start and end of the clause (between commas, colons, sentence ends) holding `pos`."""
        start, end = self.sentence_span(self.sentence(pos))
        low = self.low
        for mark in _CLAUSE_MARKS:  # the last mark before `pos` and the first one from it
            found = low.rfind(mark, start, pos)
            if found >= 0:
                start = found + 1
            found = low.find(mark, pos, end)
            if found >= 0:
                end = found
        return start, end


def is_title_case(text: str) -> bool:
    """Whether most longer words of a headline are capitalised (then capitals do not mark titles)."""
    words = _LONG_WORD.findall(text)  # words of four or more characters
    return len(words) >= 3 and sum(w[0].isupper() for w in words) >= 0.7 * len(words)


def prepare(head: str, lede: str) -> Prepared:
    """Headline and lede (both normalised) as one text: the headline first, then a newline.

    Sentences are not found yet (most items name nothing watched and never need them): call
    `with_sentences` before using `bounds`.
    """
    orig = f"{head}\n{lede}" if lede else head
    low = orig.lower()
    if len(low) != len(orig):
        orig = low
    return Prepared(low, orig, len(head))


def with_sentences(prep: Prepared) -> Prepared:
    """`prep` with its sentence ends found (the same object, completed)."""
    prep.bounds = tuple(map(_MATCH_END, _SENTENCE_END.finditer(prep.low)))
    return prep
