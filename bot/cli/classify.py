"""`newsbot classify`: what detection says of headlines, for a person at a terminal or for a pipe.

Headlines come from the arguments, else one per stdin line. A stdin line may be a JSON object
(title, summary, url, published, language). Output is JSON Lines, one line out per line in, when
`--json` is given or when the first line in is JSON (so existing pipes keep their format);
otherwise one readable line per headline, and errors go to stderr. Any line that cannot be judged
makes the exit code 1, after every other line was answered.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from itertools import chain
from typing import TYPE_CHECKING, TextIO

from bot.cli.common import EXIT_FAIL, EXIT_OK

if TYPE_CHECKING:
    from bot.detect import Detector
    from bot.models import Config, Decision, Item


class BadLine(ValueError):
    """A stdin line that cannot be judged (blank, or JSON that is not an object)."""


def item_from_json(obj: dict[str, object]) -> Item:
    """The news item a JSON object describes; missing fields are empty."""
    from bot.models import Item

    def text(key: str) -> str:
        value = obj.get(key)
        return "" if value is None else str(value)

    return Item(title=text("title"), summary=text("summary"), url=text("url"),
                published=published(text("published")), language=text("language"))


def published(text: str) -> datetime | None:
    """Reads an ISO date or datetime, or a partial one ("2022-06", "2022"); None if it is not one."""
    text = text.strip()
    for candidate in (text, f"{text}-01", f"{text}-01-01"):
        try:
            value = datetime.fromisoformat(candidate.replace("Z", "+00:00"))
        except ValueError:
            continue
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return None


def _is_json(line: str) -> bool:
    return line.lstrip().startswith(("{", "["))


def item_of(line: str) -> Item:
    """The item one input line stands for: a JSON object, or else the line is the headline."""
    from bot.models import Item

    if not line.strip():
        raise BadLine("empty")
    if not _is_json(line):
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
        milestone = decision.milestone.replace("_", " ")
        verdict = f"ALERT {decision.kind}" + (f" ({milestone})" if milestone else "")
        evidence = " ".join(decision.evidence.split())
        why = f"  — why: {evidence}" if evidence and evidence != item.title else ""
    else:
        verdict, why = "no alert", ""
    return f"{verdict:<34} {decision.confidence:.2f}  {item.title}{why}"


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

    detector = Detector(config.watches)
    if headlines:
        numbered: Iterator[tuple[int, str]] = enumerate(headlines, 1)
        what = "headline"
    else:
        json_in, numbered = _numbered(stdin)
        as_json, what = as_json or json_in, "line"
    bad = total = 0
    for n, line in numbered:
        total = n
        bad += not _answer(detector, f"{what} {n}", line, stdout, as_json)
    if bad and not as_json:
        print(f"newsbot: classify: {bad} of {total} could not be judged", file=sys.stderr)
    return EXIT_FAIL if bad else EXIT_OK


def _answer(detector: Detector, where: str, line: str, out: TextIO, as_json: bool) -> bool:
    """Writes the answer to one line; False when the line could not be judged."""
    try:
        item = item_of(line)
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
