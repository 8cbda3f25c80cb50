"""The fitted linear model, applied in plain Python: an alert score and a score per kind.

Weights are a JSON data file (`weights.json`) written by `python -m bot.detect.train`.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from functools import cache
from importlib import resources
from itertools import repeat
from operator import mul
from typing import Any

from bot.models import KINDS, Kind

WEIGHTS = "weights.json"


@dataclass(frozen=True, slots=True)
class Model:
    """Logistic regression for "alert?" and multinomial scores for the kind."""

    bias: float
    weights: dict[str, float]
    kind_bias: tuple[float, ...]
    kind_weights: dict[str, tuple[float, ...]]
    kinds: tuple[Kind, ...] = KINDS

    def probability(self, features: dict[str, float]) -> float:
        """The probability that the item is an alert."""
        weights = map(self.weights.get, features, repeat(0.0))
        values = list(features.values())
        z = self.bias + sum(weights if values.count(1.0) == len(values) else map(mul, weights, values))
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))

    def kinds_ranked(self, features: dict[str, float]) -> tuple[Kind, ...]:
        """The kinds from the highest score to the lowest (the first on a tie)."""
        kw, values = self.kind_weights, list(features.values())
        if values.count(1.0) == len(values):  # a weight times 1 is the weight
            rows = list(filter(None, map(kw.get, features)))
        else:
            rows = [tuple(w * v for w in row) for row, v in zip(map(kw.get, features), values, strict=True) if row]
        columns = zip(*rows, strict=True) if rows else [()] * len(self.kind_bias)
        scores = [bias + sum(column) for bias, column in zip(self.kind_bias, columns, strict=True)]
        return tuple(self.kinds[k] for k in sorted(range(len(scores)), key=lambda k: -scores[k]))

    def contribution(self, feature: str) -> float:
        """A feature's weight towards an alert."""
        return self.weights.get(feature, 0.0)

    def to_json(self) -> dict[str, Any]:
        """The data file's form (sorted, so a refit writes the same bytes)."""
        return {
            "format": 1,
            "alert": {"bias": self.bias, "weights": dict(sorted(self.weights.items()))},
            "kind": {"classes": list(self.kinds), "bias": list(self.kind_bias),
                     "weights": {k: list(v) for k, v in sorted(self.kind_weights.items())}},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Model:
        """A model from its data file's form."""
        alert, kind = data["alert"], data["kind"]
        kinds = tuple(k for k in kind["classes"] if k in KINDS)
        if len(kinds) != len(kind["classes"]):
            raise ValueError("unknown kind in weights")
        return cls(
            bias=float(alert["bias"]),
            weights={str(k): float(v) for k, v in alert["weights"].items()},
            kind_bias=tuple(float(x) for x in kind["bias"]),
            kind_weights={str(k): tuple(float(x) for x in v) for k, v in kind["weights"].items()},
            kinds=kinds,
        )


def dumps(model: Model) -> str:
    """The weights file's text."""
    return json.dumps(model.to_json(), ensure_ascii=False, separators=(",", ":"), sort_keys=False) + "\n"


@cache
def shipped() -> Model:
    """The model fitted on the whole shared corpus, shipped with the package, or the weights file
    that NEWSBOT_WEIGHTS names (the replay bench's weights fitted without the show it replays)."""
    path = os.environ.get("NEWSBOT_WEIGHTS", "")
    if not path:
        return Model.from_json(json.loads((resources.files("bot.detect") / WEIGHTS).read_text(encoding="utf-8")))
    try:
        with open(path, encoding="utf-8") as f:
            return Model.from_json(json.load(f))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise SystemExit(f"newsbot: NEWSBOT_WEIGHTS: cannot use {path}: {type(exc).__name__}: {exc}") from None
