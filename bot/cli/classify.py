"""`newsbot classify`: what detection says of headlines, for a person at a terminal or for a pipe.

Headlines come from the arguments, else one per stdin line. A stdin line may be a JSON object
(title, summary, url, published, language). Output is JSON Lines, one line out per line in, when
`--json` is given or when the first line in is JSON (so existing pipes keep their format);
otherwise one readable line per headline, and errors go to stderr. Any line that cannot be judged
makes the exit code 1, after every other line was answered.

`--check FILE` measures the configured watches on labelled items instead (the shared corpus's
fields, one JSON object a line), as `bench/detect.py` prints it.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from bot.cli.common import EXIT_FAIL, EXIT_OK, EXIT_USAGE
from bot.messages import counted
from bot.models import confidence_text

if TYPE_CHECKING:
    from bot.detect import Detector
    from bot.detect.corpus import Example
    from bot.detect.measure import Measurement
    from bot.models import Config, Decision, Item


class BadLine(ValueError):
    """A stdin line that cannot be judged (blank, or JSON that is not an object)."""


def item_from_json(obj: dict[str, object]) -> Item:
    """The news item a JSON object describes; missing fields are empty."""
    from bot.models import Item, parse_date_prefix

    def text(key: str) -> str:
        value = obj.get(key)
        return "" if value is None else str(value)

    return Item(title=text("title"), summary=text("summary"), url=text("url"),
                published=parse_date_prefix(text("published")), language=text("language"))


def _is_json(line: str) -> bool:
    """A line meant as JSON: an object ("{"), or an array that parses (a headline may start with a
    bracketed tag: "[Exclusive] ...", "[단독] ...")."""
    text = line.lstrip()
    if text.startswith("{"):
        return True
    if not text.startswith("["):
        return False
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def item_of(line: str, *, headline: bool = False) -> Item:
    """The item one input line stands for: a JSON object, or else the line is the headline (always
    with `headline`: a command-line argument is a headline)."""
    from bot.models import Item

    if not line.strip():
        raise BadLine("empty")
    if headline or not _is_json(line):
        return Item(title=" ".join(line.split()))
    try:
        obj = json.loads(line)
    except ValueError as exc:
        raise BadLine(f"not valid JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise BadLine("expected a JSON object (or a headline as plain text)")
    return item_from_json(obj)


def decision_line(item: Item, decision: Decision) -> str:
    """One readable line: the verdict with kind and milestone, the confidence, the headline, why."""
    if decision.alert:
        milestone = decision.milestone.replace("_", " ") if decision.milestone != decision.kind else ""
        verdict = f"ALERT {decision.kind}" + (f" ({milestone})" if milestone else "")  # not "renewal (renewal)"
        evidence = " ".join(decision.evidence.split())
        why = f"  — why: {evidence}" if evidence and evidence != item.title else ""
    else:
        verdict, why = "no alert", ""
    return f"{verdict:<34} {confidence_text(decision.confidence)}  {item.title}{why}"


def decision_object(item: Item, decision: Decision) -> dict[str, object]:
    """The JSON answer: the detector's decision, with the milestone and the headline it judged."""
    from bot.detect import decision_json

    return {**decision_json(decision), "milestone": decision.milestone if decision.alert else None,
            "title": item.title}


def _numbered(stdin: Iterable[str]) -> tuple[bool, Iterator[tuple[int, str]]]:
    """(is the first non-blank line JSON, every line numbered from 1); reads ahead only the blanks."""
    lines = iter(stdin)
    ahead: list[str] = []
    for line in lines:
        ahead.append(line)
        if line.strip():
            break

    return bool(ahead) and _is_json(ahead[-1]), enumerate(chain(ahead, lines), 1)


def classify(config: Config, headlines: list[str], stdin: Iterable[str], stdout: TextIO, *,
             as_json: bool = False) -> int:
    """Answers every headline argument, or else every stdin line; exit 1 if any line was bad."""
    from bot.detect import Detector

    detector = Detector(config.watches, sure=config.settings.sure_confidence)
    if headlines:
        numbered: Iterator[tuple[int, str]] = enumerate(headlines, 1)
        what = "headline"  # an argument is a headline, even one that looks like JSON
    else:
        json_in, numbered = _numbered(stdin)
        as_json, what = as_json or json_in, "line"
    bad = total = 0
    for n, line in numbered:
        total = n
        bad += not _answer(detector, f"{what} {n}", line, stdout, as_json, headline=bool(headlines))
    if bad and not as_json:
        print(f"newsbot: classify: {bad} of {total} could not be judged", file=sys.stderr)
    return EXIT_FAIL if bad else EXIT_OK


def _answer(detector: Detector, where: str, line: str, out: TextIO, as_json: bool, *, headline: bool) -> bool:
    """Writes the answer to one line; False when the line could not be judged."""
    try:
        item = item_of(line, headline=headline)
    except BadLine as exc:
        if as_json:
            out.write(json.dumps({"error": f"{where}: {exc}"}, ensure_ascii=False) + "\n")
        else:
            print(f"newsbot: classify: {where}: {exc}", file=sys.stderr)
        out.flush()
        return False
    decision = detector.classify(item)
    if as_json:
        out.write(json.dumps(decision_object(item, decision), ensure_ascii=False) + "\n")
    else:
        out.write(decision_line(item, decision) + "\n")
    out.flush()
    return True


# -- classify --check FILE: the labelled measurement --------------------------------------------


def check(config: Config, path: Path, out: TextIO, *, as_json: bool = False) -> int:
    """Measures the configured watches on a labelled JSON Lines file: 0 when it ran, 1 when a line
    was bad (the others are still measured), 2 when the file cannot be read."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        print(f"newsbot: classify: {path}: no such file", file=sys.stderr)
        return EXIT_USAGE
    except UnicodeDecodeError:
        print(f"newsbot: classify: {path}: not UTF-8 text", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        print(f"newsbot: classify: cannot read {path}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE
    examples, errors = labelled(path, text)
    measured = measure(config, examples)
    if as_json:
        out.write(json.dumps(_check_json(config, path, examples, measured, errors), ensure_ascii=False) + "\n")
    else:
        for error in errors:
            print(f"newsbot: classify: {error}", file=sys.stderr)
        out.write("\n".join(_check_lines(config, path, examples, measured)).lstrip("\n") + "\n")
        if errors:
            print(f"newsbot: classify: {counted(len(errors), 'bad line')} not measured",
                  file=sys.stderr)
    out.flush()
    return EXIT_FAIL if errors or not examples else EXIT_OK


def labelled(path: Path, text: str) -> tuple[list[Example], list[str]]:
    """The labelled items of a file's text, and one "file:line: problem" per bad line (blank lines
    are skipped)."""
    from bot.detect.corpus import BadExample, example_of

    examples, errors = [], []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            examples.append(example_of(line, f"line {n}"))
        except BadExample as exc:
            errors.append(f"{path}:{n}: {exc}")
    return examples, errors


def measure(config: Config, examples: list[Example]) -> Measurement:
    """Every item judged by the detector the daemon builds from the sources file's watches."""
    from bot.detect import Detector
    from bot.detect.measure import Measurement

    measured = Measurement()
    measured.judge(Detector(config.watches), examples, {w.id for w in config.watches})
    return measured


def _check_lines(config: Config, path: Path, examples: list[Example], m: Measurement) -> list[str]:
    """The readable measurement, as bench/detect.py prints it, with what was measured first."""
    from bot.detect.measure import foreign_watches, report_lines

    if not examples:
        return [f"{path}: no labelled items to measure"]
    ids = [w.id for w in config.watches]
    head = (f"{path}: {len(examples)} items ({m.ambiguous} ambiguous, not scored), "
            f"judged with {counted(len(ids), 'watch', 'watches')} ({', '.join(ids) or 'none'})")
    foreign = foreign_watches(examples, ids)
    notes = [f"(no watch {', '.join(foreign)} in the sources file: an alert for any watch counts)"] if foreign else []
    return report_lines(head, m, column="watch", notes=notes)


def _check_json(config: Config, path: Path, examples: list[Example], m: Measurement,
                errors: list[str]) -> dict[str, object]:
    from bot.detect.measure import foreign_watches, summary_json

    ids = [w.id for w in config.watches]
    return {"file": str(path), "items": len(examples), "watches_configured": ids,
            "watches_not_configured": foreign_watches(examples, ids), **summary_json(m), "errors": errors}
