"""Labelled corpora (the shared corpus's layout): watches.yaml, headlines-dev.jsonl, shows/*.jsonl.

Used by fitting and measuring, never by detection itself. Any folder with the same fields works,
so users can refit with labelled items of their own.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from bot.models import KINDS, Kind, Watch

DEV_FILE = "headlines-dev.jsonl"
DEV_WATCH = "aouad-s2"
LABELS: Final[tuple[str, ...]] = (*KINDS, "speculation", "other_season", "other_show", "unrelated")
"""Every label: the four kinds of alert, then the four reasons for no alert."""


@dataclass(frozen=True, slots=True)
class Example:
    """One labelled item."""

    id: str
    watch: str
    title: str
    summary: str
    label: str
    alert: bool
    ambiguous: bool
    kind_alt: str
    language: str

    @property
    def kind(self) -> Kind | None:
        """The labelled kind of an alert."""
        return next((k for k in KINDS if k == self.label), None)


class BadCorpus(ValueError):
    """A corpus folder that cannot be read; the message names the file and says why."""


def load_watches(path: Path) -> tuple[Watch, ...]:
    """The watches of a corpus's watches.yaml."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        data = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
        return tuple(
            Watch(id=str(w["id"]), title=str(w["title"]), season=int(w["season"]),
                  aliases=tuple(str(a) for a in w.get("aliases") or ()),
                  exclude=tuple(str(a) for a in w.get("exclude") or ()))
            for w in (data or {}).get("watches") or ()
        )
    except (YAMLError, UnicodeDecodeError) as exc:
        raise BadCorpus(f"{path}: not readable YAML: {exc}") from None
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise BadCorpus(f"{path}: a mapping with watches, each with an id, a title and a season number "
                        f"({type(exc).__name__}: "
                        f"{exc})") from None


def _example(row: dict[str, Any], watch: str) -> Example:
    return Example(
        id=str(row["id"]), watch=str(row.get("watch") or watch), title=str(row.get("title") or ""),
        summary=str(row.get("summary") or ""), label=str(row["label"]), alert=bool(row["alert"]),
        ambiguous=bool(row.get("ambiguous")), kind_alt=str(row.get("kind_alt") or ""),
        language=str(row.get("language") or ""),
    )


def load_examples(path: Path, watch: str = "") -> list[Example]:
    """The labelled items of one JSON Lines file (rows without `watch` get the given one)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise BadCorpus(f"{path}: not UTF-8 text: {exc}") from None
    examples = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            examples.append(_example(json.loads(line), watch))
        except ValueError as exc:
            raise BadCorpus(f"{path}:{number}: not valid JSON: {exc}") from None
        except (KeyError, TypeError, AttributeError) as exc:
            raise BadCorpus(f"{path}:{number}: each item needs an id, a label and alert ({type(exc).__name__}: "
                            f"{exc})") from None
    return examples


def load_corpus(folder: Path) -> tuple[tuple[Watch, ...], list[Example]]:
    """A corpus folder's watches and every labelled item, grouped by watch in file order; `BadCorpus`
    says which file cannot be read and why."""
    if not (folder / "watches.yaml").is_file():
        raise BadCorpus(f"{folder}: no watches.yaml (a corpus folder holds watches.yaml and "
                        "shows/<watch id>.jsonl)")
    try:
        watches = load_watches(folder / "watches.yaml")
        examples: list[Example] = []
        dev = folder / DEV_FILE
        if dev.exists():
            examples += load_examples(dev, DEV_WATCH)
        for path in sorted((folder / "shows").glob("*.jsonl")):
            examples += load_examples(path, path.stem)
    except OSError as exc:
        raise BadCorpus(f"{exc.filename or folder}: {exc.strerror or exc}") from None
    if not examples:
        raise BadCorpus(f"{folder}: no labelled items (shows/<watch id>.jsonl, one JSON object a line)")
    return watches, examples


class BadExample(ValueError):
    """A labelled line that cannot be measured; the message says why, in a user's words."""


def example_of(line: str, default_id: str) -> Example:
    """The labelled item one JSON line of a user's file stands for (the shared corpus's fields);
    `alert` may be left out (it follows from the label), `id` defaults to `default_id`."""
    try:
        row = json.loads(line)
    except ValueError as exc:
        raise BadExample(f"not valid JSON: {exc}") from None
    if not isinstance(row, dict):
        raise BadExample("expected a JSON object with a title and a label")
    label = row.get("label")
    if label not in LABELS:
        raise BadExample(f"label {label!r} is not one of: {', '.join(LABELS)}"
                         if label is not None else "no label (one of: " + ", ".join(LABELS) + ")")
    alert = label in KINDS
    if row.get("alert") is not None and row["alert"] is not alert:
        raise BadExample(f"alert is {json.dumps(row['alert'])} but label {label!r} "
                         f"{'is' if alert else 'is not'} an alert")
    for key in ("id", "watch", "title", "summary", "language", "kind_alt"):
        if not isinstance(row.get(key) or "", str | int):
            raise BadExample(f"{key} must be text")
    if not str(row.get("title") or row.get("summary") or "").strip():
        raise BadExample("no title and no summary to judge")
    if row.get("kind_alt") and row["kind_alt"] not in KINDS:
        raise BadExample(f"kind_alt {row['kind_alt']!r} is not one of: {', '.join(KINDS)}")
    if row.get("ambiguous") is not None and not isinstance(row["ambiguous"], bool):
        raise BadExample("ambiguous must be true or false")
    return _example({**row, "id": row.get("id") or default_id, "alert": alert}, "")
