"""Measure detection on labelled headlines: precision, recall, kind accuracy, errors and items/s.

Usage: python bench/detect.py [FILE] [--sources sources.yaml] [--seconds 1.0] [--all] [--dump OUT]

FILE is JSON Lines with title, summary, label, alert, ambiguous and optionally watch (default: the
shared dev corpus next to the repository). Ambiguous items are left out of the scores; when a row
names its watch, a true alert must also name that watch. Watches come from the sources file; if it
cannot be loaded, a built-in watch for All of Us Are Dead season 2 is used. Speed is measured on the
labelled file itself, then on a feed mix where nine items in ten are unrelated headlines (as in a
real feed). `--dump` writes every decision as JSON Lines, to check that a change keeps decisions.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bot.build_info import compiled  # noqa: E402

from bot.detect.rules import Detector, decision_json  # noqa: E402
from bot.models import Item, Watch  # noqa: E402

DEFAULT_FILE = REPO.parent / "shared" / "corpus" / "headlines-dev.jsonl"
DEFAULT_WATCH = Watch(
    id="aouad-s2",
    title="All of Us Are Dead",
    season=2,
    aliases=("지금 우리 학교는", "지우학", "지금우리학교", "Estamos muertos", "We Are All Dead", "We're Dead",
             "Now at Our School"),
)


def load_watches(path: Path) -> tuple[Watch, ...]:
    """Watches from the sources file, or the built-in default watch when it cannot be loaded."""
    try:
        from bot.config import load_config

        watches = tuple(load_config(path).watches)
        if watches:
            return watches
        print(f"note: {path} has no watches; using the built-in default watch", file=sys.stderr)
    except Exception as exc:  # any failure to load falls back to the default watch
        print(f"note: cannot load watches from {path} ({exc}); using the built-in default watch",
              file=sys.stderr)
    return (DEFAULT_WATCH,)


def load_items(path: Path) -> list[dict[str, object]]:
    """The labelled records of a JSON Lines file."""
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise SystemExit(f"{path}:{n}: not JSON: {exc}") from None
    return rows


def to_item(row: dict[str, object]) -> Item:
    """An Item from a labelled record."""
    return Item(title=str(row.get("title") or ""), summary=str(row.get("summary") or ""),
                url=str(row.get("url") or ""), language=str(row.get("language") or ""))


def score(detector: Detector, rows: list[dict[str, object]], show_all: bool) -> None:
    """Print precision, recall, kind accuracy, the confusion table and the misclassified items."""
    tp = fp = fn = tn = kind_ok = watch_ok = watch_named = 0
    confusion: Counter[tuple[str, bool]] = Counter()
    errors: list[str] = []
    for row in rows:
        d = detector.classify(to_item(row))
        label, expected = str(row.get("label")), bool(row.get("alert"))
        line = (f"  {row.get('id')}: expected {label}{'' if expected else ' (no alert)'}, got "
                f"{(d.kind or 'alert') if d.alert else 'no alert'}"
                f"{' [needs article]' if d.needs_article else ''} conf={d.confidence:.3f}"
                f" | {d.evidence[:110]}")
        if row.get("ambiguous"):
            if show_all:
                errors.append(line.replace("  ", "  (ambiguous) ", 1))
            continue
        confusion[(label, d.alert)] += 1
        if expected and d.alert:
            tp += 1
            kind_ok += d.kind == label
            wrong_watch = bool(row.get("watch")) and d.watch != row.get("watch")
            watch_named += bool(row.get("watch"))
            watch_ok += bool(row.get("watch")) and not wrong_watch
            if d.kind != label or wrong_watch:
                errors.append(line + (f" [watch {d.watch}, expected {row.get('watch')}]" if wrong_watch else ""))
        elif d.alert:
            fp += 1
            errors.append(line)
        elif expected:
            fn += 1
            errors.append(line)
        else:
            tn += 1
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    left_out = sum(1 for r in rows if r.get("ambiguous"))
    print(f"items scored: {tp + fp + fn + tn} (ambiguous left out: {left_out})")
    print(f"precision {precision:.3f}  recall {recall:.3f}  (tp {tp}, fp {fp}, fn {fn}, tn {tn})")
    print(f"kind accuracy on true alerts {kind_ok / tp if tp else 1.0:.3f} ({kind_ok}/{tp})")
    if watch_named:
        print(f"watch accuracy on true alerts {watch_ok / watch_named:.3f} ({watch_ok}/{watch_named})")
    print("confusion (label: alert / no alert):")
    for label in sorted({lab for lab, _ in confusion}):
        print(f"  {label:14} {confusion[(label, True)]:4} / {confusion[(label, False)]:4}")
    print("misclassified:" if errors else "misclassified: none")
    for line in errors:
        print(line)


_SUBJECTS = ("Local council", "Central bank", "Star striker", "Tech giant", "Pop group", "City marathon",
             "Film festival", "Weather service", "Football club", "Chip maker", "Airline", "Museum")
_EVENTS = ("unveils plan for new stadium", "raises interest rates again", "signs a two-year deal",
           "reports record quarterly profit", "announces world tour dates", "draws record crowd",
           "opens with a documentary", "warns of heavy rain this weekend", "appoints new coach",
           "delays factory opening", "cuts routes to three cities", "returns stolen painting")
_OUTLETS = ("Daily Ledger", "Metro Wire", "The Courier", "Evening Post")


def feed_mix(rows: list[dict[str, object]]) -> list[Item]:
    """The labelled items, each followed by nine unrelated headlines in Google News shape."""
    items: list[Item] = []
    n = 0
    for row in rows:
        items.append(to_item(row))
        for _ in range(9):
            title = (f"{_SUBJECTS[n % len(_SUBJECTS)]} {_EVENTS[(n // 3) % len(_EVENTS)]}"
                     f" - {_OUTLETS[n % len(_OUTLETS)]}")
            items.append(Item(title=title, summary=title.rsplit(" - ", 1)[0]))
            n += 1
    return items


def speed(detector: Detector, items: list[Item], seconds: float, what: str) -> None:
    """Classify the items repeatedly for at least `seconds` and print items per second, by the clock
    and by the CPU time this process used (on a shared machine other work slows the clock figure)."""
    if not items:
        return
    count = 0
    start = time.perf_counter()
    cpu = time.process_time()
    while (elapsed := time.perf_counter() - start) < seconds:
        for item in items:
            detector.classify(item)
        count += len(items)
    used = time.process_time() - cpu
    print(f"speed ({what}): {count / elapsed:,.0f} items/s ({count} items in {elapsed:.2f} s, one core); "
          f"by CPU time {count / used:,.0f} items/s ({1e6 * used / count:.1f} us/item)")


def dump(detector: Detector, rows: list[dict[str, object]], out: Path) -> None:
    """Write every decision (with milestone and needs_article) as JSON Lines."""
    with out.open("w", encoding="utf-8") as f:
        for row in rows:
            d = detector.classify(to_item(row))
            record = {"id": row.get("id"), **decision_json(d), "milestone": d.milestone,
                      "needs_article": d.needs_article}
            f.write(json.dumps(record, ensure_ascii=False) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", nargs="?", type=Path, default=DEFAULT_FILE)
    parser.add_argument("--sources", type=Path, default=REPO / "sources.yaml")
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--all", action="store_true", help="also list decisions on ambiguous items")
    parser.add_argument("--dump", type=Path, help="write every decision to this JSON Lines file")
    args = parser.parse_args(argv)
    if not args.file.is_file():
        print(f"error: no labelled file at {args.file} (give one as the first argument)", file=sys.stderr)
        return 2
    rows = load_items(args.file)
    detector = Detector(load_watches(args.sources))
    native = [m for m in compiled() if m.startswith("detect") or m == "cues"]
    print("detection code: " + ("compiled (" + ", ".join(native) + ")" if native else
                                "plain Python (installed without a C compiler, or NEWSBOT_PURE_PYTHON set)"))
    score(detector, rows, args.all)
    if args.dump:
        dump(detector, rows, args.dump)
    speed(detector, [to_item(r) for r in rows], args.seconds, "labelled file")
    speed(detector, feed_mix(rows), args.seconds, "feed mix, 90% unrelated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
