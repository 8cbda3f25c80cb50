"""`newsbot init` and `newsbot check`: write a starter sources file, and validate one."""

from __future__ import annotations

import sys

from bot.cli.common import EXIT_FAIL, EXIT_OK, Paths, load_or_exit
from bot.messages import counted

STARTER = """\
# newsbot sources file: what to watch and where to look.
# Check it with `newsbot check`, try it with `newsbot scan`, then keep watching with `newsbot run`.

# watches: the shows and seasons to detect announcements for (renewal, trailer, release date,
# production). Give every name the press uses: other scripts, translations, short forms.
watches:
  - id: aouad-s2                  # short and unique; alerts and /settings name it
    title: All of Us Are Dead
    season: 2
    aliases: [지금 우리 학교는, 지우학, Estamos muertos]
    # known: events that already happened. They are shown by /status and never alerted.
    # `date` is YYYY-MM-DD, or YYYY-MM when only the month is known.
    known:
      - {kind: renewal, milestone: renewal, date: 2022-06-07, source: Netflix}

# sources: where to look. `kind: feed` reads RSS, Atom and RDF; `kind: html` reads a web page with
# CSS `selectors` (item, title, link, summary, date). `interval` is seconds, or 30s, 15m, 2h.
# Add more with `newsbot sources add URL` (it previews what detection says of the newest items).
sources:
  - name: Google News (en)        # a search feed: catches every outlet
    url: https://news.google.com/rss/search?q=%22All+of+Us+Are+Dead%22+season+2&hl=en-US&gl=US&ceid=US:en
    kind: feed
    interval: 15m
    language: en
  - name: Netflix (YouTube)       # official trailers appear here first
    url: https://www.youtube.com/feeds/videos.xml?channel_id=UCWOA1ZGywLbqmigxE4Qlvuw
    kind: feed
    interval: 10m
    language: en
  - name: What's on Netflix
    url: https://www.whats-on-netflix.com/feed/
    kind: feed
    interval: 30m
    language: en
  - name: Soompi                  # K-drama news in English
    url: https://www.soompi.com/feed
    kind: feed
    interval: 30m
    language: en

# settings: optional knobs; these are the defaults.
# settings:
#   backfill_days: 3              # a source's first fetch records older items without alerting
#   concurrency: 64               # fetches in flight overall
#   per_host: 2                   # and per host
#   failure_alert_threshold: 5    # admins hear of a source after this many failures in a row
#   sure_confidence: 0.85         # an alert less sure than this waits for a second report
"""


def init(paths: Paths) -> int:
    """Writes the starter sources file where --sources points; never overwrites a file."""
    path = paths.sources
    try:
        with path.open("x", encoding="utf-8") as fh:
            fh.write(STARTER)
    except FileExistsError:
        print(f"newsbot: {path} already exists; not overwriting it (give another path with --sources)",
              file=sys.stderr)
        return EXIT_FAIL
    except OSError as exc:
        print(f"newsbot: {path}: cannot write: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_FAIL
    print(f"wrote {path}: one watch and {STARTER.count('  - name:')} sources. "
          f"Next: `newsbot scan` to try it, `newsbot run` to keep watching.")
    return EXIT_OK


def check(paths: Paths) -> int:
    """Validates the sources file: exit 0 with a one-line summary, or 2 with the problem."""
    config = load_or_exit(paths)
    watches, sources = len(config.watches), len(config.sources)
    print(f"{paths.sources}: ok ({counted(watches, 'watch', 'watches')}, {counted(sources, 'source')})")
    return EXIT_OK

