"""A fast multi-pattern matcher: each cue pattern is tried only where its first word occurs.

Python's regex engine tries every branch of a large alternation at every position, which is far
too slow for hundreds of cues. Instead each pattern is parsed once to find the words it can start
with; matching then tokenises the text once and runs a pattern only at tokens that start it.
Korean patterns are keyed by their first two syllables and found by substring search, since
Korean words carry particles and are not split by spaces. Patterns whose start cannot be known
are searched in full, after a quick check for a literal they must contain.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterable
from typing import Any, NamedTuple

_sre: Any = importlib.import_module("re._parser")
_c: Any = importlib.import_module("re._constants")

_TOKEN = re.compile(r"[^\W_]+")
_HANGUL = re.compile(r"[\uac00-\ud7a3]")
_MAX_PREFIXES = 2000


class Hit(NamedTuple):
    """One match of one pattern: where, which tag, and the match itself."""

    start: int
    end: int
    tag: str
    match: re.Match[str]


def _is_word(ch: str) -> bool:
    return ch.isalnum()


def _is_space_class(item: Any) -> bool:
    sub = list(item)
    if len(sub) != 1:
        return False
    op, av = sub[0]
    if op is _c.IN:
        return all(o is _c.CATEGORY and a is _c.CATEGORY_SPACE for o, a in av)
    return bool(op is _c.LITERAL and av == 32)


def _prefixes(seq: Any, partials: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """First words a parsed pattern can start with: (word, "open" | "complete" | "cut")."""
    for op, av in seq:
        live = {p for p in partials if p[1] == "open"}
        if not live:
            break
        done = partials - live
        if op is _c.LITERAL:
            ch = chr(av)
            if _is_word(ch):
                partials = done | {(w + ch, "open") for w, _ in live}
            else:
                partials = done | {(w, "complete" if w else "cut") for w, _ in live}
        elif op is _c.SUBPATTERN:
            partials = done | _prefixes(av[3], live)
        elif op is _c.BRANCH:
            partials = set(done)
            for alt in av[1]:
                partials |= _prefixes(alt, live)
        elif op in (_c.MAX_REPEAT, _c.MIN_REPEAT):
            lo, hi, sub = av
            if _is_space_class(sub):
                ended = {(w, "complete" if w else "cut") for w, _ in live}
                partials = partials | ended if lo == 0 else done | ended
                continue
            once = _prefixes(sub, live)
            if hi > 1:
                once = {(w, "cut" if s == "open" else s) for w, s in once}
            partials = done | once | (live if lo == 0 else set())
        elif op in (_c.AT, _c.ASSERT, _c.ASSERT_NOT):
            continue
        else:
            partials = done | {(w, "cut") for w, _ in live}
        if len(partials) > _MAX_PREFIXES:
            raise ValueError("too many prefixes")
    return {(w, "complete" if s == "open" else s) for w, s in partials}


def _literal_run(seq: Any) -> str:
    """The longest run of literal characters at the top level of a parsed pattern."""
    best = run = ""
    for op, av in seq:
        if op is _c.LITERAL:
            run += chr(av)
            best = max(best, run, key=len)
        elif op not in (_c.AT, _c.ASSERT, _c.ASSERT_NOT):
            run = ""
    return best


def _keys(pattern: str) -> tuple[set[str], set[str], set[str]] | None:
    """Whole first words, 4-letter stems and Korean 1-2 syllable keys of a pattern (None: search it)."""
    try:
        prefixes = _prefixes(_sre.parse(pattern), {("", "open")})
    except ValueError:
        return None
    words: set[str] = set()
    stems: set[str] = set()
    korean: set[str] = set()
    for word, state in prefixes:
        if not word:
            return None
        if _HANGUL.match(word):
            korean.add(word[:2])
        elif state == "complete":
            words.add(word)
        elif len(word) >= 4:
            stems.add(word[:4])
        else:
            return None
    return words, stems, korean


_Cand = tuple[re.Pattern[str], str, dict[str, str] | None]
"""A pattern, its tag, and for merged patterns the group name → tag map."""


def _merge(group: list[tuple[str, str]], mergeable: bool) -> list[_Cand]:
    """One alternation for patterns that start alike (strongest first), or each pattern alone."""
    if not group:
        return []
    if not mergeable or len(group) == 1:
        return [(re.compile(p), tag, None) for tag, p in group]
    names = {f"g{j}": tag for j, (tag, _) in enumerate(group)}
    return [(re.compile("|".join(f"(?P<g{j}>{p})" for j, (_, p) in enumerate(group))), "", names)]


class CueIndex:
    """Many tagged patterns, matched together; built once, used for every item.

    Entries are (tag, pattern, family). Patterns of one family that start with the same word are
    tried as one alternation, in entry order, so at one position only the first of them matches;
    patterns with their own named groups take the family "" (never merged).
    """

    def __init__(self, entries: Iterable[tuple[str, str, str]]) -> None:
        tables: tuple[dict[str, list[tuple[str, str, str]]], ...] = ({}, {}, {})
        self._scan: list[tuple[str, re.Pattern[str], str]] = []
        for tag, pattern, family in entries:
            keys = _keys(pattern)
            if keys is None:
                self._scan.append((tag, re.compile(pattern), _literal_run(_sre.parse(pattern))))
                continue
            for table, found in zip(tables, keys, strict=True):
                for key in found:
                    table.setdefault(key, []).append((tag, pattern, family))
        self._words, self._stems, self._korean = (
            {key: [c for fam in dict.fromkeys(f for _, _, f in group)
                   for c in _merge([(t, p) for t, p, f in group if f == fam], bool(fam))]
             for key, group in table.items()}
            for table in tables
        )
        self._word_keys = frozenset(self._words)
        self._stem_keys = frozenset(self._stems)
        self._korean_keys = tuple(self._korean)

    def find(self, text: str) -> list[Hit]:
        """Every match of every pattern in `text`, by start position."""
        hits: list[Hit] = []
        tokens = set(_TOKEN.findall(text))
        for key in tokens & self._word_keys:
            _run(text, key, self._words[key], True, hits)
        for key in {t[:4] for t in tokens} & self._stem_keys:
            _run(text, key, self._stems[key], False, hits)
        if self._korean_keys and _HANGUL.search(text):
            for key in [k for k in self._korean_keys if k in text]:
                _run(text, key, self._korean[key], None, hits)
        for tag, pat, literal in self._scan:
            if literal and literal not in text:
                continue
            hits.extend(Hit(m.start(), m.end(), tag, m) for m in pat.finditer(text))
        hits.sort(key=lambda h: h.start)
        return hits


def _run(text: str, key: str, cands: list[_Cand], whole: bool | None, hits: list[Hit]) -> None:
    """Try the candidates at each place `key` starts a word (the whole word if `whole`)."""
    size = len(key)
    pos = text.find(key)
    while pos >= 0:
        if whole is None or (
            (pos == 0 or not text[pos - 1].isalnum())
            and (not whole or pos + size >= len(text) or not text[pos + size].isalnum())
        ):
            for pat, tag, names in cands:
                m = pat.match(text, pos)
                if m:
                    hits.append(Hit(pos, m.end(), names[m.lastgroup or ""] if names else tag, m))
        pos = text.find(key, pos + 1)
