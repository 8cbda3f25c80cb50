"""Measuring detection on labelled items, and the printout of it, for `bench/detect.py` and
`newsbot classify --check`: precision, recall and kind accuracy per watch, the confusion by label and
the misclassified items.

An item labelled for a watch the detector holds must alert for that watch; an item for no watch the
detector holds (or for none) is right when any watch alerts, and wrong when any does not. Ambiguous
items are not scored; `kind_alt` is an acceptable kind.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Final

from bot.detect.corpus import Example
from bot.detect.detector import Detector
from bot.models import Decision, Item

NO_WATCH: Final = "(any watch)"
"""The group of items that name no watch."""


@dataclass
class Score:
    """Counts for one watch (or all): true and false alerts, missed ones, alerts of the right kind."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    kind_ok: int = 0

    def add(self, ex: Example, d: Decision, hit: bool) -> bool:
        """Count one decision (`hit`: an alert for the expected watch); True when it is right."""
        if ex.alert and hit:
            self.tp += 1
            ok_kind = d.kind in (ex.label, ex.kind_alt)
            self.kind_ok += ok_kind
            return ok_kind
        if ex.alert:
            self.fn += 1
            return False
        if d.alert:
            self.fp += 1
        return not d.alert

    def __iadd__(self, other: Score) -> Score:
        self.tp, self.fp, self.fn = self.tp + other.tp, self.fp + other.fp, self.fn + other.fn
        self.kind_ok += other.kind_ok
        return self

    @property
    def precision(self) -> float:
        """Right alerts among alerts (1.0 with no alert)."""
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        """Alerted among items that should alert (1.0 with none)."""
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def kind(self) -> float:
        """Right kind among right alerts (1.0 with none)."""
        return self.kind_ok / self.tp if self.tp else 1.0

    def as_json(self) -> dict[str, float | int]:
        """The figures and counts as a JSON object."""
        return {"precision": round(self.precision, 4), "recall": round(self.recall, 4),
                "kind_accuracy": round(self.kind, 4), "tp": self.tp, "fp": self.fp, "fn": self.fn}


@dataclass(frozen=True, slots=True)
class Miss:
    """One misclassified item: what was expected and what the detector said, with its deciding phrase."""

    id: str
    watch: str
    title: str
    label: str
    decision: Decision

    @property
    def got(self) -> str:
        """The decision in short: "kind/watch", or "-" for no alert."""
        return f"{self.decision.kind}/{self.decision.watch}" if self.decision.alert else "-"

    def line(self) -> str:
        """One printed line: id, label, decision, confidence, title, and why when the deciding
        phrase is not the title."""
        why = " ".join(self.decision.evidence.split())
        text = f"{self.id:28} {self.label:13} {self.got:34} {self.decision.confidence:.2f} {self.title[:90]}"
        return text + (f"  — why: {why[:160]}" if why and why != " ".join(self.title.split()) else "")


@dataclass
class Measurement:
    """Scores per watch, the confusion by label and the misclassified items, gathered over judgements."""

    scores: dict[str, Score] = field(default_factory=dict)
    confusion: Counter[tuple[str, bool]] = field(default_factory=Counter)
    misses: list[Miss] = field(default_factory=list)
    ambiguous: int = 0

    def judge(self, detector: Detector, examples: Iterable[Example],
              watches: Collection[str]) -> list[tuple[Example, Decision]]:
        """Classify and count each item; `watches` are the ids the detector holds. Returns the
        decisions on the items scored (ambiguous ones are counted apart)."""
        judged = []
        for ex in examples:
            if ex.ambiguous:
                self.ambiguous += 1
                continue
            decision = detector.classify(item_of(ex))
            self.record(ex, decision, watches)
            judged.append((ex, decision))
        return judged

    def record(self, ex: Example, d: Decision, watches: Collection[str]) -> None:
        """Count one decision on a labelled item."""
        hit = d.alert and (d.watch == ex.watch or ex.watch not in watches)
        group = ex.watch or NO_WATCH
        self.confusion[(ex.label, hit if ex.alert else d.alert)] += 1
        if not self.scores.setdefault(group, Score()).add(ex, d, hit):
            self.misses.append(Miss(ex.id, ex.watch, ex.title, ex.label, d))

    @property
    def total(self) -> Score:
        """Every watch's counts together."""
        total = Score()
        for s in self.scores.values():
            total += s
        return total


def item_of(ex: Example) -> Item:
    """The news item a labelled example stands for."""
    return Item(title=ex.title, summary=ex.summary, language=ex.language)


def _row(name: str, s: Score) -> str:
    return f"{name:28} {s.precision:6.3f} {s.recall:6.3f} {s.kind:6.3f}   tp={s.tp} fp={s.fp} fn={s.fn}"


def report_lines(title: str, m: Measurement, *, quiet: bool = False, column: str = "show",
                 notes: Sequence[str] = ()) -> list[str]:
    """The printout: per-watch table, minimum (with more than one), totals and `notes` under them,
    confusion by label, misclassified items (unless `quiet`)."""
    lines = [f"\n== {title}", f"{column:28} {'prec':>6} {'recall':>6} {'kind':>6}"]
    lines += [_row(name, s) for name, s in m.scores.items()]
    vals = list(m.scores.values())
    if len(vals) > 1:
        lines.append(f"{'minimum':28} {min(s.precision for s in vals):6.3f} {min(s.recall for s in vals):6.3f} "
                     f"{min(s.kind for s in vals):6.3f}")
    lines.append(_row("total", m.total))
    lines += notes
    lines.append(f"\n{'label':14} {'alerted':>8} {'not':>6}")
    for label in sorted({lab for lab, _ in m.confusion}):
        lines.append(f"{label:14} {m.confusion[(label, True)]:8} {m.confusion[(label, False)]:6}")
    if m.misses and not quiet:
        lines.append(f"\nmisclassified ({len(m.misses)}): id, label, decision, confidence, title"
                     " (— why: the deciding phrase, when it is not the title)")
        lines += [miss.line() for miss in m.misses]
    return lines


def summary_json(m: Measurement) -> dict[str, object]:
    """The measurement as one JSON object: totals, per watch, confusion by label, misclassified items."""
    labels = sorted({lab for lab, _ in m.confusion})
    return {
        "total": m.total.as_json(),
        "watches": {name: s.as_json() for name, s in m.scores.items()},
        "ambiguous_not_scored": m.ambiguous,
        "confusion": {lab: {"alerted": m.confusion[(lab, True)], "not": m.confusion[(lab, False)]}
                      for lab in labels},
        "misclassified": [_miss_json(miss) for miss in m.misses],
    }


def _miss_json(miss: Miss) -> dict[str, object]:
    d = miss.decision
    return {"id": miss.id, "watch": miss.watch or None, "title": miss.title, "label": miss.label,
            "alert": d.alert, "kind": d.kind if d.alert else None, "alert_watch": d.watch if d.alert else None,
            "confidence": round(d.confidence, 3), "evidence": d.evidence}


def foreign_watches(examples: Sequence[Example], watches: Collection[str]) -> list[str]:
    """The watches items name that the detector does not hold (their items count any watch's alert)."""
    return sorted({ex.watch for ex in examples if ex.watch and ex.watch not in watches})
