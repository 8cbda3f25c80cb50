"""A watch's names and their variants, found in text and masked as placeholders.

Every name of a watch (title and aliases) becomes one pattern that tolerates the spellings the
press uses: any case, full-width forms, words run together or split by dashes and dots
("One-Piece", "ONEPIECE", "ラスト・オブ・アス"), Korean and Japanese written with or without spaces.
A match becomes ` zshow `, a look-alike title listed in the watch's `exclude` becomes ` zexcl `
first (so "<title>: <spin-off>" is not the watch), and what is learned never sees a show's name.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from bot.detect.text import has_cjk, normalise
from bot.models import Watch

SHOW: Final = " zshow "
EXCLUDED: Final = " zexcl "
_LATIN: Final = "a-z0-9\u00c0-\u024f"
_WORD_SEP: Final = r"[\s\-_.\u00b7:'&]*"
_CHAR_SEP: Final = r"[\s\u00b7'\-:]?"


def name_pattern(name: str) -> str:
    """A regular expression for one name and its spelling variants (normalised text)."""
    norm = normalise(name)
    if has_cjk(norm):
        chars = [c for c in norm if not c.isspace() and c not in "\u00b7'-:"]
        return _CHAR_SEP.join(re.escape(c) for c in chars)
    words = re.findall(r"[^\W_]+", norm)
    body = _WORD_SEP.join(re.escape(w) for w in words)
    # The first letter comes before the boundary test, so that the search skips to where it stands.
    return rf"{re.escape(body[0])}(?<![{_LATIN}].){body[1:]}(?![{_LATIN}])"


def _alternation(names: tuple[str, ...]) -> re.Pattern[str] | None:
    patterns = [name_pattern(n) for n in sorted(names, key=len, reverse=True) if n.strip()]
    return re.compile("|".join(f"(?:{p})" for p in patterns)) if patterns else None


@dataclass(frozen=True, slots=True)
class Names:
    """The compiled names of one watch: what to mask as the show and what as a look-alike."""

    watch: Watch
    show: re.Pattern[str] | None
    exclude: re.Pattern[str] | None

    @classmethod
    def of(cls, watch: Watch) -> Names:
        """Compile a watch's names (a few patterns per watch: cheap to build)."""
        return cls(watch, _alternation(watch.names), _alternation(watch.exclude))

    def mask(self, text: str) -> str:
        """Normalised text with look-alikes, then the watch's names, replaced by placeholders."""
        if self.exclude is not None:
            text = self.exclude.sub(EXCLUDED, text)
        if self.show is None:
            return text
        return self.show.sub(SHOW, text)


def name_key(name: str) -> str:
    """A fragment every spelling of a name contains: its longest word (two characters for CJK)."""
    norm = normalise(name)
    if has_cjk(norm):
        chunks: list[str] = re.split(r"[\s\u00b7'\-:]+", norm)
        return max(chunks, key=len)[:2]
    words: list[str] = re.findall(r"[^\W_]+", norm) or [norm]
    return max(words, key=len)


class NameIndex:
    """Which watches a text may name, found by plain substring tests (a regular expression per watch
    with dozens of names would cost more than the rest of detection)."""

    def __init__(self, watches: Sequence[Watch]) -> None:
        keys: dict[str, set[int]] = {}
        for i, watch in enumerate(watches):
            for name in watch.names:
                if name.strip():
                    keys.setdefault(name_key(name), set()).add(i)
        self._keys = tuple((k, frozenset(v)) for k, v in sorted(keys.items()))

    def candidates(self, text: str) -> set[int]:
        """Indices of the watches whose names a normalised text may hold."""
        found: set[int] = set()
        for key, owners in self._keys:
            if key in text:
                found |= owners
        return found
