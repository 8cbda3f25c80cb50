"""Seasons in every form the press writes them, masked as the target season or another season.

"season 2", "S2", "2nd season", "second season", "시즌2", "두 번째 시즌", "シーズン2", "第2期",
"temporada 2", "2a temporada", "segunda temporada", "<title> T2", "saison 2", "2e saison", "Staffel 2", "2. Staffel",
"stagione 2", "seconda stagione", "musim 2", "musim kedua", "sezon 2", "第二季", "season III", "3기", up to the
tenth season in words ("an eighth season", "séptima temporada", "siebte Staffel", "第七季")... all become
` ztseason ` (the watched season) or ` zoseason ` (any other); two seasons ordered at once ("seasons 5
and 6", "fifth and sixth seasons", "quinta y sexta temporada") are the watched season if it is either;
"part 2" becomes ` zpart ` and a year
` zyear `, so that nothing fitted depends on a number. Text is normalised (see `text.normalise`).
"""

from __future__ import annotations

import re
from typing import Final

from bot.detect.text import normalise, strip_accents, trie_pattern

TARGET: Final = " ztseason "
OTHER: Final = " zoseason "
PART: Final = " zpart "
YEAR: Final = " zyear "

_GERMAN_ORDINALS: Final[dict[str, int]] = {
    **dict.fromkeys(("erste", "ersten", "erster"), 1), **dict.fromkeys(("zweite", "zweiten", "zweiter"), 2),
    **dict.fromkeys(("dritte", "dritten", "dritter"), 3), **dict.fromkeys(("vierte", "vierten", "vierter"), 4),
    **dict.fromkeys(("fünfte", "fünften", "fünfter"), 5), **dict.fromkeys(("sechste", "sechsten", "sechster"), 6),
    **dict.fromkeys(("siebte", "siebten", "siebter"), 7), **dict.fromkeys(("achte", "achten"), 8),
    **dict.fromkeys(("neunte", "neunten", "neunter"), 9), **dict.fromkeys(("zehnte", "zehnten", "zehnter"), 10),
    **dict.fromkeys(("letzte", "letzten"), 0),
}
"""German ordinals, written before the season word only ("achte Staffel"): after it the same letters are
other words ("worauf man bei der Staffel achten sollte", "die Staffel erste Bilder")."""
# Written with their accents: the keys are normalised as the text is ("deuxième" reads "deuxieme").
_ORDINALS_RAW: Final[dict[str, int]] = {
    **dict.fromkeys(("first", "1st", "primera", "primer", "primeira", "première", "premier", "prima", "primo",
                     "pertama", "eerste", "pierwszy", "pierwszego", "první", "primul", "ensimmäinen", "첫"), 1),
    **dict.fromkeys(("second", "2nd", "segunda", "segundo", "deuxième", "seconde", "seconda", "secondo", "kedua",
                     "tweede", "drugi", "drugiego", "druhá", "druhou", "druhé", "doi", "al doilea", "toinen",
                     "toisen", "두", "ikinci", "второй", "второго", "δεύτερη", "δεύτερης", "δεύτερος", "δεύτερο",
                     "الثاني", "الثانى", "دوم", "दूसरे", "दूसरा", "दूसरी"), 2),
    **dict.fromkeys(("third", "3rd", "tercera", "tercer", "terceira", "troisième", "terza", "terzo", "ketiga",
                     "derde", "trzeci", "trzeciego", "třetí", "trei", "kolmas", "kolmannen", "세", "üçüncü",
                     "третий", "третьего", "الثالث", "سوم", "तीसरे", "तीसरा"), 3),
    **dict.fromkeys(("fourth", "4th", "cuarta", "cuarto", "quarta", "quarto", "quatrième", "keempat", "vierde",
                     "czwarty", "czwartego", "čtvrtá", "al patrulea", "neljäs", "neljännen", "네", "dördüncü",
                     "четвёртый", "четвёртого", "τέταρτη", "τέταρτης", "الرابع", "چهارم", "चौथे", "चौथा"), 4),
    **dict.fromkeys(("fifth", "5th", "quinta", "cinquième", "quinto", "kelima", "vijfde", "piąty", "piątego",
                     "pátá", "cinci", "al cincilea", "viides", "viidennen", "다섯", "beşinci", "пятый", "пятого",
                     "πέμπτη", "πέμπτης", "الخامس", "پنجم", "पांचवें", "पाँचवें"), 5),
    **dict.fromkeys(("sixth", "6th", "sexta", "sexto", "sixième", "sesta", "sesto", "keenam", "zesde", "szósty",
                     "szóstego", "šestá", "al șaselea", "kuudes", "kuudennen", "여섯", "altıncı", "шестой",
                     "шестого", "έκτη", "έκτης", "السادس", "ششم", "छठे", "छठा"), 6),
    **dict.fromkeys(("seventh", "7th", "séptima", "séptimo", "sétima", "sétimo", "septième", "settima", "settimo",
                     "ketujuh", "zevende", "siódmy", "siódmego", "sedmá", "al șaptelea", "seitsemäs",
                     "seitsemännen", "일곱", "yedinci", "седьмой", "седьмого", "έβδομη", "έβδομης", "السابع",
                     "هفتم", "सातवें", "सातवां"), 7),
    **dict.fromkeys(("eighth", "8th", "octava", "octavo", "oitava", "oitavo", "huitième", "ottava", "ottavo",
                     "kedelapan", "achtste", "ósmy", "ósmego", "osmá", "al optulea", "kahdeksas", "kahdeksannen",
                     "여덟", "sekizinci", "восьмой", "восьмого", "όγδοη", "όγδοης", "الثامن", "هشتم", "आठवें",
                     "आठवां"), 8),
    **dict.fromkeys(("ninth", "9th", "novena", "noveno", "nona", "nono", "neuvième", "kesembilan", "negende",
                     "dziewiąty", "dziewiątego", "devátá", "al nouălea", "yhdeksäs", "yhdeksännen", "아홉",
                     "dokuzuncu", "девятый", "девятого", "ένατη", "ένατης", "التاسع", "نهم", "नौवें", "नौवां"), 9),
    **dict.fromkeys(("tenth", "10th", "décima", "décimo", "dixième", "decima", "decimo", "kesepuluh", "dziesiąty",
                     "dziesiątego", "al zecelea", "kymmenes", "kymmenennen", "onuncu", "десятый", "десятого",
                     "δέκατη", "δέκατης", "العاشر", "دهم", "दसवें", "दसवां"), 10),
    **dict.fromkeys(("final", "last", "última", "dernière", "terakhir", "마지막", "最終"), 0),
    **dict.fromkeys(("ikalawang", "ikalawa"), 2), **dict.fromkeys(("ikatlong", "ikatlo"), 3),  # Tagalog
    **dict.fromkeys(("ikaapat na",), 4), **dict.fromkeys(("ikalimang",), 5),
    **_GERMAN_ORDINALS,
}
_CARDINALS_RAW: Final[dict[str, int]] = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "uno": 1, "dos": 2, "tres": 3,
    "cuatro": 4, "cinco": 5, "um": 1, "dois": 2, "três": 3, "un": 1, "deux": 2, "trois": 3, "quatre": 4,
    "cinq": 5, "eins": 1, "zwei": 2, "drei": 3, "vier": 4, "fünf": 5, "due": 2, "satu": 1, "dua": 2, "tiga": 3,
    "empat": 4, "lima": 5, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "seis": 6, "siete": 7, "ocho": 8, "nueve": 9, "diez": 10, "quatro": 4, "sete": 7, "oito": 8, "nove": 9,
    "huit": 8, "dix": 10, "sechs": 6, "sieben": 7, "acht": 8, "neun": 9, "zehn": 10, "tre": 3,
    "quattro": 4, "cinque": 5, "sette": 7, "otto": 8, "dieci": 10, "enam": 6, "tujuh": 7, "delapan": 8,
    "sembilan": 9, "sepuluh": 10, "七": 7, "八": 8, "九": 9, "十": 10,
}
_WORDS: Final = ("seasons|season|temporadas|temporada|saisons|saison|staffel|stagione|musim|sezonul|sezonu|"
                 "sezona|sezon|seizoen|sæson|sesong|säsong|kausi|kauden|series|řada|radu|mùa|phần|σεζόν|сезона|сезон|"
                 "الموسم|موسم|ซีซั่น|ซีซัน|सीज़न|सीजन")


_WORD_FORMS: Final = tuple(dict.fromkeys(
    form for word in _WORDS.split("|") for form in (normalise(word), strip_accents(normalise(word)))))
WORD: Final = trie_pattern(_WORD_FORMS)
"""Season words in normal form, as a regular expression (names.py also reads a season after a title
with it). Text is normalised before it is masked, so accents on Latin letters are
gone ("mua"). Accents on other letters go only in a text that also holds an accented Latin letter
(`normalise`), so such a word is in both forms: "σεζόν" in a Greek headline, "σεζον" beside "café"."""
_ORDINALS: Final = {form: v for k, v in _ORDINALS_RAW.items()
                     for form in (normalise(k), strip_accents(normalise(k)))}
_CARDINALS: Final = {normalise(k): v for k, v in _CARDINALS_RAW.items()}
_CJK_WORD: Final = "시즌|シーズン|シリーズ"
_FASL: Final = "فصل"
"""Persian "season", also Arabic "chapter" or "dismissal": a season only before a Persian ordinal."""
_ORD: Final = trie_pattern(_ORDINALS)
_ORD_AFTER: Final = trie_pattern(_ORDINALS.keys() - {normalise(k) for k in _GERMAN_ORDINALS})
"""Ordinals that may follow a season word ("musim kedua", "sezonul al doilea", "الموسم الثاني"): all but
the German ones."""
_CARD: Final = trie_pattern(_CARDINALS)
_ROMAN: Final = {"ii": 2, "iii": 3, "iv": 4, "v": 5, "vi": 6, "vii": 7, "viii": 8, "ix": 9}
"""Roman numerals after a season word ("season III"); not after a bare title, where they number games
and films ("<title> II")."""
_ROMAN_PATTERN: Final = trie_pattern(_ROMAN)
_AND: Final = "and|e|et|y|und|i|ed|dan|ve"
_FINAL: Final = "final|last|ultima|derniere|letzte|ultimate|terakhir|son"
"""Words of "the fifth and final season": the number names the season."""
_PARTS: Final = "part|parte|partie|teil|vol|volume|bagian"
_COUNTED: Final = ("years|year|months|days|weeks|hours|minutes|million|anos|meses|dias|semanas|ans|mois|jours|"
                   "semaines|jahre|jahren|monate|tage|wochen|anni|mesi|giorni|settimane|tahun|bulan|hari|minggu|jaar|"
                   "maanden")
"""What a number after a season word counts when one of these follows ("a new season ten years after",
"temporada diez años después", "Staffel zehn Jahre später"): no season. Not episodes: "Season Two
Episode 3" is the season's."""
_PLURAL: Final = "seasons|temporadas|saisons|staffeln|stagioni"
"""Season words that name two seasons by their numbers ("seasons 5 and 6"; "season 5 and 6 episodes"
counts episodes)."""
_B: Final = r"(?<![^\W_])"
_E: Final = r"(?![^\W_])"

_KO_COUNT: Final = "(?:(?<![두세네섯곱덟홉열])|(?=\\s?번째))"
"""A Korean number word names a season only with 번째 ("두 번째 시즌"): alone it counts them ("세 시즌에
걸쳐", over three seasons; "아홉 시즌 동안"). 첫 is an ordinal by itself ("첫 시즌")."""

_TWO: Final = (rf"\s(?:{_AND})\s(?:{_FINAL}|(?P<and2>{_ORD}|\d{{1,2}})(?:st|nd|rd|th|a|o|e|eme|er|ª|º|°)?\.?)"
               rf"\s(?:{WORD}){_E}")
"""What follows the first of two ordered seasons ("fifth| and sixth seasons", "11th| and 12th seasons",
"5th| and final season")."""

_FORM_LIST: Final = (
    rf"{_B}(?:{_PLURAL})\s(?P<n8>\d{{1,2}})\s?(?:&|,|\s(?:{_AND}))\s?(?P<and1>\d{{1,2}}){_E}",
    rf"{_B}(?:{WORD})[\s-]?(?:ke-?\s?|n[o°.]?\s?|#)?(?P<n1>\d{{1,2}})(?:'?s)?{_E}",
    rf"(?:{_CJK_WORD})\s?(?P<n2>\d{{1,2}})(?!\d)",
    rf"{_B}(?P<n3>\d{{1,2}})(?:st|nd|rd|th|a|o|e|ème|eme|er|ª|º|°)?\.?\s?(?:{WORD}|{_CJK_WORD})",
    rf"{_B}(?:(?P<o1>{_ORD}){_KO_COUNT}|(?P<n7>\d{{1,2}})(?:st|nd|rd|th|a|o|e|eme|er|ª|º|°)?\.?(?=\s(?:{_AND})\s))"
    rf"(?:[\s-]?(?:번째\s?)?(?:(?:{WORD}){_E}|{_CJK_WORD})|{_TWO})",
    rf"{_B}(?:{WORD})\s(?:ke-?)?(?P<o2>{_ORD_AFTER}|{_CARD}){_E}(?!\s(?:{_COUNTED}){_E})",
    r"第\s?(?P<n4>\d{1,2})\s?(?:シーズン|期|季|シリーズ)",
    rf"{_B}{_FASL}\s(?P<o4>دوم|سوم|چهارم|پنجم|ششم|هفتم|هشتم|نهم|دهم){_E}",
    r"第(?P<w1>[一二三四五六七八九十])(?:季|期)",
    r"(?<!\d)(?P<n5>\d{1,2})\s?(?:期|번째 시즌|번째시즌|기(?:(?=[가는를의도에와])|(?![\uac00-\ud7a3])))",
    rf"{_B}(?:{WORD})\s(?P<r1>{_ROMAN_PATTERN}){_E}",
    rf"{_B}s0?(?P<n6>\d{{1,2}})(?:\s?e\d{{1,3}})?{_E}",
    rf"(?:(?<=zshow\s)|(?<=zshow\s\s))t0?(?P<n9>\d{{1,2}}){_E}",
    rf"{_B}(?:{_PARTS})\.?\s?(?:\d{{1,2}}|one|two|three|uno|dos|i|ii){_E}",
    r"(?<!\d)(?P<y>(?:19|20)\d\d)(?!\d)",
)
_FORMS: Final = "|".join(_FORM_LIST)
_FIRST: Final = "".join(sorted({w[0] for w in (*_WORD_FORMS, *_CJK_WORD.split("|"), *_ORDINALS,
                                                *_PARTS.split("|"), "s", "第", _FASL)}))
"""Every character a form above can start with, besides a digit."""
_LOOSE: Final = "".join(sorted({w[0] for w in _CJK_WORD.split("|")} | {"第"}))
"""What the forms that need no word start (`_B`) start with, besides a digit."""
_DIGIT_FIRST: Final = ("(?P<n3>", "(?:(?P<o1>")
"""The forms after a word-start test that may open with a digit (a number, or an ordinal: "2nd")."""
_LEAN: Final = "|".join(f if f.removeprefix(_B).startswith(_DIGIT_FIRST) else f.removeprefix(_B) for f in _FORM_LIST)
_OPENING: Final = trie_pattern(sorted({*_WORD_FORMS, *_PLURAL.split("|"), *_ORDINALS, *_PARTS.split("|"), _FASL}))
"""The words a form opens with where a word starts, besides a digit, "s" or "t" and a digit ("s02", "<title>
T2") and the characters of `_LOOSE`: a season, part or ordinal word, as a regular expression."""
_PATTERN: Final = re.compile(rf"(?=[\d{re.escape(_FIRST)}])(?:{_B}(?=[st]?\d|{_OPENING})|(?=[\d{re.escape(_LOOSE)}]))"
                             rf"(?:{_LEAN})")
"""The forms, tried only where one can start: a one-character test and a word-start test skip most of
the text, and where a word starts, the word a form opens with (most words open none). Where no word
starts, only a digit or a character of `_LOOSE` passes those tests, where a form that opens with a
letter fails by itself: only the forms that may open with a digit keep their own word-start test (each
test costs at every place the forms are tried)."""
_TRIGGER_MARK: Final = re.compile(r"[\d期季]")
_TRIGGER_WORD: Final = re.compile(trie_pattern((*_WORD_FORMS, *_CJK_WORD.split("|"), *_PARTS.split("|"), _FASL)))
"""Every form above holds a digit, 期, 季 or one of these words: text without them is left as it is,
unscanned (most headlines of a feed). Each is one search that skips to the characters it may start
with."""


def _value(m: re.Match[str]) -> int:
    """The season number a match names (the first of two); -1 for a part, -2 for a year, 0 for "final
    season"."""
    group = next((g for g in ("n8", "o1", "n7") if m[g] is not None), None) if m["and1"] or m["and2"] else m.lastgroup
    if group is None:
        return -1
    if group == "y":
        return -2
    text = m.group(group)
    if group[0] == "n":
        return int(text)
    if group[0] == "w":
        return _CARDINALS.get(text, 0)
    if group[0] == "r":
        return _ROMAN[text]
    return _ORDINALS.get(text, _CARDINALS.get(text, 0))


def mask(text: str, target: int) -> str:
    """Normalised text with every season, part and year replaced by its placeholder."""
    def swap(m: re.Match[str]) -> str:
        value = _value(m)
        if value == -1:
            return PART
        if value == -2:
            return YEAR
        if value == 0:  # "final season": the model learns from the word itself
            return m.group(0)
        also = m["and1"] or m["and2"]  # two seasons at once ("seasons 5 and 6", "fifth and sixth seasons")
        if also and target == (int(also) if also.isdecimal() else _ORDINALS.get(also, 0)):
            return TARGET
        return TARGET if value == target else OTHER
    if _TRIGGER_MARK.search(text) is None and _TRIGGER_WORD.search(text) is None:
        return text
    return _PATTERN.sub(swap, text)


ORDINAL: Final = _ORD
"""Ordinal words in normal form ("second", "2nd", "segunda", "zweite"...), as a regular expression."""
ORDINAL_CHARS: Final = max(map(len, _ORDINALS))
"""How long the longest text `ORDINAL` matches is."""


def ordinal_value(word: str) -> int:
    """The season an ordinal word names ("third" is 3), or 0 ("final", or no ordinal)."""
    return _ORDINALS.get(word, 0)


def cardinal_value(word: str) -> int:
    """The number a cardinal word names ("three", "三" are 3), or 0."""
    return _CARDINALS.get(word, 0)


def number_value(token: str) -> int:
    """A bare season number written after a title ("<title> 2"), or 0."""
    if token.isdecimal() and len(token) <= 2:  # not isdigit: "❶" is a digit that int() cannot read
        return int(token)
    return _CARDINALS.get(token, 0) if token in ("two", "three", "four", "five", "dos", "tres", "zwei", "deux",
                                                 "due", "dua", "tiga") else 0
