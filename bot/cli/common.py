"""What every `newsbot` subcommand shares: its common options, where the files are, exit codes,
loading the sources file."""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.models import Config

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2

_SOURCES_HELP = "sources file (default: $NEWSBOT_SOURCES or ./sources.yaml)"
_STATE_HELP = "state directory (default: $NEWSBOT_STATE_DIR or ./state)"


class Parents:
    """The option groups that commands share, as argparse parent parsers."""

    def __init__(self) -> None:
        self.log = argparse.ArgumentParser(add_help=False)
        add_log_options(self.log, default=argparse.SUPPRESS)
        self.sources = argparse.ArgumentParser(add_help=False)
        self.sources.add_argument("--sources", default=argparse.SUPPRESS, metavar="FILE", help=_SOURCES_HELP)
        self.state = argparse.ArgumentParser(add_help=False)
        self.state.add_argument("--state", default=argparse.SUPPRESS, metavar="DIR", help=_STATE_HELP)

    def of(self, *, sources: bool = False, state: bool = False) -> list[argparse.ArgumentParser]:
        """The parents of a command that reads the sources file and/or uses the state."""
        return [self.log, *([self.sources] if sources else []), *([self.state] if state else [])]


def add_log_options(parser: argparse.ArgumentParser, default: Any) -> None:
    """Adds -v/--verbose and -q/--quiet (counted) to a parser."""
    parser.add_argument("-v", "--verbose", action="count", default=default,
                        help="log more: info lines, and debug lines with -vv")
    parser.add_argument("-q", "--quiet", action="count", default=default,
                        help="log less: no info lines; -qq: errors only")


def command(sub: Any, name: str, summary: str, parents: list[argparse.ArgumentParser],
            description: str = "", **kwargs: Any) -> argparse.ArgumentParser:
    """Adds a subcommand whose help line is `summary` and whose --help starts with `description`."""
    text = description or summary[:1].upper() + summary[1:] + "."
    parser: argparse.ArgumentParser = sub.add_parser(name, parents=parents, help=summary, description=text,
                                                     **kwargs)
    return parser


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

    try:
        return load_config(paths.sources)
    except ConfigError as exc:
        print(f"newsbot: {exc}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE) from None
