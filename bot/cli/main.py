"""The `newsbot` command: run, scan, classify, status and source management.

Each subcommand imports what it needs when it runs, so `--help` and the light commands start fast.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TextIO

from bot import __version__
from bot.cli.common import EXIT_FAIL, EXIT_OK, EXIT_USAGE, load_or_exit, paths_from

if TYPE_CHECKING:
    from bot.models import Config, Item


def _common() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--sources", default=argparse.SUPPRESS, metavar="FILE",
                        help="sources file (default: $NEWSBOT_SOURCES or ./sources.yaml)")
    common.add_argument("--state", default=argparse.SUPPRESS, metavar="DIR",
                        help="state directory (default: $NEWSBOT_STATE_DIR or ./state)")
    return common


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand."""
    common = _common()
    parser = argparse.ArgumentParser(prog="newsbot", parents=[common],
                                     description="Watches news sources and alerts Telegram chats.")
    parser.add_argument("--version", action="version", version=f"newsbot {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    run = sub.add_parser("run", parents=[common], help="run the scheduler (and the Telegram bot with a token)")
    run.add_argument("--log-format", choices=("text", "json"), default="text")
    run.add_argument("--metrics-port", type=int, default=None, help="serve Prometheus metrics on this port")
    run.add_argument("--metrics-host", default="127.0.0.1")
    scan = sub.add_parser("scan", parents=[common], help="one pass over every source now; print new findings")
    scan.add_argument("--json", action="store_true", help="print JSON Lines")
    sub.add_parser("classify", parents=[common], help="judge JSON Lines news items from stdin")
    sub.add_parser("status", parents=[common], help="print sources' health, outbox, subscribers, events")
    from bot.cli.sources import add_sources_parser

    add_sources_parser(sub, common)
    return parser


def _item_from_json(obj: dict[str, object]) -> Item:
    from bot.models import Item

    def text(key: str) -> str:
        value = obj.get(key)
        return "" if value is None else str(value)

    return Item(title=text("title"), summary=text("summary"), url=text("url"),
                published=_published(text("published")), language=text("language"))


def _published(text: str) -> datetime | None:
    """Reads an ISO date or datetime, or a partial one ("2022-06", "2022"); None if it is not one."""
    text = text.strip()
    for candidate in (text, f"{text}-01", f"{text}-01-01"):
        try:
            value = datetime.fromisoformat(candidate.replace("Z", "+00:00"))
        except ValueError:
            continue
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return None


def classify(config: Config, stdin: TextIO, stdout: TextIO) -> int:
    """One JSON object out per JSON line in; bad lines get {"error": ...} and the run goes on."""
    from bot.detect import Detector, decision_json

    detector = Detector(config.watches)
    for n, line in enumerate(stdin, 1):
        try:
            if not line.strip():
                raise ValueError("empty line")
            obj = json.loads(line)
            if not isinstance(obj, dict):
                raise ValueError("expected a JSON object")
            out: dict[str, object] = decision_json(detector.classify(_item_from_json(obj)))
        except ValueError as exc:
            out = {"error": f"line {n}: {exc}"}
        stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
        stdout.flush()
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `newsbot` command."""
    try:
        return _main(argv)
    except BrokenPipeError:  # output piped into `head` and the like: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        import sqlite3

        from bot.store.store import StateError  # imported here: most commands never open the state

        if isinstance(exc, sqlite3.Error):  # read from a damaged file, or a write the disk refused
            print(f"newsbot: state database: {exc}; check the disk, or restore the state from a backup",
                  file=sys.stderr)
            return EXIT_USAGE
        if not isinstance(exc, StateError | OSError):
            raise
        print(f"newsbot: state: {exc}", file=sys.stderr)
        return EXIT_USAGE


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    paths = paths_from(args)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    if args.command == "classify":
        return classify(load_or_exit(paths), sys.stdin, sys.stdout)
    if args.command == "run":
        from bot.daemon import RunOptions, run_daemon

        return run_daemon(RunOptions.from_env(load_or_exit(paths), paths.sources, paths.state,
                                              log_format=args.log_format, metrics_port=args.metrics_port,
                                              metrics_host=args.metrics_host))
    if args.command == "scan":
        import asyncio

        from bot.daemon import DEFAULT_API_URL, scan

        return asyncio.run(scan(load_or_exit(paths), paths.state, as_json=args.json,
                                token=os.environ.get("TELEGRAM_BOT_TOKEN", "").strip(),
                                api_url=os.environ.get("TELEGRAM_API_URL", "").strip() or DEFAULT_API_URL))
    if args.command == "status":
        from bot.report import print_status

        if not (paths.state / "newsbot.db").exists():
            print(f"newsbot: no state in {paths.state} yet (run `newsbot scan` or `newsbot run` first)",
                  file=sys.stderr)
            return EXIT_FAIL

        return print_status(load_or_exit(paths), paths.state)
    from bot.cli.sources import run_sources_command

    return run_sources_command(args, paths)
