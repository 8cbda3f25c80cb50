"""Detection: does a news item announce news of a watched show's season, and of which kind.

How it decides: normalise the text; find which watch is the subject (its name with the watched
season, or "<title> <n>"; a one-word title only when written as a title); refuse comparisons
("hits like X", "X star joins ..."), other titles, other seasons, fan-made and review items, and
headline questions, explainers and negations; pick the kind from the strongest cue (headline cues
weigh more than lede cues, an official attribution adds weight); subtract hedges and negations;
alert when the remaining score clears a threshold. The score becomes the confidence, and the
evidence is the deciding cue's clause with the show's name.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Final

from bot.detect import cues
from bot.detect.index import CueIndex, Hit
from bot.detect.text import (
    Prepared,
    alias_patterns,
    fragments,
    normalise,
    prepare,
    season_patterns,
    season_value,
    strip_publisher,
    with_sentences,
)
from bot.models import KINDS, Decision, Item, Kind, Watch

THRESHOLD: Final = 2.0
"""Score at which an item is an alert (confidence 0.5)."""

_PRIORITY: Final[dict[str, int]] = {"renewal": 1, "production": 2, "trailer": 3, "release_date": 4}
_SIGNAL_ORDER: Final = ("fan", "review", "medium", "explainer", "negation", "date", "speculation", "official",
                 "question", "rverb")
_SIGNAL_RANK: Final = {name: i for i, name in enumerate(_SIGNAL_ORDER)}
_DECISIVE_ANYWHERE: Final = frozenset(("fan", "medium"))
_DECISIVE_IN_HEADLINE: Final = frozenset(("question", "explainer", "negation", "review"))
_TAG_CODE: Final[dict[str, int]] = {
    **_SIGNAL_RANK, **{f"k{i}": 100 + i for i in range(len(cues.KIND_CUES))}, "season": -1, "alias": -2, "cmp": -3,
}
"""How `_decide` files a hit: a signal's rank (0-9), 100 + a kind cue's index, or a negative family code."""
_SIGNAL_TABLES: Final = {**cues.SIGNALS, "date": cues.DATES, "rverb": cues.RELEASE_VERBS}
_CUE_ENTRIES: Final[tuple[tuple[str, str, str], ...]] = (
    *(("season", p, "season") for p in season_patterns()),
    *((f"k{i}", f, "kind") for i, c in enumerate(cues.KIND_CUES) for f in fragments(c[3])),
    *((n, f, "signal") for n in _SIGNAL_ORDER for f in fragments(_SIGNAL_TABLES[n])),
    *(("cmp", f, "cmp") for f in fragments(cues.COMPARISON_BEFORE)),
)
_CMP_GAP: Final = re.compile(r" (?:the )?(?:hits? |series |shows? |k-dramas? |dramas? )?"
                      r"(?:'?[^,.;:'\n]{1,30}'? (?:and|or|y|e|dan) )?'?")
_COMPARE_AFTER: Final = re.compile("(?:'s|')? ?(?:" + "|".join(fragments(cues.COMPARISON_AFTER)) + ")")
_GAP: Final = re.compile(r"(?:[\s'\":,\-|()]|'s|의|이|가|은|는|도)*")
_AFTER_OF: Final = re.compile(r" (?:of|de|da|do|dari|dal) (?:the |la |la serie |serial |series |a série )?")
_AFTER_OF_START: Final = (" of ", " de ", " da ", " do ", " dari ", " dal ")
"""What every `_AFTER_OF` match starts with (tested first: a string test is cheaper than a match)."""
_QUOTED_BEFORE: Final = re.compile(r"'([^'\n]{1,40})' ?(?:'s |의 ?|: ?)?$")
_KIND_CUES: Final = cues.KIND_CUES
_TITLE_STOP_WORDS: Final = cues.TITLE_STOP_WORDS
_TITLE_GENERIC_WORDS: Final = cues.TITLE_GENERIC_WORDS
_KINDS: Final[dict[str | None, Kind]] = {k: k for k in KINDS}
_TEASER: Final = re.compile("|".join(cues.TEASER_WORDS))
_QUESTION_END: Final = re.compile(r"\?(?:\s|$)")
_NOTHING: Final = Decision(alert=False, confidence=0.01, evidence="")
_EXPLAINER: Final = CueIndex(("explainer", f, "signal") for f in fragments(cues.SIGNALS["explainer"]))


_Name = tuple[int, int, tuple[int, ...], int, bool]
"""A mention of a watched name: start, end, watch indices, the number written after it, whether
it stands in a comparison (plain tuples: one is made per mention, and a tuple is made fastest)."""
_START, _END, _WATCHES, _NUMBER, _COMPARISON = range(5)

_ALIAS_ORDER: Final[Callable[[Hit], tuple[int, int]]] = lambda h: (h[0], -h[1])  # noqa: E731
"""Name mentions by start, the longest first."""

_Kind = tuple[int, int, int]
"""A kind cue found: start, index in cues.KIND_CUES, sentence."""
_Signal = tuple[int, str, int]
"""A signal found (the strongest at its start): start, name, sentence."""

_Cue = tuple[float, int, str, str, int, int, int]
"""A kind candidate: score, priority, kind, milestone, sentence, start, end (compared as a tuple)."""

_Verdict = tuple[float, "str | None", str, int, str, int, int]
"""How one item scored for one watch: total, kind, milestone, the sentence that is the evidence
unless a narrower phrase is found, why it was refused (or ""), the deciding cue's start and end."""


def _confidence(total: float) -> float:
    return round(1.0 / (1.0 + math.exp(-1.6 * (total - THRESHOLD))), 3)


def decision_json(decision: Decision) -> dict[str, object]:
    """The JSON form of a decision (for `newsbot classify` and logs)."""
    return {
        "alert": decision.alert,
        "kind": decision.kind if decision.alert else None,
        "watch": decision.watch,
        "confidence": round(min(1.0, max(0.0, decision.confidence)), 3),
        "evidence": decision.evidence,
    }


class Detector:
    """Classifies news items against a fixed set of watches; every pattern is compiled here once."""

    def __init__(self, watches: Sequence[Watch]) -> None:
        self._watches = tuple(watches)
        names, self._alias_keys = alias_patterns(self._watches)
        self._index = CueIndex((*_CUE_ENTRIES, *(("alias", p, "alias") for p in names)),
                               unmerged=("alias", "season"), required=("alias", "season"),
                               first=("season",))
        self._seasons = frozenset(w.season for w in self._watches)

    # --- public API -------------------------------------------------------------------------

    def classify(self, item: Item) -> Decision:
        """Judge an item from its headline and summary."""
        title = strip_publisher(normalise(item.title), item.publisher, self._carries_cue)
        return self._decide(prepare(title, normalise(item.summary)))

    def classify_article(self, item: Item, article_text: str) -> Decision:
        """Judge a near miss again from the article's main text (its first paragraphs as the lede)."""
        text = normalise(article_text[:40000])
        lede = _lede(text)
        decision = replace(self.classify(replace(item, summary=lede)), needs_article=False)
        if decision.alert and _explainer_count(text.lower()) >= 3:
            return replace(decision, alert=False, confidence=0.08,
                           evidence="the article is an explainer: " + decision.evidence)
        return decision

    # --- the steps --------------------------------------------------------------------------

    def _carries_cue(self, text: str) -> bool:
        return any(h[2] != "cmp" for h in self._index.find(text))

    def _decide(self, prep: Prepared) -> Decision:
        seasons: list[tuple[int, int, int]] = []
        aliases: list[Hit] = []
        kinds: list[tuple[int, int]] = []
        cmp_ends: list[int] = []
        rank_at: dict[int, int] = {}  # start → rank of the strongest signal there
        season_end = -1
        codes = _TAG_CODE
        # Without a name or season match the item is nothing, so the index need not settle
        # whether a required key stood where its patterns could not match.
        for hit in self._index.find(prep.low, settle=False):
            start, end, tag, match = hit
            code = codes[tag]
            if code >= 100:
                kinds.append((start, code - 100))
            elif code >= 0:
                if rank_at.get(start, 99) > code:
                    rank_at[start] = code
            elif code == -1:
                if start >= season_end:  # seasons do not overlap: the first at a position wins
                    seasons.append((start, end, season_value(match)))
                    season_end = end
            elif code == -2:
                aliases.append(hit)
            else:
                cmp_ends.append(end)
        if not aliases and not (seasons and seasons[0][0] < prep.head_end):
            return _NOTHING
        prep = with_sentences(prep)
        bounds = prep.bounds
        found = [(s, k, bisect_right(bounds, s)) for s, k in kinds]
        signals = [(s, _SIGNAL_ORDER[r], bisect_right(bounds, s)) for s, r in rank_at.items()]
        names = self._names(prep, aliases, cmp_ends, kinds, rank_at) if aliases else []
        if not names:
            return self._unnamed(prep, seasons, found, signals)
        watches = {wi for n in names for wi in n[2]} if len(names) > 1 else names[0][2]
        if len(watches) == 1:
            for wi in watches:
                return self._judge(wi, prep, names, seasons, found, signals)
        best: Decision | None = None
        for wi in sorted(watches):
            decision = self._judge(wi, prep, names, seasons, found, signals)
            if best is None or decision.confidence > best.confidence:
                best = decision
        assert best is not None
        return best

    def _names(self, prep: Prepared, aliases: list[Hit], cmp_ends: list[int], kinds: list[tuple[int, int]],
               rank_at: dict[int, int]) -> list[_Name]:
        """Mentions of watched names, longest first where they overlap, with comparison flags."""
        out: list[_Name] = []
        low = prep.low
        keys = self._alias_keys
        if len(aliases) > 1:
            aliases = sorted(aliases, key=_ALIAS_ORDER)
        last_end = -1
        for start, _, _, match in aliases:
            if start < last_end:
                continue
            a_start, end = match.span("a")
            watches = keys.get(low[a_start:end].replace(" ", "").replace("'", ""), ())  # as alias_key
            if not watches or _ordinary_word(prep, start, end, kinds, rank_at):
                continue
            tn = match.group("tn")
            comparison = bool(cmp_ends and any(e <= start and start - e <= 60 and _CMP_GAP.fullmatch(low, e, start)
                                               for e in cmp_ends) or _COMPARE_AFTER.match(low, end))
            out.append((start, end, watches, int(tn) if tn else 0, comparison))
            last_end = end
        return out

    def _owner(self, prep: Prepared, names: list[_Name], wi: int, start: int, end: int) -> int:
        """Who a season reference belongs to: 1 this watch, -1 another title, 0 nobody named."""
        low = prep.low
        for _, n_end, watches, _, comparison in names:
            if n_end <= start and start - n_end <= 8 and _GAP.fullmatch(low, n_end, start):
                return 1 if wi in watches and not comparison else -1
        m = _AFTER_OF.match(low, end) if low.startswith(_AFTER_OF_START, end) else None
        if m:
            for n_start, _, watches, _, comparison in names:
                if n_start == m.end():
                    return 1 if wi in watches and not comparison else -1
            if _titled_word_at(prep, m.end()):
                return -1
        since = max(0, start - 50)
        if (low.find("'", since, start) >= 0 and _QUOTED_BEFORE.search(low, since, start)) or \
                _capital_title_before(prep, start):
            return -1
        return 0

    def _judge(self, wi: int, prep: Prepared, names: list[_Name], seasons: list[tuple[int, int, int]],
               kinds: list[_Kind], signals: list[_Signal]) -> Decision:
        watch = self._watches[wi]
        mine = [n for n in names if wi in n[2]]
        subject = [n for n in mine if not n[4]]
        if not subject:
            return _refuse(watch, prep, mine[0][0], "named only in a comparison with another title")
        refs = [(s, v, self._owner(prep, names, wi, s, e)) for s, e, v in seasons]
        level, why = _subject_level(watch, prep, subject, refs)
        if level is None:
            return _refuse(watch, prep, subject[0][0], why)
        out_of_scope = _scope(prep, watch, refs, subject) if seasons else None
        verdict = _score(prep, kinds, signals, out_of_scope, level)
        if verdict[1] is not None and verdict[5] >= 0:
            evidence = _evidence(prep, verdict, [n[0] for n in subject])
        else:
            evidence = prep.sentence_text(verdict[3])
        return _decision(watch.id, verdict, evidence)

    def _unnamed(self, prep: Prepared, seasons: list[tuple[int, int, int]], kinds: list[_Kind],
                 signals: list[_Signal]) -> Decision:
        """No watched name: a near miss if the headline announces the watched season of an unnamed show."""
        head = [(s, e) for s, e, v in seasons if s < prep.head_end and (v in self._seasons or v == -1)]
        if not head or all(self._owner(prep, [], -1, s, e) for s, e in head):
            return Decision(alert=False, confidence=0.01, evidence="")
        kinds = [h for h in kinds if h[0] < prep.head_end]
        signals = [h for h in signals if h[0] < prep.head_end]
        verdict = _score(prep, kinds, signals, None, 0.0)
        if verdict[4] or verdict[0] < THRESHOLD:
            return Decision(alert=False, confidence=0.02, evidence=prep.sentence_text(0))
        conf = round(0.3 + 0.02 * min(verdict[0], 7), 3)
        return Decision(alert=False, kind=_kind(verdict[1]), confidence=conf,
                        evidence=prep.sentence_text(0), milestone=verdict[2], needs_article=True)


# --- scoring helpers ----------------------------------------------------------------------------


def _kind(kind: str | None) -> Kind | None:
    return _KINDS.get(kind)


def _subject_level(watch: Watch, prep: Prepared, subject: list[_Name],
                   refs: list[tuple[int, int, int]]) -> tuple[float | None, str]:
    """How firmly the item is about the watched season: 0.5 sure, 0 likely, -0.75 implied; None if not."""
    season = watch.season
    mine = other_in_head = unowned = new_season = False  # one pass over the references
    for s, v, o in refs:
        if v == season:
            mine = mine or o == 1
            other_in_head = other_in_head or (o == -1 and s < prep.head_end)
            unowned = unowned or o == 0
        elif v == -1 and o >= 0:
            new_season = True
    if mine or any(n[3] == season for n in subject):
        return 0.5, ""
    if other_in_head:
        return None, "the headline's season news is about another title"
    if unowned:
        return 0.0, ""
    if season > 1 and new_season:
        return -0.25, ""
    numbers = [v for _, v, o in refs if v > 0 and o >= 0] + [n[3] for n in subject if n[3]]
    if all(v < watch.season for v in numbers):
        return -0.75, ""
    return None, f"about season {numbers[0]}, not season {watch.season}"


def _scope(prep: Prepared, watch: Watch, refs: list[tuple[int, int, int]],
           subject: list[_Name]) -> Callable[[int], bool] | None:
    """A test for cues standing in a clause that speaks only of another season (None: no other season)."""
    others = [s for s, v, _ in refs if v > 0 and v != watch.season]
    if not others:
        return None
    ours = [s for s, v, o in refs if v in (watch.season, -1) and o >= 0]
    ours += [n[0] for n in subject if n[3] == watch.season]

    def out(pos: int) -> bool:
        start, end = prep.clause_span(pos)
        return any(start <= s < end for s in others) and not any(start <= s < end for s in ours)

    return out


def _score(prep: Prepared, kinds: list[_Kind], signals: list[_Signal], out: Callable[[int], bool] | None,
           level: float) -> _Verdict:
    """Weigh the cues of one item for one watch (or for an unnamed show)."""
    if out is not None:
        signals = [h for h in signals if not out(h[0])]
    head = prep.head_end
    by_sent: dict[int, set[str]] = {}
    negated: list[tuple[int, int]] = []
    for start, tag, sent in signals:
        if tag in _DECISIVE_ANYWHERE or (start < head and tag in _DECISIVE_IN_HEADLINE):
            return (-4.0, None, "", sent, tag, -1, -1)
        if sent in by_sent:
            by_sent[sent].add(tag)
        else:
            by_sent[sent] = {tag}
        if tag == "negation":
            negated.append(prep.clause_span(start))
    cands: list[_Cue] = []
    for start, index, sent in kinds:
        if (out is not None and out(start)) or (negated and any(a <= start < b for a, b in negated)):
            continue
        kind, milestone, weight, _ = _KIND_CUES[index]
        if level < -0.5 and not (kind == "renewal" and weight >= 3):
            continue
        if kind == "trailer" and _TEASER.search(prep.low, max(0, start - 12), start + 30):
            milestone = "teaser"
        score = weight * (1.0 if start < head else 0.85)
        if sent in by_sent and "official" in by_sent[sent]:
            score += 1.0
        cands.append((score, _PRIORITY[kind], kind, milestone, sent, start, -1))
    if level >= -0.5:
        cands += _release_cues(prep, signals, by_sent)
    if not cands and level >= 0 and 0 in by_sent and "official" in by_sent[0]:
        cands.append((3.0, 1, "renewal", "renewal", 0, -1, -1))
    if not cands:
        return (level - 1.0, None, "", 0, "no announcement cue", -1, -1)
    best = max(cands) if len(cands) > 1 else cands[0]
    return (best[0] + level - _penalty(prep, signals, best[4]), best[2], best[3], best[4], "", best[5], best[6])


def _cue(prep: Prepared, start: int, sent: int, kind: str, milestone: str, weight: float,
         by_sent: dict[int, set[str]], end: int = -1) -> _Cue:
    score = weight * (1.0 if start < prep.head_end else 0.85)
    if "official" in by_sent.get(sent, ()):
        score += 1.0
    return (score, _PRIORITY[kind], kind, milestone, sent, start, end)


def _release_cues(prep: Prepared, signals: list[_Signal], by_sent: dict[int, set[str]]) -> list[_Cue]:
    """A release verb beside a date in one sentence announces a release date (a bare year counts less)."""
    out: list[_Cue] = []
    for sent, tags in by_sent.items():
        if "rverb" in tags and "date" in tags:
            dates = [h[0] for h in signals if h[2] == sent and h[1] == "date"]
            full = any(not prep.low[d:d + 4].isdigit() for d in dates)
            start = min(h[0] for h in signals if h[2] == sent and h[1] == "rverb")
            end = max(dates) + 1
            out.append(_cue(prep, start, sent, "release_date", "release_date", 2.0 if full else 1.5, by_sent,
                            end))
    return out


def _evidence(prep: Prepared, verdict: _Verdict, names: list[int], limit: int = 160) -> str:
    """The phrase that decided: the cue's clause, widened to the watched name when it stands earlier
    in the same sentence (or anywhere in the headline, for a cue in the headline), and to the date
    of a release; cut to `limit` characters around the cue."""
    v_start, v_end = verdict[5], verdict[6]
    sent = prep.sentence(v_start)
    s0, _ = prep.sentence_span(sent)
    start, end = prep.clause_span(v_start)
    if v_end > end:
        end = prep.clause_span(v_end - 1)[1]
    floor = 0 if v_start < prep.head_end else s0
    earlier = [n for n in names if floor <= n < start]
    if earlier and not any(s0 <= n < end for n in names if n >= start):
        start = prep.clause_span(max(earlier))[0]
    text = prep.orig[start:end]
    if len(text) > limit:
        at = max(0, v_start - start - limit // 3)
        text = text[at:at + limit].rsplit(" ", 1)[0] + " …"
    return text.strip(" .;|-[]\n,:") or prep.sentence_text(verdict[3])


def _penalty(prep: Prepared, signals: list[_Signal], best_sent: int) -> float:
    """What hedges, negations and explainer phrases take away from the best cue."""
    head_spec = 0.0
    lede = 0.0
    head = prep.head_end
    for start, tag, sent in signals:
        if start < head:
            if tag == "speculation":
                head_spec += 2.5
        elif tag == "speculation":
            lede += 1.5 if sent == best_sent else 0.75
        elif tag == "negation":
            lede += 1.25
        elif tag == "explainer":
            lede += 2.0
        elif tag == "question":
            lede += 1.5
    return min(head_spec, 5.0) + min(lede, 4.0)


def _decision(watch_id: str, verdict: _Verdict, evidence: str) -> Decision:
    total, kind = verdict[0], verdict[1]
    if verdict[4] and kind is None and total <= -4.0:
        conf = 0.04 if verdict[4] != "explainer" else 0.05
        return Decision(alert=False, watch=watch_id, confidence=conf, evidence=evidence)
    conf = _confidence(total)
    alert = total >= THRESHOLD and kind is not None
    return Decision(alert=alert, kind=_kind(kind), watch=watch_id, confidence=conf,
                    evidence=evidence, milestone=verdict[2] if kind else "")


def _refuse(watch: Watch, prep: Prepared, at: int, why: str) -> Decision:
    return Decision(alert=False, watch=watch.id, confidence=0.02,
                    evidence=f"{why}: {prep.sentence_text(prep.sentence(at))}")


def _titled_word_at(prep: Prepared, pos: int) -> bool:
    """Whether a quoted or capitalised (non-generic) word starts at `pos`."""
    if pos >= len(prep.low):
        return False
    if prep.low[pos] == "'":
        return True
    word = prep.orig[pos:pos + 40].split(" ", 1)[0]
    return word[:1].isupper() and word.lower().strip("',:") not in cues.TITLE_GENERIC_WORDS


def _capital_title_before(prep: Prepared, start: int) -> bool:
    """Whether capitalised words naming some title stand just before `start` ("Squid Game season 2")."""
    bounds = prep.bounds
    sent = bisect_right(bounds, start)
    s0 = bounds[sent - 1] if sent else 0
    words = prep.orig[max(s0, start - 60):start].split()
    named = 0
    for i, word in enumerate(reversed(words)):
        bare = word.strip("'\"():,;")
        if not bare or not (bare[0].isupper() or bare[0].isdigit()) or (i and word[-1] in ":,;"):
            break
        lower = bare.lower()
        if lower in _TITLE_STOP_WORDS:
            break
        named += lower not in _TITLE_GENERIC_WORDS
    # In a Title Case headline capitals do not mark titles (asked last: it is the dearer test).
    return named > 0 and not (start < prep.head_end and prep.head_title_case())


_CAPITAL_BEFORE: Final = re.compile(r"(?:^|[\s'(])([A-Z][\w'+.&-]*) $")


def _ordinary_word(prep: Prepared, start: int, end: int, kinds: list[tuple[int, int]],
                   rank_at: dict[int, int]) -> bool:
    """Whether a one-word Latin name is used as an ordinary word, not as the show's title.

    A title is capitalised: "moving the premiere" and "on wednesday" in a text that uses capitals
    are not the shows "Moving" and "Wednesday". A capitalised word glued before it that neither
    describes a show, nor starts a headline phrase, nor is itself news vocabulary ("Syuting",
    "Trailer") makes a longer title ("Animal Kingdom").
    """
    word = prep.orig[start:end]
    if " " in word or prep.orig is prep.low or not word.isascii() or not word[:1].isalpha():
        return False
    if not word[0].isupper():
        return any(c.isupper() for c in prep.orig)
    m = _CAPITAL_BEFORE.search(prep.orig, max(0, start - 40), start)
    if m is None:
        return False
    at = m.start(1)
    if at in rank_at or any(k[0] == at for k in kinds):  # the word before is a cue word
        return False
    before = m.group(1).lower().rstrip(":,")
    return not (before.endswith(("'s", "'")) or before in cues.TITLE_STOP_WORDS
                or before in cues.TITLE_GENERIC_WORDS)


def _lede(text: str, limit: int = 1500) -> str:
    """The first paragraphs of an article, cut at a sentence end near `limit` characters."""
    if len(text) <= limit:
        return text
    cut = text.rfind(". ", 0, limit)
    return text[: cut + 1 if cut > limit // 3 else limit]


def _explainer_count(low: str) -> int:
    """How many question sentences and explainer phrases an article holds."""
    return len(_EXPLAINER.find(low)) + len(_QUESTION_END.findall(low))
