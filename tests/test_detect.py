"""Detection: table-driven cases (tests/data/detect_cases.yaml), names and seasons, and the model file."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from bot.detect import Detector, decision_json
from bot.detect.model import WEIGHTS, dumps
from bot.detect.names import Names
from bot.detect.seasons import mask
from bot.detect.text import normalise
from bot.models import Item, Watch

DATA = Path(__file__).parent / "data" / "detect_cases.yaml"
CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"


def _load() -> dict[str, Any]:
    loaded: dict[str, Any] = YAML(typ="safe").load(DATA.read_text(encoding="utf-8"))
    return loaded


TABLE = _load()
WATCHES = tuple(
    Watch(id=w["id"], title=w["title"], season=int(w["season"]), aliases=tuple(w.get("aliases", ())),
          exclude=tuple(w.get("exclude", ())))
    for w in TABLE["watches"]
)
CASES: list[dict[str, Any]] = TABLE["cases"]


@pytest.fixture(scope="module")
def detector() -> Detector:
    return Detector(WATCHES)


def test_table_is_broad() -> None:
    kinds = {c.get("kind") for c in CASES if c["alert"]}
    assert kinds == {"renewal", "trailer", "release_date", "production"}
    assert sum(1 for c in CASES if not c["alert"]) >= 8


@pytest.mark.parametrize("case", CASES, ids=[c["title"][:60] for c in CASES])
def test_case(detector: Detector, case: dict[str, Any]) -> None:
    d = detector.classify(Item(title=case["title"], summary=case.get("summary", "")))
    assert d.alert is case["alert"], d
    for field in ("kind", "watch", "milestone"):
        if field in case:
            assert getattr(d, field) == case[field], d
    if d.alert:
        assert d.kind is not None and d.watch is not None and d.evidence and d.confidence >= 0.5
    else:
        assert d.confidence < 0.5 and d.kind is None


@pytest.mark.parametrize(("text", "masked"), [
    ("The Lantern Keepers season 3 trailer", "zshow ztseason trailer"),
    ("THE LANTERN-KEEPERS S3", "zshow ztseason"),
    ("thelanternkeepers 3 teaser", "zshow ztseason teaser"),
    ("The Lantern Keepers (2024) season 4", "zshow zyear zoseason"),
    ("랜턴키퍼스 시즌3", "zshow ztseason"),
    ("ランタンキーパーズ シーズン３", "zshow ztseason"),
    ("Los guardianes del farol: tercera temporada", "zshow : ztseason"),
    ("The Lantern Keepers: Origins, season 3", "zexcl ztseason"),
    # "T3" is Spanish and Portuguese for the third temporada, after the title only (T1, T-1000)
    ("The Lantern Keepers T3: tráiler", "zshow ztseason : trailer"), ("The Lantern Keepers T2", "zshow zoseason"),
    ("T3 y T1 en la final", "t3 y t1 en la final"),
    # a hashtag glues the season to the title; a year stays glued
    ("#TheLanternKeepers3 teaser", "zshow ztseason teaser"), ("#TheLanternKeepersS3", "zshow ztseason"),
    ("＃TheLanternKeepers２", "zshow zoseason"), ("#TheLanternKeepers2024", "thelanternkeepers zyear"),
])
def test_names_and_seasons_are_masked(text: str, masked: str) -> None:
    from bot.detect.features import _seasoned
    from bot.detect.text import tokens

    names = Names.of(WATCHES[0])
    out = _seasoned(tokens(mask(names.mask(normalise(text)), 3)), 3)
    assert " ".join(out) == masked


@pytest.mark.parametrize(("text", "target", "masked"), [
    ("second season", 2, "ztseason"), ("2nd season", 3, "zoseason"), ("segunda temporada", 2, "ztseason"),
    ("2e saison", 2, "ztseason"), ("2. staffel", 2, "ztseason"), ("seconda stagione", 2, "ztseason"),
    ("musim kedua", 2, "ztseason"), ("두 번째 시즌", 2, "ztseason"), ("第2期", 2, "ztseason"),
    ("season two part 2", 2, "ztseason zpart"), ("s01e03", 2, "zoseason"),
    ("두 번째 시즌을", 2, "ztseason 을"), ("fünfte Staffel", 5, "ztseason"), ("mùa 3", 3, "ztseason"),
    ("the fifth and final season", 5, "the ztseason"), ("quinta e última temporada", 4, "zoseason"),
    ("tweede seizoen", 2, "ztseason"), ("troisième et dernière saison", 3, "ztseason"),
    ("σεζόν 2", 2, "ztseason"), ("Wednesday: σεζόν 2 στο Netflix", 3, "wednesday: zoseason στο netflix"),
    ("Café: σεζόν 2", 2, "cafe: ztseason"), ("kausi 2", 2, "ztseason"), ("sezon 2", 2, "ztseason"),
    ("ikinci sezon", 2, "ztseason"), ("İkinci sezonu", 3, "zoseason"), ("второй сезон", 2, "ztseason"),
    ("ikalawang season ng", 2, "ztseason ng"), ("ikatlong season", 2, "zoseason"),
    ("сезон 5", 5, "ztseason"), ("الموسم الثاني", 2, "ztseason"), ("فصل دوم", 2, "ztseason"),
    ("δεύτερης σεζόν", 2, "ztseason"), ("Café δεύτερης σεζόν", 2, "cafe ztseason"),
    ("दूसरे सीज़न", 2, "ztseason"), ("2 сезона", 2, "ztseason"), ("3 sezonul", 3, "ztseason"),
    ("season III", 3, "ztseason"), ("temporada IV", 3, "zoseason"), ("the game II", 2, "the game ii"),
    ("3기 제작 확정", 3, "ztseason 제작 확정"), ("2기가 온다", 3, "zoseason 가 온다"), ("1기생 모집", 1, "1기생 모집"),
    # two seasons ordered at once: the watched one is either
    ("renewed for fifth and sixth seasons", 6, "renewed for ztseason"), ("quinta y sexta temporada", 5, "ztseason"),
    ("fünften und letzten Staffel", 5, "ztseason"), ("seasons 5 and 6", 6, "ztseason"),
    ("renewed for 11th and 12th seasons", 11, "renewed for ztseason"), ("5. und 6. Staffel", 6, "ztseason"),
    ("temporadas 5 y 6", 5, "ztseason"), ("saisons 5 et 6", 4, "zoseason"),
    ("season 5 and 6 episodes", 6, "zoseason and 6 episodes"),  # a singular season word: 6 counts episodes
    # long-running shows: the seventh to the tenth season in words
    ("renewed for a seventh season", 7, "renewed for a ztseason"), ("eighth season", 7, "zoseason"),
    ("season eight", 8, "ztseason"), ("séptima temporada", 7, "ztseason"), ("oitava temporada", 7, "zoseason"),
    ("huitième saison", 8, "ztseason"), ("siebte Staffel", 7, "ztseason"), ("nona stagione", 9, "ztseason"),
    ("musim ketujuh", 7, "ztseason"), ("ninth and final season", 9, "ztseason"), ("temporada diez", 10, "ztseason"),
    ("седьмой сезон", 7, "ztseason"), ("فصل هفتم", 7, "ztseason"), ("第七季", 7, "ztseason"),
    ("season IX", 9, "ztseason"), ("tenth season", 9, "zoseason"), ("일곱 번째 시즌", 7, "ztseason"),
    ("nu het seizoen achter de rug is", 8, "nu het seizoen achter de rug is"),  # Dutch "behind", not "eighth"
    ("la serie tiende temporada tras temporada", 10, "la serie tiende temporada tras temporada"),  # "tends"
    ("el final de temporada desata la polémica", 10, "el final de temporada desata la polemica"),  # "unleashes"
    ("worauf man bei der Staffel achten sollte", 8, "worauf man bei der staffel achten sollte"),  # "heed"
    # a number after a season word that counts something is no season
    ("a new season seven years after the finale", 7, "a new season seven years after the finale"),
    ("nueva temporada diez años después", 10, "nueva temporada diez anos despues"),
    ("season two episode 3", 2, "ztseason episode 3"),
    # a Korean number word alone counts seasons ("over three seasons"); with 번째 it names one
    ("세 시즌에 걸쳐", 3, "세 시즌에 걸쳐"), ("아홉 시즌 동안", 9, "아홉 시즌 동안"),
    ("세번째 시즌", 3, "ztseason"), ("첫 시즌", 1, "ztseason"),
    # the trade press joins an ordinal to its season word: "third-season renewal"; a count stays one
    ("lands third-season renewal", 3, "lands ztseason renewal"), ("a fourth-season order", 3, "a zoseason order"),
    ("a two-season arc", 2, "a two-season arc"),
])
def test_seasons_in_every_form(text: str, target: int, masked: str) -> None:
    assert " ".join(mask(normalise(text), target).split()) == masked


@pytest.mark.parametrize(("text", "words"), [
    ("नया ट्रेलर जारी", ["नया", "ट्रेलर", "जारी"]),
    ("নতুন ট্রেলার", ["নতুন", "ট্রেলার"]),
    ("కొత్త ట్రైలర్ విడుదల", ["కొత్త", "ట్రైలర్", "విడుదల"]),
    ("snake_case word?", ["snake", "case", "word", "?"]),
])
def test_combining_marks_stay_inside_words(text: str, words: list[str]) -> None:
    from bot.detect.text import tokens

    assert tokens(normalise(text)) == words


@pytest.mark.parametrize(("text", "words"), [
    ("premieres at 10:00 PT", ["premieres", "at", "10", "00", "pt"]),
    ("シーズン2、6月17日10:00より配信開始", ["シーズン2", "6月17日10", "00より配信開始"]),
    ("Season 2: trailer", ["season", "2", ":", "trailer"]),
    ("Part 1: 8 episodes", ["part", "1", ":", "8", "episodes"]),
    ("Title:Season 2", ["title", ":", "season", "2"]),
    ("at 9:30pm", ["at", "9", "30pm"]),
    # after a number glued to a word, the colon is the headline's, before a date too
    ("シーズン3：10月17日より配信開始", ["シーズン3", ":", "10月17日より配信開始"]),
    ("시즌3:10월 공개", ["시즌3", ":", "10월", "공개"]),
    ("S2:E10", ["s2", ":", "e10"]),
])
def test_a_colon_between_digits_is_a_time_not_a_mark(text: str, words: list[str]) -> None:
    """A headline's colon ("<title> season 2: release date") weighs as the structure it is; a time's
    ("premieres at 10:00") is none."""
    from bot.detect.text import tokens

    assert tokens(normalise(text)) == words


@pytest.mark.parametrize(("text", "folded"), [
    ("Fragmanı yayınlandı", "fragmani yayinlandi"), ("Zwiastun już, ciąg dalszy", "zwiastun juz, ciag dalszy"),
    ("Første sesong", "forste sesong"), ("Đoạn giới thiệu", "doan gioi thieu"),
])
def test_letters_folded_as_addresses_write_them(text: str, folded: str) -> None:
    assert normalise(text) == folded


def test_every_table_phrase_can_be_found_as_features_read_text() -> None:
    """Numbers and seasons reach the tables masked (`znum`, `ztseason`...): a phrase with a digit or a
    season ("krijgt een tweede seizoen") would never be found; a table writes `ztseason` or `zoseason`."""
    from bot.detect import seasons
    from bot.detect.cues import load

    table = load()
    assert not [k for k in table.words if any(t.isdecimal() for t in k.split())]
    assert not [k for k in [*table.words, *table.chars] if seasons.mask(k, 2) != k or seasons.mask(k, 3) != k]


def test_no_single_word_is_both_a_kind_cue_and_a_doubt() -> None:
    """A kind cue and a doubt standing on the same Latin word mean a doubt's phrase opens with that cue
    ("renewal status"), which `_cues` reads as the phrase's: a single word of both would deny itself."""
    from bot.detect.cues import KINDS, load
    from bot.detect.features import _DOUBT_PHRASES

    table = load()
    both = [k for k, fams in table.words.items()
            if " " not in k and not set(KINDS).isdisjoint(fams) and not _DOUBT_PHRASES.isdisjoint(fams)]
    assert not both


def test_every_korean_japanese_chinese_and_thai_phrase_is_found_whole() -> None:
    """A phrase of characters is found whole, spaced as its table writes it or not at all: a shorter
    phrase that ends with a space ("제작 발표") would otherwise take the start of a longer one
    ("제작발표회", a press event) and hide it."""
    from bot.detect.cues import load

    table = load()
    assert table.char_pattern is not None
    shadowed = []
    for joined in table.chars:
        match = table.char_pattern.match(joined)
        if match is None or "".join(match.group(0).split()) != joined:
            shadowed.append((joined, match.group(0) if match else None))
    assert shadowed == []


@pytest.mark.parametrize(("text", "families"), [
    ("la bande-annonce est là", {"trailer"}),  # not "annonce", a verb that tells
    ("la saison 3 est annoncée", {"announce"}),
    # a first word of other news is the phrase's too; of the same news it stays ("filming" of "filming
    # wrapped"), and a doubt's phrase keeps the kind it denies
    ("it lands on friday", {"date"}), ("les premières images", {"trailer"}),
    ("filming wrapped", {"filming", "wrap"}), ("renewal status", {"renew", "spec"}),
])
def test_a_word_inside_a_longer_phrase_is_that_phrase(text: str, families: set[str]) -> None:
    from bot.detect.cues import load
    from bot.detect.text import tokens

    assert {family for _, family in load().find(tokens(normalise(text)))} == families


@pytest.mark.parametrize(("text", "renewal"), [
    ("Moonfall Academy season 3 lands on Netflix", False),  # when it arrives, not an order
    ("Moonfall Academy season 3 lands in June", False),
    ("Moonfall Academy lands a third season", True),
    ("Moonfall Academy lands season 3 at Netflix", True),
    ("Moonfall Academy lands its third season", True),
    ("Moonfall Academy lands a 10-episode third season", True),
    ("Moonfall Academy has landed a third season", True),
    ("Moonfall Academy lands big season 3 pickup", True),
])
def test_lands_is_a_renewal_but_lands_on_or_in_tells_when(text: str, renewal: bool) -> None:
    import bot.detect.seasons as seasons
    from bot.detect.cues import load
    from bot.detect.text import tokens

    masked = [("znum" if tok.isdecimal() else tok) for tok in tokens(seasons.mask(normalise(text), 3))]
    families = {family for _, family in load().find(masked)}  # numbers reach the tables as "znum"
    assert ("renew" in families) is renewal


@pytest.mark.parametrize("headline", [
    "Severance Staffel 2: Apple nennt Starttermin",
    "Der Starttermin für Severance Staffel 2 steht fest",
    "Severance Staffel 2: Starttermin bekanntgegeben",
    "Apple präsentiert den Starttermin von Severance Staffel 2",
    "Apple gibt den Starttermin von Severance Staffel 2 bekannt",
    "Severance Staffel 2: Starttermin bekannt",
])
def test_german_verbs_that_name_a_date_tell_it(headline: str) -> None:
    """German press names a start date with "nennt", "steht fest", "bekanntgegeben", "präsentiert", and
    "bekannt" however far the verb it completes stands ("gibt ... bekannt"): a verb that tells, beside the
    date ("verrät" is not one: without its dots it is "Verrat", a plot's betrayal)."""
    from bot.detect.cues import load
    from bot.detect.text import tokens

    families = {family for _, family in load().find(tokens(normalise(headline)))}
    assert {"announce", "date"} <= families


@pytest.mark.parametrize(("text", "family"), [
    ("Noah Schnapp nennt möglichen Starttermin", "spec"),
    ("un possible retour en 2026", "spec"),
    ("una possibile data di uscita", "spec"),
    ("a possível data de estreia", "spec"),
])
def test_a_possible_date_is_speculation_in_every_language(text: str, family: str) -> None:
    from bot.detect.cues import load
    from bot.detect.text import tokens

    assert family in {f for _, f in load().find(tokens(normalise(text)))}


@pytest.mark.parametrize("text", ["Severance stagione 2: svelata la data di uscita", "Il trailer è stato pubblicato",
                                  "rivelato il trailer", "annunciati i nuovi episodi"])
def test_italian_participles_tell(text: str) -> None:
    from bot.detect.cues import load
    from bot.detect.text import tokens

    assert "announce" in {f for _, f in load().find(tokens(normalise(text)))}


@pytest.mark.parametrize("text", ["Severance Staffel 2: Alles, was bekannt ist", "Staffel 2: Was ist bekannt?",
                                  "Staffel 2: Was ist bisher bekannt?"])
def test_what_is_known_is_no_news(text: str) -> None:
    from bot.detect.cues import load
    from bot.detect.text import tokens

    families = {f for _, f in load().find(tokens(normalise(text)))}
    assert "spec" in families
    assert "announce" not in families


def test_a_betrayal_is_no_verb_that_tells() -> None:
    from bot.detect.cues import load
    from bot.detect.text import tokens

    assert "announce" not in {f for _, f in load().find(tokens(normalise("Folge 5: Verrat an der Akademie")))}


@pytest.mark.parametrize(("text", "read"), [
    ("ahead of zshow ztseason premiere netflix drops final trailer", "zshow ztseason netflix drops final trailer"),
    ("zshow renewed for zoseason ahead of the ztseason premiere", "zshow renewed for zoseason zref"),
    ("zshow ztseason 공개를 앞두고 zoseason 제작 확정", "zshow zref zoseason 제작 확정"),
    ("ahead of the ztseason premiere zshow cast reunite", "ztseason zshow cast reunite"),
    ("zshow renewed for zoseason ahead of the premiere of ztseason", "zshow renewed for zoseason zref"),
    ("zshow renovada por una zoseason antes del estreno de la ztseason", "zshow renovada por una zoseason zref"),
    ("avant meme la diffusion de la ztseason de zshow zshow renouvelee pour une zoseason",
     "zref de zshow zshow renouvelee pour une zoseason"),
    ("antes incluso del estreno de la ztseason zshow renovada por una zoseason",
     "zref zshow renovada por una zoseason"),
    # a renewal is of a later season than the one it is dated by, named or not; a confirmation may be its
    ("netflix renews zshow ahead of the ztseason premiere", "netflix renews zshow zref"),
    ("zshow new cast confirmed ahead of ztseason filming", "zshow new cast confirmed ztseason filming"),
])
def test_a_season_that_dates_the_news_is_read_as_a_time(text: str, read: str) -> None:
    """A season after "ahead of" (or before "앞두고") dates the news: with another season in the text, or
    a renewal, it is `zref`, alone it stays; either way its premiere is no date cue, and the show's name
    stays."""
    from bot.detect.features import _references

    assert " ".join(_references(text.split())) == read


@pytest.mark.parametrize(("text", "other"), [
    ("zshow ztseason premiere date set , zoseason confirmed", False),  # news of both: not only the other's
    ("zshow ztseason trailer as netflix renews it for zoseason", False),
    ("netflix renews zshow for zoseason as ztseason ends", True),  # every kind cue is the other's
    ("zshow zoseason confirmed", True),
])
def test_the_news_is_another_season_s_only_when_no_kind_is_told_of_the_watched_one(text: str, other: bool) -> None:
    from bot.detect.cues import load
    from bot.detect.features import _cues

    feats: dict[str, float] = {}
    _cues(text.split(), "t", load(), feats)
    assert ("k:os_nearest:t" in feats) is other


@pytest.mark.parametrize(("head", "written_with"), [
    ("zshow ztseason trailer", True), ("zshow : ztseason trailer", True),
    ("trailer de la ztseason de zshow", True), ("trailer for ztseason of the zshow", True),
    ("ztseason de la serie zshow", False), ("zshow fans wait for ztseason", False),
])
def test_the_season_is_written_with_the_name_after_it_or_before_it_with_of(head: str, written_with: bool) -> None:
    from bot.detect.features import _structure

    feats: dict[str, float] = {}
    _structure(head.split(), [], feats)
    assert ("x:ts_adj" in feats) is written_with


def test_cues_are_found_inside_a_run_of_thai_letters() -> None:
    from bot.detect.cues import load
    from bot.detect.text import tokens

    families = {family for _, family in load().find(tokens(normalise("ปล่อยตัวอย่างใหม่แล้ว")))}
    assert {"trailer", "announce"} <= families


@pytest.mark.parametrize("text", ["시즌2 촬영 종료", "시즌2 촬영종료", "시즌2  촬영 종료!"])
def test_a_korean_phrase_matches_spaced_or_not_at_its_first_word(text: str) -> None:
    from bot.detect.cues import load
    from bot.detect.text import tokens

    found = load().find(tokens(normalise(text)))
    assert (1, "wrap") in found
    assert all(fam != "filming" for _, fam in found)  # the longer phrase, not its first word


@pytest.mark.parametrize(("text", "family"), [
    ("Staffel 2 bestätigt", "renew"), ("staffel 2 bestaetigt", "renew"), ("kehrt zurueck", "return"),
    ("ein neuer Ankündigungstrailer", "trailer"), ("das premierendatum steht", "date"),
    ("der Finalteaser ist da", "teaser"),
])
def test_german_reads_as_addresses_write_it_and_in_compounds(text: str, family: str) -> None:
    from bot.detect.cues import load
    from bot.detect.text import tokens

    assert family in {fam for _, fam in load().find(tokens(normalise(text)))}


def test_a_word_ending_matches_only_where_no_whole_word_does() -> None:
    from bot.detect.cues import CueTable, parse_table

    words: dict[str, list[str]] = {}
    chars: dict[str, list[str]] = {}
    endings: dict[str, list[str]] = {}
    parse_table("trailer\t*trailer\ncast\tcasttrailer\n", words, chars, endings)
    table = CueTable(words={k: tuple(v) for k, v in words.items()}, chars={}, prefixes=frozenset(),
                     char_pattern=None, endings={k: tuple(v) for k, v in endings.items()})
    assert table.find(["ein", "hauptteaser", "neuertrailer"]) == [(2, "trailer")]
    assert table.find(["casttrailer"]) == [(0, "cast")]  # a whole word of the table is read as that word
    assert table.find(["trailerpark"]) == []


@pytest.mark.parametrize(("text", "family", "not_family"), [
    ("a concept trailer", "fan", "fans"), ("fans react to the trailer", "fans", "fan"),
    ("is it out?", "qmark", "neg"), ("the date is out", "qstart", "qmark"), ("when is it out", "question", "qmark"),
    ("not renewed", "neg", "yet"), ("no date yet", "yet", "neg"), ("the finale airs", "episode", "after"),
    ("3화 공개", "episode", "film"), ("영화 속 대화가 화제", "film", "episode"), ("第3話", "episode", "date"),
    ("6月17日配信", "date", "episode"), ("日本で予告編公開", "trailer", "date"),
    ("teaser oficial", "official", "renew"), ("¡es oficial! renovada", "renew", "trailer"),
    ("全8話で配信", "count", "episode"), ("총 8부작 공개", "count", "episode"),
    ("a new actor replaces the lead", "cast", "renew"), ("배우 하차", "cast", "episode"),
    ("the series was cancelled", "neg", "renew"), ("críticas mixtas", "review", "date"),
    ("시즌2 제작된다", "renew", "episode"), ("deux bandes-annonces", "trailer", "fan"),
    ("an AI-generated trailer", "fan", "fans"), ("in cima ai desideri dei fan", "fans", "fan"),
    ("시즌2 티저 포스터 공개", "image", "teaser"), ("시즌2를 예고했다", "announce", "trailer"),
    ("메인 예고 공개", "trailer", "image"), ("初のティーザーを公開", "teaser", "image"),
    ("シーズン2が公開された", "announce", "trailer"),
    ("la serie ya tiene fecha de estreno", "announce", "spec"), ("a série já tem data", "announce", "spec"),
    ("la saison 2 a enfin une date", "announce", "question"), ("la serie ha finalmente una data", "announce", "spec"),
    ("Bekommt die Serie eine zweite Staffel?", "qmark", "announce"),
    ("[รีวิว] ซีซั่น 2", "review", "announce"), ("the season 2 filming locations", "explain", "wrap"),
    ("season 2 finishes production", "wrap", "renew"), ("temporada 2 todo que sabemos", "spec", "announce"),
    # Russian writes ё as е as often as not: either spelling reads the phrase written with the other
    ("сериал продлён на сезон 3", "renew", "trailer"), ("начались съёмки сезона 3", "filming", "renew"),
    ("Netflix zamawia sezon 3", "renew", "trailer"), ("Netflix продлевает сериал", "renew", "trailer"),
    # a name that holds a cue word is no cue: a streaming service, not a video
    ("renewed at Prime Video", "renew", "trailer"), ("la temporada 2 llega a Prime Video", "date", "trailer"),
    ("Tencent Video reveals the season 2 poster", "announce", "trailer"),
])
def test_a_phrase_reads_as_its_family_and_not_a_near_one(text: str, family: str, not_family: str) -> None:
    from bot.detect.cues import load
    from bot.detect.text import tokens

    found = {fam for _, fam in load().find(tokens(normalise(text)))}
    assert family in found and not_family not in found


@pytest.mark.parametrize(("title", "family", "present"), [
    ("Is The Lantern Keepers season 3 happening?", "qstart", True),
    ("The Lantern Keepers: will season 3 ever come?", "qstart", True),
    ("The Lantern Keepers season 3 is officially happening", "qstart", False),
    ("The Lantern Keepers season 3 will begin filming in May", "qstart", False),
    ("The Lantern Keepers gets a season 3 order", "renew", True),
    ("A series order for The Lantern Keepers", "renew", True),
    ("Watch The Lantern Keepers season 3 in order", "renew", False),
    ("Ahead of The Lantern Keepers season 3 premiere, season 4 is renewed", "k:os_nearest:t", True),
    ("The Lantern Keepers renewed for season 3 after the season 2 finale", "k:os_nearest:t", False),
    ("A fan-made trailer for The Lantern Keepers season 3", "k:strong_t", True),
    ("When will The Lantern Keepers season 3 trailer come?", "k:strong_t", True),
    ("Fans react to The Lantern Keepers season 3 trailer", "k:strong_t", False),
    ("The Lantern Keepers season 3 premieres May 21", "spec", False),
    ("The Lantern Keepers season 3 arrives in mid-May", "spec", False),
    ("The Lantern Keepers season 3 may arrive sooner than you think", "spec", True),
    ("This may be the year of The Lantern Keepers season 3", "spec", True),
    ("Netflix sets May premiere for The Lantern Keepers season 3", "spec", False),
    ("The Lantern Keepers season 3 gets a May release date", "spec", False),
    ("The Lantern Keepers season 3 pushed to May", "spec", False),
    ("The Lantern Keepers season 3 may premiere in 2026", "spec", True),
    ("The Lantern Keepers season 3 set may have leaked the finale", "spec", True),
    ("What the trailer reveals may change everything about The Lantern Keepers season 3", "spec", True),
    ("The Lantern Keepers season 3: all eyes may be on the finale", "spec", True),
    ("The Lantern Keepers season 3 is the sequel fans waited for may finally arrive", "spec", True),
    ("The Lantern Keepers season 3 set for May", "spec", False),
    ("Here's when The Lantern Keepers season 3 premieres", "question", False),
    ("The Lantern Keepers season 3: heres when it arrives", "question", False),
    ("When does The Lantern Keepers season 3 premiere?", "question", True),
    ("Here's why The Lantern Keepers season 3 was delayed", "question", True),
])
def test_what_a_headline_reads_as_in_context(title: str, family: str, present: bool) -> None:
    """A headline family (or, with a colon, a feature) that depends on its context: an auxiliary asks only
    where a question starts, and "here's when" gives the answer; "may" is the month before a day, or after
    a preposition, an article or a verb that takes a date ("in May", "a May premiere", "sets May
    premiere"); an order is a renewal after a season or "series"; a kind cue nearest another season tells that
    season's news; a strong doubt is one feature whatever its family (fan-made is seen in few shows)."""
    from bot.detect.cues import load
    from bot.detect.features import read
    from bot.detect.names import Names

    reading = read(Names.of(WATCHES[0]), load(), normalise(title), "")
    assert reading is not None
    assert (family in (reading.features if ":" in family else reading.head_families)) is present


@pytest.mark.parametrize(("title", "denies", "denied"), [
    ("Netflix has yet to renew The Lantern Keepers for season 3", True, {"renew"}),
    ("The Lantern Keepers season 3 hasn't been renewed yet", True, {"renew"}),
    ("The Lantern Keepers season 3: still no trailer", True, {"trailer"}),
    ("No release date yet for The Lantern Keepers season 3", True, {"date"}),
    ("The Lantern Keepers renewed for season 3 but no trailer yet", False, {"trailer"}),
    ("The Lantern Keepers season 3 trailer: no, it is not a fan edit", False, set()),
    ("The Lantern Keepers season 3 renewed", False, set()),
    # a question mark one to three words after a kind cue asks about it
    ("The Lantern Keepers season 3 confirmed? What the creator said", True, {"renew"}),
    ("The Lantern Keepers season 3 release date announced?", True, {"date"}),
    ("'랜턴 키퍼스' 시즌3 확정? 넷플릭스 \"논의 중\"", True, {"renew"}),
    ("Is it renewed? Netflix confirms The Lantern Keepers season 3", False, set()),
    ("The Lantern Keepers season 3 trailer: who dies? The first look teases it", False, set()),
    ("The Lantern Keepers renewed for a third season?", True, {"renew"}),
    ("The Lantern Keepers season 3 renewed, but when?", False, set()),  # the question is the date's
    # Korean and Japanese negations follow what they deny; "yet" comes first there too
    ("'랜턴 키퍼스' 시즌3 제작 확정 아니다…넷플릭스 \"결정된 바 없어\"", True, {"renew"}),
    ("「ランタン・キーパーズ」シーズン3 配信日 未定", True, {"date"}),
    ("'랜턴 키퍼스' 시즌3 아직 확정 안 돼", True, {"renew"}),
    ("'랜턴 키퍼스' 시즌3 제작 확정 아냐", True, {"renew"}),  # the headlines' short forms
    ("'랜턴 키퍼스' 시즌3 확정 아님", True, {"renew"}),
    ("'랜턴 키퍼스' 시즌3 제작 확정", False, set()),
    ("「ランタン・キーパーズ」シーズン3予告編解禁!鳥肌が止まらない", False, set()),  # an adjective's negation
    ("「ランタン・キーパーズ」シーズン3予告編 見逃せない", False, set()),
    # "yet" before "another" says another one
    ("The Lantern Keepers season 3 gets yet another trailer", False, set()),
    ("The Lantern Keepers Staffel 3: noch ein Trailer", False, set()),
    ("The Lantern Keepers stagione 3, ancora un teaser", False, set()),
    ("The Lantern Keepers Staffel 3: noch kein Trailer", True, {"trailer"}),
    # a negation beside "miss" says "don't miss"
    ("Não perca o trailer da 3ª temporada de The Lantern Keepers", False, set()),
    ("Non perdere il trailer della stagione 3 di The Lantern Keepers", False, set()),
    ("Ne manquez pas la bande-annonce de la saison 3 de The Lantern Keepers", False, set()),
    ("The Lantern Keepers saison 3 : pas de bande-annonce", True, {"trailer"}),
    # a kind cue that opens a doubt's phrase is that phrase's
    ("The Lantern Keepers season 3 renewal status", True, {"renew"}),
    ("The Lantern Keepers season 3 filming locations revealed", True, {"filming"}),
    ("The Lantern Keepers season 3 starts filming: the locations revealed", False, set()),
    # a question mark beside "!" exclaims, and one answered at once asks nothing
    ("The Lantern Keepers renewed for season 3?!", False, set()),
    ("'랜턴 키퍼스' 시즌3 확정?! 넷플릭스 공식 발표", False, set()),
    ("The Lantern Keepers season 3 confirmed? Yes, the streamer says", False, set()),
])
def test_a_kind_cue_that_a_negation_comes_just_before_is_denied(title: str, denies: bool, denied: set[str]) -> None:
    """A negation one to three words before a kind cue denies it (one or two words after it in Korean and
    Japanese), a question mark one to three words after asks about it, a doubt's phrase that opens with it
    ("renewal status") holds it: a headline that denies or asks
    about every kind cue never alerts, and such a kind is never the one named (the detector's rule)."""
    from bot.detect.cues import load
    from bot.detect.features import read
    from bot.detect.names import Names

    reading = read(Names.of(WATCHES[0]), load(), normalise(title), "")
    assert reading is not None and reading.denies is denies and reading.denied == denied


@pytest.mark.parametrize(("title", "asks"), [
    ("Is The Lantern Keepers season 3 the final season?", True),
    ("is the lantern keepers season 3 the final season", True),  # a web address's headline has no "?"
    ("Will The Lantern Keepers season 3 happen?", True),
    ("will the lantern keepers season 3 happen", True),
    ("Will Poulter joins The Lantern Keepers season 3", False),  # a name, not a question
    ("Will Los guardianes del farol return for season 3", True),  # the show after "Will": it asks
    ("Will Netflix renew The Lantern Keepers for season 3?", True),
    ("Will There Be A Lantern Keepers Season 3", True),  # Title Case: capitals tell no name
    ("Is it real? Netflix renews The Lantern Keepers for season 3", False),
    ("The Lantern Keepers season 3 is the final season", False),
])
def test_a_yes_or_no_question_is_told_from_a_headline_that_answers(title: str, asks: bool) -> None:
    """A headline that opens with an auxiliary and asks to its end never alerts (the detector's rule);
    "Will" followed by a surname, in sentence case, is a name."""
    from bot.detect.cues import load
    from bot.detect.features import opens_with_a_name, read
    from bot.detect.names import Names

    reading = read(Names.of(WATCHES[0]), load(), normalise(title), "", name_first=opens_with_a_name(title))
    assert reading is not None and reading.asks is asks


@pytest.mark.parametrize(("text", "named"), [
    ("Moon of Harbor Sailors season 2", True), ("Moon of Harbor Sailors 2", True),
    ("Gyeoul Haneul season 2", True), ("Kyoul Hanul season 2", True), ("Kyeoul Haneol season 2", True),
    ("Gyeoul Heaven season 2", False),
])
def test_spellings_come_from_the_watch(text: str, named: bool) -> None:
    watch = Watch(id="w", title="The Moon of the Harbor Sailors", season=2, aliases=("Gyeoul Haneul", "겨울 하늘"))
    assert (Detector([watch]).classify(Item(title=text)).watch == "w") is named
    latin_only = Watch(id="e", title="Gyeoul Haneul", season=2)
    assert Detector([latin_only]).classify(Item(title="Kyoul Hanul season 2")).watch is None


def test_the_watch_that_alerts_is_the_one_named(detector: Detector) -> None:
    d = detector.classify(Item(title="Tempest season 2 officially confirmed by Netflix"))
    assert d.watch == "tempest"
    assert Detector(WATCHES[:1]).classify(Item(title="Tempest season 2 officially confirmed by Netflix")).watch is None


def test_exclude_hides_a_look_alike() -> None:
    plain = Watch(id="lantern", title="The Lantern Keepers", season=3)
    # "<title>: The <subtitle>" before the season is another title, excluded or not
    subtitled = Item(title="The Lantern Keepers: The Origins season 3 officially confirmed")
    assert Detector([plain]).classify(subtitled).watch is None
    assert Detector(WATCHES).classify(subtitled).watch is None
    # without the article, or elsewhere, only the watch's `exclude` tells the look-alike
    bare = Item(title="The Lantern Keepers: Origins season 3 officially confirmed")
    assert Detector([plain]).classify(bare).watch == "lantern"
    assert Detector(WATCHES).classify(bare).watch is None
    item = Item(title="Netflix officially confirms season 3 of The Lantern Keepers: Origins")
    assert Detector([plain]).classify(item).watch == "lantern"
    assert Detector(WATCHES).classify(item).watch is None


@pytest.mark.parametrize(("name", "title", "named"), [
    ("The Lantern Keepers", "The Lantern Keepers officially renewed for season 3", True),
    ("The Lantern Keepers", "The Lantern Keepers Officially Renewed For Season 3", True),
    # the subject of "renewed for" is the title whose season it is
    ("The Lantern Keepers", "Moonfall Academy renewed for season 3, as The Lantern Keepers fans wait", False),
    ("The Lantern Keepers", "After The Lantern Keepers, Moonfall Academy renewed for season 3", False),
    ("The Lantern Keepers", "The Lantern Keepers: The Challenge renewed for season 3", False),
    ("The Lantern Keepers", "The Lantern Keepers: The Challenge Renewed For Season 3", False),  # the verb ends it
    ("The Lantern Keepers", "The Lantern Keepers: The Challenge renovada para una temporada 3", False),
    ("The Lantern Keepers", "Netflix renews The Lantern Keepers: The Challenge for season 3", False),
    ("The Lantern Keepers", "Netflix Renews The Lantern Keepers: The Challenge For Season 3", False),
    ("The Lantern Keepers", "Netflix renueva The Lantern Keepers: The Challenge para una temporada 3", False),
    ("The Lantern Keepers", "Netflix renews The Lantern Keepers for season 3", True),
    ("The Lantern Keepers", "Netflix renews The Lantern Keepers: Official for season 3", True),
    # a verb that brings a season back, and the words in lower case around it, end the subject too
    ("The Lantern Keepers", "The Lantern Keepers: The Challenge returns for season 3", False),
    ("The Lantern Keepers", "The Lantern Keepers: The Challenge is coming back for season 3", False),
    ("The Lantern Keepers", "The Lantern Keepers: The Challenge will return for a third season", False),
    ("The Lantern Keepers", "The Lantern Keepers is coming back for season 3", True),
    # people come back too ("<star> returns for season 3"): only a subtitle before such a verb is another title
    ("The Lantern Keepers", "The Lantern Keepers star Jane Doe is coming back for season 3", True),
    ("The Lantern Keepers", "The Lantern Keepers star Jane Doe returns for season 3", True),
    # "season 3 of" a title with a subtitle is the spin-off's; a label after the name is no subtitle
    ("The Lantern Keepers", "Netflix orders third season of The Lantern Keepers: The Challenge", False),
    ("The Lantern Keepers", "Season 3 of The Lantern Keepers: The Challenge confirmed", False),
    ("The Lantern Keepers", "Season 3 of The Lantern Keepers: first teaser released", True),
    # "of" tells whose season it is in Title Case too, where capitals tell nothing else
    ("Tempest", "Why Tempest Fans Should Watch Season 3 Of Moonfall Academy", False),
    ("Tempest", "First Look At Season 3 Of Tempest", True),
    ("Tempest", "Tempest: First Look At Season 3 Of Netflix's Hit Show", True),
    # so does a news noun between the season and "for" or "of": "the season 3 trailer for <title>"
    ("Tempest", "Tempest fans cheer the season 3 trailer for Moonfall Academy", False),
    ("Tempest", "Tempest fans cheer the Moonfall Academy third-season trailer", False),
    # a capitalised word of news before the season is no title (German nouns: "Starttermin", "Drehstart")
    ("Nordlicht", "Nordlicht: ARD zeigt Starttermin Staffel 3", True),
    ("Nordlicht", "Nordlicht: ARD bestätigt Drehstart Staffel 3", True),
    ("Nordlicht", "Nordlicht-Fans warten, während ARD Moonfall Staffel 3 zeigt", False),
    ("Tempest", "Netflix gives Tempest a third-season order", True),
    # one joins a show or a co-star: "joins <X> for season 3" does not tell which
    ("Tempest", "Jane Doe joins Idris Elba for season 3 of Tempest", True),
    ("Tempest", "Tempest: Oscar winner Jane Doe joins Idris Elba for season 3", True),
    ("Tempest", "Netflix casts Jane Doe for season 3 of Tempest", True),
    ("Tempest", "Netflix reveals the season 3 release date for Tempest", True),
    ("Tempest", "Watch the official season 3 trailer for Netflix's Tempest", True),
    # a title's last word that is a cue word ("Game") is the title's, not a word beside the verb
    ("The Glass Game", "The Glass Game renewed for season 3", True),
    ("The Glass Game", "The Glass Game officially renewed for season 3", True),
    ("The Glass Game", "Moonfall Game renewed for season 3, as The Glass Game fans wait", False),
    # the dot of "Dr." is inside the title after "season 3 of", no sentence end
    ("Dr. Harbor", "Tráiler de la temporada 3 de Dr. Harbor", True),
    ("Dr. Harbor", "Trailer for season 3 of Dr. Harbor", True),
    ("Dr. Harbor", "Trailer for season 3 of Mr. Moon, as Dr. Harbor fans wait", False),
])
def test_a_season_renewed_belongs_to_the_subject_of_the_verb(name: str, title: str, named: bool) -> None:
    watch = Watch(id="w", title=name, season=3)
    assert (Detector([watch]).classify(Item(title=title)).watch == "w") is named


@pytest.mark.parametrize(("title", "named"), [
    # German capitalises its nouns, an article and a noun are as often a label ("Die Kultserie"): the
    # season stays the watch's (`exclude:` lists a known spin-off)
    ("The Lantern Keepers: Netflix bestätigt Starttermin Staffel 3", True),
    ("The Lantern Keepers: Die Kultserie Staffel 3 ist bestätigt", True),
    ("The Lantern Keepers: Die neue Staffel 3 startet im März", True),
    ("The Lantern Keepers Staffel 3: Die Dreharbeiten haben begonnen", True),
    # words that name another work may stand in a subtitle: they tell that it is one
    ("The Lantern Keepers: Das Musical – Staffel 3 angekündigt", False),
    ("The Lantern Keepers: The Musical season 3 trailer", False),
    ("The Lantern Keepers: The Video Game season 3 trailer", False),  # its "video" is a trailer word too
    ("The Lantern Keepers: The Animated Series season 3 trailer", False),
    ("The Lantern Keepers: The Long Game – Season 3 Official Trailer", True),  # a title that holds "game"
    ("The Lantern Keepers: The Final Game – Season 3 Trailer", True),
])
def test_a_subtitle_naming_another_work_is_another_title(title: str, named: bool) -> None:
    watch = Watch(id="w", title="The Lantern Keepers", season=3)
    assert (Detector([watch]).classify(Item(title=title)).watch == "w") is named


def test_a_watch_whose_own_title_has_such_a_subtitle_keeps_it() -> None:
    watch = Watch(id="w", title="Ember Gate: The Animated Series", season=3, aliases=("Ember Gate",))
    decision = Detector([watch]).classify(Item(title="Ember Gate: The Animated Series – Season 3 | Official Trailer"))
    assert decision.alert and decision.watch == "w"


@pytest.mark.parametrize("title", [
    "The Lantern Keepers: The Official Trailer for season 3",
    # without capitals, an adjective after "the" reads as a subtitle would: the season stays the watch's
    "the lantern keepers the long awaited season 3 trailer is here",
    "the lantern keepers the epic season 3 trailer",
])
def test_a_label_or_an_adjective_after_the_name_is_no_subtitle(title: str) -> None:
    watch = Watch(id="w", title="The Lantern Keepers", season=3)
    assert Detector([watch]).classify(Item(title=title)).watch == "w"


def test_a_quoted_title_that_is_one_of_the_watchs_names_is_its_own() -> None:
    """A watch whose Chinese name has a subtitle ("港灯：迷雾之城"): in title marks that whole name is the
    watch, though its short name ("港灯") is an alias too."""
    watch = Watch(id="w", title="Harbor Lights: City of Fog", season=3, aliases=("港灯：迷雾之城", "港灯"))
    assert Detector([watch]).classify(Item(title="《港灯：迷雾之城》第三季官宣")).alert
    assert Detector([watch]).classify(Item(title="《港灯：真人秀》第三季官宣")).watch is None


def test_the_next_kind_is_one_the_item_has_a_cue_of(detector: Detector) -> None:
    """What a report is when it cannot be its kind (a renewal after the renewal): the next-scoring kind
    it tells of, or none at all (then it is the renewal told again)."""
    bare = detector.classify(Item(title="Netflix renews The Lantern Keepers for season 3"))
    assert (bare.kind, bare.next_kind, bare.next_milestone) == ("renewal", None, "")
    told = detector.classify(Item(title="Netflix renews The Lantern Keepers for season 3",
                                  summary="The series premiered in January and its teaser trended for weeks."))
    assert (told.kind, told.next_kind) == ("renewal", None)  # a lede tells the past too
    back = detector.classify(Item(title="The Lantern Keepers will return for season 3"))
    assert back.alert and (back.kind, back.next_kind) == ("renewal", "release_date")  # long after: the premiere
    both = detector.classify(Item(title="The Lantern Keepers season 3 officially renewed, first teaser released"))
    assert both.alert and {both.kind, both.next_kind} == {"renewal", "trailer"}
    assert (both.milestone if both.kind == "trailer" else both.next_milestone) == "teaser"
    denied = detector.classify(Item(title="The Lantern Keepers renewed for season 3 but no trailer yet"))
    assert denied.alert and (denied.kind, denied.next_kind) == ("renewal", None)  # "no trailer" tells none


@pytest.mark.parametrize(("title", "summary", "alert"), [
    ("Bande-annonce fan-made de The Lantern Keepers saison 3", "", False),
    ("ランタン・キーパーズ シーズン3 ファンメイド予告", "", False),
    ("AI-generated The Lantern Keepers season 3 trailer goes viral", "", False),
    ("The Lantern Keepers season 3 trailer", "It follows months of fan-made trailers.", True),
])
def test_a_fan_made_headline_never_alerts_whatever_the_weights(title: str, summary: str, alert: bool) -> None:
    """However sure the fitted model is, a headline that says the video is fan-made or AI-made is no news;
    a lede that mentions fan-made videos does not take a real trailer away. Unsure, it is no near miss
    whose article would be fetched."""
    from bot.detect.model import Model

    sure = Model(bias=5.0, weights={}, kind_bias=(0.0, 1.0, 0.0, 0.0), kind_weights={})
    unsure = Model(bias=-0.5, weights={}, kind_bias=(0.0, 1.0, 0.0, 0.0), kind_weights={})  # 0.38: a near miss
    watch = Watch(id="w", title="The Lantern Keepers", season=3, aliases=("ランタン・キーパーズ",))
    d = Detector([watch], model=sure).classify(Item(title=title, summary=summary))
    assert d.alert is alert and d.watch == "w"
    assert alert or d.evidence.startswith("fan-made")
    assert Detector([watch], model=unsure).classify(Item(title=title, summary=summary)).needs_article is alert


def test_decision_json_shape(detector: Detector) -> None:
    d = detector.classify(Item(title="Netflix renews The Lantern Keepers for season 3"))
    out = decision_json(d)
    assert set(out) == {"alert", "kind", "watch", "confidence", "evidence", "needs_confirmation"}
    assert out["alert"] is True and out["kind"] == "renewal" and out["watch"] == "lantern"
    assert out["confidence"] == round(d.confidence, 3)


@pytest.mark.parametrize("title", [
    "Netflix renews The Lantern Keepers for season 3", "The Lantern Keepers season 3 teaser drops",
    "The Lantern Keepers season 3: everything we know", "랜턴 키퍼스 시즌3 제작 확정",
])
def test_a_summary_that_repeats_the_headline_is_no_lede(detector: Detector, title: str) -> None:
    # A Google News item's description is its headline again: it is judged as the headline alone,
    # as the weights were fitted and as bench/detect.py measures headlines.
    alone = detector.classify(Item(title=title))
    repeated = detector.classify(Item(title=title, summary=title))
    assert (repeated.alert, repeated.kind, repeated.confidence) == (alone.alert, alone.kind, alone.confidence)


def test_a_video_is_read_without_its_channel_and_its_links(detector: Detector) -> None:
    # A channel's video title ends with the channel's name; its description puts links, a call to
    # subscribe and the channel's boilerplate after its first web address: none of it is news (the
    # address itself is kept: it may name the show).
    title = "The Lantern Keepers: Season 3 | Official Trailer | Streamer"
    lede = "The lanterns are lit again. Watch The Lantern Keepers Season 3, only on Streamer: https://streamer.example/t/81"
    tail = (" SUBSCRIBE: https://streamer.example/s About Streamer: Streamer "
            "is one of the world's leading entertainment services, with paid memberships in over 190 countries "
            "enjoying series, films and games. Members can play, pause and resume watching as much as they "
            "want, anytime, anywhere, and can change their plans at any time. Is it real? What is next?")
    video = detector.classify(Item(title=title, summary=lede + tail, publisher="Streamer"))
    plain = detector.classify(Item(title="The Lantern Keepers: Season 3 | Official Trailer", summary=lede))
    assert video.alert and video.kind == "trailer"
    assert (video.alert, video.kind, video.confidence) == (plain.alert, plain.kind, plain.confidence)


def test_only_a_web_address_ends_a_feed_summary(detector: Detector) -> None:
    title = "The Lantern Keepers season 3 teaser drops"
    lede = "Awww... Streamer just dropped the first teaser for The Lantern Keepers season 3, with the cast back."
    whole = detector.classify(Item(title=title, summary=lede))
    cut = detector.classify(Item(title=title, summary="Awww..."))
    assert whole.confidence != cut.confidence  # "www" inside a word is no address: the lede is read whole


def test_an_article_lede_is_not_cut_at_an_address(detector: Detector) -> None:
    item = Item(title="The Lantern Keepers season 3 teaser drops", url="https://news.example/a")
    lede = "Photo: www.streamer.example/press. Streamer shared a one-minute teaser on Monday, with the cast back."
    from_page = detector.classify_article(item, f"{item.title}\n{lede}")
    from_lede = detector._judge(replace(item, summary=lede))
    assert from_page.confidence == from_lede.confidence


@pytest.mark.parametrize(("headline", "paragraph"), [
    ("The Lantern Keepers season 3 confirmed", "The Lantern Keepers season 3 confirmed by Streamer for 2027."),
    ("랜턴 키퍼스 시즌3 제작 확정", "스트리머 랜턴 키퍼스 시즌3 제작 확정, 내년 공개 예정이다."),
])
def test_a_paragraph_that_opens_with_the_headline_is_the_lede(detector: Detector, headline: str,
                                                              paragraph: str) -> None:
    item = Item(title=headline, url="https://news.example/a")
    from_page = detector.classify_article(item, f"{headline} | Screen News\n{paragraph}")
    from_lede = detector.classify(replace(item, summary=paragraph))
    assert (from_page.alert, from_page.confidence) == (from_lede.alert, from_lede.confidence)


def test_a_page_that_only_repeats_its_headline_leaves_the_feeds_summary(detector: Detector) -> None:
    item = Item(title="The Lantern Keepers season 3 teaser drops", url="https://news.example/a",
                summary="Streamer shared a one-minute teaser on Monday: https://streamer.example/t Subscribe now!")
    from_page = detector.classify_article(item, f"{item.title} | Screen News")
    from_feed = detector.classify(item)
    assert (from_page.alert, from_page.confidence) == (from_feed.alert, from_feed.confidence)


def test_a_channel_named_after_the_show_keeps_the_name(detector: Detector) -> None:
    video = Item(title="Season 3 | Official Teaser | The Lantern Keepers", publisher="The Lantern Keepers")
    assert detector.classify(video).watch == "lantern"


def test_an_article_reads_its_headline_once(detector: Detector) -> None:
    # A page repeats its headline at the top (title, og:title, <h1>): the lede is what comes below it.
    item = Item(title="The Lantern Keepers season 3 teaser drops", url="https://news.example/a")
    lede = "Netflix shared a one-minute teaser on Monday, with the whole cast back."
    page = f"{item.title}\n{item.title} | Screen News\n{item.title}\n{lede}"
    from_page = detector.classify_article(item, page)
    from_lede = detector.classify(replace(item, summary=lede))
    assert (from_page.alert, from_page.kind, from_page.confidence) == (from_lede.alert, from_lede.kind,
                                                                        from_lede.confidence)


def test_an_explainer_article_never_alerts(detector: Detector) -> None:
    item = Item(title="Netflix releases first teaser for The Lantern Keepers season 3")
    article = ("Netflix releases first teaser for The Lantern Keepers season 3. Here is everything we know so far. "
               "When will it arrive? It could come next year, but nothing is certain. What to expect: "
               "theories about the plot, and the cast we hope returns. Will there be a trailer soon?")
    assert detector.classify(item).alert
    assert not detector.classify_article(item, article).alert


def test_a_news_article_still_alerts(detector: Detector) -> None:
    item = Item(title="Netflix releases first teaser for The Lantern Keepers season 3")
    article = ("Netflix releases first teaser for The Lantern Keepers season 3. The streamer shared the "
               "one-minute teaser on Monday. The new season may bring back the whole cast, the studio said.")
    d = detector.classify_article(item, article)
    assert d.alert and d.kind == "trailer" and not d.needs_article


@pytest.mark.skipif(not CORPUS.is_dir(), reason="refitting needs the shared corpus beside the project")
def test_shipped_weights_are_a_refit() -> None:
    from bot.detect import train
    from bot.detect.corpus import load_corpus

    watches, examples = load_corpus(CORPUS)
    shipped = json.loads((Path(train.__file__).with_name(WEIGHTS)).read_text(encoding="utf-8"))
    refit = json.loads(dumps(train.fit(train.samples(watches, examples))))
    assert _differences(shipped, refit) == []


def _differences(shipped: Any, refit: Any, where: str = "") -> list[str]:
    """Where a refit differs from the shipped weights: its keys, lists and texts exactly, its numbers by
    more than one step of their three decimals (another machine's floating point may round a weight at
    the edge of a step the other way)."""
    if isinstance(shipped, dict) and isinstance(refit, dict):
        if list(shipped) != list(refit):
            return [f"{where}: keys differ"]
        return [d for key in shipped for d in _differences(shipped[key], refit[key], f"{where}/{key}")]
    if isinstance(shipped, list) and isinstance(refit, list):
        if len(shipped) != len(refit):
            return [f"{where}: {len(shipped)} entries, refit {len(refit)}"]
        return [d for i, (a, b) in enumerate(zip(shipped, refit, strict=True))
                for d in _differences(a, b, f"{where}[{i}]")]
    numbers = (int, float)
    if isinstance(shipped, numbers) and isinstance(refit, numbers) and not isinstance(shipped, bool):
        return [] if abs(shipped - refit) <= 0.0011 else [f"{where}: {shipped} refit {refit}"]
    return [] if shipped == refit else [f"{where}: {shipped!r} refit {refit!r}"]


def test_a_long_romanised_name_has_a_bounded_number_of_spellings() -> None:
    from bot.detect.names import _MAX_SPELLINGS, spellings

    watch = Watch(id="w", title="Geumeo Seongeo Jeongeo Beoseu", season=2, aliases=("금어 성어 정어 버스",))
    found = spellings(watch)
    assert "geumeo seongeo jeongeo beoseu" in [s.lower() for s in found]
    assert _MAX_SPELLINGS < len(found) <= _MAX_SPELLINGS + 4  # thousands of combinations, a bounded few kept


def test_a_trie_pattern_matches_what_the_longest_first_alternation_matches() -> None:
    import random
    import re

    from bot.detect.text import trie_pattern

    rng = random.Random(5)
    for _ in range(200):
        words = {"".join(rng.choice("abc") for _ in range(rng.randint(1, 5))) for _ in range(rng.randint(1, 12))}
        flat = re.compile("|".join(sorted(words, key=len, reverse=True)))
        trie = re.compile(trie_pattern(words))
        for _ in range(20):
            text = "".join(rng.choice("abcd") for _ in range(rng.randint(0, 30)))
            assert [m.span() for m in trie.finditer(text)] == [m.span() for m in flat.finditer(text)], (words, text)


def test_a_year_in_brackets_after_the_name_is_part_of_the_name() -> None:
    from bot.detect.cues import load
    from bot.detect.features import read

    names = Names.of(Watch(id="lk", title="Lantern Keepers", season=3))

    def reading(title: str) -> dict[str, float] | None:
        found = read(names, load(), normalise(title), "")
        return None if found is None else found.features

    # a year in brackets tells the show from another of its name: it is part of the name
    assert reading("Lantern Keepers (2021) season 3 teaser released") == reading(
        "Lantern Keepers season 3 teaser released")
    # a colon and an article after the name are an ordinary headline, not another title
    assert reading("Lantern Keepers: the long-awaited season 3 is coming") is not None
    assert reading("Lantern Keepers: a aguardada terceira temporada estreia em março") is not None


def _corpus(folder: Path, shows: dict[str, str]) -> Path:
    (folder / "shows").mkdir(parents=True)
    (folder / "watches.yaml").write_text("watches:\n  - {id: lk-s3, title: The Lantern Keepers, season: 3}\n",
                                         encoding="utf-8")
    for name, text in shows.items():
        (folder / "shows" / name).write_text(text, encoding="utf-8")
    return folder


@pytest.mark.parametrize(("shows", "says"), [
    (None, "no watches.yaml"),
    ({"lk-s3.jsonl": '{"id": "a", "title": "x", "label": "renewal", "alert": true}\n{"id": "b", "title": '},
     "lk-s3.jsonl:2: not valid JSON"),
    ({"lk-s3.jsonl": '{"id": "a", "title": "The Lantern Keepers season 3 renewed"}\n'},
     "lk-s3.jsonl:1: each item needs an id, a label and alert"),
    ({}, "no labelled items"),
    ({"lk-s3.jsonl": '{"id": "a", "title": "The Lantern Keepers season 3 renewed", "label": "renewal", '
                     '"alert": true}\n'},
     "fitting needs items labelled as alerts and items that are not"),
    ({"lk-s3.jsonl": '{"id": "a", "title": "The Lantern Keepers season 3 renewed", "label": "renewal", '
                     '"alert": true}\n{"id": "b", "title": "Is The Lantern Keepers season 3 coming?", '
                     '"label": "speculation", "alert": false}\n'},
     "no feature is seen in items of 2 watches or more"),
])
def test_refitting_a_bad_corpus_says_why_in_one_line(tmp_path: Path, shows: dict[str, str] | None, says: str,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    from bot.detect import train

    folder = _corpus(tmp_path / "corpus", shows) if shows is not None else tmp_path
    out = tmp_path / "weights.json"
    assert train.main(["--corpus", str(folder), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert says in err and err.count("\n") == 1 and "Traceback" not in err
    assert not out.exists()


def test_fitting_without_the_train_extra_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from bot.detect import train

    monkeypatch.setitem(sys.modules, "sklearn.linear_model", None)
    with pytest.raises(train.CannotFit, match=r"pip install -e '\.\[train\]'"):
        train.fit([])


@pytest.mark.parametrize(("title", "summary", "named"), [
    ("Harbor Lights season 2 gets a December release date",
     "The streamer announced on Friday that the second season will premiere on December 26.", False),
    ("Harbor Lights season 2 trailer is here", "The trailer arrived Friday morning.", False),
    ("Harbor Lights season 2 renewed", "Announced Friday, March 6, the order covers eight episodes.", False),
    ("New details on Friday season 2 emerge", "", True),
    ("Friday season 2 trailer released", "", True),
    ("Everything announced on Friday's panel", "", True),
    ("The streamer announced Friday that Harbor Lights will return for season 2", "", False),
    ("Harbor Lights season 2 premieres Friday, Aug. 6", "", False),
    ("Harbor Lights season 2 premieres Friday at 9 p.m.", "", False),
    ("Harbor Lights season 2 renewed", "The streamer confirmed the news on Friday: a second season is coming.", False),
    ("Vendredi sera de retour pour une saison 2", "", True),  # "sera" is French "will be", not a time of day
    ("Friday 2 main trailer is here", "", True),  # "main" is not "mai"
    ("Friday Harbor season 2 trailer is here", "", True),  # a longer name that starts with the weekday
])
def test_a_weekday_named_show_is_not_every_date(title: str, summary: str, named: bool) -> None:
    friday = Watch(id="fri", title="Friday", season=2, aliases=("Vendredi", "Friday Harbor"))
    assert (Detector([friday]).classify(Item(title=title, summary=summary)).watch == "fri") is named


@pytest.mark.parametrize(("title", "summary", "named"), [
    ("Harbor Lights season 2 is moving to December, the streamer confirms", "", False),
    ("Harbor Lights season 2 trailer is here", "The new footage is moving and full of surprises.", False),
    ("Moving season 2 confirmed by the streamer", "", True),
    ("moving season 2 confirmed by the streamer", "", True),  # a feed that writes everything in lower case
    ("MOVING SEASON 2 CONFIRMED", "", True),
    ("The streamer confirms Moving season 2, and fans are moving fast", "", True),
    ("Harbor Lights season 2 is moving to December", "Moving season 2 follows in the spring.", True),
    # a Title Case headline capitalises every word: its case tells nothing, the summary's does
    ("Streamer Moving Harbor Lights Season 2 To December", "The streamer is moving the premiere to December.", False),
    ("Streamer Moving Harbor Lights Season 2 To December", "", True),
    ("Moving Season 2 Confirmed By The Streamer", "The drama is moving ahead with a second season.", True),
    ("The streamer confirms moving season 2", "", True),  # before a season, a name is the title in any case
    ("The season 2 trailer is here", "Watch it at https://www.example.org/series/moving/2 now.", True),
    ("Harbor Lights season 2 is moving to December", "Its rival ＭＯＶＩＮＧ season 2 follows.", True),
])
def test_a_title_in_lower_case_amid_capitals_is_an_ordinary_word(title: str, summary: str, named: bool) -> None:
    moving = Watch(id="mv", title="Moving", season=2)
    assert (Detector([moving]).classify(Item(title=title, summary=summary)).watch == "mv") is named


def test_an_article_in_lower_case_amid_capitals_does_not_name_the_show() -> None:
    moving = Watch(id="mv", title="Moving", season=2)
    item = Item(title="Harbor Lights season 2 trailer is here", url="https://example.org/a")
    article = "The streamer released the Harbor Lights season 2 trailer today. It is moving, and fans love it."
    assert Detector([moving]).classify_article(item, article).watch is None


def test_a_title_the_press_writes_in_lower_case_is_listed_so() -> None:
    item = Item(title="The network renews tide-ish for season 2, it says")
    assert Detector([Watch(id="t", title="Tide-ish", season=2)]).classify(item).watch is None
    listed = Watch(id="t", title="Tide-ish", season=2, aliases=("tide-ish",))
    assert Detector([listed]).classify(item).watch == "t"


def test_an_accented_title_is_read_as_written() -> None:
    watch = Watch(id="e", title="Élan", season=2)
    item = Item(title="Élan season 2 trailer: the streamer's elan returns", summary="")
    assert Detector([watch]).classify(item).watch == "e"


@pytest.mark.parametrize(("title", "summary", "named"), [
    ("Fans of The Lantern Keepers wait as the streamer drops the Harbor Lights season 3 trailer", "", False),
    # the title a renewal verb orders a season for ("renews <title> for season 3") owns it; a person does not
    ("The streamer renews Harbor Lights for season 3 as The Lantern Keepers fans wait", "", False),
    ("After The Lantern Keepers, the streamer renews 'Harbor Lights' for a third season", "", False),
    ("El streamer renueva Harbor Lights para una tercera temporada, como The Lantern Keepers", "", False),
    ("The streamer renews The Lantern Keepers for season 3", "", True),
    ("The Lantern Keepers casts Jane Doe for season 3", "", True),
    # no telling a title from a person, a label or a sentence's first word: the watch stays named
    ("Harbor Lights season 3 gets a trailer, as fans wait for The Lantern Keepers to return", "", True),
    ("The Lantern Keepers gets a premiere date", "Per the streamer, season 3 premieres on April 13.", True),
    ("The Lantern Keepers gets a premiere date", "According to showrunner Ana Ruiz, season 3 premieres in April.",
     True),
    ("Confirmed: season 3 of The Lantern Keepers starts filming", "", True),
    ("Mara Quinn's season 3 return confirmed for The Lantern Keepers", "", True),
    ("The streamer confirms The Lantern Keepers (2023) season 3", "", True),
    ("The streamer dates (The Lantern Keepers) season 3 for April", "", True),
    ("The streamer sets a date for The Lantern Keepers, season 3 arrives April 13", "", True),
    ("The streamer confirms Harbor Lights season 3 release date",
     "The drama follows hits like The Lantern Keepers onto the platform.", False),
    ("The Lantern Keepers season 3 trailer is here", "", True),
    ("The Lantern Keepers's season 3 gets a teaser", "", True),
    ("‘The Lantern Keepers’ season 3 gets a teaser", "", True),
    ("Season 3 of The Lantern Keepers gets a teaser, Harbor Lights season 3 too", "", True),
    ("The streamer confirms The Lantern Keepers season 3, as Harbor Lights season 3 wraps", "", True),
    ("New season 3 trailer for The Lantern Keepers", "", True),
    ("The Lantern Keepers Star Teases Season 3 Trailer", "", True),  # Title Case: no telling whose
    ("The Lantern Keepers 3 starts filming", "The cast is back in Seoul. Season 3 brings new faces.", True),
    # a title after the season ("season 3 of <title>"), and ordinals
    ("The streamer confirms the third season of Harbor Lights", "It follows hits like The Lantern Keepers.", False),
    ("El servicio confirma la temporada 3 de Harbor Lights", "Sigue el éxito de The Lantern Keepers.", False),
    ("The streamer confirms Harbor Lights third season", "It follows hits like The Lantern Keepers.", False),
    ("The streamer confirms season 3 of The Lantern Keepers", "", True),
    ("The streamer confirms the third season of The Lantern Keepers", "", True),
    ("The streamer confirms season 3 of the Lantern Keepers", "", True),
    ("The streamer confirms season 3 of its hit", "The Lantern Keepers returns next year.", True),
    ("The streamer confirms season 3 of Netflix's hit", "The Lantern Keepers returns next year.", True),
    ("The Lantern Keepers 3 trailer", "The trailer for the third season of Harbor Lights came out too.", True),
    ("Trailer for season 3 of the streamer's fantasy The Lantern Keepers", "", True),
    ("Trailer for the third season of Seoul-set drama The Lantern Keepers", "", True),
    ("The streamer confirms season 3 of The lantern keepers", "", True),
    # a title built on the watch's: "<title>: The <subtitle>" right before the season
    ("The Lantern Keepers: The Harbor Years season 3 trailer", "", False),
    ("The Lantern Keepers: The Harbor Years – Season 3 Trailer", "", False),
    # in Title Case, capitals tell nothing: a mark before the season must end the subtitle
    ("The Lantern Keepers: The Epic Season 3 Trailer Is Here", "", True),
    ("The Lantern Keepers: The Second Half of Season 3 Gets a Trailer", "", True),
    ("The streamer drops The Lantern Keepers - The Harbor Years season 3 trailer", "", False),
    ("The Lantern Keepers: The Harbor Years – Season 3 Official Trailer", "", False),
    ("The Lantern Keepers: The Harbor Years | Season 3 Official Trailer | Streamer", "", False),
    ("The Lantern Keepers: The Harbor Years season 3 trailer", "The Lantern Keepers season 3 arrives in April.", True),
    ("The Lantern Keepers: The Streamer Confirms Season 3", "", True),  # a clause: it tells news
    ("The Lantern Keepers: The Final Chapter Season 3 Trailer", "", True),  # labels
    ("The Lantern Keepers: The Captain's Season 3 Return", "", True),  # a possessive
    ("The Lantern Keepers: Mara Quinn Season 3 First Look", "", True),  # no article: a person, a character
    ("The Lantern Keepers: Into the Harbor season 3 trailer", "", True),  # the season's own subtitle
    ("The Lantern Keepers: Official season 3 trailer", "", True),
    ("The Lantern Keepers: season 3 trailer", "", True),
    ("The Lantern Keepers – Season 3 Official Trailer", "", True),
])
def test_a_season_written_after_another_title_is_that_title_s(title: str, summary: str, named: bool) -> None:
    item = Item(title=title, summary=summary)
    assert (Detector(WATCHES[:1]).classify(item).watch == WATCHES[0].id) is named


@pytest.mark.parametrize(("title", "summary", "named"), [
    ("「ハーバー・ライツ」シーズン3の予告編が公開", "ランタン・キーパーズのファンも注目している。", False),
    ("「ハーバー・ライツ」第3期の制作が決定", "ランタン・キーパーズに続く話題作。", False),
    ("'하버 라이츠' 시즌3 티저 공개", "'랜턴 키퍼스' 팬들도 기대하고 있다.", False),
    ("「ランタン・キーパーズ」シーズン3の予告編が公開", "", True),
    ("'랜턴 키퍼스' 시즌3 티저 공개", "", True),
    ("「ハーバー・ライツ」シーズン3と「ランタン・キーパーズ」シーズン3の予告編が公開", "", True),
    ("『ランタン・キーパーズ』“最終”シーズン3、配信決定", "", True),  # a stressed word, no title
    ("ランタン・キーパーズ“最終”シーズン3、配信決定", "", True),
    ("【速報】シーズン3の配信日が決定", "『ランタン・キーパーズ』の新シーズン。", True),  # a label, no title
    ("「ハーバー・ライツ」シーズン2の予告編が公開", "ランタン・キーパーズ シーズン3も制作中。", True),
])
def test_a_quoted_title_before_a_korean_or_japanese_season_is_that_title_s(title: str, summary: str,
                                                                            named: bool) -> None:
    item = Item(title=title, summary=summary)
    assert (Detector(WATCHES[:1]).classify(item).watch == WATCHES[0].id) is named


@pytest.mark.parametrize(("title", "named"), [
    ("Harbor season 3 trailer is here", True),  # the press drops the article before a season
    ("Harbor 3 gets a release date", True),
    ("The streamer renews Harbor for season 3", False),  # elsewhere the word may be any harbor
    ("A harbor town hosts the premiere", False),
    ("Harbor Lights season 3 trailer is here", False),
    ("The Harbor season 3 trailer is here", True),
])
def test_a_two_word_title_without_its_article_names_the_show_before_a_season(title: str, named: bool) -> None:
    harbor = Watch(id="harbor", title="The Harbor", season=3)
    assert (Detector([harbor]).classify(Item(title=title)).watch == "harbor") is named


@pytest.mark.parametrize(("title", "named"), [
    ("The streamer dates The Harbor season 3", False),  # mid-sentence "The": another title
    ("The Harbor season 3 gets a date", True),  # a headline's first word: no telling
    ("The streamer dates the Harbor season 3", True),
    ("The streamer dates Harbor season 3", True),
    (" The Harbor season 3 gets a date", True),
    ("Reactions to The Harbor Season 3 Trailer", True),  # Title Case: every word has capitals
    ("It's official. The Harbor season 3 is coming", True),  # a sentence opens with "The"
    ("Finally! The Harbor season 3 trailer is here", True),  # the article of "the ... trailer"
    # quotes that hold the article hold the title, wherever they stand
    ("The streamer dates 'The Harbor' season 3", False),
    ("'The Harbor' season 3 gets a date", False),
    ("“The Harbor” Season 3 Gets A Date", False),
    ("The 'Harbor' season 3 trailer is here", True),  # the quotes hold the name alone
    # words in capitals after the name are the watch's ("<title> Addams", a character): `exclude:` tells
    # a look-alike
    ("The streamer dates Harbor Lights season 3", True),
    ("The streamer dates Harbor Live Action season 3", True),
])
def test_an_article_before_a_name_without_one_makes_another_title(title: str, named: bool) -> None:
    harbor = Watch(id="harbor", title="Harbor", season=3)
    assert (Detector([harbor]).classify(Item(title=title)).watch == "harbor") is named


@pytest.mark.parametrize(("title", "named"), [
    ("the streamer confirms Lights in the Harbor Korean Drama season 3", True),  # a title's "in", then labels
    ("the streamer confirms Lights in the Harbor (2024) season 3", True),
    ("the streamer confirms Harbor Nights season 3, after Lights in the Harbor", False),
    ("the streamer's slate, from Lights in the Harbor to Harbor Nights season 3", False),  # two titles
    ("fans of Lights in the Harbor in Korea season 3 news", True),
])
def test_a_title_s_small_words_stay_in_its_run_of_capitals(title: str, named: bool) -> None:
    lights = Watch(id="lights", title="Lights in the Harbor", season=3)
    assert (Detector([lights]).classify(Item(title=title)).watch == "lights") is named


@pytest.mark.parametrize("title", ["The Lantern Keepers ❶ confirmed", "The Lantern Keepers ➂ trailer", "❶ ፩ ⓵"])
def test_a_digit_that_is_no_decimal_number_is_read_as_a_word(title: str) -> None:
    d = Detector(WATCHES).classify(Item(title=title, summary=title))
    assert not d.alert and not d.evidence.startswith("detection failed")


def test_a_name_s_own_end_marks_and_an_address_s_dashes_are_read() -> None:
    from bot.detect.cues import load
    from bot.detect.features import read

    def features(watch: Watch, title: str) -> dict[str, float]:
        found = read(Names.of(watch), load(), normalise(title), "")
        assert found is not None
        return found.features

    # the "?" of a title is the title's, not a question
    assert "c:qmark:t" not in features(Watch(id="w", title="Harbor Now...?", season=2),
                                       "Harbor Now...? season 2 renewed")
    assert "c:qmark:t" in features(Watch(id="w", title="Harbor Now", season=2), "Harbor Now season 2 renewed?")
    # an address writes "season-2"
    assert "x:ts_t" in features(Watch(id="l", title="The Lantern Keepers", season=2),
                                "the-lantern-keepers-season-2-renewed")


@pytest.mark.parametrize(("watch", "title", "named"), [
    (Watch(id="q", title="???", season=2, aliases=("Quiz Night",)), "Quiz Night season 2 renewed", True),
    (Watch(id="q", title="★", season=2), "★ season 2 renewed", False),  # marks alone name nothing
    (Watch(id="c", title="C++ (2024)", season=2), "C++ (2024) season 2 renewed by the network", True),
    (Watch(id="w", title="Weißensee", season=2), "WEISSENSEE season 2 renewed", True),
    (Watch(id="w", title="Weißensee", season=2), "weissensee-season-2-renewed", True),
    (Watch(id="s", title="Severance", season=2, aliases=("세브란스: 단절",)), "세브란스: 단절 시즌2 예고편 공개", True),
    (Watch(id="s", title="Severance", season=2, aliases=("세브란스: 단절",)), "세브란스:단절 시즌2 예고편 공개", True),
    (Watch(id="y", title="Who?", season=2), "The streamer reveals who is back in the season 2 trailer", False),
    (Watch(id="y", title="Who?", season=2), "Who? season 2 trailer released by the streamer", True),
    (Watch(id="k", title="Harbor Lights: Korea", season=2, exclude=("Harbor Lights",)),
     "Harbor Lights: Korea season 2 confirmed", True),
    (Watch(id="k", title="Harbor Lights: Korea", season=2, exclude=("Harbor Lights",)),
     "Harbor Lights season 2 confirmed", False),
    (Watch(id="l", title="The Lantern Keepers", season=2), "The\u200bLantern\u200bKeepers season\u200b2 renewed", True),
    (Watch(id="l", title="The Lantern Keepers", season=2), "The Lan\u00adtern Keep\u00aders season 2 renewed", True),
    # "&", "+" and "and" stand for each other in a name
    (Watch(id="h", title="Harbor & Lights", season=2), "Harbor and Lights season 2 renewed", True),
    (Watch(id="h", title="Harbor & Lights", season=2), "Harbor + Lights season 2 renewed", True),
    (Watch(id="h", title="Harbor and Lights", season=2), "Harbor & Lights season 2 renewed", True),
    (Watch(id="h", title="Harbor and Lights", season=2), "Harbor Lights season 2 renewed", False),
    # so do "×" and "x" between words ("SPY×FAMILY", "Spy x Family")
    (Watch(id="h", title="Harbor x Lights", season=2), "HARBOR×LIGHTS season 2 renewed", True),
    (Watch(id="h", title="Harbor×Lights", season=2), "Harbor x Lights season 2 renewed", True),
    (Watch(id="h", title="Harbor x Lights", season=2), "harbor-x-lights-season-2-renewed", True),
    (Watch(id="h", title="Harbor x Lights", season=2), "Harbor Lights season 2 renewed", False),
    # in lower case amid capitals, "harbor and lights" is words, as "harbor & lights" is
    (Watch(id="h", title="Harbor & Lights", season=2), "Sea Days season 2 trailer promises harbor and lights", False),
    (Watch(id="sz", title="ẞtraße", season=2), "sstrasse season 2 renewed", True),  # "ß" first: a pattern still
    # marks in or after a Korean or Japanese name are written, changed or dropped
    (Watch(id="h", title="Harbor", season=2, aliases=("今、港の灯は…",)), "『今、港の灯は』シーズン2 予告編解禁", True),
    (Watch(id="h", title="Harbor", season=2, aliases=("今、港の灯は…",)), "今港の灯はシーズン2 予告編解禁", True),
    (Watch(id="h", title="Harbor", season=2, aliases=("항구, 등불은",)), "'항구 등불은' 시즌2 티저 공개", True),
    (Watch(id="h", title="Harbor", season=2, aliases=("항구 등불은",)), "'항구, 등불은' 시즌2 티저 공개", True),
    (Watch(id="h", title="Harbor", season=2, aliases=("항구등",)), "배우 이항구, 등 부상…시즌2 촬영 차질", False),
    # a title's article, contracted or declined after a preposition
    (Watch(id="g", title="Les Gardiens du port", season=3),
     "Le tournage de la saison 3 des Gardiens du port a commencé", True),
    (Watch(id="g", title="El guardián del puerto", season=3),
     "Netflix renueva al guardián del puerto por una tercera temporada", True),
    (Watch(id="g", title="Il custode del porto", season=3),
     "Iniziate le riprese della stagione 3 del custode del porto", True),
    (Watch(id="g", title="Os Guardiões do Porto", season=3),
     "Netflix renova a série dos Guardiões do Porto para a 3ª temporada", True),
    (Watch(id="g", title="Le Bureau", season=3), "Un bureau de vote ouvre pour la saison 3 des travaux", False),
    (Watch(id="i", title="I May Destroy You", season=2), "Why this season 2 trailer may destroy you", False),
])
def test_names_as_users_write_them(watch: Watch, title: str, named: bool) -> None:
    assert (Detector([watch]).classify(Item(title=title)).watch == watch.id) is named


@pytest.mark.parametrize("title", [
    "The streamer confirms season 4 of Lights in the Harbor", "The streamer dates Lights in the Harbor season 4",
    "The streamer confirms the fourth season of Lights in the Harbor: Return",
])
def test_a_title_with_small_words_owns_its_season(title: str) -> None:
    watch = Watch(id="lh", title="Lights in the Harbor", season=4)
    assert Detector([watch]).classify(Item(title=title)).watch == "lh"


def test_a_headline_that_names_only_a_look_alike_is_about_it() -> None:
    watch = Watch(id="l", title="The Lantern Keepers", season=3, exclude=("The Lantern Keepers: Origins",))
    spin_off = Item(title="The Lantern Keepers: Origins renewed for season 3",
                    summary="The prequel to the hit drama The Lantern Keepers returns next year.")
    assert Detector([watch]).classify(spin_off).watch is None
    both = Item(title="The Lantern Keepers: Origins and The Lantern Keepers season 3 both renewed")
    assert Detector([watch]).classify(both).watch == "l"


def test_invisible_marks_inside_words_are_dropped() -> None:
    assert normalise("Lan\u00adtern\u200b Keep\u2060ers\ufeff") == "lantern keepers"


def test_an_item_detection_fails_on_is_no_alert_and_one_log_line(monkeypatch: pytest.MonkeyPatch,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    import bot.detect.detector as detector_module

    def broken(*_: object, **__: object) -> None:
        raise ValueError("a bug")

    detector = Detector(WATCHES)
    monkeypatch.setattr(detector_module, "read", broken)
    with caplog.at_level("WARNING", logger="newsbot.detect"):
        d = detector.classify(Item(title="The Lantern Keepers season 3 renewed", url="https://example.org/a"))
    assert not d.alert and d.evidence == "detection failed: ValueError"
    assert [r.getMessage() for r in caplog.records] == [
        "detection failed on https://example.org/a: ValueError: a bug"]


@pytest.mark.parametrize(("title", "alert", "kind"), [
    ("Netflix releases first trailer for The Glass Orchard", True, "trailer"),
    ("The Glass Orchard begins filming in Ireland", True, "production"),
    ("Netflix orders The Glass Orchard to series", True, "renewal"),
    ("The Glass Orchard renewed for season 2", False, None),
    ("The Glass Orchard season 2 trailer", False, None),
    ("The Glass Orchard: everything we know about the new series", False, None),
    ("The Glass Orchard spinoff in the works at Netflix", False, None),
    ("The Glass Orchard's prequel series ordered at Netflix", False, None),
])
def test_a_first_season_watch_reads_a_headline_without_a_season_as_its_own(title: str, alert: bool,
                                                                          kind: str | None) -> None:
    watch = Watch(id="go", title="The Glass Orchard", season=1)
    d = Detector([watch]).classify(Item(title=title))
    assert d.alert is alert and (d.kind if alert else None) == kind


@pytest.mark.parametrize(("title", "alert"), [
    ("The Lantern Keepers renewed for a seventh season", True),
    ("The Lantern Keepers: séptima temporada confirmada", True),
    ("The Lantern Keepers renewed for an eighth season", False),
    ("Netflix renews The Lantern Keepers for ninth and final season", False),
])
def test_a_long_running_show_s_season_in_words_is_read(title: str, alert: bool) -> None:
    d = Detector([Watch(id="lk7", title="The Lantern Keepers", season=7)]).classify(Item(title=title))
    assert d.alert is alert and (d.kind == "renewal" or not alert)
