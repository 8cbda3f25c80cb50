"""Detection's fast paths give exactly what their plain forms give: the season pattern with its start
tests against the forms alone, the search for a season beside another title against a scan of the whole
text, normalise against regular expressions, the scores against plain sums."""

from __future__ import annotations

import math
import re
import unicodedata

import pytest

import bot.detect.names as names
import bot.detect.seasons as seasons
from bot.detect.model import Model
from bot.detect.text import _MARKS, TOKEN, normalise, tokens

_LEADS = ("", "x", "2", "the ", "le ", "a-", "「", "（", "ab", "시즌 ")
_TAILS = ("", " 2", "x", "s", " trailer", "期", ".", "e03", "화")


def _phrases() -> list[str]:
    """Every season word, ordinal, cardinal and part word of the tables, in the places they are written."""
    words = [*seasons._WORD_FORMS, *seasons._CJK_WORD.split("|")]
    numbers = [*seasons._ORDINALS, *seasons._CARDINALS, "1", "2", "02", "12", "123", "2024", "1999"]
    out = [f"{w} {n}" for w in words for n in numbers] + [f"{n} {w}" for w in words for n in numbers]
    out += [f"{w}{n}" for w in words for n in ("2", "#3", "no. 4", "ke-2", "2's")]
    out += [f"{n}{w}" for w in words for n in ("2nd ", "2a ", "2e ", "2. ", "2ème ", "2 번째 ")]
    out += [f"{p} {n}" for p in seasons._PARTS.split("|") for n in ("2", "ii", "one", "dos")]
    special = ["第2期", "第 3 シーズン", "第二季", "2期", "3번째 시즌", "s02e03", "s2", "s01", "시즌2", "シーズン３"]
    return [_LEADS[i % len(_LEADS)] + p + _TAILS[i % len(_TAILS)] for i, p in enumerate(out)] + [
        lead + p + tail for p in [*out[::97], *special] for lead in _LEADS for tail in _TAILS]


def test_the_season_start_tests_change_no_match() -> None:
    plain = re.compile(seasons._FORMS)
    texts = [normalise(p) for p in _phrases()]
    for target in (2, 3):
        def swap(m: re.Match[str], target: int = target) -> str:
            value = seasons._value(m)
            return {-1: seasons.PART, -2: seasons.YEAR, 0: m.group(0)}.get(
                value, seasons.TARGET if value == target else seasons.OTHER)
        for text in texts:
            assert seasons.mask(text, target) == plain.sub(swap, text), text


def test_the_search_for_season_numbers_skips_no_match() -> None:
    plain = re.compile(rf"(?<![^\W_])(?:{names._SEASON_WORDS})[\s-]?(?P<n>\d{{1,2}})(?![^\W_])"
                       rf"|(?<![^\W_])(?P<o>{seasons.ORDINAL})\s(?:{names._SEASON_WORDS})(?![^\W_])")
    phrases = [normalise(p) for p in _phrases()]
    for text in [*phrases, *(f"{a}, then {b}" for a, b in zip(phrases[::7], phrases[3::7], strict=False))]:
        assert ([(m.span(), m.groups()) for m in names._season_numbers(text)]
                == [(m.span(), m.groups()) for m in plain.finditer(text)]), text


def _plain_normalise(text: str) -> str:
    """normalise as regular expressions write it."""
    text = unicodedata.normalize("NFKC", text)
    if re.search("[\u00c0-\u024f\u1e00-\u1eff]", text):
        text = unicodedata.normalize("NFC", re.sub("[\u0300-\u036f]", "", unicodedata.normalize("NFD", text)))
    return re.sub(r"\s+", " ", text.translate(_MARKS).lower()).strip()


@pytest.mark.parametrize("text", [
    "  The  Lantern\tKeepers\u00a0season 3 ", "Última temporada — «confirmada»", "Die zweite Staffel:\u2003bestätigt",
    "ＬＡＮＴＥＲＮ　２", "랜턴 키퍼스 시즌3\u3000「예고편」",
    "it`s \u2018back\u2019 \u2013 2025", "e\u0301te\u0301\n\x1c\u2028x",
    "a\u0301 Ωμέγα\u0301", "", "   ", "plain ascii text",
])
def test_normalise_is_the_plain_form(text: str) -> None:
    assert normalise(text) == _plain_normalise(text)


def test_scores_are_the_plain_sums() -> None:
    model = Model(bias=0.25, weights={"a": 0.5, "b": -1.25, "c": 3.0},
                  kind_bias=(0.1, 0.2, 0.3, 0.4), kind_weights={"a": (1.0, 0.0, -1.0, 0.5), "c": (0.0, 2.0, 0.0, 0.0)})
    for features in ({"a": 1.0, "c": 1.0, "z": 1.0}, {"a": 0.5, "b": 2.0}, {"z": 1.0}, {}, {"a": 1.0, "b": 1.0}):
        z = model.bias + sum(model.weights[f] * v for f, v in features.items() if f in model.weights)
        assert model.probability(features) == pytest.approx(1.0 / (1.0 + math.exp(-z)))
        scores = [b + sum(model.kind_weights[f][k] * v for f, v in features.items() if f in model.kind_weights)
                  for k, b in enumerate(model.kind_bias)]
        ranked = model.kinds_ranked(features)
        assert ranked[0] == model.kinds[scores.index(max(scores))]
        assert [scores[model.kinds.index(k)] for k in ranked] == sorted(scores, reverse=True)


def test_ascii_text_has_the_tokens_of_the_full_pattern() -> None:
    every = "".join(map(chr, range(128)))
    texts = [every, every[::-1], " ".join(every), "season 2: renewed?! x_y a-b it's 2nd 'zshow' (zyear) ztseason..."]
    for text in texts:
        assert tokens(text) == TOKEN.findall(text)
