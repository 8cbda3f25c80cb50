"""A watch's names and their variants, found in text and masked as placeholders.

Every name of a watch (title and aliases) becomes one pattern that tolerates the spellings the
press uses: any case, full-width forms, words run together or split by dashes and dots
("One-Piece", "ONEPIECE", "ラスト・オブ・アス"), Korean and Japanese written with or without spaces
and marks ("今、私たちの学校は…", "今私たちの学校は").
A match becomes ` zshow `, a look-alike title listed in the watch's `exclude` becomes ` zexcl `
first (so "<title>: <spin-off>" is not the watch), a name that is a weekday becomes ` zday ` where
it is a date ("on Wednesday that..."), and what is learned never sees a show's name.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Final

import bot.detect.cues as cues
import bot.detect.seasons as seasons
from bot.detect.text import fold, has_cjk, normalise, tokens
from bot.models import Watch

SHOW: Final = " zshow "
EXCLUDED: Final = " zexcl "
_LATIN: Final = "a-z0-9\u00c0-\u024f"
_SEPARATORS: Final = "-_.\u00b7:'&"
_CJK_MARKS: Final = "\u00b7'-:、。,.!?~"
"""Marks in or after a Korean or Japanese name that the press writes, changes or drops ("今、私たちの学校は…"
is also "今私たちの学校は"; "지금, 우리 학교는" is "지금 우리 학교는")."""
_CHAR_SEP: Final = r"[\s\u00b7'\-:、。,.!?~]{0,4}"
"""Where a Korean or Japanese name has a space or a mark: nothing, or up to four spaces and marks
("세브란스: 단절" and "세브란스:단절", "今、私たち" and "今私たち")."""
_CHAR_GAP: Final = r"[\s\u00b7'\-:]{0,2}"
"""Between two characters the name writes together: nothing, or up to two spaces, middle dots,
apostrophes, dashes or colons (a comma there is another sentence: "이지우, 학폭" is not "지우학")."""


def has_word(name: str) -> bool:
    """Whether a name holds a letter or a digit: a name of marks alone ("???") names nothing."""
    return any(c.isalnum() for c in name)


def name_pattern(name: str) -> str:
    """A regular expression for one name and its spelling variants (normalised text): between its words,
    any run of spaces, dashes, dots, colons, apostrophes, ampersands, or the marks the name itself
    holds ("C++ (2024)"); "ß" may be written "ss"; "&", "+" and "and" stand for each other, and so do "×"
    and "x" between words ("SPY×FAMILY", "Spy x Family")."""
    norm = normalise(name)
    if has_cjk(norm):
        out: list[str] = []
        marked = False
        for c in norm:
            if c.isspace() or c in _CJK_MARKS:
                marked = True
                continue
            if out:
                out.append(_CHAR_SEP if marked else _CHAR_GAP)
            out.append(re.escape(c))
            marked = False
        return "".join(out)
    spans = list(re.finditer(r"[^\W_]+", norm))
    own = "".join(sorted({c for c in norm if not c.isalnum() and not c.isspace()} - set(_SEPARATORS)))
    separator = f"[\\s{re.escape(_SEPARATORS + own)}]*"
    joined = f"{separator}(?:(?:and|\\+){separator})?"  # "Love, Death & Robots" is also "Love Death and Robots"
    crossed = f"{separator}(?:x{separator})?"  # "SPY×FAMILY" is also "Spy x Family"
    parts: list[str] = []
    for k, m in enumerate(spans):
        word = m.group(0)
        if k:
            gap = norm[spans[k - 1].end():m.start()]
            parts.append(joined if "&" in gap or "+" in gap else crossed if "×" in gap else separator)
        inner = 0 < k < len(spans) - 1
        parts.append("(?:and|&|\\+)" if word == "and" and inner else "(?:x|×)" if word == "x" and inner else
                     re.escape(word).replace("ß", "(?:ß|ss)"))
    tail = "".join(sorted(set(norm[spans[-1].end():]) - {" "})) if spans else ""
    if tail:  # the marks a name ends with ("What If...?", "D.P."), written or not
        parts.append(f"[{re.escape(tail)}]*")
    body = "".join(parts)
    if body.startswith("("):  # "ß" first: "(?:ß|ss)"
        return rf"(?<![{_LATIN}]){body}(?![{_LATIN}])"
    # The first letter comes before the boundary test, so that the search skips to where it stands.
    return rf"{re.escape(body[0])}(?<![{_LATIN}].){body[1:]}(?![{_LATIN}])"


_ARTICLES: Final = frozenset(("the", "a", "an"))
_HANGUL: Final = re.compile("[\uac00-\ud7a3]")
_ROMAN_VOWEL: Final = re.compile("eo|eu|o|u")
_ROMAN_VOWELS: Final = ("eo", "eu", "o", "u")
_MAX_ROMAN: Final = 3
URL: Final = re.compile(r"\b(?:https?://|www\.)\S+", re.IGNORECASE)
"""A web address (`Detector.classify` also ends a feed summary with its first)."""
_MAX_SPELLINGS: Final = 256
"""Romanised spellings kept per name: a long Korean name has thousands of combinations, and each
spelling is compiled into the watch's pattern."""


def _without_articles(name: str) -> list[str]:
    """A Latin name of three words or more without its articles ("House of Dragon", "Last of Us"):
    headlines and addresses drop them."""
    words = normalise(name).split()
    kept = [w for w in words if w not in _ARTICLES]
    return [" ".join(kept)] if len(words) >= 3 and 2 <= len(kept) < len(words) else []


_CONTRACTED: Final[dict[str, tuple[str, ...]]] = {
    "le": ("du", "au"), "les": ("des", "aux"), "el": ("del", "al"),
    "il": ("del", "nel", "al", "dal", "sul"), "lo": ("dello", "nello", "allo", "dallo", "sullo"),
    "i": ("dei", "nei", "ai", "dai", "sui"), "gli": ("degli", "negli", "agli", "dagli", "sugli"),
    "la": ("della", "nella", "alla", "dalla", "sulla"), "o": ("do", "no", "ao", "pelo"),
    "a": ("da", "na", "pela"), "os": ("dos", "nos", "aos", "pelos"), "as": ("das", "nas", "pelas"),
    "die": ("der", "den"), "der": ("des", "dem"), "das": ("des", "dem"),
}
"""A title's opening article as French, Spanish, Italian, Portuguese and German contract or decline it
after a preposition ("le tournage des Gardiens de ...", "renueva al guardián ...", "Staffel 3 der
..."); "de la", "de los", "van de" keep the article and need no form of their own."""


def _contracted(name: str) -> list[str]:
    """A Latin name of three words or more that opens with an article, with that article contracted
    after a preposition ("Les Gardiens de la lanterne" is also "des Gardiens de la lanterne"): only
    with the preposition, so that an English title opening with "I" or "As" makes no ordinary phrase."""
    words = normalise(name).split()
    if len(words) < 3 or sum(c.isalpha() for c in words[1]) < 3:
        return []
    rest = " ".join(words[1:])
    return [f"{form} {rest}" for form in _CONTRACTED.get(words[0], ())]


def _before_season(watch: Watch) -> tuple[str, ...]:
    """A watch's two-word Latin names that open with an article, without it ("The Witcher" is
    "Witcher"): names only right before a season ("Witcher season 4"), where the press drops the article
    and the word can be no other; elsewhere the word is as often an ordinary one ("a bear", "boys")."""
    out: list[str] = []
    for name in watch.names:
        words = normalise(name).split()
        if len(words) == 2 and words[0] in _ARTICLES and sum(c.isalpha() for c in words[1]) >= 3:
            out.append(words[1])
    return tuple(dict.fromkeys(out))


def _romanised(name: str) -> list[str]:
    """Spellings of a romanised Korean name in the other systems the press uses: "eo", "eu", "o" and "u"
    ("Gyeongseong", "Kyungsung", "Kyongsong") and an initial "g" or "k", for words with the marks of
    the revised romanisation ("eo", "eu")."""
    words = normalise(name).split()
    per_word = [_word_forms(w) for w in words]
    if all(len(f) == 1 for f in per_word):
        return []
    variants = (" ".join(forms) for forms in itertools.product(*per_word))
    return list(itertools.islice((v for v in variants if v != " ".join(words)), _MAX_SPELLINGS))


def _word_forms(word: str) -> list[str]:
    """One word's romanisations (the word alone when it shows no mark of the revised system)."""
    slots = _ROMAN_VOWEL.split(word)
    if ("eo" not in word and "eu" not in word) or len(slots) - 1 > _MAX_ROMAN:
        return [word]
    forms = [""]
    for k, part in enumerate(slots):
        forms = [f + part for f in forms]
        if k < len(slots) - 1:
            forms = [f + v for f in forms for v in _ROMAN_VOWELS]
    return forms + [("k" if f[0] == "g" else "g") + f[1:] for f in forms if f and f[0] in "gk"]


@functools.lru_cache(maxsize=256)
def spellings(watch: Watch) -> tuple[str, ...]:
    """A watch's names with the variants derived from them: without articles, and, for a watch that
    has a Korean name, its Latin names in other romanisations (made once per watch)."""
    korean = any(_HANGUL.search(n) for n in watch.names)
    out = list(watch.names)
    for name in watch.names:
        if has_cjk(name):
            continue
        out += _without_articles(name) + _contracted(name)
        if korean:
            out += _romanised(name)
    return tuple(dict.fromkeys(out))


_WEEKDAYS: Final = frozenset(normalise(w) for w in (
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
    "lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo",
    "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche",
    "lunedì", "martedì", "mercoledì", "giovedì", "venerdì", "sabato", "domenica",
    "montag", "dienstag", "mittwoch", "donnerstag", "freitag", "samstag", "sonntag",
    "maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag",
    "senin", "selasa", "rabu", "kamis", "jumat", "sabtu", "minggu"))
"""Weekday names: a show may be named after one ("Wednesday", French "Mercredi"), and news of any
show says when it happened ("announced on Wednesday that...")."""
_WHEN_BEFORE: Final = ("on", "this", "next", "last", "every", "each", "by", "until", "since", "from", "el", "este",
                       "cada", "desde", "hasta", "proximo", "le", "ce", "chaque", "depuis", "il", "questo", "ogni",
                       "na", "nesta", "toda", "am", "diesen", "jeden", "seit", "bis", "op", "deze", "elke", "pada",
                       "setiap", "sejak")
"""Words before a weekday that make it a date ("on Wednesday", "ce mercredi", "am Mittwoch")."""
_WHEN_AFTER: Final = ("morning", "afternoon", "evening", "night", "manana", "noche", "matin", "soir", "nuit",
                      "mattina", "pomeriggio", "notte", "manha", "noite", "morgen", "vormittag", "nachmittag",
                      "abend", "nacht", "ochtend", "middag", "avond", "pagi", "siang", "malam", "that")
"""Words after a weekday that make it a date ("Wednesday morning", "announced Wednesday that"); words
that are also common in another language ("sera": French "will be") are left out."""
_MONTHS: Final = ("january|february|march|april|may|june|july|august|september|october|november|december|"
                  "enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|octubre|noviembre|diciembre|"
                  "janvier|fevrier|mars|avril|mai|juin|juillet|aout|septembre|octobre|novembre|decembre|"
                  "gennaio|febbraio|aprile|maggio|giugno|luglio|settembre|ottobre|dicembre|januar|februar|"
                  "marz|juni|juli|oktober|dezember|janeiro|fevereiro|marco|maio|junho|julho|setembro|outubro|"
                  "novembro|dezembro|januari|februari|maret|mei|agustus|desember|"
                  "jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec")
_A_SEASON: Final = rf"\s(?:{seasons.WORD}|s\d|\d)(?![^\W_])"
"""A season or a number written next: what makes a name before it a title ("<title> season 2", "<title> 2")."""
_TITLE_NEXT: Final = rf"\s?'s|{_A_SEASON}"
"""What makes a weekday after "on" the show again ("news on Wednesday season 2", "on Wednesday's cast")."""
WHEN: Final = " zday "
"""A watch's weekday name used as a date: neither the show nor a word that names it."""


_LONG_WORD: Final = re.compile(r"[A-Za-z][A-Za-z'’]{3,}")
_NAME_AFTER_WORD: Final = re.compile(rf"\s?(?:'s|:)|{_A_SEASON}", re.IGNORECASE)
"""What makes a name the show's in any case ("Moving Season 2", "sweet home season 3", "Moving's")."""


_SEASON_WORDS: Final = "seasons?|series|saisons?|staffel|stagione|temporadas?|musim"
_SEASON_NUMBER: Final = re.compile(
    rf"(?<![^\W_])(?:(?:{_SEASON_WORDS})[\s-]?(?P<n>\d{{1,2}})(?![^\W_])"
    rf"|(?P<o>{seasons.ORDINAL})[\s-](?:{_SEASON_WORDS})(?![^\W_]))")
"""A season and its number ("season 3", "third season"), in lower-cased text, in the languages where a
run of capitals beside it was checked to be a title (en, es, pt, fr, de, it, id); not every season word
of `seasons.WORD`: in Vietnamese, say, a translated title is no run of capitals ("Cuoi cung cua Hoa Ky
Phan 2")."""
_SEASON_WORD: Final = re.compile(_SEASON_WORDS)
"""A season word of `_SEASON_NUMBER` anywhere (a search that skips to the letters it may start with)."""


def _season_numbers(lower: str) -> Iterator[re.Match[str]]:
    """The matches of `_SEASON_NUMBER` in lower-cased text, searched only from where one may start: an
    ordinal and a space before the first season word at the earliest (most of a text is not scanned)."""
    first = _SEASON_WORD.search(lower)
    if first is None:
        return iter(())
    return _SEASON_NUMBER.finditer(lower, max(0, first.start() - seasons.ORDINAL_CHARS - 1))


_OF: Final = re.compile(r"\s(?:of|de|di|da|do|du|von|dari|ng)\s")
_NOUN_OF: Final = re.compile(r"\s(?:official\s|first\s|new\s|final\s)?(?:trailer|teaser|release\sdate|premiere\sdate|"
                             r"first\slook|poster)\s(?:for|of)\s")
"""A season's news noun and "for" or "of" after it, as English writes them before the title whose season it
is ("the season 3 trailer for <title>", "season 3 release date of <title>")."""
_FOR: Final = re.compile(r"\s(?:for|pour|para|per|für)(?:\s(?:a|an|its|their|une|una|uma|eine))?\s*$", re.IGNORECASE)
"""What joins a title to the season ordered for it ("renews <title> for season 3", "for a third
season", "renueva <title> para una segunda temporada"), in any case ("Renewed For Season 3")."""
_CLAUSE_END: Final = re.compile(r"[.!?;,]\s")
"""What joins a season to the title written after it ("the third season of <title>", "la temporada 3
de <title>")."""
_QUOTED_SEASON: Final = re.compile(
    r"[\"'《〈](?P<t>[^\"'《》〈〉\n]{1,40})[\"'》〉]\s?"
    r"(?:(?:シーズン|시즌)\s?(?P<n>\d{1,2})(?!\d)|第\s?(?:(?P<k>\d{1,2})|(?P<w>[一二三四五六七八九十]))\s?(?:シーズン|期|季))")
"""A quoted title followed by a Korean, Japanese or Chinese season ("「<title>」シーズン2", "'<title>' 시즌2",
as `text.fold` writes their marks): the press there quotes every title, so the season is that title's.
Brackets hold labels ("【速報】", "[단독]"), not titles."""
_CJK_SUBTITLE: Final = re.compile(r"\s*[:：]\s*(?:더\s|ザ[・･·\s])")
"""A subtitle that opens with the article of a Korean or Japanese title ("<title>: 더 챌린지", "<title>:
ザ・チャレンジ"): inside the quotes of a title, another title built on the watch's, as a Latin one with
"The" is."""
_BOOK_SUBTITLE: Final = re.compile(r"\s*[:：]\s*")
"""A subtitle inside Chinese title marks ("《<title>：真人挑战赛》第三季"): Chinese has no article, so only
its words tell another work (`_a_work`); the season's own subtitle ("最终季", "完结篇", "危险游戏") does not."""
_ORDINAL: Final = re.compile(seasons.ORDINAL)
"""An ordinal word ("最終", "마지막", "final"): quoted alone, it stresses the season, it is no title."""
_WORD_SPAN: Final = re.compile(r"\S+")
_LINKS: Final = frozenset(("in", "on", "at", "to", "for", "from", "with"))
"""Small words that, right after the watch's name in a run of capitals, start another title ("from <title>
to <other title> season 3"); a title's own small words are inside its name ("Alice in Borderland")."""
_SMALL_WORDS: Final = _LINKS | {"of", "the", "and", "a", "an", "de", "la", "le", "del", "des", "di", "du"}
"""Words in lower case that a run of capitals may hold and still be one title ("Alice in Borderland")."""


_QUOTES: Final = "'\"‘’“”«»「」『』()[]"
_QUOTED_THE: Final = re.compile(r"[\"'‘“«]The\s+(?P<name>[^\"'’”»]+)[\"'’”»]$")
"""Quotes that hold "The" and a name, at the end of a text ("dates 'The <title>'")."""


def _owner(text: str, *, may_open: bool = False) -> str:
    """The title a season written next belongs to: the run of capitalised words (with the small words
    titles hold, and quotes) that ends a text, written in the middle of a sentence (after a word in
    lower case). "" when there is none, or it may be no title: it opens a
    sentence or a clause ("Per HBO, season 2", "Bella Ramsey season 2", "Confirmed: season 2"), a
    comma or a sentence end stands before the season, or it is a possessive ("Pedro Pascal's season
    2"). A colon ends the run: "<title>: <subtitle>" gives the subtitle. `may_open`: a run that opens
    the text or a clause after a comma is a title too (the subject of "renewed": no person is renewed)."""
    spans = _WORD_SPAN.findall(text)
    if spans and spans[-1] in (":", "-", "–"):
        spans.pop()
    run: list[str] = []
    before = ""
    for word in reversed(spans):
        bare = word.strip(_QUOTES).rstrip(":")
        if not bare or word[-1] in ".!?,;" or (run and word.rstrip(_QUOTES)[-1:] == ":"):
            before = word
            break
        if bare[0].isupper() or bare[0].isdigit() or (run and bare in _SMALL_WORDS):
            run.append(bare)
        else:
            before = word
            break
    while run and run[-1] in _SMALL_WORDS:
        before = run.pop()
    if not run or run[0].lower().endswith("'s"):
        return ""
    if may_open and (not before or before[-1] == ","):
        return " ".join(reversed(run))  # "<title> renewed", "After <title>, <another title> renewed"
    if not before[:1].islower() or before[-1] in ".!?,;:":
        return ""
    return " ".join(reversed(run))


def _renewed(text: str, named: Callable[[str], bool]) -> str | None:
    """The text before a renewal verb it ends with, and the cue words beside it ("<title> renewed",
    "<title> officially renewed"), or None if it ends with none. Where the text before a word ends with
    one of the watch's names (`named`), that word is the title's ("Squid Game renewed": "Game" is no
    cue there)."""
    words = text.split()
    k = len(words)
    while k and _tells(words[k - 1]) and not named(" ".join(words[:k])):
        k -= 1
    if k in (0, len(words)) or "renew" not in _families(" ".join(words[k:])):
        return None
    return " ".join(words[:k])


_BACK: Final = frozenset(("renew", "return"))
"""The families of a verb that orders a season or brings it back for its subject ("is coming back for",
"returns for")."""


def _brought_back(text: str, joint: str) -> str:
    """The text before the words in lower case that end it when they hold a verb that brings a season
    back ("<title>: The Challenge is coming back", "... will return"; `joint` is the word after the
    text: "returns for"), else "". People come back too ("<actor> is coming back for season 3"): the
    subject is only read for a subtitle."""
    words = text.split()
    k = len(words)
    while k and words[k - 1][:1].islower():
        k -= 1
    if k in (0, len(words)) or _BACK.isdisjoint(_families(" ".join(words[k:]) + joint)):
        return ""
    return " ".join(words[:k])


def _ordered(text: str) -> str:
    """The title a text ends with when a renewal verb stands before it ("Netflix renews <title>", before
    "for season 3"); "" otherwise: "casts <actor> for season 3" names a person, and so may "joins <X>
    for season 3" (a co-star or a show)."""
    title = _owner(text)
    if not title:
        return ""
    before = " ".join(text.split()[:-len(title.split())][-2:])
    return title if "renew" in _families(before) else ""


def _owner_after(text: str) -> str:
    """The title a text starts with, after a season and "of" ("season 3 of <title>"): its run of
    capitalised words (with the small words titles hold), up to a word in lower case or a mark that
    ends a clause; "" when there is none or it is a possessive ("season 3 of Netflix's hit")."""
    run: list[str] = []
    for word in text.split():
        bare = word.strip(_QUOTES).rstrip(".!?,;:")
        if bare and (bare[0].isupper() or bare[0].isdigit() or ((run or bare == "the") and bare in _SMALL_WORDS)):
            run.append(bare)
        else:
            break
        if word.rstrip(_QUOTES)[-1:] in (".", "!", "?", ",", ";", ":"):
            break
    while run and run[-1] in _SMALL_WORDS:
        run.pop()
    if not run or run[-1].lower().endswith("'s"):
        return ""
    return " ".join(run)


_SUBTITLE_MARK: Final = re.compile(r"\s*:\s+|\s+[-–|]\s+")
_TRAILING_MARKS: Final = re.compile(r"[\s:\-–|]+$")
_MARK_BEFORE: Final = re.compile(r"\s[:\-–|]\s*$|:\s*$")
_ARTICLES_CAPITAL: Final = frozenset(("The", "A", "An", "La", "El", "Le", "Les", "Los", "Las", "Die", "Der", "Das",
                                      "Il", "Lo"))
"""Articles as a title opens with them: what tells a spin-off's subtitle ("<title>: The Challenge")."""
_MAX_SUBTITLE: Final = 4


def _split_subtitle(window: str) -> tuple[str, str, str]:
    """A text cut at its last colon, spaced dash or bar, marks at its end aside: before, the mark, after
    ("", "", text without one)."""
    window = _TRAILING_MARKS.sub("", window) + " "  # "<title>: The Challenge – Season 3": the mark before it
    marks = list(_SUBTITLE_MARK.finditer(window))
    if not marks:
        return "", "", window
    last = marks[-1]
    return window[:last.start()], last.group(0), window[last.end():].strip()


def _families(words: str) -> set[str]:
    """The cue families words hold."""
    return {fam for _, fam in cues.load().find(tokens(normalise(words)))}


_OTHER_WORKS: Final = frozenset(("spinoff", "offshoot", "medium", "game", "film"))
"""Families of the words that name another work ("musical", "the movie", "video game", "手游")."""
_ARTICLE_WORDS: Final = frozenset(a.lower() for a in _ARTICLES_CAPITAL)
_WORK_NOUNS: Final = frozenset(("series", "serie", "show"))
"""Nouns a work's words may come with ("The Animated Series"); not a label such as "Final" ("The Final
Game" is a season's title)."""


def _a_work(words: str) -> bool:
    """Whether words, an article aside, name another work and nothing else: a work's phrase ("The Video
    Game", whose "video" is a trailer word too; "真人挑战赛", "手游"), or a work's words and "series" or
    "show" ("Das Musical", "The Animated Series"). Not a title that only holds such a word ("The Long
    Game", "The Final Game", "危险游戏", a dangerous game): a season's own subtitle may."""
    table = cues.load()
    toks = tokens(normalise(words))
    if toks and toks[0] in _ARTICLE_WORDS:
        toks = toks[1:]
    if not toks:
        return False
    if not _OTHER_WORKS.isdisjoint(table.words.get(" ".join(toks)) or table.chars.get("".join(toks)) or ()):
        return True
    works = [not _OTHER_WORKS.isdisjoint(table.words.get(tok, ())) for tok in toks]
    return any(works) and all(work or tok in _WORK_NOUNS for work, tok in zip(works, toks, strict=True))


def _tells(words: str) -> bool:
    """Whether words hold a cue of news or doubt (a verb, "trailer", "review"): a clause, not a title."""
    return bool(_families(words))


_NOT_TITLES: Final = frozenset((
    "new", "final", "first", "second", "third", "next", "last", "official", "upcoming", "full", "exclusive",
    "watch", "trailer", "teaser", "review", "recap", "breaking", "netflix", "hbo", "max", "disney+", "prime",
    "video", "apple", "tv+", "the", "a", "an", "la", "le", "les", "el", "los", "las", "die", "der", "das", "il",
    "lo", "o", "os", "as", "korean", "k-drama", "kdrama", "anime", "its", "their", "this", "that", "korea",
    "japan", "us", "uk", "usa", "hulu", "amazon", "peacock", "paramount+", "crunchyroll", "tvn", "jtbc", "sbs",
    "kbs", "mbc", "tving", "wavve", "coupang", "play", "streaming", "live", "action", "live-action", "series",
    "show", "drama", "saga", "franchise", "original", "originals", "japanese", "chinese", "spanish", "british",
    "american", "thai", "turkish", "indian", "german", "french", "italian", "hit", "sci-fi", "horror", "fantasy",
    "thriller", "comedy", "zombie", "animated", "adaptation", "webtoon", "manga", "j-drama", "c-drama", "chapter",
    "finale", "countdown", "road", "update", "part", "volume", "vol"))
"""Capitalised words before a season that are no title ("New season 2", "La saison 2", "Netflix Korea
season 2", "<title> Live Action season 2")."""


def _a_title(words: str) -> bool:
    """Whether a run of capitalised words may be a title: one of them is no label ("New", "Netflix")."""
    return any(w[0].isupper() and normalise(w) not in _NOT_TITLES for w in words.split())


def is_title_case(text: str) -> bool:
    """Whether a text capitalises nearly every word (a Title Case headline: capitals tell nothing)."""
    words = _LONG_WORD.findall(text)
    return len(words) >= 3 and sum(w[0].isupper() for w in words) >= 0.8 * len(words)


_ENDS: Final = re.compile(r"^[\W_]+|[\W_]+$")


def _words(names: tuple[str, ...]) -> re.Pattern[str] | None:
    """The names a watch writes with capitals in Latin letters ("You", "Moving", "Élite"), in lower case
    (matched in lower-cased text; the first letter comes before the boundary test, so that the search
    skips to where it stands): in text that has capitals, such a name in lower case is an ordinary
    word; unless the watch also lists it in lower case (a title the press writes so: "black-ish")."""
    folded = [_ENDS.sub("", " ".join(fold(n).split())) for n in names]  # "You!" is written "you"
    lower = {f for f in folded if f == f.lower()}
    cased = {f.lower() for f in folded if f.isascii() and f.strip() and f != f.lower()}
    cased |= {re.sub(r"\s*&\s*", " and ", f) for f in cased if "&" in f}  # "Blood & Water" as "blood and water"
    forms = sorted(cased - lower, key=len, reverse=True)
    if not forms:
        return None
    starts = "|".join(f"{re.escape(f[0])}(?<![A-Za-z0-9].){re.escape(f[1:])}" for f in forms)
    return re.compile(f"(?:{starts})(?![A-Za-z0-9])")


_BEFORE_DAY: Final = re.compile(r"(?<![^\W_])(?:" + "|".join(map(re.escape, _WHEN_BEFORE)) + r") $")
_AFTER_DAY: Final = re.compile(rf",?\s(?:(?:{'|'.join(_WHEN_AFTER)})(?![^\W_])|\d{{1,2}}(?:st|nd|rd|th|\.)?\s"
                               rf"(?:{_MONTHS})(?![^\W_])|(?:{_MONTHS})\.?\s\d|at\s\d)")
_NAME_AFTER_DAY: Final = re.compile(_TITLE_NEXT)


def _dates(names: tuple[str, ...]) -> re.Pattern[str] | None:
    """A watch's weekday names (if it has any), to be told apart from dates by `_when`."""
    days = sorted({normalise(n) for n in names} & _WEEKDAYS)
    if not days:
        return None
    return re.compile(r"(?<![^\W_])(?:" + "|".join(re.escape(d) for d in days) + r")(?![^\W_])")


def _when(m: re.Match[str]) -> str:
    """A weekday name as a date (` zday `): after "on", "this", "next"... unless a season or "'s"
    follows ("news on Wednesday season 2"), or before a time of day or a day of a month."""
    text, start, end = m.string, m.start(), m.end()
    if _AFTER_DAY.match(text, end) or (_BEFORE_DAY.search(text[max(0, start - 12):start])
                                       and not _NAME_AFTER_DAY.match(text, end)):
        return WHEN
    return m.group(0)


def _alternation(names: tuple[str, ...], before_a_season: tuple[str, ...] = ()) -> re.Pattern[str] | None:
    patterns = [name_pattern(n) for n in sorted(names, key=len, reverse=True) if has_word(n)]
    patterns += [name_pattern(n) + f"(?={_A_SEASON})" for n in before_a_season]
    return re.compile("|".join(f"(?:{p})" for p in patterns)) if patterns else None


@dataclass(frozen=True, slots=True)
class Names:
    """The compiled names of one watch: what to mask as the show and what as a look-alike."""

    watch: Watch
    show: re.Pattern[str] | None
    exclude: re.Pattern[str] | None
    dates: re.Pattern[str] | None = None
    words: re.Pattern[str] | None = None

    @classmethod
    def of(cls, watch: Watch) -> Names:
        """Compile a watch's names (a few patterns per watch: cheap to build)."""
        return cls(watch, _alternation(spellings(watch), _before_season(watch)), _alternation(watch.exclude),
                   _dates(watch.names), _words(watch.names))

    def only_as_words(self, raw: tuple[str, ...], text: tuple[str, ...]) -> bool:
        """Whether an item names the watch only by a name it writes with capitals, written here in lower
        case in text that has capitals ("is moving to December", "will leave you breathless"): an
        ordinary word, not the title. `raw` are the parts of the item that detection reads, folded
        as written (`text.fold`: capitals kept); `text` the same, normalised."""
        if self.words is None or self.show is None:
            return False
        seen = False
        for part in raw:
            if "://" in part or "www." in part:
                part = URL.sub(" ", part)  # an address in lower case says nothing
            lower = part.lower()
            if len(lower) != len(part):
                return False  # a letter whose lower case is longer: positions would not match
            cased = part != lower
            title_case: bool | None = None  # read once: a part may hold the name many times
            for m in self.words.finditer(lower):  # a plain pattern on lower case: found in one quick pass
                if _NAME_AFTER_WORD.match(part, m.end()):
                    return False  # before a season ("sweet home season 3"), a name is the title in any case
                if cased and part[m.start():m.end()].islower():
                    seen = True
                    continue
                if title_case is None:
                    title_case = cased and is_title_case(part)
                if not title_case:
                    return False  # written as a title, or in a text without capitals
        if not seen:
            return False
        found = sum(len(self.show.findall(t)) for t in text)
        return 0 < found <= sum(len(self.words.findall(t)) for t in text)  # no other spelling names it

    def seasons_of_others(self, raw: tuple[str, ...], text: tuple[str, ...]) -> bool:
        """Whether every mention of the watched season in an item belongs to another title written
        just before it or after it ("season 2 of <title>"), in a headline or summary written in sentence
        case ("Fans of <watch> wait as the streamer drops the Sweet Home season 2 trailer"): the item has
        no news of this season of the watch. A title that opens a sentence is no telling from a person
        ("Bella Ramsey season 2"): the season stays the watch's. `raw` and `text` as for `only_as_words`."""
        if self.show is None:
            return False
        others = 0
        for part in raw:
            for quoted in _QUOTED_SEASON.finditer(part) if not part.isascii() else ():
                digits = quoted["n"] or quoted["k"]
                value = int(digits) if digits else seasons.cardinal_value(quoted["w"])  # "第3季", "第三季"
                if (value != self.watch.season or _ORDINAL.fullmatch(normalise(quoted["t"]))
                        or part[:quoted.start()].endswith(('"', "'", "》", "〉"))):
                    continue  # a word stressed, not a title: "「<title>」“最終”シーズン5"
                if self.show.search(normalise(quoted["t"])):
                    if self._built_on_name(quoted["t"], book=part[quoted.start()] == "《"):
                        others += 1  # "「<title>: ザ・チャレンジ」シーズン2", "《<title>：真人挑战赛》第二季"
                        continue
                    return False  # "「<title>」シーズン2": the watch's own
                others += 1  # "「<another title>」シーズン2", the watch named elsewhere
            lower = part.lower()
            if len(lower) != len(part):
                continue  # a letter whose lower case is longer: positions would not match
            title_case: bool | None = None
            for number in _season_numbers(lower):
                value = int(number["n"]) if number["n"] else seasons.ordinal_value(number["o"])
                if value != self.watch.season:
                    continue
                window = part[max(0, number.start() - 120):number.start()]
                if self._ends_with_name(window):
                    if self._article_added(window, part):
                        others += 1  # "Prime Video reveals The <title> season 2": another title's
                        continue
                    return False  # "<title> season 2", whatever the run of capitals ("Emily in Paris")
                if title_case is None:
                    title_case = is_title_case(part)
                if self._subtitle(window, title_case):
                    others += 1  # "<title>: The Challenge season 2": a spin-off's season
                    continue
                title = _owner(window)
                if title and " " not in title and _tells(title):
                    title = ""  # a capitalised word of news ("ARD zeigt Starttermin Staffel 2": German nouns)
                if not _a_title(title) and (ordered := _FOR.search(window)) is not None:
                    if self._ends_with_name(window[:ordered.start()]):
                        return False  # "renews <title> for season 2"
                    if (subject := _renewed(window[:ordered.start()], self._ends_with_name)) is not None:
                        if self._ends_with_name(subject):
                            return False  # "<title> officially renewed for season 2"
                        if self._subtitle(subject, False):  # the verb ends the title, whatever the capitals
                            others += 1  # "<title>: The Challenge renewed for season 2": the spin-off's
                            continue
                        title = _owner(subject, may_open=True)  # "<another title> renewed for season 2"
                    elif self._subtitle(window[:ordered.start()], False) or self._subtitle(
                            _brought_back(window[:ordered.start()], " " + ordered.group(0).split()[0]), False):
                        others += 1  # "renews <title>: The Challenge for", "<title>: The Challenge returns for"
                        continue
                    else:
                        title = _ordered(window[:ordered.start()])  # "renews <another title> for season 2"
                if not _a_title(title) and (
                        of := _OF.match(lower, number.end()) or _NOUN_OF.match(lower, number.end())) is not None:
                    after = part[of.end():of.end() + 120]
                    clause = _CLAUSE_END.split(after, maxsplit=1)[0]
                    named = self.show.search(normalise(after))
                    if named is not None and named.start() <= len(normalise(clause)):
                        if self._subtitled(after, named.end()):
                            others += 1  # "season 2 of <title>: The Challenge": the spin-off's
                            continue
                        return False  # "season 2 of <modifiers> <title>" ("of the prequel <title>", "of Dr. <title>")
                    title = _owner_after(clause)
                    if _a_title(title) and not title.split()[0].lower().endswith(("'s", "’s")):
                        others += 1  # "season 2 of <another title>", in Title Case too: "of" tells whose
                        continue
                if not _a_title(title):
                    continue  # no title beside this mention ("the new season 2", "Netflix season 2")
                if title_case:
                    break  # capitals on every word: no telling where a title starts
                if (named := self.show.search(normalise(title))) is not None:
                    rest = normalise(title)[named.end():].split()
                    if rest and rest[0] in _LINKS and _a_title(" ".join(w.capitalize() for w in rest[1:])):
                        others += 1  # "from <title> to <other title> season 2": the other's
                        continue
                    return False  # the watch's own season ("<title> (2022) season 2", "<title> K-drama season 2")
                others += 1
        if not others:
            return False
        return sum(self._season_mentions(t) for t in text) <= others

    def _built_on_name(self, title: str, *, book: bool) -> bool:
        """Whether a quoted Korean, Japanese or Chinese title is another title built on one of the watch's
        names: a subtitle after a colon that opens with "더" or "ザ" ("the": "<title>: 더 챌린지"), or, in
        Chinese title marks (`book`), one that names another work ("<title>：真人挑战赛"). Not when the
        whole title is one of the watch's names ("<title>：<its own subtitle>" listed in `aliases`)."""
        sub = _CJK_SUBTITLE.search(title)
        if sub is None and book:
            sub = _BOOK_SUBTITLE.search(title)
            if sub is not None and not _a_work(title[sub.end():]):
                return False  # the season's own subtitle ("<title>：完结篇")
        return (sub is not None and self._ends_with_name(title[:sub.start()]) and self.show is not None
                and self.show.fullmatch(normalise(title).strip()) is None)

    def _article_added(self, window: str, part: str) -> bool:
        """Whether a text as written (a `window` of `part`) ends with "The <name>", for a watch none of
        whose names starts with "the": "The <title>" is then another title. In quotes that hold the
        article ("Prime Video dates 'The <title>' season 2", "'The <title>' season 2 gets a date"), or in
        the middle of a sentence after a word in lower case, in a text not in Title Case ("Prime Video
        dates The <title> season 2"). Opening a headline or a sentence, "The" is as often the article of
        what follows ("The <title> season 2 trailer is here"): no telling; nor in Title Case, where every
        word has capitals, nor before quotes that hold the name alone ("The '<title>' season 2 trailer")."""
        text = window.rstrip()
        if self.show is None or any(normalise(n).startswith("the ") for n in self.watch.names):
            return False
        quoted = _QUOTED_THE.search(text)
        if quoted is not None and self.show.fullmatch(normalise(quoted["name"]).strip()) is not None:
            return True
        at = text.rfind(" The ")
        before = text[:at].split() if at >= 0 else []
        if not before or not before[-1][:1].islower() or before[-1][-1] in ".!?:;" or is_title_case(part):
            return False  # "It's official. The <title> season 2": a sentence opens, no telling
        return self.show.fullmatch(normalise(text[at + 5:]).strip(_QUOTES + " ")) is not None

    def _subtitle(self, window: str, title_case: bool) -> bool:
        """Whether a text as written ends with "<one of the watch's names>: <subtitle>" ("Squid Game: The
        Challenge", before "season 2"): a title built on the watch's, opened by an article, its other
        words capitalised, no label ("Official", "Final Chapter") and no cue of news, unless it names
        another work ("<title>: The Musical", "<title>: The Video Game"). Capitalised words without an
        article are as often a character or an actor ("<title>: Front Man Season 3 First Look"): those
        stay the watch's (`exclude:` lists a known spin-off). In a Title Case headline every word has
        capitals ("<title>: The Epic Season 2 Trailer"): there a subtitle needs a mark before the season
        too ("<title>: The Challenge – Season 2")."""
        if title_case and not _MARK_BEFORE.search(window):
            return False
        head, mark, sub = _split_subtitle(window)
        if not mark or not self._ends_with_name(head) or self._ends_with_name(head + mark + sub):
            return False  # no subtitle, or one of the watch's own names has it ("<title>: The Animated Series")
        words = sub.split()
        if not 1 <= len(words) <= _MAX_SUBTITLE or any(w[-1] in ".!?,;:" for w in words):
            return False
        bare = [w.strip(_QUOTES) for w in words]
        if bare[0] not in _ARTICLES_CAPITAL or len(bare) < 2:
            return False  # "<title>: Front Man season 3", "<title>: Gi-hun season 3": a character, a person
        if not all(b[:1].isupper() or b in _SMALL_WORDS for b in bare) or bare[-1].lower() in _SMALL_WORDS:
            return False  # "<title>: The Second Half of Season 2" is the season's
        if any(b.lower().endswith(("'s", "s'")) for b in bare):
            return False  # a possessive: "<title>: The Captain's season 2" is the watch's
        families = _families(sub)
        return (_a_title(" ".join(bare[1:])) and not families) or _a_work(sub)

    def _subtitled(self, text: str, end: int) -> bool:
        """Whether the watch's name that ends at `end` of a text as written (found in its normal form) is
        followed by a subtitle ("<title>: The Challenge confirmed"): `_subtitle` of the name and the
        title that starts after its mark, up to a word that tells ("The Challenge Confirmed")."""
        if len(normalise(text)) != len(text):
            return False  # positions of the normal form would not match
        mark = _SUBTITLE_MARK.match(text, end)
        if mark is None:
            return False
        words = text[mark.end():].split()
        told = next((k for k, word in enumerate(words) if _tells(word)), len(words))
        sub = _owner_after(" ".join(words[:told]))
        return bool(sub) and self._subtitle(text[:mark.end()] + sub, False)

    def _ends_with_name(self, text: str) -> bool:
        """Whether a text as written ends with one of the watch's names (before a season written next)."""
        norm = normalise(text).rstrip(_QUOTES + " ")
        return self.show is not None and any(m.end() == len(norm) for m in self.show.finditer(norm))

    def _season_mentions(self, text: str) -> int:
        """How often a normalised text names the watched season, "<title> 2" included."""
        masked = seasons.mask(self.mask(text), self.watch.season)
        bare = re.findall(rf"zshow\s*{self.watch.season}(?![^\W_])", masked)
        return masked.count(seasons.TARGET.strip()) + len(bare)

    def _when(self, m: re.Match[str]) -> str:
        """A weekday name as a date, unless a longer name of the watch starts with it ("Wednesday Addams")."""
        longer = self.show.match(m.string, m.start()) if self.show is not None else None
        return m.group(0) if longer is not None and longer.end() > m.end() else _when(m)

    def _exclude(self, text: str) -> str:
        """Look-alikes masked, unless one is part of a longer name of the watch's own ("<title>: Korea"
        for a watch that excludes "<title>"): the watch's names are found once per text."""
        own: list[tuple[int, int]] | None = None

        def excluded(m: re.Match[str]) -> str:
            nonlocal own
            if own is None:
                own = [o.span() for o in self.show.finditer(text)] if self.show is not None else []
            start, end = m.span()
            longer = any(a <= start and end <= b and b - a > end - start for a, b in own)
            return m.group(0) if longer else EXCLUDED

        return self.exclude.sub(excluded, text) if self.exclude is not None else text

    def mask(self, text: str) -> str:
        """Normalised text with look-alikes, weekday names used as dates, then the watch's names,
        replaced by placeholders."""
        text = self._exclude(text)
        if self.dates is not None:
            text = self.dates.sub(self._when, text)
        if self.show is None:
            return text
        return self.show.sub(SHOW, text)


def name_key(name: str) -> str:
    """A fragment every spelling of a name contains: its longest word, or the longest part of it around
    a "ß" (written "ss" too); two characters for CJK."""
    norm = normalise(name)
    if has_cjk(norm):
        chunks: list[str] = re.split(rf"[\s{re.escape(_CJK_MARKS)}]+", norm)
        return max(chunks, key=len)[:2]
    words: list[str] = re.findall(r"[^\W_]+", norm) or [norm]
    return max(max(words, key=len).split("ß"), key=len)


class NameIndex:
    """Which watches a text may name, found by plain substring tests (a regular expression per watch
    with dozens of names would cost more than the rest of detection)."""

    def __init__(self, watches: Sequence[Watch]) -> None:
        keys: dict[str, set[int]] = {}
        for i, watch in enumerate(watches):
            for name in (*spellings(watch), *_before_season(watch)):
                if has_word(name):
                    keys.setdefault(name_key(name), set()).add(i)
        self._keys = tuple((k, frozenset(v)) for k, v in sorted(keys.items()))

    def candidates(self, text: str) -> set[int]:
        """Indices of the watches whose names a normalised text may hold."""
        found: set[int] = set()
        for key, owners in self._keys:
            if key in text:
                found |= owners
        return found
