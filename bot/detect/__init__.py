"""Detection: is a news item an official announcement about a watched show's season, and of which kind.

A watch's names and seasons are found and masked (`names`, `seasons`), the item becomes show-free
features (`features`, with cue tables per language in `tables/`), and a fitted linear model
(`model`, weights in `weights.json`, refitted by `python -m bot.detect.train`) decides.
"""

from bot.detect.detector import Detector, decision_json
from bot.detect.model import Model

__all__ = ["Detector", "Model", "decision_json"]
