"""What every `newsbot` subcommand shares: where the files are, exit codes, loading the sources file."""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.models import Config

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


@dataclass(frozen=True, slots=True)
class Paths:
    """Where the sources file and the state dir are, from flags or the environment."""

    sources: Path
    state: Path


def paths_from(args: argparse.Namespace) -> Paths:
    """Flags win over NEWSBOT_SOURCES / NEWSBOT_STATE_DIR, which win over ./sources.yaml and ./state."""
    sources = getattr(args, "sources", None) or os.environ.get("NEWSBOT_SOURCES") or "sources.yaml"
    state = getattr(args, "state", None) or os.environ.get("NEWSBOT_STATE_DIR") or "state"
    return Paths(Path(sources), Path(state))


def load_or_exit(paths: Paths) -> Config:
    """Loads the sources file, or prints the one-line problem and exits with code 2."""
    from bot.config import ConfigError, load_config
    from bot.urls import display_url

    try:
        return load_config(paths.sources)
    except ConfigError as exc:
        print(f"newsbot: {display_url(str(exc))}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE) from None
