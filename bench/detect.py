"""Measure detection leave-one-show-out: fit on every show but one, score the one left out, in turn.

Usage: python bench/detect.py [--corpus DIR] [--quiet] [--shipped] [--seconds 1.0]

DIR holds watches.yaml, an optional headlines-dev.jsonl (the aouad-s2 watch) and shows/*.jsonl
(default: the shared corpus next to the repository). Per show it prints precision, recall and kind
accuracy, their minimum, the totals, the confusion by label and the misclassified items (hidden by
--quiet). Ambiguous items are not scored; `kind_alt` is an acceptable kind. Each item is judged as a
user subscribed to its show would see it: by a detector holding that show's watch from watches.yaml.
The same models then judge every item from its headline alone, as Google News items come (no lede),
and every other show's items for the watch left out, as a general feed brings them (each alert listed).
`--shipped` scores the shipped weights (fitted on everything) without refitting: on a corpus they were fitted on, those
figures are in-sample and are printed as such, never as a result. Also: the shipped watch's own
file, per show the real reports that no name of its watch matches (the recall it can reach), the
long explainer articles (must never alert) and items per second on one core.
The scoring and the printout are bot/detect/measure.py, shared with `newsbot classify --check FILE`.
"""

from __future__ import annotations

import argparse
import sys
import time
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bot.detect import Detector  # noqa: E402
from bot.detect.corpus import DEV_WATCH, BadCorpus, Example, load_corpus  # noqa: E402
from bot.detect.measure import Measurement, item_of, report_lines  # noqa: E402
from bot.detect.train import CannotFit  # noqa: E402
from bot.models import Item, Watch  # noqa: E402

DEFAULT_CORPUS = REPO.parent / "shared" / "corpus"


def _own(watches: Sequence[Watch], show: str) -> list[Watch]:
    return [w for w in watches if w.id == show]


def _by_show(examples: Sequence[Example]) -> dict[str, list[Example]]:
    by_show: dict[str, list[Example]] = defaultdict(list)
    for ex in examples:
        by_show[ex.watch].append(ex)
    return by_show


def leave_one_out(watches: Sequence[Watch], examples: Sequence[Example], quiet: bool) -> None:
    """Fit on all shows but one, score the one left out, for every show."""
    from bot.detect.train import fit_without

    measured, headlines = Measurement(), Measurement()
    scored: list[tuple[float, bool]] = []
    others: list[str] = []
    judged = named = 0
    for show, held in _by_show(examples).items():
        model = fit_without(watches, examples, show)
        detector = Detector(_own(watches, show), model)
        scored += [(d.confidence if d.watch == show else 0.0, ex.alert)
                   for ex, d in measured.judge(detector, held, {show})]
        headlines.judge(detector, [replace(ex, summary="") for ex in held], {show})
        for ex in examples:  # a general feed brings every show's news
            if ex.watch != show and not ex.ambiguous:
                d = detector.classify(item_of(ex))
                judged, named = judged + 1, named + (d.watch == show)
                if d.alert:
                    others.append(f"  {show} <- {ex.id} [{ex.label} of {ex.watch}] {d.confidence:.2f} {ex.title[:80]}")
    print("\n".join(report_lines("leave one show out (each show scored by a model fitted without it)",
                                 measured, quiet=quiet)))
    print("\n".join(ranking_lines(scored)))
    print("\n".join(report_lines("leave one show out, headlines alone (as Google News items come: no lede)",
                                 headlines, quiet=True)))
    print(f"\n== other shows' items, judged for each watch (as a general feed brings them): {judged:,} judged, "
          f"{named} name the watch, {len(others)} alert (labels are for the item's own show: read each)")
    print("\n".join(others))


def ranking_lines(scored: Sequence[tuple[float, bool]]) -> list[str]:
    """How well the held-out scores rank, pooled over shows: the chance that an alert scores above a
    non-alert (ROC AUC), and precision and recall if the alert threshold were elsewhere than 0.5."""
    pos = sorted(p for p, alert in scored if alert)
    neg = sorted(p for p, alert in scored if not alert)
    if not pos or not neg:
        return []
    above = sum(bisect_left(neg, p) + (bisect_right(neg, p) - bisect_left(neg, p)) / 2 for p in pos)
    lines = ["", f"== ranking, pooled over held-out shows: AUC {above / (len(pos) * len(neg)):.3f}",
             "threshold   prec recall"]
    for t in (0.3, 0.4, 0.5, 0.6, 0.7):
        tp = len(pos) - bisect_left(pos, t)
        fp = len(neg) - bisect_left(neg, t)
        lines.append(f"{t:9.2f}  {tp / (tp + fp) if tp + fp else 1.0:.3f}  {tp / len(pos):.3f}")
    return lines


def unnamed(watches: Sequence[Watch], examples: Sequence[Example], quiet: bool) -> None:
    """Per show, the real reports that no name of its watch (as watches.yaml writes it) matches: no
    detector can alert them for that watch, so they bound its recall. Adding the names they use to
    `aliases` is how a user reaches them."""
    from bot.detect.cues import load
    from bot.detect.features import read
    from bot.detect.names import Names
    from bot.detect.text import normalise

    table = load()
    print("\n== real reports no name of the watch matches (the recall a watch written so can reach)")
    for show, held in _by_show(examples).items():
        names = Names.of(_own(watches, show)[0])
        alerts = [ex for ex in held if ex.alert and not ex.ambiguous]
        missing = [ex for ex in alerts if read(names, table, normalise(ex.title), normalise(ex.summary)) is None]
        reach = (len(alerts) - len(missing)) / len(alerts) if alerts else 1.0
        print(f"{show:28} {len(missing):3} of {len(alerts):3}   recall at most {reach:.3f}")
        if not quiet:
            for ex in missing:
                print(f"    {ex.id} [{ex.label}] {ex.title[:90]}")


def shipped(watches: Sequence[Watch], examples: Sequence[Example], quiet: bool) -> None:
    """Score the shipped weights as they are (in-sample on the corpus they were fitted on)."""
    measured = Measurement()
    for show, held in _by_show(examples).items():
        measured.judge(Detector(_own(watches, show)), held, {show})
    print("\n".join(report_lines("shipped weights, no refit (IN-SAMPLE if this corpus was fitted on: not a result)",
                                 measured, quiet=quiet)))


def articles(folder: Path, watches: Sequence[Watch]) -> None:
    """The long explainer articles must never alert, read as an article or as a summary."""
    paths = sorted((folder / "articles").glob("*.txt"))
    if not paths:
        return
    detector = Detector(watches)
    print("\n== articles (must never alert)")
    for path in paths:
        text = path.read_text(encoding="utf-8")
        as_article = detector.classify_article(Item(title="", url="https://example.org/news"), text)
        as_summary = detector.classify(Item(title="", summary=text))
        print(f"{path.name:34} article: alert={as_article.alert} ({as_article.confidence:.2f})  "
              f"summary: alert={as_summary.alert} ({as_summary.confidence:.2f})")


def _rate(detector: Detector, items: Sequence[Item], seconds: float) -> tuple[float, float]:
    """Items per second over passes of every item for about `seconds`: the best pass (as `timeit`
    reports: what other work on a shared machine takes from a pass only slows it) and the mean."""
    start = time.perf_counter()
    best, n = 0.0, 0
    while (now := time.perf_counter()) - start < seconds or n == 0:
        for item in items:
            detector.classify(item)
        n += len(items)
        best = max(best, len(items) / (time.perf_counter() - now))
    return best, n / (time.perf_counter() - start)


def speed(watches: Sequence[Watch], examples: Sequence[Example], seconds: float) -> None:
    """Items per second on one core: items that name a watch (every corpus item), items that name
    none (the same items judged for a made-up watch), and a feed mix of one named item in ten."""
    t0 = time.perf_counter()
    detector = Detector(watches)
    built = time.perf_counter() - t0
    items = [item_of(ex) for ex in examples]
    stranger = Detector([Watch(id="lantern", title="The Lantern Keepers", season=3, aliases=("랜턴 키퍼스",))])
    named, named_mean = _rate(detector, items, seconds)
    unnamed, unnamed_mean = _rate(stranger, items, seconds)

    def mix(a: float, b: float) -> float:
        return 1.0 / (0.1 / a + 0.9 / b)

    print(f"\n== speed on one core ({len(watches)} watches; detector built in {built * 1000:.1f} ms; "
          f"best pass over the {len(items):,} items, and in brackets the mean over {seconds:g} s)\n"
          f"items naming a watch {named:10,.0f} items/s  ({named_mean:,.0f})\n"
          f"items naming none    {unnamed:10,.0f} items/s  ({unnamed_mean:,.0f})\n"
          f"feed mix (1 in 10)   {mix(named, unnamed):10,.0f} items/s  ({mix(named_mean, unnamed_mean):,.0f})")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the measurements."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--quiet", action="store_true", help="hide the misclassified items")
    parser.add_argument("--shipped", action="store_true", help="score the shipped weights, no refit")
    parser.add_argument("--seconds", type=float, default=1.0)
    args = parser.parse_args(argv)
    try:
        watches, examples = load_corpus(args.corpus)
        if args.shipped:
            shipped(watches, examples, args.quiet)
        else:
            leave_one_out(watches, examples, args.quiet)
            dev = [ex for ex in examples if ex.watch == DEV_WATCH]
            if dev:
                print(f"\n(the shipped watch {DEV_WATCH} is the row of that name above, scored leave-one-out)")
    except (BadCorpus, CannotFit) as exc:
        print(f"bench/detect.py: {exc}", file=sys.stderr)
        return 2
    unnamed(watches, examples, args.quiet)
    articles(args.corpus, watches)
    speed(watches, examples, args.seconds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
