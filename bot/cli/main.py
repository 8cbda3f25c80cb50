"""The `newsbot` command: run, scan, classify, status, init, check and source management.

Each subcommand imports what it needs when it runs, so `--help` and the light commands start fast.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from bot.cli.common import EXIT_FAIL, EXIT_OK, EXIT_USAGE, Paths, load_or_exit, paths_from
from bot.cli.parser import build_parser


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


def verbosity(args: argparse.Namespace) -> int:
    """-v counts up, -q counts down: 0 is the default."""
    return int(getattr(args, "verbose", 0) or 0) - int(getattr(args, "quiet", 0) or 0)


def log_level(args: argparse.Namespace, default: int = logging.WARNING) -> int:
    """The logging level the flags ask for, one step per -v or -q from `default`."""
    steps = (logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR, logging.CRITICAL)
    index = steps.index(default) - verbosity(args)
    return steps[min(max(index, 0), len(steps) - 1)]


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error argparse has already printed
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    paths = paths_from(args)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    if args.command not in ("run", "scan"):  # those two set up their own logging
        from bot.logs import setup_logging

        setup_logging("text", log_level(args))
    return _dispatch(args, paths)


def _dispatch(args: argparse.Namespace, paths: Paths) -> int:
    command: str = args.command
    if command in ("run", "scan", "status") and (paths.state.exists() or paths.state.is_symlink()) \
            and not paths.state.is_dir():
        print(f"newsbot: state: {paths.state} is not a directory (--state or NEWSBOT_STATE_DIR names the "
              "directory that holds newsbot.db)", file=sys.stderr)
        return EXIT_USAGE
    if command == "classify":
        return _classify(args, paths)
    if command in ("init", "check"):
        from bot.cli import starter

        return starter.init(paths) if command == "init" else starter.check(paths)
    if command == "run":
        from bot.daemon import RunOptions, run_daemon

        return run_daemon(RunOptions.from_env(load_or_exit(paths), paths.sources, paths.state,
                                              log_format=args.log_format, metrics_port=args.metrics_port,
                                              metrics_host=args.metrics_host,
                                              log_level=log_level(args, logging.INFO)))
    if command == "scan":
        import asyncio

        from bot.scan import scan
        from bot.telegram import DEFAULT_API_URL

        return asyncio.run(scan(load_or_exit(paths), paths.state, as_json=args.json,
                                token=os.environ.get("TELEGRAM_BOT_TOKEN", "").strip(),
                                api_url=os.environ.get("TELEGRAM_API_URL", "").strip() or DEFAULT_API_URL,
                                log_level=log_level(args, logging.ERROR)))
    if command == "status":
        return _status(args, paths)
    from bot.cli.sources import run_sources_command

    return run_sources_command(args, paths)


def _classify(args: argparse.Namespace, paths: Paths) -> int:
    from bot.cli.classify import check, classify

    if args.check is None:
        return classify(load_or_exit(paths), args.headline, sys.stdin, sys.stdout, as_json=args.json)
    if args.headline:
        print("newsbot: classify: --check FILE measures the file's items; give no headlines with it",
              file=sys.stderr)
        return EXIT_USAGE
    return check(load_or_exit(paths), args.check, sys.stdout, as_json=args.json)


def _status(args: argparse.Namespace, paths: Paths) -> int:
    from bot.report import print_status
    from bot.store.store import DB_NAME

    if not (paths.state / DB_NAME).exists():
        print(f"newsbot: no state in {paths.state} yet (run `newsbot scan` or `newsbot run` first)",
              file=sys.stderr)
        return EXIT_FAIL
    return print_status(load_or_exit(paths), paths.state, as_json=args.json)
