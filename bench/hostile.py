"""Bodies built to exhaust the parser, each against the real newsbot beside a healthy source.

For each hostile body (issue 16: 5 MB feeds of 1.7M nested elements, of 1.2M empty elements with a
stray close tag, of 50,000 items with a stray close tag, a 3 MB page of a million <p>, a feed whose
one headline is 4.9 MB, and broken feeds just under the bounds) it
- runs a whole `newsbot scan` of that source alone: CPU seconds and peak RSS of the process, with
  PASS/FAIL against 5 s and 300 MB, and the error recorded for the source;
- runs the daemon (`newsbot run`, console mode) with the hostile source and a healthy one, both on a
  2-second interval, for a few seconds: whether the healthy source kept its interval.

Everything is served on 127.0.0.1 by this script; it finishes in about three minutes.
Run: python bench/hostile.py [--seconds 10]
"""

from __future__ import annotations

import argparse
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from procs import bench_env, stop, wait_bounded

REPO = Path(__file__).resolve().parent.parent
CPU_LIMIT = 5.0
RSS_LIMIT_MB = 300.0
INTERVAL = 2.0
RUN_TIMEOUT = 300.0


def _feed(inner: bytes, stray: bytes = b"") -> bytes:
    return (b'<?xml version="1.0"?><rss version="2.0"><channel><title>Hostile</title>' + inner + stray
            + b"</channel></rss>")


def nested() -> bytes:
    """1.7 million nested elements (5 MB)."""
    return _feed(b"<a>" * 1_700_000)


def empty_stray() -> bytes:
    """1.2 million empty elements and a stray close tag (5 MB)."""
    return _feed(b"<a/>" * 1_200_000, b"</b>")


def items_stray(count: int) -> Callable[[], bytes]:
    """`count` items and a stray close tag (50,000 make 5 MB; fewer stay under the bounds and are read)."""
    item = b"<item><title>Item %d</title><link>http://127.0.0.1/a/%d</link><guid>g%d</guid></item>"
    return lambda: _feed(b"".join(item % (n, n, n) for n in range(count)), b"</b>")


def many_p() -> bytes:
    """A 3 MB HTML page of a million <p>, read with CSS selectors."""
    return b"<!doctype html><html><body>" + b"<p>" * 1_000_000 + b"</body></html>"


def giant_title() -> bytes:
    """One item whose headline is 4.9 MB."""
    title = b"Netflix releases the official trailer for The Lantern Keepers season 2 " + b"lantern " * 610_000
    return _feed(b"<item><title>" + title + b"</title><link>http://127.0.0.1/a/1</link><guid>t1</guid></item>")


BODIES: dict[str, tuple[Callable[[], bytes], str]] = {
    "1.7M nested elements": (nested, "feed"),
    "1.2M empty + stray tag": (empty_stray, "feed"),
    "50,000 items + stray tag": (items_stray(50_000), "feed"),
    "1M <p> page (html)": (many_p, "html"),
    "249,000 nested (under cap)": (lambda: _feed(b"<a>" * 249_000), "feed"),
    "249,000 empty + stray": (lambda: _feed(b"<a/>" * 249_000, b"</b>"), "feed"),
    "1,200 items + stray": (items_stray(1_200), "feed"),
    "30,000 items + stray": (items_stray(30_000), "feed"),
    "4.9 MB headline": (giant_title, "feed"),
}
HEALTHY = _feed(b"<item><title>Local bakery opens</title><link>http://127.0.0.1/h/1</link><guid>h1</guid></item>")


class Site:
    """A loopback HTTP server answering /healthy and /hostile, noting when /healthy was asked for."""

    def __init__(self) -> None:
        self.hostile = b""
        self.healthy_hits: list[float] = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the http.server name
                if self.path == "/healthy":
                    site.healthy_hits.append(time.monotonic())
                    body, kind = HEALTHY, "application/rss+xml"
                else:
                    body, kind = site.hostile, "text/html" if site.hostile.startswith(b"<!doctype") else \
                        "application/rss+xml"
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the http.server name
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        """The address of one path on this server."""
        return f"http://127.0.0.1:{self.port}{path}"


def sources_yaml(site: Site, kind: str, *, healthy: bool) -> str:
    """A sources file with the hostile source, and the healthy one if asked."""
    hostile = (f"  - {{name: hostile, url: '{site.url('/hostile')}', kind: {kind}, interval: {INTERVAL:g}s"
               + (", selectors: {item: p, title: p}" if kind == "html" else "") + "}\n")
    text = ("watches:\n  - {id: lk-s2, title: The Lantern Keepers, season: 2}\nsources:\n" + hostile)
    if healthy:
        text += f"  - {{name: healthy, url: '{site.url('/healthy')}', kind: feed, interval: {INTERVAL:g}s}}\n"
    return text + "settings: {allow_private: true, max_body_bytes: 6000000}\n"


@dataclass(frozen=True, slots=True)
class Scan:
    """One whole `newsbot scan` process."""

    cpu: float
    peak_mb: float
    error: str


def scan(work: Path, env: dict[str, str]) -> Scan:
    """Runs `newsbot scan` to the end (bounded) and reads its rusage and the error it recorded."""
    proc = subprocess.Popen([sys.executable, "-m", "bot", "scan"], cwd=work, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _status, usage = wait_bounded(proc, RUN_TIMEOUT)
    return Scan(usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, last_error(work / "state"))


def last_error(state: Path) -> str:
    """The error the state recorded for the hostile source ("" when it was fetched fine)."""
    db = sqlite3.connect(state / "newsbot.db")
    try:
        row = db.execute("SELECT last_error FROM sources WHERE name = 'hostile'").fetchone()
    finally:
        db.close()
    return str(row[0]) if row and row[0] else ""


def daemon_keeps_interval(site: Site, work: Path, env: dict[str, str], seconds: float) -> tuple[bool, float]:
    """Runs the daemon for `seconds`; whether the healthy source was fetched on time, and its widest gap."""
    site.healthy_hits.clear()
    proc = subprocess.Popen([sys.executable, "-m", "bot", "run"], cwd=work, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(seconds)  # the measurement window itself, not a wait on a condition
    finally:
        stop(proc)
    hits = site.healthy_hits
    gaps = [b - a for a, b in zip(hits, hits[1:], strict=False)]
    widest = max(gaps, default=seconds)
    return len(hits) >= 2 and widest <= INTERVAL * 1.1 + 1.0, widest


def main(argv: list[str] | None = None) -> int:
    """Prints one line per hostile body; exits 1 if any failed its bounds."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=10.0, help="how long the daemon runs per body")
    args = parser.parse_args(argv)
    site = Site()
    env = bench_env()
    env["PYTHONPATH"] = str(REPO)
    print(f"{'body':<26} {'CPU s':>6} {'peak MB':>8} {'bounds':>6} {'healthy kept 2 s':>17}  error recorded")
    failed = False
    for name, (make, kind) in BODIES.items():
        site.hostile = make()
        with tempfile.TemporaryDirectory(prefix="newsbot-hostile-") as tmp:
            work = Path(tmp)
            run_env = {**env, "NEWSBOT_SOURCES": str(work / "sources.yaml"), "NEWSBOT_STATE_DIR": str(work / "state")}
            (work / "sources.yaml").write_text(sources_yaml(site, kind, healthy=False), encoding="utf-8")
            result = scan(work, run_env)
            (work / "sources.yaml").write_text(sources_yaml(site, kind, healthy=True), encoding="utf-8")
            kept, widest = daemon_keeps_interval(site, work, run_env, args.seconds)
        ok = result.cpu <= CPU_LIMIT and result.peak_mb <= RSS_LIMIT_MB
        failed |= not (ok and kept)
        print(f"{name:<26} {result.cpu:>6.1f} {result.peak_mb:>8.0f} {'PASS' if ok else 'FAIL':>6} "
              f"{('yes' if kept else 'NO') + f' (gap {widest:.1f} s)':>17}  {result.error[:90] or '(fetched)'}",
              flush=True)
    site.server.shutdown()
    print(f"bounds: at most {CPU_LIMIT:g} s of CPU and {RSS_LIMIT_MB:g} MB peak RSS per body (a whole scan process)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
