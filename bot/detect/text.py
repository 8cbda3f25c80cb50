"""Text shared by every step of detection: one normal form, tokens, sentences and scripts."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import Any, Final

_MARKS: Final = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "`": "'", "\u00b4": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u00ab": '"', "\u00bb": '"', "\u300c": '"', "\u300d": '"',
    "\u300e": '"', "\u300f": '"', "\u3010": "[", "\u3011": "]", "\u2013": "-", "\u2014": "-", "\u2015": "-",
    "\u2212": "-", "\u30fb": "\u00b7",  # 【】 hold a label ("【速報】"), as [] do: brackets, not quotes
    # letters without a decomposition that addresses write plainly: Turkish ı and İ, ł, ø, đ
    "\u0131": "i", "\u0130": "I", "\u0142": "l", "\u0141": "L", "\u00f8": "o", "\u00d8": "O", "\u0111": "d",
    "\u0110": "D", "\uff65": "\u00b7", "\u2022": "\u00b7", "\u3000": " ", "\u00a0": " ",
    # Russian writes ё as е as often as not ("продлён", "продлен"; "съёмки", "съемки")
    "\u0451": "\u0435", "\u0401": "\u0415",
    # invisible marks inside words: zero-width space, soft hyphen, word joiner, byte order mark
    "\u200b": "", "\u00ad": "", "\u2060": "", "\ufeff": "",
})
_MARK_OF: Final = {chr(k): v for k, v in _MARKS.items()}
_MARKED: Final = re.compile("[" + re.escape("".join(_MARK_OF)) + "]")
"""Any character `_MARKS` changes (replaced by a regular expression: `str.translate` costs several times
more on text that is not ASCII)."""


def _mark_ranges(first: int = 0x0300, last: int = 0x2FFF) -> str:
    """Combining marks (Unicode Mn, Mc, Me) as a character class body: the vowel signs and viramas
    inside Devanagari, Bengali, Telugu or Thai words, which `\\w` does not count as word characters."""
    spans: list[str] = []
    start = -1
    for code in range(first, last + 2):
        mark = code <= last and unicodedata.category(chr(code)) in ("Mn", "Mc", "Me")
        if mark and start < 0:
            start = code
        elif not mark and start >= 0:
            spans.append(f"\\u{start:04x}-\\u{code - 1:04x}")
            start = -1
    return "".join(spans)


_M: Final = f"[{_mark_ranges()}]"
_MARK: Final = r"[?!]|(?<!\d):|:(?!\d\d(?!\d))|(?<=[^\W\d_日일]\d):|(?<=[^\W\d_日일]\d\d):"
"""The marks that structure a headline: "?", "!" and a colon, but not a time's ("10:00", "at 9:30pm",
"6月17日10:00より"): one or two digits that stand apart from a word (or follow a day), then two. A colon
after a number glued to a word stays ("シーズン3：10月17日配信", "시즌3:10월")."""
TOKEN: Final = re.compile(rf"[^\W_]+(?:{_M}+[^\W_]*)*|{_M}+[^\W_]*|{_MARK}")
"""A word (letters, digits and combining marks of any script) or one of the marks that structure a headline."""
_ASCII_TOKEN: Final = re.compile(rf"[a-zA-Z0-9]+|{_MARK}")
"""`TOKEN` in ASCII text, where no combining mark can stand (a simpler pattern is faster)."""
_CJK: Final = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f\u0e00-\u0e7f]")
_SENTENCE: Final = re.compile(r"(?<=[.!?。！？])\s+|(?<=[。！？])")


_ACCENTS: Final = re.compile("[\u0300-\u036f]")
_ACCENTED: Final = re.compile("[\u00c0-\u024f\u1e00-\u1eff]")


def normalise(text: str) -> str:
    """NFKC (full-width forms become plain), lower case, no accents on Latin letters (addresses lose
    them: "ultima temporada", "veroffentlicht"), Russian ё as е, one kind of quote and dash, single
    spaces."""
    return " ".join(fold(text).lower().split())  # str.split and the regex \s agree on what a space is


_HASHTAG: Final = re.compile(r"#([^\W\d_][^\W_]*?[^\W\d_])(S?\d{1,2})(?![^\W_])")
"""A hashtag that glues a season's number to a title ("#AllOfUsAreDead2", "#SquidGameS2": a capital S
only, "#StrangerThings5" ends its title with an s); not a year ("#Wimbledon2024")."""


def fold(text: str) -> str:
    """Text as `normalise` makes it, capitals and spacing kept ("ＭＯＶＩＮＧ" and "Élite" become
    "MOVING" and "Elite"): where case still tells a title from a word. A hashtag's glued season number
    stands apart ("#TitleS2" is "#Title S2")."""
    if text.isascii():
        text = text.replace("`", "'")  # the one ASCII character `_MARKS` changes
    else:
        text = unicodedata.normalize("NFKC", text)
        if _ACCENTED.search(text):
            text = strip_accents(text)
        text = _MARKED.sub(_mark, text)
    return _HASHTAG.sub(r"#\1 \2", text) if "#" in text else text


def strip_accents(text: str) -> str:
    """Text without its combining accents (U+0300-U+036F), as `normalise` leaves a text that holds an
    accented Latin letter (its other letters lose theirs too: "σεζόν" becomes "σεζον")."""
    return unicodedata.normalize("NFC", _ACCENTS.sub("", unicodedata.normalize("NFD", text)))


def _mark(m: re.Match[str]) -> str:
    return _MARK_OF[m.group()]


def has_cjk(text: str) -> bool:
    """Whether the text holds Korean, Japanese or Chinese characters (read by characters, not words)."""
    return not text.isascii() and _CJK.search(text) is not None


def tokens(text: str) -> list[str]:
    """The words and structuring marks of normalised text."""
    return _ASCII_TOKEN.findall(text) if text.isascii() else TOKEN.findall(text)


def sentences(text: str) -> list[str]:
    """Sentences of a text, cut after end marks (Latin and CJK)."""
    return [s for s in _SENTENCE.split(text) if s.strip()]


def trie_pattern(words: Iterable[str]) -> str:
    """An alternation of words as a regular expression shaped like a tree ("s(?:eason(?:s)?|ezon...)"):
    it matches what the flat alternation, longest word first, matches, but where no word starts it
    fails after one character test instead of one test per word (these alternations are tried at
    every word, or every character of Korean and Japanese)."""
    tree: dict[str, Any] = {}
    for word in words:
        node = tree
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def emit(node: dict[str, Any]) -> str:
        branches = [re.escape(char) + emit(child) for char, child in sorted(node.items()) if char]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        if "" in node:  # a word ends here: a longer one is tried first
            return f"(?:{body})?"
        return body

    return emit(tree)
