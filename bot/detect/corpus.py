"""Labelled corpora (the shared corpus's layout): watches.yaml, headlines-dev.jsonl, shows/*.jsonl.

Used by fitting and measuring, never by detection itself. Any folder with the same fields works,
so users can refit with labelled items of their own.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.models import KINDS, Kind, Watch

DEV_FILE = "headlines-dev.jsonl"
DEV_WATCH = "aouad-s2"


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


def load_watches(path: Path) -> tuple[Watch, ...]:
    """The watches of a corpus's watches.yaml."""
    from ruamel.yaml import YAML

    data: dict[str, Any] = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    return tuple(
        Watch(id=str(w["id"]), title=str(w["title"]), season=int(w["season"]),
              aliases=tuple(str(a) for a in w.get("aliases") or ()),
              exclude=tuple(str(a) for a in w.get("exclude") or ()))
        for w in data.get("watches") or ()
    )


def _example(row: dict[str, Any], watch: str) -> Example:
    return Example(
        id=str(row["id"]), watch=str(row.get("watch") or watch), title=str(row.get("title") or ""),
        summary=str(row.get("summary") or ""), label=str(row["label"]), alert=bool(row["alert"]),
        ambiguous=bool(row.get("ambiguous")), kind_alt=str(row.get("kind_alt") or ""),
        language=str(row.get("language") or ""),
    )


def load_examples(path: Path, watch: str = "") -> list[Example]:
    """The labelled items of one JSON Lines file (rows without `watch` get the given one)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [_example(json.loads(line), watch) for line in lines if line.strip()]


def load_corpus(folder: Path) -> tuple[tuple[Watch, ...], list[Example]]:
    """A corpus folder's watches and every labelled item, grouped by watch in file order."""
    watches = load_watches(folder / "watches.yaml")
    examples: list[Example] = []
    dev = folder / DEV_FILE
    if dev.exists():
        examples += load_examples(dev, DEV_WATCH)
    for path in sorted((folder / "shows").glob("*.jsonl")):
        examples += load_examples(path, path.stem)
    return watches, examples
