"""Show-free features of an item for one watch: masked n-grams, cue families and structure.

The watch's names become `zshow`, its season `ztseason`, other seasons `zoseason`; numbers become
`znum`. Features are strings with a value of 1: the model maps them to weights. Prefixes say where
a feature came from: `t`/`s` headline or summary words, `tc`/`sc` Korean/Japanese character pairs,
`c:<family>:<zone>` cue families, `x:` structure.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass
from itertools import compress
from typing import Final

import bot.detect.seasons as seasons
from bot.detect.cues import KINDS, CueTable
from bot.detect.names import Names, is_title_case
from bot.detect.text import has_cjk, tokens

SUMMARY_CHARS: Final = 600
"""How much of a summary is read (ledes say what matters first)."""
NEAR: Final = 4
"""Tokens between a cue and the show or its season for the cue to count as near."""
_PLACEHOLDERS: Final = frozenset(("zshow", "ztseason", "zoseason", "zpart", "zyear", "zexcl"))
_SEASONS: Final = frozenset(("ztseason", "zoseason"))
"""The watched season and any other, as masked."""
_ANCHORS: Final = frozenset(("zshow", "ztseason"))
"""What a cue near counts as near to."""
_ANSWER: Final = "answer"
"""A family that only takes the question away from the question word it ends with: "here's when" gives
the date it names ("release date revealed: here's when it arrives")."""
_OFFSHOOT: Final = "offshoot"
"""A spin-off or a prequel (a family that is no feature itself): right after the show's name ("<title>
spinoff renewed for season 3", "'<title>' 스핀오프"), or before it with "of" ("the spin-off of <title>"),
the headline is that spin-off's news, not the season's. A word before the name without "of" is what the
show itself is ("the Game of Thrones prequel <title>")."""
_MEDIUM: Final = "medium"
"""Another medium made of the show (a family that is no feature itself): right after the show's name
("<title> video game season 3 update", "'<title>' 웹툰 시즌3", "<title> movie trailer"), the headline is that
game's, webtoon's or film's news. Only there: "the game" elsewhere is no title ("Das Spiel beginnt:
Trailer von <title>")."""
_NO_FEATURE: Final = frozenset((_ANSWER, _OFFSHOOT, _MEDIUM))
_OF: Final = frozenset(("of", "to", "de", "del", "da", "do", "du", "des", "di", "della", "von", "der", "dari", "ng"))
_AT_START: Final = frozenset(("qstart",))
"""Families that count only where a sentence or clause starts (first token, or after a colon): "is" or
"will" asks a question there ("Is <title> season 2 happening?"), and tells news anywhere else."""
_UNITS: Final = frozenset(("years", "year", "months", "days", "weeks", "episodes", "episode", "million", "hours",
                           "minutes", "percent", "años", "anos", "jahre", "ans", "anni", "tahun", "년", "년만에",
                           "년만", "화", "회", "위", "편", "부", "%"))


@dataclass(frozen=True, slots=True)
class Reading:
    """An item read for one watch: its features and what explains the decision."""

    features: dict[str, float]
    families: frozenset[str]
    head_families: frozenset[str]
    show_in_title: bool
    asks: bool = False
    """The headline is a yes-or-no question ("Is <title> season 2 the final season?"): it never tells news."""
    offshoot: bool = False
    """The headline is a spin-off's news ("<title> spinoff renewed for season 3"): it never alerts."""
    denied: frozenset[str] = frozenset()
    """The kind families the headline only denies or asks about ("renewed, no date yet": the date;
    "season 4 confirmed? What the creator said": the renewal)."""

    @property
    def denies(self) -> bool:
        """Every kind cue of the headline is denied or asked about ("Netflix has yet to renew <title>",
        "still no trailer", "<title> season 4 renewed?")."""
        kinds = self.head_families.intersection(KINDS)
        return bool(kinds) and kinds <= self.denied

    @property
    def names_season(self) -> bool:
        """The item names the watched season, in the headline or the summary."""
        return "x:ts_t" in self.features or "x:ts_s" in self.features


def _seasoned(toks: list[str], target: int) -> list[str]:
    """Tokens where a bare number after the show ("<title> 2") is a season, other numbers `znum`."""
    if not any(map(str.isdecimal, toks)):
        return toks
    out = list(toks)
    for i, tok in enumerate(toks):
        if tok.isdecimal():
            nxt = toks[i + 1] if i + 1 < len(toks) else ""
            after_show = i > 0 and toks[i - 1] == "zshow"
            value = seasons.number_value(tok) if after_show and nxt not in _UNITS else 0
            out[i] = ("ztseason" if value == target else "zoseason") if 0 < value <= 20 else "znum"
    return out


_MAY_BEFORE: Final = frozenset(("in", "on", "since", "by", "from", "until", "till", "early", "mid", "late", "next",
                                 "znum", "a", "the", "its", "their"))
"""Words before "may" that make it the month ("in May", "on May 21", "21 May", "mid-May", "a May
premiere"): a preposition of time or an article cannot come before the verb "may". Not "this" or a year
("this may be", "2026 may be the year")."""
_MAY_IF_DATED: Final = frozenset(("for", "to", "of", "sets", "gets", "lands", "eyes", "targets", "announces",
                                   "confirms", "reveals", "unveils"))
"""Words before "may" that make it the month when a date word or nothing follows it ("set for May",
"pushed to May", "sets May premiere", "gets May release date"); before the verb they end a clause or
are a plural noun ("the sequel fans waited for may finally come", "all eyes may be on", "what the
trailer reveals may change everything")."""
_DATED: Final = frozenset(("premiere", "premieres", "release", "releases", "debut", "return", "launch", "date",
                           "dates", "finale", "arrival", "start", ":", "!", "?"))
_DAY: Final = re.compile(r"\d{1,2}(?:st|nd|rd|th)?|znum|zyear")
"""What after "may" makes it the month ("May 21", "May 21st", "May 2026")."""
MONTH_MAY: Final = "zmay"
"""The English month May, told from the verb "may" by the words around it."""


def _may(toks: list[str]) -> list[str]:
    """Tokens where "may" is the month where the words around it say so: the verb is speculation."""
    if "may" not in toks:
        return toks
    out = list(toks)
    for i, tok in enumerate(toks):
        after = toks[i + 1] if i + 1 < len(toks) else ""
        if tok == "may" and ((i > 0 and toks[i - 1] in _MAY_BEFORE) or _DAY.fullmatch(after) is not None
                             or (i > 0 and toks[i - 1] in _MAY_IF_DATED and (not after or after in _DATED))):
            out[i] = MONTH_MAY
    return out


_BEFORE: Final = frozenset(("before", "ahead", "prior", "antes", "avant", "prima", "vor", "sebelum"))
"""Words before a season that make it a time ("renewed for season 3 ahead of season 2's premiere",
"antes de la temporada 2", "prima della stagione 2": the "of", "de" or "della" after them is in
`_BETWEEN`)."""
_ITS_START: Final = frozenset(("premiere", "premieres", "premiered", "debut", "debuts", "debuted", "release",
                               "released", "launch", "airs", "aired", "even", "s", "has", "had", "estreno",
                               "estreia", "sortie", "diffusion", "debutto", "uscita", "start", "tayang"))
"""Words after a season that dates the news that tell its start ("before season 2 even premiered"): they
are the date's, not the news's."""
_BETWEEN: Final = _ITS_START | _OF | {"zshow", "the", "a", "la", "el", "le", "l", "o", "die", "das", "dem", "il",
                                      "lo", "meme", "incluso"}
"""What may come between "before" and the season it dates, articles and "even" too ("ahead of the premiere of
<title> season 2", "avant même la diffusion de la saison 2", "antes incluso del estreno de la temporada 2")."""
_BEFORE_CJK: Final = ("앞두고", "앞둔", "前に")
"""Korean and Japanese words after a season (and its premiere) that make it a time ("시즌2 공개를
앞두고", "シーズン2公開を前に")."""
REFERENCE: Final = "zref"
"""A season that only dates the news of another ("<title> renewed for season 3 ahead of season 2's
premiere": the news is the third season's; "confirmed season 2 before season 1": the second's)."""


_RENEWS: Final = ("renew", "renov", "renouvel", "verlanger", "verlaenger", "rinnov")
"""How a renewal's own word starts in English and its neighbours ("renewed", "renovada", "renouvelée",
"verlängert", "rinnovata"): not every word of the renewal family ("confirmed" tells a cast or a trailer too)."""
_RENEWS_CJK: Final = ("제작 확정", "제작확정", "更新決定", "更新が決定", "续订", "續訂")
"""A renewal's own words in Korean, Japanese and Chinese (production confirmed, renewal decided, renewed)."""


def _renewal_word(toks: list[str]) -> bool:
    """Whether a token list holds a renewal's own word (`_RENEWS`, `_RENEWS_CJK`)."""
    if any(tok.startswith(_RENEWS) for tok in toks):
        return True
    joined = " ".join(toks)
    return has_cjk(joined) and any(word in joined for word in _RENEWS_CJK)


def _references(toks: list[str]) -> list[str]:
    """Tokens where a season that dates the news of another season in the same text, with the words
    that date it ("ahead of the season 2 premiere", "시즌2 공개를 앞두고"), is one `zref`: that season
    is not the news, nor its premiere a date. A season that no other is the news of stays, without the
    words that date it: "ahead of the season 2 premiere, a new trailer" is the second season's trailer,
    not its date; but not before a renewal, which is of a later season ("renewed ahead of the season 2
    premiere": the third)."""
    at = [i for i, tok in enumerate(toks) if tok in _SEASONS]
    spans = [(i, span) for i in at if (span := _dating(toks, i)) is not None]
    if not spans:
        return toks
    news = len(spans) < len(at) or _renewal_word(toks)  # another season's news
    out: list[str] = []
    k = 0
    for i, (first, last) in spans:
        out.extend(toks[k:first])
        if "zshow" in toks[first:i]:  # "ahead of <title> season 2": the name stays
            out.append("zshow")
        out.append(REFERENCE if news else toks[i])
        k = last + 1
    out.extend(toks[k:])
    return out


def _dating(toks: list[str], i: int) -> tuple[int, int] | None:
    """The first and last token of the words that make the season at token i a time, if they do:
    "before" or "ahead of" (with an article, the show's name or its start between or not: "ahead of
    the premiere of season 2") with the words after the season that tell its start, or "앞두고",
    "を前に" within two tokens after it."""
    k = i
    while k > 0 and toks[k - 1] in _BETWEEN:
        k -= 1
    if k > 0 and toks[k - 1] in _BEFORE:
        last = i
        while last + 1 < min(len(toks), i + 4) and toks[last + 1] in _ITS_START:
            last += 1
        return k - 1, last
    for last in range(i + 1, min(len(toks), i + 3)):
        if toks[last].endswith(_BEFORE_CJK) or toks[last].startswith(_BEFORE_CJK):
            return i, last
    return None


NGRAM: float = 1.0
"""The value of a word or character feature; cue and structure features have 1 (a smaller value is a
stronger prior against fitting single words)."""


def _ngrams(toks: list[str], zone: str, feats: dict[str, float]) -> None:
    words = ["^", *toks, "$"] if zone == "t" else toks
    prev = ""
    v = NGRAM
    one, two = zone + "1:", zone + "2:"
    for tok in words:
        if not tok.isascii() and has_cjk(tok) and tok not in _PLACEHOLDERS:
            for j in range(len(tok) - 1):
                feats[f"{zone}c:{tok[j:j + 2]}"] = v
            if len(tok) <= 3:
                feats[f"{zone}c:{tok}"] = v
            prev = ""
            continue
        feats[one + tok] = v
        if prev:
            feats[f"{two}{prev} {tok}"] = v
        prev = tok


def _cues(toks: list[str], zone: str, table: CueTable, feats: dict[str, float], *,
          name_first: bool = False) -> tuple[set[str], frozenset[str], bool]:
    """The cue families of a token list, with their features added; and the kind families it only denies
    or asks about (a negation one to three words before each of their cues: "has yet to renew", "no
    trailer"; a question mark right after: "renewed?", see `_ASKS`; a doubt's phrase that opens with
    one: "renewal status", "premieres today"); and whether it is a spin-off's news (`_offshoot`)."""
    anchors = list(compress(range(len(toks)), map(_ANCHORS.__contains__, toks)))
    found: set[str] = set()
    seasons_at = [j for j, t in enumerate(toks) if t in _SEASONS] if "zoseason" in toks else []
    hits = table.find(toks)
    answered: set[int] = set()
    offshoots: list[int] = []
    media: list[int] = []
    negations: list[int] = []
    after: set[int] = set()  # Korean and Japanese negations, which follow what they deny
    for i, fam in hits:  # first where the families that are no feature by themselves stand, in one pass
        if fam in _GATHERED:
            if fam == _ANSWER:
                answered.update((i + 1, i + 2))
            elif fam == _OFFSHOOT:
                offshoots.append(i)
            elif fam == _MEDIUM:
                media.append(i)
            elif not _says_other(toks, i, fam):
                negations.append(i)
                if fam != "yet" and len(toks[i]) <= _NEGATION_WORD and has_cjk(toks[i]):
                    after.add(i)
    os_near = ts_near = False  # a kind cue nearest another season, one nearest the watched one
    for i, fam in hits:
        if fam in _NO_FEATURE or (fam == "question" and i in answered):
            continue
        if fam in _AT_START and ((i > 0 and toks[i - 1] != ":") or (i == 0 and name_first)):
            continue
        found.add(fam)
        feats[f"c:{fam}:{zone}"] = 1.0
        if anchors and (a := bisect_left(anchors, i - NEAR)) < len(anchors) and anchors[a] <= i + NEAR:
            feats[f"c:{fam}:{zone}near"] = 1.0  # the first anchor from NEAR tokens before the cue on is near
        if seasons_at and fam in KINDS:
            if toks[min(seasons_at, key=lambda j: abs(j - i))] == "zoseason":
                os_near = True
            else:
                ts_near = True
    if os_near and not ts_near:  # the news is another season's: "ahead of S2, S3 is renewed"; not when a
        feats[f"k:os_nearest:{zone}"] = 1.0  # kind is also told of the watched one: "S3 dated, S4 confirmed"
    offshoot = bool(offshoots or media) and _offshoot(toks, offshoots, media)
    marks = [i for i, tok in enumerate(toks) if tok == "?" and not _exclaims(toks, i)] if "?" in toks else []
    doubted = {i for i, fam in hits if fam in _DOUBT_PHRASES and not has_cjk(toks[i])}
    if not negations and not marks and not doubted:
        return found, frozenset(), offshoot
    breaks = [i for i, tok in enumerate(toks) if tok in (":", "!")] + [i for i, fam in hits if fam == "question"]
    denied: set[str] = set()
    told: set[str] = set()
    for k, fam in hits:
        if fam in KINDS:
            asked = any(0 < m - k <= _ASKS and not any(k < b < m for b in breaks) for m in marks)
            negated = any(0 < n - k <= _DENIES_AFTER if n in after else 0 < k - n <= _DENIES for n in negations)
            (denied if asked or negated or k in doubted else told).add(fam)
    return found, frozenset(denied - told), offshoot


_DOUBT_PHRASES: Final = frozenset(("spec", "explain", "review", "fan", "after"))
"""Doubts whose phrase may open with a kind cue ("renewal status", "filming locations", "trailer falso";
"premieres today", the premiere day, after the date was told): the cue is that phrase's, so the headline
does not tell it (the table holds no single word of a kind and of a doubt, so a Latin word where both
stand opens such a phrase)."""
_NEGATIONS: Final = frozenset(("neg", "yet", "without"))
_GATHERED: Final = frozenset((_ANSWER, _OFFSHOOT, _MEDIUM, *_NEGATIONS))
"""The families whose places `_cues` gathers before it reads the others: an answer, a spin-off or
medium word, a negation."""
_ANOTHER: Final = frozenset(("another", "one", "more", "ein", "eine", "einen", "un", "una", "uno", "otro", "otra",
                             "altro", "altra", "mais", "um", "uma"))
"""What makes "yet" say "another": "yet another trailer", "noch ein Trailer", "ancora un teaser",
"todavía otro tráiler", "ainda mais um teaser" deny nothing."""
_MISS: Final = frozenset(("miss", "perca", "percam", "perder", "perdere", "perdetevi", "perdervi", "manquez", "manquer",
                          "ratez", "rater", "pierdas", "pierdan", "perderte", "verpassen", "verpasst"))
"""Verbs that make a negation beside them say "don't miss": "Não perca o trailer", "Non perdere il trailer",
"Ne manquez pas la bande-annonce" deny nothing."""


def _says_other(toks: list[str], i: int, family: str) -> bool:
    """Whether a negation (or "yet") at token i says something else: "yet another", "don't miss"."""
    return (family == "yet" and i + 1 < len(toks) and toks[i + 1] in _ANOTHER) or not _MISS.isdisjoint(
        toks[max(0, i - 1):i + 3])


_YES: Final = frozenset(("yes", "yep", "si", "oui", "ja", "sim", "ya", "네", "はい"))
"""Words that answer the question mark right before them ("confirmed? Yes, ...")."""


def _exclaims(toks: list[str], i: int) -> bool:
    """Whether the question mark at token i asks nothing: beside an exclamation mark ("renewed for season
    3?!", "!?": surprise) or answered at once ("confirmed? Yes, ...")."""
    return (i + 1 < len(toks) and toks[i + 1] in ("!", *_YES)) or (i > 0 and toks[i - 1] == "!")


_DENIES: Final = 3
"""How many words before a kind cue a negation denies it."""
_DENIES_AFTER: Final = 2
"""How many words after a kind cue a Korean or Japanese negation denies it: there it follows the verb
("시즌3 제작 확정 아니다", season 3 is not confirmed; "配信日は未定", the date is not set; "예고 없이",
without notice). "Yet" comes first there too ("아직 확정 안 돼")."""
_NEGATION_WORD: Final = 3
"""The longest Korean or Japanese word that is a negation by itself ("아니다", "않았다", "없어", "未定"):
in a longer one, the negation ends an adjective ("見逃せない", unmissable; "鳥肌が止まらない"), which
denies nothing before it."""
_ASKS: Final = 4
"""How many words after a kind cue's first word a question mark asks about it ("<title> season 4
confirmed?", "renewed for a fifth season?"), unless a question word, a colon or a "!" comes between
("renewed, but when?": the question is the date's)."""


_DOUBT_FAMS: Final = ("spec", "explain", "review", "after", "episode", "question", "qstart", "qmark", "fan", "fans",
                       "neg", "yet", "without", "image")
"""Families that may take a kind cue's news away, each kept apart so that the fit weighs them apart:
a fan-made trailer is not news, fans reacting to one may be; "is" or "no" says less than "?" or "not"."""
_STRONG: Final = frozenset(("spec", "explain", "review", "fan", "neg", "question", "qmark"))
"""Doubts that say outright that an item is no news: a family seen in few shows (a fan-made trailer)
shares their weight."""


def _conjunctions(head_fams: set[str], body_fams: set[str], feats: dict[str, float]) -> None:
    """What a linear model cannot add up by itself: a kind cue with or without each doubt around it."""
    doubts_t = [f for f in _DOUBT_FAMS if f in head_fams] if head_fams else []
    doubt_s = not body_fams.isdisjoint(_DOUBT_FAMS)
    kinds_t = [f for f in KINDS if f in head_fams] if head_fams else []
    for fam in kinds_t:
        for doubt in doubts_t or ("clean",):
            feats[f"k:{fam}:{doubt}"] = 1.0
        if "x:ts_t" in feats:
            feats[f"k:{fam}:ts"] = 1.0
    feats[f"k:nkinds_t:{min(len(kinds_t), 3)}"] = 1.0
    if not kinds_t:
        feats[f"k:none_t:{'doubt' if doubt_s else 'clean'}"] = 1.0
    if doubts_t:
        feats["k:doubt_t"] = 1.0
        if not _STRONG.isdisjoint(doubts_t):
            feats["k:strong_t"] = 1.0


def _structure(head: list[str], body: list[str], feats: dict[str, float]) -> None:
    in_head, in_body = set(head), set(body)
    both = in_head | in_body
    marks = {
        "show_t": "zshow" in in_head, "show_s_only": "zshow" not in in_head,
        "ts_t": "ztseason" in in_head, "os_t": "zoseason" in in_head,
        "ts_s": "ztseason" in in_body, "os_s": "zoseason" in in_body,
        "os_only": "zoseason" in both and "ztseason" not in both,
        "no_season": "zoseason" not in both and "ztseason" not in both,
        "show_first": bool(head) and head[0] == "zshow",
        "q_end": bool(head) and head[-1] == "?", "q_any": "?" in in_head,
        "no_summary": not body, "excl": "zexcl" in both,
        "ts_adj": "zshow" in in_head and "ztseason" in in_head and _with_show(head, "ztseason"),
        "os_adj": "zshow" in in_head and "zoseason" in in_head and _with_show(head, "zoseason"),
        "long_t": len(head) > 16,
    }
    for name, on in marks.items():
        if on:
            feats["x:" + name] = 1.0


def _with_show(head: list[str], season: str) -> bool:
    """Whether a season placeholder is written with the show's name: one or two words after it ("zshow
    ztseason", "zshow : ztseason"), or before it with "of" ("ztseason of zshow", "la ztseason de la
    zshow": the Romance languages' order, "la temporada 3 de <title>")."""
    return any((a == "zshow" and season in head[i + 1:i + 3])
               or (a == season and i + 1 < len(head) and head[i + 1] in _OF and "zshow" in head[i + 2:i + 4])
               for i, a in enumerate(head))


_YEAR_AFTER: Final = re.compile(r"zshow\s*\(\s*zyear\s*\)")


def _year_in_name(text: str) -> str:
    """Season-masked text where a year in brackets after the name ("<title> (2023)", which tells one
    show from another of its name) is part of the name."""
    return _YEAR_AFTER.sub("zshow", text) if "(" in text else text


def read(names: Names, table: CueTable, title: str, summary: str, *, name_first: bool = False) -> Reading | None:
    """The features of normalised headline and summary for one watch, or None if it is not named.
    `name_first`: the headline opens with a first name that is also an auxiliary (`opens_with_a_name`),
    unless the watch's name is what follows it.
    A summary that only repeats the headline (a Google News item's) is no lede: read as none."""
    if summary == title:
        summary = ""
    target = names.watch.season
    head_text = names.mask(title)
    body_text = names.mask(summary[:SUMMARY_CHARS]) if summary else ""
    if "zshow" not in head_text and ("zshow" not in body_text or "zexcl" in head_text):
        return None  # not named, or the headline names only a look-alike: the item is about that one
    head_text = _year_in_name(seasons.mask(head_text, target))
    body_text = _year_in_name(seasons.mask(body_text, target)) if body_text else ""
    raw_head = tokens(head_text)
    numbered = _seasoned(raw_head, target)
    head = _references(_may(numbered))
    body = _references(_may(_seasoned(tokens(body_text), target))) if body_text else []
    as_written = head
    if name_first and head[1:2] == ["zshow"]:
        name_first = False  # "Will <title> return for season 3": the show follows "Will", no person
    if target == 1:
        head, body = _first_season(head), _first_season(body)
    feats: dict[str, float] = {}
    _ngrams(head, "t", feats)
    _ngrams(body, "s", feats)
    head_fams, denied, offshoot = _cues(head, "t", table, feats, name_first=name_first)
    if head is not as_written:  # a first season's: the spin-off word follows the name as written
        found = table.find(as_written)
        offshoot = _offshoot(as_written, [i for i, f in found if f == _OFFSHOOT], [i for i, f in found if f == _MEDIUM])
    if not offshoot and numbered is not raw_head:  # numbers: "<title> 4 game" may be a game's
        offshoot = _sequel_medium(raw_head, table)
    body_fams, _, _ = _cues(body, "s", table, feats)
    _structure(head, body, feats)
    _conjunctions(head_fams, body_fams, feats)
    return Reading(feats, frozenset(head_fams | body_fams), frozenset(head_fams), "zshow" in head,
                   not name_first and _asks(head, table), offshoot, denied)


def _offshoot(toks: list[str], at: list[int], media: list[int]) -> bool:
    """Whether a spin-off or prequel word (at these token indices) follows the show's name ("zshow
    spinoff", "zshow s prequel", "zshow 의 스핀오프") or comes before it with "of" ("spin off de
    zshow"), or a word of another medium (`media`) follows the name ("zshow video game"; not "zshow game
    of ...", the start of another title the name is written with): the text is that spin-off's, game's
    or film's news."""
    for i in (*at, *(m for m in media if m + 1 == len(toks) or toks[m + 1] not in _OF)):
        if (i > 0 and toks[i - 1] == "zshow") or toks[max(0, i - 2):i] in (["zshow", "s"], ["zshow", "의"]):
            return True  # "<title> spinoff", "<title>'s prequel"; not "<title>, the prequel to ..."
    for i in at:
        if any(toks[k] in _OF and toks[k + 1] == "zshow" for k in range(i + 1, min(i + 4, len(toks) - 1))):
            return True  # "the spin-off of <title>"
    return False


def _sequel_medium(toks: list[str], table: CueTable) -> bool:
    """Whether a number right after the show's name is followed by another medium's word ("<title> 4
    game trailer", "<title> 2 videojuego"): the number is that game's or film's, not a season, and the
    headline is that sequel's news. Not a season word before the medium ("<title> season 2 game-changer")."""
    after_number = [i + 1 for i in range(1, len(toks)) if toks[i - 1] == "zshow" and toks[i].isdecimal()]
    return bool(after_number) and any(i in after_number for i, fam in table.find(toks) if fam == _MEDIUM)


def _first_season(toks: list[str]) -> list[str]:
    """Tokens of a text about a watch of a first season, read as if the season were written after the
    name when the text names no season: the press writes "season 1" only once there is a second ("first
    trailer for <title>" is the first season's trailer)."""
    if "zshow" not in toks or "ztseason" in toks or "zoseason" in toks:
        return toks
    at = toks.index("zshow") + 1
    return [*toks[:at], "ztseason", *toks[at:]]


_NAME_FIRST: Final = re.compile(r"[\W_]*Will\s+(?!(?:The|A|An|There|This|That|It|We|You|They|He|She)\b)"
                                 r"[A-Z][\w'’.-]*\s")
"""A headline that opens with "Will", a first name that is also an auxiliary, then a capitalised word
that may be a surname (not "The", "There", "It"...)."""


def opens_with_a_name(headline: str) -> bool:
    """Whether a headline as written opens with a first name that is also an auxiliary ("Will Poulter
    joins <title> season 3"): "Will" and a capitalised word, in a headline that does not end with a
    question mark and is not in Title Case (where every word has a capital: "Will Netflix Renew It")."""
    return (_NAME_FIRST.match(headline) is not None and not headline.rstrip().endswith(("?", "？"))
            and not is_title_case(headline))


def _asks(head: list[str], table: CueTable) -> bool:
    """Whether a headline opens with an auxiliary that asks (`qstart`) and has no question mark but one
    that ends it: "Is <title> season 2 the final season?" asks; "Is it real? Netflix renews <title>"
    answers after its question."""
    return bool(head) and "qstart" in table.words.get(head[0], ()) and "?" not in head[:-1]
