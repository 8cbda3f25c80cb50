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
from operator import itemgetter
from typing import Any

_sre: Any = importlib.import_module("re._parser")
_c: Any = importlib.import_module("re._constants")

_TOKEN = re.compile(r"[^\W_]+")
_WORD_CHAR = re.compile(r"\w").match
_HANGUL = re.compile(r"[\uac00-\ud7a3]")
_MAX_PREFIXES = 2000


Hit = tuple[int, int, str, "re.Match[str]"]
"""One match of one pattern: start, end, tag, and the match itself."""


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
        elif op is _c.IN and all(o is _c.LITERAL for o, _ in av):
            partials = set(done)
            for _, code in av:
                partials |= _prefixes([(_c.LITERAL, code)], live)
        else:
            partials = done | {(w, "cut") for w, _ in live}
        if len(partials) > _MAX_PREFIXES:
            raise ValueError("too many prefixes")
    return partials


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
        prefixes = {(w, "complete" if s == "open" else s)
                    for w, s in _prefixes(_sre.parse(pattern), {("", "open")})}
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
_Table = dict[str, dict[str, list[_Cand]]]
"""Key → family → candidates."""


def _merge(group: list[tuple[str, str]], mergeable: bool) -> list[_Cand]:
    """One alternation for patterns that start alike (strongest first), or each pattern alone."""
    if not group:
        return []
    if not mergeable or len(group) == 1:
        return [(re.compile(p), tag, None) for tag, p in group]
    names = {f"g{j}": tag for j, (tag, _) in enumerate(group)}
    return [(re.compile("|".join(f"(?P<g{j}>{p})" for j, (_, p) in enumerate(group))), "", names)]


def _trie(words: Iterable[str]) -> str:
    """A regex alternation of literal words shaped as a trie, so the engine branches per character."""
    tree: dict[str, Any] = {}
    for word in words:
        node = tree
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def emit(node: dict[str, Any]) -> str:
        alts = [re.escape(ch) + emit(child) for ch, child in sorted(node.items()) if ch]
        if not alts:
            return ""
        body = alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"
        return f"(?:{body})?" if "" in node else body

    return emit(tree) or "(?!)"


def _scanner(words: Iterable[str], stems: Iterable[str]) -> str:
    """One trie for whole-word keys (which must end a word) and stems (which need not).

    The root is a plain alternation of literal characters, so the engine can skip every position
    whose character starts no key; the word-start test comes after the first character.
    """
    tree: dict[str, Any] = {}
    for word, mark in (*((w, "\x00") for w in words), *((w, "\x01") for w in stems)):
        node = tree
        for ch in word:
            node = node.setdefault(ch, {})
        node[mark] = {}

    def emit(node: dict[str, Any], root: bool) -> str:
        alts = [re.escape(ch) + (r"(?<!\w.)" if root else "") + emit(child, False)
                for ch, child in sorted(node.items()) if ch not in "\x00\x01"]
        alts += [r"\b"] * ("\x00" in node) + [""] * ("\x01" in node)
        if len(alts) == 1:
            return alts[0]
        return "(?:" + "|".join(alts) + ")"

    return emit(tree, True) if tree else "(?!)"


class CueIndex:
    """Many tagged patterns, matched together; built once, used for every item.

    Entries are (tag, pattern, family). Patterns of one family that start with the same word are
    tried as one alternation, in entry order, so at one position only the first of them matches;
    families listed in `unmerged` (patterns with their own named groups) are never merged.
    `find` gives up early, returning [], when no pattern of a `required` family can start.
    """

    def __init__(self, entries: Iterable[tuple[str, str, str]], unmerged: tuple[str, ...] = (),
                 required: tuple[str, ...] = ()) -> None:
        raw: tuple[dict[str, list[tuple[str, str, str]]], ...] = ({}, {}, {})
        self._scan: list[tuple[str, re.Pattern[str], str]] = []
        self._scan_required = False
        for tag, pattern, family in entries:
            keys = _keys(pattern)
            if keys is None:
                self._scan.append((tag, re.compile(pattern), _literal_run(_sre.parse(pattern))))
                self._scan_required |= family in required
                continue
            for table, found in zip(raw, keys, strict=True):
                for key in found:
                    table.setdefault(key, []).append((tag, pattern, family))
        self._words, self._stems, self._korean = (
            {key: (
                [c for fam in dict.fromkeys(f for _, _, f in group)
                 for c in _merge([(t, p) for t, p, f in group if f == fam], fam not in unmerged)],
                any(f in required for _, _, f in group),
            ) for key, group in table.items()}
            for table in raw
        )
        # One table per scanner group: 1 = a whole word (with its stem's patterns), 2 = a stem.
        merged = {key: (cands + self._stems[key[:4]][0] if key[:4] in self._stems else cands, req
                        or (key[:4] in self._stems and self._stems[key[:4]][1]))
                  for key, (cands, req) in self._words.items()}
        self._merged = merged
        self._latin_re = re.compile(_scanner(self._words, self._stems))
        # A plain trie (no lookahead) lets the engine skip to the syllables that can start a key.
        self._korean_re = re.compile(_trie(self._korean)) if self._korean else None
        self._required = bool(required) and not self._scan_required

    def find(self, text: str) -> list[Hit]:
        """Every match in `text`, by start position ([] early if no required pattern can start)."""
        merged, stems = self._merged, self._stems
        places: list[tuple[int, tuple[list[_Cand], bool]]] = []
        for m in self._latin_re.finditer(text):
            key = m.group()
            end = m.end()
            if key in merged and (end == len(text) or not _WORD_CHAR(text[end])):
                places.append((m.start(), merged[key]))
            else:
                places.append((m.start(), stems[key]))
        if self._korean_re is not None and _HANGUL.search(text):
            korean = self._korean
            search = self._korean_re.search
            at = 0
            while (k := search(text, at)) is not None:
                key = k.group()
                at = k.start() + 1
                places.append((k.start(), korean[key]))
                if len(key) > 1 and key[0] in korean:
                    places.append((k.start(), korean[key[0]]))
        if self._required and not any(p[1][1] for p in places):
            return []
        hits: list[Hit] = []
        append = hits.append
        for pos, (cands, _) in places:
            for pat, tag, names in cands:
                found = pat.match(text, pos)
                if found:
                    append((pos, found.end(), names[found.lastgroup or ""] if names else tag, found))
        for tag, pat, literal in self._scan:
            if not literal or literal in text:
                hits.extend((m.start(), m.end(), tag, m) for m in pat.finditer(text))
        hits.sort(key=itemgetter(0))
        return hits
