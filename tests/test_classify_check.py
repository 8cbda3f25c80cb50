"""`newsbot classify --check FILE`: the labelled measurement of a user's watches, through the real CLI.

The labelled items are sentences written here for a made-up show; their labels are set so that the
figures are known: four right alerts (one of the wrong kind, one right by `kind_alt`), one false
alert, one missed item, and items for no watch and for a watch that is not configured.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli.main import main

SOURCES = """\
watches:
  - id: lk-s3
    title: The Lantern Keepers
    season: 3
sources: []
"""
ITEMS: list[dict[str, object]] = [
    {"id": "lk-1", "watch": "lk-s3", "label": "trailer",
     "title": "Netflix drops the first teaser for The Lantern Keepers season 3"},
    {"id": "lk-2", "watch": "lk-s3", "label": "renewal", "alert": True,
     "title": "The Lantern Keepers renewed for season 3 at Netflix"},
    {"id": "lk-3", "watch": "lk-s3", "label": "trailer", "kind_alt": "release_date",
     "title": "Netflix renews The Lantern Keepers for season 3"},  # right alert, wrong kind
    {"id": "lk-4", "watch": "lk-s3", "label": "release_date", "kind_alt": "trailer",
     "title": "Netflix releases the official trailer for The Lantern Keepers season 3"},  # kind_alt counts
    {"id": "lk-5", "watch": "lk-s3", "label": "release_date",
     "title": "Will there be a Lantern Keepers season 3? Everything we know"},  # missed
    {"id": "lk-6", "watch": "lk-s3", "label": "speculation", "alert": False,
     "title": "The first official trailer is here",
     "summary": "Netflix releases the official trailer for The Lantern Keepers season 3. It runs two minutes."},
    {"id": "lk-7", "watch": "lk-s3", "label": "speculation",
     "title": "The Lantern Keepers season 2 recap: what happened"},
    {"id": "lk-8", "watch": "lk-s3", "label": "production", "ambiguous": True,
     "title": "The Lantern Keepers cast tease season 3 at a fan event"},  # not scored
    {"label": "release_date", "title": "Netflix sets October 3 premiere date for The Lantern Keepers season 3"},
    {"id": "tide-1", "watch": "tide-s1", "label": "unrelated",
     "title": "Harbour towns prepare for the lantern festival"},
]


def _files(tmp_path: Path, lines: list[str]) -> tuple[list[str], Path]:
    (tmp_path / "sources.yaml").write_text(SOURCES, encoding="utf-8")
    labelled = tmp_path / "labelled.jsonl"
    labelled.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return ["--sources", str(tmp_path / "sources.yaml")], labelled


def _rows(out: str) -> dict[str, list[str]]:
    """The table rows of the printout, by their first column."""
    return {line[:28].strip(): line[28:].split() for line in out.splitlines() if line[:1] not in ("", " ", "=")}


def test_check_prints_the_figures_of_a_known_case(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sources, labelled = _files(tmp_path, [json.dumps(item) for item in ITEMS])
    assert main(["classify", "--check", str(labelled), *sources]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    out = captured.out
    assert out.startswith(f"== {labelled}: 10 items (1 ambiguous, not scored), judged with 1 watch (lk-s3)")
    rows = _rows(out)
    assert rows["lk-s3"] == ["0.800", "0.800", "0.750", "tp=4", "fp=1", "fn=1"]
    assert rows["(any watch)"] == ["1.000", "1.000", "1.000", "tp=1", "fp=0", "fn=0"]
    assert rows["tide-s1"] == ["1.000", "1.000", "1.000", "tp=0", "fp=0", "fn=0"]
    assert rows["minimum"] == ["0.800", "0.800", "0.750"]
    assert rows["total"] == ["0.833", "0.833", "0.800", "tp=5", "fp=1", "fn=1"]
    assert "(no watch tide-s1 in the sources file: an alert for any watch counts)" in out
    table = out.split("\nlabel")[1].split("\n\n")[0].splitlines()[1:]
    confusion = {line.split()[0]: line.split()[1:] for line in table}
    assert confusion == {"release_date": ["2", "1"], "renewal": ["1", "0"], "speculation": ["1", "1"],
                         "trailer": ["2", "0"], "unrelated": ["0", "1"]}
    misses = out.split("misclassified (3): ")[1].splitlines()[1:]
    assert [m.split()[:3] for m in misses] == [["lk-3", "trailer", "renewal/lk-s3"], ["lk-5", "release_date", "-"],
                                               ["lk-6", "speculation", "trailer/lk-s3"]]
    assert misses[2].endswith("The first official trailer is here  — why: Netflix releases the official "
                              "trailer for The Lantern Keepers season 3.")
    assert "why" not in misses[0]  # the deciding phrase is the title itself


def test_check_json_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sources, labelled = _files(tmp_path, [json.dumps(item) for item in ITEMS])
    assert main(["classify", "--check", str(labelled), "--json", *sources]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["items"] == 10 and summary["ambiguous_not_scored"] == 1 and summary["errors"] == []
    assert summary["total"] == {"precision": 0.8333, "recall": 0.8333, "kind_accuracy": 0.8,
                                "tp": 5, "fp": 1, "fn": 1}
    assert summary["watches"]["lk-s3"]["kind_accuracy"] == 0.75
    assert summary["watches_configured"] == ["lk-s3"] and summary["watches_not_configured"] == ["tide-s1"]
    assert summary["confusion"]["release_date"] == {"alerted": 2, "not": 1}
    missed = {m["id"]: m for m in summary["misclassified"]}
    assert set(missed) == {"lk-3", "lk-5", "lk-6"}
    assert missed["lk-6"]["alert"] is True and missed["lk-6"]["kind"] == "trailer"
    assert missed["lk-6"]["evidence"].startswith("Netflix releases the official trailer")


def test_check_reports_each_bad_line_and_measures_the_rest(tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    bad = ["{not json", json.dumps({"title": "x", "label": "maybe"}),
           json.dumps({"title": "x", "label": "speculation", "alert": True}), "[1]",
           json.dumps({"label": "renewal"})]
    sources, labelled = _files(tmp_path, [json.dumps(ITEMS[0]), *bad, "", json.dumps(ITEMS[6])])
    assert main(["classify", "--check", str(labelled), *sources]) == 1
    captured = capsys.readouterr()
    errors = captured.err.splitlines()
    assert [e.split(": ", 3)[2] for e in errors[:-1]] == [f"{labelled}:{n}" for n in range(2, 7)]
    assert errors[1].endswith("label 'maybe' is not one of: renewal, trailer, release_date, production, "
                              "speculation, other_season, other_show, unrelated")
    assert errors[2].endswith("alert is true but label 'speculation' is not an alert")
    assert errors[4].endswith("no title and no summary to judge")
    assert errors[-1] == "newsbot: classify: 5 bad lines not measured"
    assert _rows(captured.out)["total"] == ["1.000", "1.000", "1.000", "tp=1", "fp=0", "fn=0"]
    assert "2 items" in captured.out.splitlines()[0]

    assert main(["classify", "--check", str(labelled), "--json", *sources]) == 1
    summary = json.loads(capsys.readouterr().out)
    assert len(summary["errors"]) == 5 and summary["errors"][0].startswith(f"{labelled}:2: not valid JSON")
    assert summary["total"]["tp"] == 1


def test_check_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sources, labelled = _files(tmp_path, [json.dumps(ITEMS[0])])
    missing = tmp_path / "nowhere.jsonl"
    assert main(["classify", "--check", str(missing), *sources]) == 2
    assert capsys.readouterr().err == f"newsbot: classify: {missing}: no such file\n"
    assert main(["classify", "--check", str(tmp_path), *sources]) == 2
    assert capsys.readouterr().err.startswith(f"newsbot: classify: cannot read {tmp_path}: ")
    latin = tmp_path / "latin.jsonl"
    latin.write_bytes(b'{"title": "caf\xe9", "label": "unrelated"}\n')
    assert main(["classify", "--check", str(latin), *sources]) == 2
    assert capsys.readouterr().err == f"newsbot: classify: {latin}: not UTF-8 text\n"
    assert main(["classify", "--check", str(labelled), "a headline", *sources]) == 2
    assert "give no headlines with it" in capsys.readouterr().err
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n", encoding="utf-8")
    assert main(["classify", "--check", str(empty), *sources]) == 1
    assert capsys.readouterr().out == f"{empty}: no labelled items to measure\n"
