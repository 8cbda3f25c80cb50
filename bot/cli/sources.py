"""`newsbot sources ...`: list, add, remove, check, import and export the watched sources."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, TextIO

from bot.cli.common import EXIT_FAIL, EXIT_OK, EXIT_USAGE, Parents, Paths, command

if TYPE_CHECKING:  # the parser is built on every command, so the rest is imported when an action runs
    from bot.models import Config, Selectors
    from bot.sources import Preview
    from bot.store.store import SourceState

_LANGS = ("en", "ko", "es", "id", "pt")
_ERROR_WIDTH = 40

_ADD_EPILOG = """\
The URL is fetched once: a feed is added as is; an HTML page is searched for the feed it
announces (<link rel="alternate">); a page without one needs --kind html and CSS selectors.
The newest items are shown with what detection says of each, then the source is appended to
the sources file (its comments and order are kept).

--google-news and --youtube build the feed URL from a search query or a channel id. Those
hosts often refuse scripted requests: if the check fetch fails for such a built URL, a warning
is printed and the source is added anyway. --no-check skips the fetch for any URL (then
--name is needed, except with --google-news and --youtube, which name the source themselves).
"""


class _Usage(Exception):
    """A bad combination of arguments (exit code 2)."""


def add_sources_parser(sub: Any, parents: Parents) -> None:
    """Adds the `sources` command and its actions to the main parser's subcommands."""
    parser = command(sub, "sources", "list, add, remove, check, import, export sources", [parents.log],
                     "Manage the sources file's news sources.")
    actions = parser.add_subparsers(dest="sources_command", metavar="ACTION")
    listing = command(actions, "list", "table of sources with their fetch health",
                      parents.of(sources=True, state=True),
                      "Print one row per source: kind, interval, last success, last error, errors in "
                      "a row, items seen and flags. Reads the state only; works while the daemon runs.")
    listing.add_argument("--json", action="store_true", help="print one JSON object per source")
    _add_parser(actions, parents)
    remove = command(actions, "remove", "remove a source and forget its state", parents.of(sources=True, state=True))
    remove.add_argument("name", help="the source's name (case-insensitive)")
    check = command(actions, "check", "fetch sources now; show status and newest items (records nothing)",
                    parents.of(sources=True))
    check.add_argument("name", nargs="?", help="only this source (default: every source)")
    check.add_argument("--newest", type=int, default=5, metavar="N",
                       help="items shown per source (default 5)")
    imp = command(actions, "import", "add the feeds of an OPML file", parents.of(sources=True),
                  "Add every feed of an OPML subscription list that is not watched yet. The interval "
                  "and language that `newsbot sources export` writes are read back.")
    imp.add_argument("file", metavar="FILE.opml", help="the OPML file to read")
    imp.add_argument("--interval", default=None,
                     help="poll interval of every added feed (default: the interval an outline "
                          "gives, else 15m)")
    command(actions, "export", "print the sources as OPML 2.0", parents.of(sources=True),
            "Print the sources as OPML 2.0, with each source's interval and language as outline "
            "attributes, so that `newsbot sources import` restores them.")


def _add_parser(actions: Any, parents: Parents) -> None:
    add = command(actions, "add", "inspect a URL, preview detection, add it", parents.of(sources=True),
                  "Inspect a feed or page URL, show its newest items with what detection says of "
                  "each, and add it to the sources file.",
                  epilog=_ADD_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    add.add_argument("url", nargs="?", help="feed or page URL (omit with --google-news or --youtube)")
    add.add_argument("--name", help="source name (default: the feed's or page's title)")
    add.add_argument("--interval", help="poll interval: seconds or 30s, 15m, 2h (default 15m)")
    add.add_argument("--language", default="", help="language of the items, e.g. en, ko")
    add.add_argument("--kind", choices=("feed", "html"), help="force a kind (html needs --item and --title)")
    sel = add.add_argument_group("CSS selectors (with --kind html)")
    sel.add_argument("--item", help="selector of one news item on the page")
    sel.add_argument("--title", help="selector of the headline within an item")
    sel.add_argument("--link", help="selector of the link within an item (default: a)")
    sel.add_argument("--summary", help="selector of the summary within an item")
    sel.add_argument("--date", help="selector of the date within an item")
    short = add.add_argument_group("shorthands")
    short.add_argument("--google-news", metavar="QUERY", help="Google News search feed for QUERY")
    short.add_argument("--lang", choices=_LANGS, default="en", help="Google News edition (default en)")
    short.add_argument("--youtube", metavar="CHANNEL_ID", help="a YouTube channel's uploads feed")
    add.add_argument("--no-check", action="store_true", help="add without fetching the URL first")
    add.add_argument("--newest", type=int, default=5, metavar="N", help="items previewed (default 5)")
    add.add_argument("--yes", "-y", action="store_true", help="do not ask before adding (on a terminal)")


def run_sources_command(args: argparse.Namespace, paths: Paths) -> int:
    """Runs `newsbot sources ACTION`; one line on stderr for any problem, never a traceback."""
    from bot.config import ConfigError
    from bot.sources import FetchFailed, SourceError
    from bot.store.store import StateError

    action = getattr(args, "sources_command", None)
    if action is None:
        print("newsbot: sources: give an action: list, add, remove, check, import or export", file=sys.stderr)
        return EXIT_USAGE
    try:
        return _dispatch(action, args, paths)
    except FetchFailed as exc:
        return _fail(str(exc), EXIT_FAIL)
    except (SourceError, ConfigError, StateError, _Usage) as exc:  # a state that cannot be used: exit 2
        return _fail(str(exc), EXIT_USAGE)
    except OSError as exc:
        return _fail(f"{getattr(exc, 'filename', None) or ''} {exc.strerror or exc}".strip(), EXIT_FAIL)
    except KeyboardInterrupt:
        return _fail("interrupted", 130)


def _fail(message: str, code: int) -> int:
    from bot.urls import display_url

    print(f"newsbot: {display_url(message)}", file=sys.stderr)
    return code


def _dispatch(action: str, args: argparse.Namespace, paths: Paths) -> int:
    import asyncio

    from bot.config import load_config

    config = load_config(paths.sources)
    if action == "list":
        return _list(config, paths, sys.stdout, as_json=args.json)
    if action == "add":
        return asyncio.run(_add(config, args, paths, sys.stdout))
    if action == "remove":
        return _remove(args.name, paths, sys.stdout)
    if action == "check":
        return asyncio.run(_check(config, args.name, max(0, args.newest), sys.stdout))
    if action == "import":
        return _import(args.file, _interval(args.interval), paths, sys.stdout)
    from bot.sources import export_opml

    sys.stdout.write(export_opml(config))
    return EXIT_OK


def _interval(text: str | None) -> float | None:
    from bot.config import parse_interval

    if text is None:
        return None
    try:
        return parse_interval(text.strip())
    except ValueError as exc:
        raise _Usage(f"--interval: {exc}") from None


# -- list ----------------------------------------------------------------------------------


def _states(paths: Paths) -> dict[str, SourceState]:
    """Per-source state, or nothing if the state has never been created (listing creates nothing).

    The state is opened read-only: listing works on a state dir this user cannot write."""
    from bot.store.store import DB_NAME, State

    if not (paths.state / DB_NAME).exists():
        return {}
    state = State.open_read_only(paths.state)
    try:
        return state.source_states()
    finally:
        state.close()


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value is not None else "-"


def _short(text: str | None, width: int) -> str:
    if not text:
        return "-"
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _list(config: Config, paths: Paths, out: TextIO, *, as_json: bool = False) -> int:
    from bot.config import format_interval

    states = _states(paths)
    if as_json:
        from bot.report import source_json

        for source in config.sources:
            out.write(json.dumps(source_json(source, states.get(source.name)), ensure_ascii=False) + "\n")
        return EXIT_OK
    header = ("NAME", "KIND", "INTERVAL", "LAST SUCCESS", "LAST ERROR", "ERRORS", "SEEN", "FLAGS")
    rows: list[Sequence[str]] = [header]
    for source in config.sources:
        st = states.get(source.name)
        flags = [flag for flag, on in (("paused", source.paused or (st is not None and st.paused)),
                                       ("disabled", st is not None and st.disabled),
                                       ("private-ok", source.allow_private),
                                       ("public-only", source.public_only)) if on]
        rows.append((source.name, source.kind, format_interval(source.interval),
                     _when(st.last_success if st else None),
                     _short(st.last_error if st and st.consecutive_errors and st.last_error
                            else None, _ERROR_WIDTH),
                     str(st.consecutive_errors if st else 0), str(st.items_seen if st else 0),
                     ",".join(flags) or "-"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for row in rows:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        out.write("  ".join(cells).rstrip() + "\n")
    if not config.sources:
        out.write("(no sources: add one with `newsbot sources add URL`)\n")
    return EXIT_OK


# -- add -------------------------------------------------------------------------------------


def _selectors(args: argparse.Namespace) -> Selectors | None:
    given = {key: getattr(args, key) for key in ("item", "title", "link", "summary", "date")}
    if not any(given.values()):
        if args.kind == "html":
            raise _Usage("--kind html needs CSS selectors: --item SEL --title SEL")
        return None
    if not given["item"] or not given["title"]:
        raise _Usage("CSS selectors need at least --item and --title")
    from bot.models import Selectors

    return Selectors(item=given["item"], title=given["title"], link=given["link"] or "a",
                     summary=given["summary"] or "", date=given["date"] or "")


def _target(args: argparse.Namespace) -> tuple[str, str | None, str]:
    """(URL, name for a built URL, language for a built URL) from the positional URL or a shorthand."""
    from bot.urls import google_news_url, youtube_channel_url

    given = [flag for flag, value in (("URL", args.url), ("--google-news", args.google_news),
                                      ("--youtube", args.youtube)) if value]
    if len(given) != 1:
        raise _Usage("give exactly one of URL, --google-news QUERY or --youtube CHANNEL_ID"
                     + (f" (got {', '.join(given)})" if given else ""))
    if args.google_news:
        query = " ".join(str(args.google_news).split())
        return google_news_url(query, args.lang), f"Google News {args.lang}: {query}", args.lang
    if args.youtube:
        channel = str(args.youtube).strip()
        return youtube_channel_url(channel), f"YouTube {channel}", ""
    return str(args.url), None, ""


async def _add(config: Config, args: argparse.Namespace, paths: Paths, out: TextIO) -> int:
    from bot.fetch.client import Fetcher
    from bot.sources import FetchFailed, Preview, add_source, planned_source
    from bot.urls import display_url

    url, built_name, built_lang = _target(args)
    selectors = _selectors(args)
    interval = _interval(args.interval)
    language = (args.language or built_lang).strip()
    name: str = args.name or built_name or ""
    kwargs: dict[str, Any] = {"interval": interval, "config": config, "kind": args.kind,
                              "selectors": selectors, "language": language}
    if args.no_check:
        if not name:
            raise _Usage("--no-check needs --name (nothing is fetched to take a title from)")
        preview = Preview(await planned_source(url, name=name, **kwargs), (), "not fetched (--no-check)")
    else:
        try:
            async with Fetcher(config.settings) as fetcher:
                preview = await _inspect(url, args, fetcher, kwargs)
        except FetchFailed as exc:
            if built_name is None:
                raise
            print(f"newsbot: warning: {display_url(str(exc))}; adding the built URL anyway", file=sys.stderr)
            source = await planned_source(url, name=name, **kwargs)
            preview = Preview(source, (), "not checked (fetch failed)")
    _print_preview(preview, out)
    if sys.stdin.isatty() and not args.yes and not _confirm(preview.source.name):
        out.write("not added\n")
        return EXIT_OK
    add_source(paths.sources, preview.source)
    out.write(f"added '{preview.source.name}' to {paths.sources}\n")
    return EXIT_OK


async def _inspect(url: str, args: argparse.Namespace, fetcher: Any, kwargs: dict[str, Any]) -> Preview:
    from bot.sources import inspect_source

    return await inspect_source(url, name=args.name, fetcher=fetcher, allow_private=True,
                                newest=max(0, args.newest), **kwargs)


def _confirm(name: str) -> bool:
    try:
        answer = input(f"add '{name}'? [Y/n] ")
    except EOFError:
        return False
    return answer.strip().lower() in ("", "y", "yes")


def _print_preview(preview: Preview, out: TextIO) -> None:
    from bot.config import format_interval
    from bot.models import confidence_text
    from bot.urls import display_url

    source = preview.source
    every = format_interval(source.interval)
    out.write(f"{source.name}: {source.kind} {display_url(source.url)} (every {every}"
              + (f", language {source.language}" if source.language else "") + ")\n")
    if preview.note:
        out.write(f"  {display_url(preview.note)}\n")
    if preview.items:
        out.write(f"  newest {len(preview.items)} items (what detection says):\n")
    for item, decision in preview.items:
        if decision.alert:
            verdict = f"ALERT {decision.kind or '?'}"
        else:
            verdict = f"no ({decision.kind})" if decision.kind else "no"
        date = item.published.strftime("%Y-%m-%d") if item.published else "undated"
        out.write(f"    {verdict:<19} {confidence_text(decision.confidence)}  {date}  {_short(item.title, 100)}\n")


# -- remove, check, import -----------------------------------------------------------------


def _remove(name: str, paths: Paths, out: TextIO) -> int:
    from bot.sources import remove_source
    from bot.store.store import DB_NAME, State
    from bot.urls import display_url

    state = State.open(paths.state) if (paths.state / DB_NAME).exists() else None
    try:
        removed = remove_source(paths.sources, name, state)
    finally:
        if state is not None:
            state.close()
    out.write(f"removed '{removed.name}' ({display_url(removed.url)}) from {paths.sources}\n")
    return EXIT_OK


async def _check(config: Config, name: str | None, newest: int, out: TextIO) -> int:
    import asyncio

    from bot.fetch.client import Fetcher
    from bot.sources import SourceError, check_source, find_source
    from bot.urls import display_url

    sources = list(config.sources)
    if name is not None:
        found = find_source(config, name)
        if found is None:
            raise SourceError(f"no source named {name!r}")
        sources = [found]
    failed = 0
    async with Fetcher(config.settings) as fetcher:
        results = await asyncio.gather(*(check_source(s, config=config, fetcher=fetcher, newest=newest)
                                         for s in sources), return_exceptions=True)
    for source, result in zip(sources, results, strict=True):
        if isinstance(result, SourceError):
            failed += 1
            out.write(f"{source.name}: FAILED: {display_url(str(result))}\n")
        elif isinstance(result, BaseException):
            raise result
        else:
            _print_preview(result, out)
    if failed:
        print(f"newsbot: {failed} of {len(sources)} sources failed", file=sys.stderr)
    return EXIT_FAIL if failed else EXIT_OK


def _import(file: str, interval: float | None, paths: Paths, out: TextIO) -> int:
    from pathlib import Path

    from bot.sources import import_opml
    from bot.urls import display_url

    added, skipped = import_opml(paths.sources, Path(file), interval=interval)
    for source in added:
        out.write(f"added '{source.name}' ({display_url(source.url)})\n")
    for reason in skipped:
        out.write(f"skipped {display_url(reason)}\n")
    out.write(f"{len(added)} added, {len(skipped)} skipped\n")
    return EXIT_OK
