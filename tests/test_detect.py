"""Detection: table-driven cases (tests/data/detect_cases.yaml) and the API's guarantees."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from bot.detect.rules import _EXPLAINER, Detector, decision_json
from bot.detect.text import normalise
from bot.models import Item, Watch

DATA = Path(__file__).parent / "data" / "detect_cases.yaml"


def _load() -> dict[str, Any]:
    loaded: dict[str, Any] = YAML(typ="safe").load(DATA.read_text(encoding="utf-8"))
    return loaded


TABLE = _load()
WATCHES = tuple(
    Watch(id=w["id"], title=w["title"], season=int(w["season"]), aliases=tuple(w.get("aliases", ())))
    for w in TABLE["watches"]
)
CASES = TABLE["cases"]


@pytest.fixture(scope="module")
def detector() -> Detector:
    return Detector(WATCHES)


def test_table_is_broad() -> None:
    assert len(CASES) >= 60
    kinds = {c.get("kind") for c in CASES if c["alert"]}
    assert kinds == {"renewal", "trailer", "release_date", "production"}
    assert sum(1 for c in CASES if not c["alert"]) >= 25


@pytest.mark.parametrize("case", CASES, ids=[c["title"][:60] for c in CASES])
def test_case(detector: Detector, case: dict[str, Any]) -> None:
    item = Item(title=case["title"], summary=case.get("summary", ""), publisher=case.get("publisher", ""))
    d = detector.classify(item)
    assert d.alert is case["alert"], d
    for field in ("kind", "watch", "milestone", "needs_article"):
        if field in case:
            assert getattr(d, field) == case[field], d
    if d.alert:
        assert d.kind is not None and d.watch is not None and d.evidence
        assert d.confidence >= 0.5
    else:
        assert d.confidence < 0.5


def test_decision_json_shape(detector: Detector) -> None:
    d = detector.classify(Item(title="Netflix renews All of Us Are Dead for a second season"))
    out = decision_json(d)
    assert set(out) == {"alert", "kind", "watch", "confidence", "evidence"}
    assert out["alert"] is True and out["kind"] == "renewal" and out["watch"] == "aouad"
    assert isinstance(out["confidence"], float) and 0.0 <= out["confidence"] <= 1.0
    assert round(out["confidence"], 3) == out["confidence"]


def test_confidence_orders_decisions(detector: Detector) -> None:
    sure = detector.classify(Item(
        title="Netflix officially renews All of Us Are Dead for season 2",
        summary="Netflix announced the renewal at its fan event."))
    weaker = detector.classify(Item(
        title="Netflix unveils its autumn slate",
        summary="Among the highlights, All of Us Are Dead has been renewed for a second season."))
    hedged = detector.classify(Item(title="All of Us Are Dead season 2 could arrive in 2027"))
    unrelated = detector.classify(Item(title="Netflix announces a new dating show for spring"))
    assert sure.confidence > weaker.confidence >= 0.5 > hedged.confidence >= unrelated.confidence


def test_watches_are_data() -> None:
    """The same headline alerts for a watch of season 3 only when season 3 is watched."""
    title = "Glass Harbor renewed for season 3"
    s3 = Detector((Watch(id="gh3", title="Glass Harbor", season=3),)).classify(Item(title=title))
    s2 = Detector((Watch(id="gh2", title="Glass Harbor", season=2),)).classify(Item(title=title))
    assert s3.alert and s3.watch == "gh3"
    assert not s2.alert


def test_no_watches_never_alerts() -> None:
    d = Detector(()).classify(Item(title="Netflix renews All of Us Are Dead for a second season"))
    assert not d.alert and d.watch is None


def test_korean_spacing_and_quotes(detector: Detector) -> None:
    titles = (
        "“지금우리학교는” 시즌 2 제작 확정",
        "「지금 우리 학교는」 시즌2 제작 확정",
        "지금 우리학교는 시즌2 제작 확정",
    )
    for title in titles:
        d = detector.classify(Item(title=title))
        assert d.alert and d.kind == "renewal" and d.watch == "aouad", title


def test_publisher_suffix_is_dropped(detector: Detector) -> None:
    d = detector.classify(Item(title="All of Us Are Dead season 2 wraps filming - Screen Weekly",
                               publisher="Screen Weekly"))
    assert d.alert and "Screen Weekly" not in d.evidence


def test_normalise_unifies_quotes_dashes_spaces() -> None:
    assert normalise("‘A’ “B” —  C\n D") == "'A' 'B' - C D"


def test_classify_article_decides_near_miss(detector: Detector) -> None:
    item = Item(title="Korean zombie thriller season 2 begins production", url="https://example.test/a")
    first = detector.classify(item)
    assert first.needs_article and not first.alert
    article = ("Netflix's All of Us Are Dead has started filming its second season in Seoul. "
               "The streamer confirmed the returning cast on Tuesday.")
    second = detector.classify_article(item, article)
    assert second.alert and second.kind == "production" and second.watch == "aouad"
    assert not second.needs_article


def test_classify_article_refuses_explainer(detector: Detector) -> None:
    item = Item(title="Korean zombie thriller season 2 begins production")
    article = ("All of Us Are Dead season 2 begins production, according to fans. "
               "Will there be new cast members? Who could return? When will it premiere? "
               "Here is everything we know about the show.")
    d = detector.classify_article(item, article)
    assert not d.alert


def test_bad_input_does_not_crash(detector: Detector) -> None:
    for title in ("", " - ", "?", "\x00\ufffd", "season 2" * 500, "시즌", "'" * 50):
        d = detector.classify(Item(title=title, summary=title))
        assert 0.0 <= d.confidence <= 1.0


def test_evidence_is_the_deciding_phrase(detector: Detector) -> None:
    """Evidence is the cue's clause with the show's name, not the whole text."""
    teaser = detector.classify(Item(title="Tempest: Season 2 | Official Teaser | Netflix"))
    assert teaser.evidence == "Tempest: Season 2 | Official Teaser"
    wrap = detector.classify(Item(title="All of Us Are Dead season 2 wraps filming, with a party in Seoul"))
    assert wrap.evidence == "All of Us Are Dead season 2 wraps filming"
    lede = detector.classify(Item(
        title="Netflix unveils its autumn slate",
        summary="Among the highlights, All of Us Are Dead has been renewed for a second season. More soon."))
    assert lede.evidence == "All of Us Are Dead has been renewed for a second season"


# --- the cue index: where the scanner stops must not change what is found ----------------------

INDEX_ENTRIES = (
    ("season", r"(?<![\w])(?:second|2nd) season(?![\w])", "season"),
    ("back", r"(?<![\w])(?:(?:is|are) back)(?![\w])", "kind"),
    ("official", r"(?<![\w])(?:official(?:ly)?)(?![\w])", "signal"),
    ("ret", r"(?<![\w])(?:returning for an?)(?![\w])", "kind"),
    ("year", r"(?<![\w])(?:20\d\d)(?![\w])", "signal"),
    ("ser", r"(?<![\w])(?:serializ\w*)(?![\w])", "signal"),
    ("name", r"(?<![\w])(?:glass harbor)(?![\w])", "name"),
)


@pytest.mark.parametrize(("text", "expected"), [
    # A key that needs more text ("returning for a") spans words that start keys of their own.
    ("glass harbor is returning for a second season", ["name", "ret", "season"]),
    ("glass harbor: fans are back", ["name", "back"]),
    ("glass harbor fans are here", ["name"]),  # "are" without "back" is no place
    ("glass harbor premieres in 2026, not x2026", ["name", "year"]),
    ("glass harbor serialized; a series", ["name", "ser"]),
    # No key of the required family: nothing, even where other cues match.
    ("officially 2026", []),
    # A required key without the text it needs still counts as a required key occurring.
    ("glass officially", ["official"]),
])
def test_index_finds_every_cue(text: str, expected: list[str]) -> None:
    from bot.detect.index import CueIndex
    index = CueIndex(INDEX_ENTRIES, required=("name",))
    assert [tag for _, _, tag, _ in index.find(text)] == expected


def test_index_settle_false_may_skip_required_keys_without_matches() -> None:
    from bot.detect.index import CueIndex
    index = CueIndex(INDEX_ENTRIES, required=("name",))
    assert index.find("glass officially", settle=False) == []
    assert [h[2] for h in index.find("glass harbor officially", settle=False)] == ["name", "official"]


def test_word_by_word_key_reading_agrees_with_the_key_scanner() -> None:
    """The compiled build reads ASCII text word by word instead of with the key scanner: both must
    find the same keys at the same places (checked here in either build)."""
    texts = [normalise(f"{c['title']}\n{c.get('summary', '')}").lower() for c in CASES]
    texts = [t for t in texts if t.isascii()]
    words = " ".join(texts).split()
    rng = random.Random(7)
    for _ in range(3000):  # shuffled words, and texts cut and glued at odd characters
        texts.append(" ".join(rng.choice(words) for _ in range(rng.randint(1, 25))))
        text = rng.choice(texts)
        cut = rng.randint(0, len(text))
        texts.append(text[cut:] + rng.choice("-'(_.x0 ") + text[:cut])
    other = Detector((Watch(id="lk3", title="The Lantern Keepers", season=3, aliases=("Lantern Keepers",)),))
    for detector in (Detector(WATCHES), other):
        for index in (detector._index, _EXPLAINER):
            for text in texts:
                assert index._ascii_keys(text) == index._scanned_keys(text), text
