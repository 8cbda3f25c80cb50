"""A fast multi-pattern matcher: each cue pattern is tried only where its first word occurs.

Python's regex engine tries every branch of a large alternation at every position, which is far
too slow for hundreds of cues. Instead each pattern is parsed once to find the words it can start
with; one scanner (a trie of those words, opened by a word-start test) then stops only at the
words that start some pattern, and the patterns of that word are tried there. A word whose
patterns all need more literal text after it ("are" only in "are back", a show's name only when
whole) counts only where that text follows, tested by a lookahead so that the next word can
start a key too; this halves the places tried per item. Compiled (setup.py), ASCII text is read
word by word instead, with the same keys, order and lookahead tests as the scanner (a test holds
the two to the same answers). Korean patterns are keyed by their first two syllables and found by
substring search, since Korean words carry particles and are not split by spaces. Patterns whose
start cannot be known are searched in full, after a quick check for a literal they must contain
(letters every match opens with are searched first).
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Iterable
from operator import itemgetter
from typing import Any, Final

_sre: Any = importlib.import_module("re._parser")
_c: Any = importlib.import_module("re._constants")

_WORD_CHAR: Final = re.compile(r"\w").match
_ASCII_WORD: Final = bytes(1 if chr(b).isascii() and (chr(b).isalnum() or chr(b) == "_") else 0 for b in range(256))
"""Which bytes of ASCII text are word characters, by byte value."""
_HANGUL: Final = re.compile(r"[\uac00-\ud7a3]")
_COMPILED: Final = not __file__.endswith(".py")
"""Whether this module runs compiled (setup.py): its word-by-word loop then beats the key scanner."""
_MAX_PREFIXES: Final = 2000


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


_OPENING: Final = r"(?<![\w])(?:"


def _literal_first(pattern: str) -> str:
    """The same pattern with its word-start test moved after the letters every match opens with
    ("20" of a year), so that a search can jump between occurrences of those letters.

    The rewrite is kept only if it parses to the same steps as the original (checked here)."""
    if not pattern.startswith(_OPENING):
        return pattern
    parsed = list(_sre.parse(pattern))
    letters = ""
    for op, av in parsed[1:]:
        if op is not _c.LITERAL or not chr(av).isalnum():
            break
        letters += chr(av)
    if not letters or not pattern.startswith(_OPENING + letters):
        return pattern
    moved = f"{letters}(?<![\\w]{letters})(?:{pattern[len(_OPENING) + len(letters):]}"
    again = list(_sre.parse(moved))
    n = len(letters)
    same = str(again[:n]) == str(parsed[1:n + 1]) and str(again[n + 1:]) == str(parsed[n + 1:])
    return moved if same else pattern


def _keys(parsed: Any) -> tuple[set[str], set[str], set[str]] | None:
    """Whole first words, 4-letter stems and Korean 1-2 syllable keys of a parsed pattern (None: search it)."""
    try:
        prefixes = {(w, "complete" if s == "open" else s)
                    for w, s in _prefixes(parsed, {("", "open")})}
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


def _literal_prefixes(seq: Any, partials: set[tuple[str, bool]]) -> set[tuple[str, bool]]:
    """Literal texts every match of a parsed pattern starts with: (text, whether it may go on)."""
    for op, av in seq:
        live = {p for p in partials if p[1]}
        if not live:
            break
        done = partials - live
        if op is _c.LITERAL:
            partials = done | {(w + chr(av), True) for w, _ in live}
        elif op is _c.SUBPATTERN and not av[1] and not av[2]:
            partials = done | _literal_prefixes(av[3], live)
        elif op is _c.BRANCH:
            partials = set(done)
            for alt in av[1]:
                partials |= _literal_prefixes(alt, live)
        elif op in (_c.MAX_REPEAT, _c.MIN_REPEAT):
            lo, hi, sub = av
            once = _literal_prefixes(sub, live)
            if hi > 1:  # another repetition or what follows: the text is known only this far
                once = {(w, False) for w, _ in once}
            partials = done | once | (live if lo == 0 else set())
        elif op in (_c.AT, _c.ASSERT, _c.ASSERT_NOT):
            continue
        elif op is _c.IN and all(o is _c.LITERAL for o, _ in av):
            partials = done | {(w + chr(code), True) for w, _ in live for _, code in av}
        else:
            partials = done | {(w, False) for w, _ in live}
        if len(partials) > _MAX_PREFIXES:
            raise ValueError("too many prefixes")
    return partials


def _starts(parsed: Any) -> frozenset[str] | None:
    """The literal texts a parsed pattern's matches start with (None if too many to list)."""
    try:
        return frozenset(text for text, _ in _literal_prefixes(parsed, {("", True)}))
    except ValueError:
        return None


def _extensions(key: str, patterns: Iterable[str], starts: dict[str, frozenset[str] | None],
                parses: dict[str, Any], stem: bool = False) -> set[str] | None:
    """Where a whole-word key is followed by a non-word character (or, for a stem, where a word starts
    with it): the texts, longer than the key, that each of its patterns needs at that point (None
    when some pattern needs no more than the key).

    The scanner then stops only where one of these texts stands, not at every occurrence of the word.
    `starts` keeps each pattern's literal starts, as patterns recur under many keys."""
    out: set[str] = set()
    for pattern in patterns:
        if pattern not in starts:
            starts[pattern] = _starts(parses[pattern])
        found = starts[pattern]
        if found is None:
            return None
        for text in found:
            if key.startswith(text):
                return None
            if text.startswith(key) and (stem or not _WORD_CHAR(text[len(key)])):
                out.add(text)
    return out if len(out) <= _MAX_PREFIXES else None


_Match = Callable[[str, int], "re.Match[str] | None"]
_Cand = tuple[_Match, str, dict[str, str] | None]
"""A pattern's bound `match`, its tag, and for merged patterns the group name → tag map."""
_Entry = tuple[list[_Cand], bool]
"""The candidates tried where a key occurs, and whether any belongs to a required family."""


_WORD_START: Final = re.compile(r"^((?:\(\?P<\w+>)?)\(\?<!\[\\w\]\)")
"""A word-start test opening a pattern (perhaps inside its first named group)."""


def _bare(pattern: str) -> str:
    """The pattern without its opening word-start test: where the key scanner stops, a word starts."""
    return _WORD_START.sub(r"\1", pattern, count=1)


def _merge(group: list[tuple[str, str]], mergeable: bool, at_word: bool = False) -> list[_Cand]:
    """One alternation for patterns that start alike (strongest first), or each pattern alone."""
    if not group:
        return []
    if at_word:
        group = [(tag, _bare(p)) for tag, p in group]
    if not mergeable or len(group) == 1:
        return [(re.compile(p).match, tag, None) for tag, p in group]
    names = {f"g{j}": tag for j, (tag, _) in enumerate(group)}
    return [(re.compile("|".join(f"(?P<g{j}>{p})" for j, (_, p) in enumerate(group))).match, "", names)]


def _units(groups: tuple[list[tuple[str, str, str]], ...], unmerged: tuple[str, ...],
           first: tuple[str, ...], at_word: bool) -> list[_Cand]:
    """The candidates of one key: per table and family a (merged) pattern; `first` families as one
    alternation over all tables, in table order, so only their first match at a position is found."""
    out: list[_Cand] = []
    firsts: dict[str, dict[str, str]] = {}
    for group in groups:
        for fam in dict.fromkeys(f for _, _, f in group):
            if fam in first:
                firsts.setdefault(fam, {}).update((p, t) for t, p, f in group if f == fam)
            else:
                out += _merge([(t, p) for t, p, f in group if f == fam], fam not in unmerged, at_word)
    for pats in firsts.values():
        tags = set(pats.values())
        bare = [_bare(p) if at_word else p for p in pats]
        if len(pats) == 1 or len(tags) > 1:
            out += [(re.compile(b).match, t, None) for b, t in zip(bare, pats.values(), strict=True)]
        else:
            out.append((re.compile("|".join(f"(?:{b})" for b in bare)).match, tags.pop(), None))
    return out


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


def _scanner(words: Iterable[str], stems: Iterable[str], needs: dict[str, set[str]],
             stem_needs: dict[str, set[str]]) -> str:
    """One trie for whole-word keys (which must end a word), stems (which need not), and words and
    stems that count only where one of the texts they need follows (tested by a lookahead, so the
    next word can start a key too).

    The trie is returned bare; a caller puts a word-start test before it.
    """
    tree: dict[str, Any] = {}
    for word, mark in (*((w, "\x00") for w in words), *((w, "\x01") for w in stems),
                       *((w, "\x02") for w in needs)):
        node = tree
        for ch in word:
            node = node.setdefault(ch, {})
        node[mark] = {"": word}

    def emit(node: dict[str, Any]) -> str:
        alts = [re.escape(ch) + emit(child)
                for ch, child in sorted(node.items()) if ch not in "\x00\x01\x02"]
        alts += [r"\b"] * ("\x00" in node)
        if "\x01" in node:
            word = node["\x01"][""]
            alts.append("(?=" + _trie(t[len(word):] for t in stem_needs[word]) + ")" if word in stem_needs else "")
        if "\x02" in node:
            word = node["\x02"][""]
            alts.append("(?=" + _trie(t[len(word):] for t in needs[word]) + ")")
        if len(alts) == 1:
            return alts[0]
        return "(?:" + "|".join(alts) + ")"

    return emit(tree) if tree else "(?!)"


class CueIndex:
    """Many tagged patterns, matched together; built once, used for every item.

    Entries are (tag, pattern, family). Patterns of one family that start with the same word are
    tried as one alternation, in entry order, so at one position only the first of them matches;
    families listed in `unmerged` (patterns with their own named groups) are never merged, and
    families listed in `first` are merged across the word and stem tables too (their patterns
    carry distinct group names), for callers that keep only the first match at a position.
    `find` gives up early, returning [], when no pattern of a `required` family can start.
    """

    def __init__(self, entries: Iterable[tuple[str, str, str]], unmerged: tuple[str, ...] = (),
                 required: tuple[str, ...] = (), first: tuple[str, ...] = ()) -> None:
        raw: tuple[dict[str, list[tuple[str, str, str]]], ...] = ({}, {}, {})
        self._scan: list[tuple[str, re.Pattern[str], str]] = []
        self._scan_required = False
        parses: dict[str, Any] = {}  # each pattern parsed once
        for tag, pattern, family in entries:
            parsed = parses[pattern] = _sre.parse(pattern)
            keys = _keys(parsed)
            if keys is None:
                self._scan.append((tag, re.compile(_literal_first(pattern)), _literal_run(parsed)))
                self._scan_required |= family in required
                continue
            for table, found in zip(raw, keys, strict=True):
                for key in found:
                    table.setdefault(key, []).append((tag, pattern, family))
        words, stems, korean = raw

        def entry(*groups: list[tuple[str, str, str]], at_word: bool = True) -> _Entry:
            return (_units(groups, unmerged, first, at_word),
                    any(f in required for g in groups for _, _, f in g))

        # A whole word also brings its stem's patterns; a 4-letter key can be both (then `_dual`).
        self._table: dict[str, _Entry] = {key: entry(group, stems.get(key[:4], []))
                                          for key, group in words.items()}
        self._dual = {key: self._table[key] for key in stems if key in words}
        self._stem_table = {key: entry(group) for key, group in stems.items()}
        for key in self._dual:
            del self._table[key]
        # A word whose patterns all need more text after it counts only where that text follows.
        needs: dict[str, set[str]] = {}
        starts: dict[str, frozenset[str] | None] = {}
        for key, group in words.items():
            ext = None if key in stems else _extensions(key, (p for _, p, _ in group), starts, parses)
            if ext:
                needs[key] = ext
        stem_needs: dict[str, set[str]] = {}
        for key, group in stems.items():
            ext = _extensions(key, (p for _, p, _ in group), starts, parses, stem=True)
            if ext:
                stem_needs[key] = ext
        for key, value in self._stem_table.items():
            self._table.setdefault(key, value)
        self._korean = {key: entry(group, at_word=False) for key, group in korean.items()}
        # The text is scanned with a space before it, and every key must follow a non-word
        # character: the engine then skips straight to those characters.
        scanner = r"\W(" + _scanner(set(words) - set(needs), stems, needs, stem_needs) + ")"
        # The same keys for `_ascii_keys`, which finds them without the scanner on ASCII text.
        self._plain_words = frozenset(words) - frozenset(needs)
        self._stems = frozenset(stems)
        self._needs = {k: re.compile(_trie(v)).match for k, v in needs.items()}
        self._stem_needs = {k: re.compile(_trie(v)).match for k, v in stem_needs.items()}
        self._latin_re = re.compile(scanner)
        if self._latin_re.groups != 1:  # `find` splits around the keys: one group, the key
            raise ValueError("the key scanner must capture the key and nothing else")
        # On ASCII text ASCII word classes mean the same and are tested faster (no Unicode tables).
        self._ascii_re = re.compile(scanner, re.ASCII)
        # Whether a required family could start, as if no key needed more text (see `find`).
        guarded_required = any(self._table[k][1] for k in needs) or any(self._stem_table[k][1] for k in stem_needs)
        self._required_re = re.compile(r"(?<!\w)" + _scanner(
            [k for k in words if k not in stems and self._table[k][1]]
            + [k for k in self._dual if self._dual[k][1]],
            [k for k in stems if self._stem_table[k][1]], {}, {})) if guarded_required else None
        # A two-syllable key also brings its first syllable's own candidates (tried after its own).
        self._korean = {key: (value[0] + self._korean[key[0]][0], value[1] or self._korean[key[0]][1])
                        if len(key) > 1 and key[0] in self._korean else value
                        for key, value in self._korean.items()}
        # A plain trie (no lookahead) lets the engine skip to the syllables that can start a key.
        self._korean_re = re.compile(_trie(self._korean)) if self._korean else None
        self._required = bool(required) and not self._scan_required
        # Keys that open a required family in some reading (word, stem or both), for a quick "none here".
        self._required_keys = frozenset(k for k, e in (*self._table.items(), *self._dual.items()) if e[1])

    def find(self, text: str, settle: bool = True) -> list[Hit]:
        """Every match in `text`, by start position ([] if no key of a required family occurs).

        A key that needs more text after it is not a place where that text is missing; so when
        no required pattern can match, one more search tells whether a required key occurs at all.
        `settle=False` skips it (then [] also when required keys occur but none of their patterns
        can match), for callers that disregard matches found without a required family's match.
        """
        table = self._table
        hits: list[Hit] = []
        append = hits.append
        required = False
        keys = self._ascii_keys(text) if _COMPILED and text.isascii() else self._scanned_keys(text)
        if (not settle and self._required and (self._korean_re is None or text.isascii())
                and self._required_keys.isdisjoint([k for _, k in keys])):
            return []  # no required family can match: the patterns need not be tried
        for pos, key in keys:
            entry = table.get(key)
            if entry is None:  # a 4-letter key that is both a word and a stem
                end = pos + len(key)
                word_end = end == len(text) or not _WORD_CHAR(text[end])
                entry = self._dual[key] if word_end else self._stem_table[key]
            if entry[1]:
                required = True
            for match, tag, names in entry[0]:
                found = match(text, pos)
                if found:
                    append((pos, found.end(), names[found.lastgroup or ""] if names else tag, found))
        latin = len(hits)
        if self._korean_re is not None and not text.isascii():  # Korean keys start with a syllable
            required |= self._find_korean(text, hits)
        unsorted = len(hits) > latin
        if self._required and not required and (
                not settle or self._required_re is None or self._required_re.search(text) is None):
            return []
        for tag, pat, literal in self._scan:
            if not literal or literal in text:
                for m in pat.finditer(text):
                    append((m.start(), m.end(), tag, m))
                    unsorted = True
        if unsorted:
            hits.sort(key=itemgetter(0))
        return hits

    def _scanned_keys(self, text: str) -> list[tuple[int, str]]:
        """Where keys start in `text`, and which, found by the scanner (any script; `find` reads
        ASCII text with `_ascii_keys`, which must agree with this)."""
        # Split around the keys (no match objects): the text before the first key, then each key
        # with the text after it. A key's character before it is taken too, so with a space before
        # the text the key's position in `text` is the length of everything before that character.
        scanner = self._ascii_re if text.isascii() else self._latin_re
        parts = scanner.split(" " + text)
        out = []
        pos = len(parts[0])
        for i in range(1, len(parts), 2):
            key = parts[i]
            out.append((pos, key))
            pos += len(key) + len(parts[i + 1]) + 1
        return out

    def _ascii_keys(self, text: str) -> list[tuple[int, str]]:
        """The same as `_scanned_keys` for ASCII text, read word by word: each word is looked up
        whole, then by its 4-letter stem, with the scanner's order and lookahead tests."""
        out = []
        data = text.encode("ascii")
        n = len(data)
        i = 0
        while i < n:
            if not _ASCII_WORD[data[i]]:
                i += 1
                continue
            j = i + 1
            while j < n and _ASCII_WORD[data[j]]:
                j += 1
            key = self._word_key(text, i, j)
            if key:
                out.append((i, key))
            i = j
        return out

    def _word_key(self, text: str, start: int, end: int) -> str:
        """The key the scanner takes for the word text[start:end] ("" for none)."""
        word = text[start:end]
        if word in self._plain_words:
            return word
        if len(word) == 4 and word in self._stems and self._follows(text, start, self._stem_needs.get(word)):
            return word
        needs = self._needs.get(word)
        if needs is not None and self._follows(text, start, needs):
            return word
        stem = word[:4]
        if len(word) > 4 and stem in self._stems and self._follows(text, start, self._stem_needs.get(stem)):
            return stem
        return ""

    @staticmethod
    def _follows(text: str, start: int, needs: _Match | None) -> bool:
        """Whether one of the texts a key needs stands at `start` (always, when it needs none)."""
        return needs is None or needs(text, start) is not None

    def _find_korean(self, text: str, hits: list[Hit]) -> bool:
        """Add the matches found where Korean keys occur; whether any required pattern could start."""
        korean = self._korean
        if self._korean_re is None:
            return False
        search = self._korean_re.search
        append = hits.append
        required = False
        k = search(text)
        while k is not None:
            pos = k.start()
            cands, req = korean[k[0]]
            required = required or req
            for match, tag, names in cands:
                found = match(text, pos)
                if found:
                    append((pos, found.end(), names[found.lastgroup or ""] if names else tag, found))
            k = search(text, pos + 1)
        return required
