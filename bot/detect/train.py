"""Fit the detector's weights on a labelled corpus: `python -m bot.detect.train [--corpus DIR] [--out FILE]`.

Needs the `train` extra (numpy, scikit-learn). Fitting is deterministic: the same corpus writes the
same bytes. Features seen fewer than `MIN_COUNT` times are left out and near-zero weights pruned.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Final

from bot.detect.corpus import BadCorpus, Example, load_corpus
from bot.detect.cues import load
from bot.detect.features import opens_with_a_name, read
from bot.detect.model import WEIGHTS, Model, dumps
from bot.detect.names import Names
from bot.detect.text import normalise
from bot.models import KINDS, Kind, Watch

MIN_COUNT: Final = 2
MIN_SHOWS: Final = 2
"""A feature must be seen in items of this many shows: words only one show uses (its characters,
actors, places) cannot tell anything about the next show."""
C_ALERT: Final = 0.2
C_KIND: Final = 1.0
DIGITS: Final = 3
PRUNE: Final = 0.01
ABSENT: Final = -1000.0
"""The score of a kind no fitted item had."""
DEFAULT_CORPUS: Final = Path(__file__).resolve().parents[3] / "shared" / "corpus"


@dataclass(frozen=True, slots=True)
class Sample:
    """One item read for its own watch, with its label."""

    features: dict[str, float]
    alert: bool
    kind: Kind | None
    derived: bool = False  # read again for another season (not counted when choosing features)
    show: str = ""
    weight: float = 1.0


AUGMENT: Final = True
HEADLINE_WEIGHT: Final = 0.08
"""Every item with a lede is also fitted from its headline alone, at this weight: many feeds (Google
News) carry no lede, and a model fitted only on items that have one trusts a bare headline too little.
Leave one show out, judged from headlines alone, recall went from 0.50 to 0.68 and precision from 0.91
to 0.86; judged with ledes, the figures stayed the same (0.85 / 0.79). Swept again on later features
(real reports / false alerts, leave one show out): from headlines alone 0.05 363 / 40, 0.08 371 / 42,
0.1 372 / 45, 0.13 374 / 45; with ledes 0.03 418 / 45, 0.05 420 / 44, 0.08 422 / 44, 0.1 421 / 45,
0.13 420 / 45."""


def samples(watches: Sequence[Watch], examples: Sequence[Example]) -> list[Sample]:
    """Unambiguous items that name their watch, read as detection reads them, and from their headline
    alone (HEADLINE_WEIGHT). An alert that names its season is read once more for a watch of the next
    season: there it is another season's news, which teaches "the season named is not the one
    watched" without any show's data."""
    names = {w.id: Names.of(w) for w in watches}
    table = load()
    out: list[Sample] = []
    for ex in examples:
        if ex.ambiguous or ex.watch not in names:
            continue
        title, summary = normalise(ex.title), normalise(ex.summary)
        name_first = opens_with_a_name(ex.title)
        reading = read(names[ex.watch], table, title, summary, name_first=name_first)
        if reading is None:
            continue
        out.append(Sample(reading.features, ex.alert, ex.kind, show=ex.watch))
        if summary:
            alone = read(names[ex.watch], table, title, "", name_first=name_first)
            if alone is not None:
                out.append(Sample(alone.features, ex.alert, ex.kind, derived=True, show=ex.watch,
                                  weight=HEADLINE_WEIGHT))
        if AUGMENT and ex.alert and "x:ts_t" in reading.features:
            watch = names[ex.watch].watch
            shifted = read(Names.of(replace(watch, season=watch.season + 1)), table, title, summary,
                           name_first=name_first)
            if shifted is not None:
                out.append(Sample(shifted.features, False, None, derived=True))
    return out


def _matrix(rows: Sequence[dict[str, float]], vocab: dict[str, int]) -> Any:
    from scipy.sparse import csr_matrix

    data: list[float] = []
    cols: list[int] = []
    ptr = [0]
    for feats in rows:
        for f in sorted(feats):
            j = vocab.get(f)
            if j is not None:
                cols.append(j)
                data.append(feats[f])
        ptr.append(len(cols))
    return csr_matrix((data, cols, ptr), shape=(len(rows), len(vocab)))


def _logistic(c: float) -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=c, solver="lbfgs", max_iter=5000, tol=1e-8)


def fit_without(watches: Sequence[Watch], examples: Sequence[Example], show: str) -> Model:
    """The model fitted on every show but `show`: how a show the model never saw is scored."""
    return fit(samples(watches, [ex for ex in examples if ex.watch != show]))


class CannotFit(RuntimeError):
    """Fitting cannot run: the `train` extra is missing (the message says how to install it), or the
    items cannot be fitted (no alert, or nothing but alerts)."""


def fit(train: Sequence[Sample]) -> Model:
    """Fit the alert and kind models on samples, on one thread (the problem is small: BLAS threads
    contending for shared cores made a fit several times slower)."""
    try:
        import scipy.sparse  # noqa: F401  loaded before the limit: it binds only libraries already loaded
        import sklearn.linear_model  # noqa: F401
        from threadpoolctl import threadpool_limits
    except ImportError as exc:
        raise CannotFit(f"fitting needs the train extra ({exc.name} is not installed): "
                        "pip install -e '.[train]'") from None

    with threadpool_limits(limits=1):
        return _fit(train)


def _fit(train: Sequence[Sample]) -> Model:
    if len({s.alert for s in train if not s.derived}) < 2:
        raise CannotFit("fitting needs items labelled as alerts and items that are not, among those that name "
                        "their watch")
    counts = Counter(f for s in train if not s.derived for f in s.features)
    shows: dict[str, set[str]] = {}
    for s in train:
        if not s.derived:
            for f in s.features:
                shows.setdefault(f, set()).add(s.show)
    names = sorted(f for f, n in counts.items() if n >= MIN_COUNT and len(shows[f]) >= MIN_SHOWS)
    if not names:
        raise CannotFit(f"no feature is seen in items of {MIN_SHOWS} watches or more, and only those are fitted: "
                        "put your items beside the shared corpus's shows (shows/<watch id>.jsonl)")
    vocab = {f: i for i, f in enumerate(names)}
    alert = _logistic(C_ALERT).fit(_matrix([s.features for s in train], vocab), [int(s.alert) for s in train],
                                   sample_weight=[s.weight for s in train])
    kind_bias, kind_weights = _kinds([s for s in train if s.alert and s.kind is not None], vocab, names)
    weights = {f: round(float(w), DIGITS) for f, w in zip(names, alert.coef_[0], strict=True)}
    return Model(
        bias=round(float(alert.intercept_[0]), DIGITS),
        weights={f: w for f, w in weights.items() if abs(w) >= PRUNE},
        kind_bias=kind_bias,
        kind_weights=kind_weights,
    )


def _kinds(kinded: Sequence[Sample], vocab: dict[str, int], names: list[str],
           ) -> tuple[tuple[float, ...], dict[str, tuple[float, ...]]]:
    """Bias and weight rows per kind, in the order of KINDS; a kind never seen in fitting never wins."""
    import numpy as np

    labels = [s.kind for s in kinded]
    classes = sorted(set(labels), key=lambda k: KINDS.index(k) if k else 0)
    coef = np.zeros((len(KINDS), len(names)))
    bias = np.full(len(KINDS), ABSENT)
    if len(classes) == 1:
        bias[KINDS.index(classes[0])] = 0.0
    elif classes:
        model = _logistic(C_KIND).fit(_matrix([s.features for s in kinded], vocab), labels,
                                      sample_weight=[s.weight for s in kinded])
        fitted = list(model.classes_)
        rows = model.coef_ if len(fitted) > 2 else np.vstack([-model.coef_[0] / 2, model.coef_[0] / 2])
        biases = model.intercept_ if len(fitted) > 2 else [-model.intercept_[0] / 2, model.intercept_[0] / 2]
        for i, k in enumerate(fitted):
            coef[KINDS.index(k)] = rows[i]
            bias[KINDS.index(k)] = biases[i]
    table: dict[str, tuple[float, ...]] = {}
    for j, f in enumerate(names):
        row = tuple(round(float(x), DIGITS) for x in coef[:, j])
        if max(abs(x) for x in row) >= PRUNE:
            table[f] = row
    return tuple(round(float(b), DIGITS) for b in bias), table


def main(argv: Sequence[str] | None = None) -> int:
    """Refit on a corpus folder and write the weights file."""
    parser = argparse.ArgumentParser(prog="python -m bot.detect.train", description=__doc__.split("\n", 1)[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, metavar="DIR",
                        help="a folder laid out as the shared corpus: watches.yaml and shows/<watch id>.jsonl "
                             "(default: %(default)s)")
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name(WEIGHTS), metavar="FILE",
                        help="the weights file to write (default: %(default)s)")
    args = parser.parse_args(argv)
    try:
        watches, examples = load_corpus(args.corpus)
        model = fit(samples(watches, examples))
        args.out.write_text(dumps(model), encoding="utf-8")
    except (BadCorpus, CannotFit) as exc:
        print(f"newsbot: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"newsbot: cannot write {args.out}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    print(f"{args.out}: {len(model.weights)} alert weights, {len(model.kind_weights)} kind rows")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
