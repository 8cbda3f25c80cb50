"""The `newsbot` argument parser: every command, its description and each option's help.

Only commands that read the sources file take `--sources`, and only those that use the state take
`--state`; `-v` and `-q` are accepted before or after the command.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from bot import __version__
from bot.cli.common import Parents, add_log_options, command

EPILOG = """\
getting started:
  newsbot init            write a starter sources.yaml (one watch, a few real feeds)
  newsbot check           validate it
  newsbot scan            fetch every source once and print what is new
  newsbot run             keep watching

environment:
  TELEGRAM_BOT_TOKEN      the bot's token from @BotFather; without it `newsbot run` and `newsbot scan`
                          work in console mode: alerts are printed, nothing is sent
  TELEGRAM_API_URL        Bot API base URL (default https://api.telegram.org/bot)
  NEWSBOT_SOURCES         the sources file (default ./sources.yaml)
  NEWSBOT_STATE_DIR       the state directory (default ./state)
  NEWSBOT_ADMINS          comma-separated Telegram user ids allowed to use admin commands

signals (newsbot run):
  SIGHUP                  reload the sources file (so does saving it); an invalid file is reported
                          and the running configuration stays
  SIGTERM                 stop cleanly (in-flight work gets up to 10 s), exit code 0
  SIGINT (Ctrl-C)         stop the same way, exit code 130; a second Ctrl-C exits at once

exit codes:
  0    done
  1    something failed: no source answered, a source check failed, a bad input line, no state yet
  2    bad usage: unknown option, invalid sources file, unusable state directory
  130  interrupted
"""

def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand."""
    from bot.cli.sources import add_sources_parser

    parents = Parents()
    parser = argparse.ArgumentParser(prog="newsbot", epilog=EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     description="Watches news sources and alerts Telegram chats when a "
                                                 "watched show's next season is announced.")
    parser.add_argument("--version", action="version", version=f"newsbot {__version__}",
                        help="print the version and exit")
    add_log_options(parser, default=0)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_run(sub, parents)
    scan = command(sub, "scan", "one pass over every source now; print new findings",
                   parents.of(sources=True, state=True),
                   "Fetch every active source once, record what is new and print the new findings. "
                   "With TELEGRAM_BOT_TOKEN set, the alerts it queued are sent too (good for cron).")
    scan.add_argument("--json", action="store_true", help="print JSON Lines")
    _add_classify(sub, parents)
    status = command(sub, "status", "print sources' health, last cycle, outbox, subscribers, events",
                     parents.of(sources=True, state=True),
                     "Print what the state knows: the last cycle, the outbox, subscribers, each source's "
                     "health and next fetch, and each watch's known events. Reads only; works while "
                     "the daemon runs and on a state directory this user cannot write.")
    status.add_argument("--json", action="store_true", help="print one JSON object")
    command(sub, "init", "write a commented starter sources file", parents.of(sources=True),
            "Write a commented starter sources file (one watch, a few real feeds) to --sources or "
            "./sources.yaml. An existing file is never overwritten.")
    command(sub, "check", "validate the sources file and exit", parents.of(sources=True),
            "Validate the sources file: exit 0 when it is valid, 2 with the problem on one line.")
    add_sources_parser(sub, parents)
    return parser


def _add_run(sub: Any, parents: Parents) -> None:
    run = command(sub, "run", "run the scheduler (and the Telegram bot with a token)",
                  parents.of(sources=True, state=True),
                  "Fetch every source on its interval, detect announcements, alert subscribers and "
                  "answer Telegram commands, until stopped. Without TELEGRAM_BOT_TOKEN alerts are "
                  "printed on the console. SIGHUP or a change to the sources file reloads it.")
    run.add_argument("--log-format", choices=("text", "json"), default="text",
                     help="log lines as text or as JSON objects (default text)")
    run.add_argument("--metrics-port", type=int, default=None, metavar="PORT",
                     help="serve Prometheus metrics on this port")
    run.add_argument("--metrics-host", default="127.0.0.1", metavar="HOST",
                     help="address the metrics server listens on (default 127.0.0.1)")


def _add_classify(sub: Any, parents: Parents) -> None:
    classify = command(
        sub, "classify", "judge headlines: from arguments, or one per line on stdin",
        parents.of(sources=True),
        "Say what detection makes of headlines, using the watches of the sources file (no network, "
        "no state). Headlines come from the arguments, else one per line on stdin; a stdin line may "
        "also be a JSON object (title, summary, url, published, language). Headlines are answered "
        "with one readable line each; JSON input is answered in JSON Lines, one line out per line "
        "in. A line that cannot be judged gets its error and makes the exit code 1. "
        "With --check FILE, measure the watches on labelled items instead: precision, recall and "
        "kind accuracy per watch, the confusion by label and every misclassified item.")
    classify.add_argument("headline", nargs="*", help="a headline to judge (default: read stdin)")
    classify.add_argument("--json", action="store_true",
                          help="answer every headline in JSON Lines, plain-text ones too; with --check, "
                               "print the measurement as one JSON object")
    classify.add_argument("--check", type=Path, default=None, metavar="FILE",
                          help="measure the watches on a JSON Lines file of labelled items (the shared "
                               "corpus's fields: title, summary, label, optional watch, ambiguous, kind_alt)")
