"""Local feed server for the fetch-cycle benchmark: many loopback hosts, injected latency, ETag → 304.

Serves `feeds` generated RSS 2.0 feeds of `items` items each, feed i on host 127.0.0.(2 + i % hosts),
all hosts on one port. Every request waits `latency` seconds before it is answered (keep-alive,
Content-Length, If-None-Match → 304). Item links point back to the same loopback hosts, so an
article fetch never leaves the machine. Only 127.0.0.0/8 addresses are ever bound or named.

Run alone: python bench/feedserver.py [--feeds 1000] [--items 50] [--hosts 100] [--latency 0.2]
It prints "READY <port>" once every host listens. GET /_stats (any host) answers request counts as
JSON; GET /_latency/<ms> changes the injected latency.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import gzip
import json
import random
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from xml.sax.saxutils import escape

MAX_HOSTS = 250
WATCH_TITLE = "The Lantern Keepers"
WATCH_ALIASES = ("Lantern Keepers", "등대지기들")
WATCH_SEASON = 2

_SUBJECTS = (
    "City council", "Regional rail operator", "Local bakery", "University researchers", "Harbour authority",
    "Football club", "Museum of modern art", "Weather service", "Parliament committee", "Startup founders",
    "Hospital board", "School district", "Orchestra", "Central bank", "Tech giant", "Film festival",
    "Mountain rescue team", "Farmers' union", "Airline", "Space agency",
)
_ACTIONS = (
    "approves a new budget for", "warns about delays to", "unveils plans for", "postpones the vote on",
    "reports record numbers for", "faces criticism over", "celebrates ten years of", "cuts prices on",
    "opens an inquiry into", "signs a deal covering", "publishes a study on", "hires staff for",
)
_OBJECTS = (
    "the riverside park", "electric buses", "winter heating", "the old town bridge", "night trains",
    "public libraries", "the summer concert series", "water quality", "cycling lanes", "the new stadium",
    "youth sport", "affordable housing", "the spring harvest", "museum opening hours", "rural broadband",
)
_FILLER = (
    "Officials said the decision followed months of consultation with residents and experts.",
    "The announcement drew mixed reactions from people who attended the meeting on Tuesday.",
    "Further details are expected later this month, according to a spokesperson.",
    "Critics argue the timeline is too ambitious, while supporters call it overdue.",
    "The figures were published alongside a longer report on the past year.",
    "Several neighbouring towns are watching closely before deciding on similar steps.",
)
_WATCH_ITEMS = (
    ("Netflix renews {t} for season 2", "The streamer confirmed on Monday that {t} will return for a "
     "second season, with the original cast expected back."),
    ("{t} season 2: everything we know so far", "Release date rumours, cast theories and what the "
     "finale could mean for a second season of {t}."),
    ("{t} season 2 official trailer released", "Netflix has released the first full trailer for {t} "
     "season 2, showing the survivors on the island."),
    ("Filming of {t} season 2 has begun", "Cameras started rolling this week on the second season of "
     "{t}, the production company said."),
    ("Why fans are still waiting for {t} season 2", "An explainer on the long wait and what the "
     "writers have hinted at in interviews."),
)


@dataclass(frozen=True, slots=True)
class FeedSet:
    """Which feed lives where: feed i on host (i % hosts), all on one port."""

    feeds: int
    items: int
    hosts: int
    port: int = 0

    def host(self, feed: int) -> str:
        """The loopback address serving `feed`."""
        return host_address(feed % self.hosts)

    def feed_url(self, feed: int) -> str:
        """The URL of `feed`."""
        return f"http://{self.host(feed)}:{self.port}/feed/{feed}.xml"


def host_address(index: int) -> str:
    """The `index`-th bench host: 127.0.0.2, 127.0.0.3, …  (loopback only)."""
    if not 0 <= index < MAX_HOSTS:
        raise ValueError(f"host index {index} outside 0..{MAX_HOSTS - 1}")
    return f"127.0.0.{2 + index}"


def etag_of(feed: int) -> str:
    """The (fixed) ETag of a feed."""
    return f'"feed-{feed}-v1"'


def make_feed(fs: FeedSet, feed: int, now: datetime | None = None) -> bytes:
    """A distinct RSS 2.0 feed of `fs.items` items, mostly unrelated news and a few about the watch."""
    rng = random.Random(feed * 7919 + 17)
    now = now or datetime.now(UTC)
    host = f"http://{fs.host(feed)}:{fs.port}"
    watch_slots = set(rng.sample(range(fs.items), min(3, fs.items)))
    parts = []
    for n in range(fs.items):
        if n in watch_slots:
            title_t, summary_t = rng.choice(_WATCH_ITEMS)
            title = title_t.format(t=WATCH_TITLE)
            summary = summary_t.format(t=WATCH_TITLE)
        else:
            title = f"{rng.choice(_SUBJECTS)} {rng.choice(_ACTIONS)} {rng.choice(_OBJECTS)}"
            summary = " ".join(rng.sample(_FILLER, 2))
        link = f"{host}/article/{feed}/{n}"
        date = format_datetime(now - timedelta(minutes=37 * n + feed % 30))
        parts.append(
            f"<item><title>{escape(title)}</title><link>{link}</link>"
            f"<guid isPermaLink=\"false\">feed{feed}-item{n}</guid><pubDate>{date}</pubDate>"
            f"<category>News</category><category>Section {n % 7}</category>"
            f"<description>{escape(f'<p>{summary}</p><p>Story {feed}/{n}.</p>')}</description></item>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>'
        f"<title>Bench Daily {feed}</title><link>{host}/</link>"
        f"<description>Generated news feed number {feed}</description><language>en</language>"
        f"{''.join(parts)}</channel></rss>"
    ).encode()


def make_article(feed: int, n: int) -> bytes:
    """A small article page for an item link."""
    return (
        f"<!doctype html><html><head><title>Story {feed}/{n}</title></head><body><article>"
        f"<h1>Story {feed}/{n}</h1><p>{' '.join(_FILLER)}</p></article></body></html>"
    ).encode()


class FeedServer:
    """The HTTP side: answers GETs for feeds, articles and the control paths."""

    def __init__(self, fs: FeedSet, latency: float, *, compress: bool = False) -> None:
        self.fs = fs
        self.latency = latency
        self.compress = compress
        self.bodies: list[bytes] = []
        self.gzipped: list[bytes] = []
        self.stats = {"requests": 0, "ok": 0, "not_modified": 0, "other": 0, "body_bytes": 0,
                      "connections": 0}

    def load(self, fs: FeedSet) -> None:
        """Generate the bodies (links name the port, so this follows binding)."""
        self.fs = fs
        now = datetime.now(UTC)
        self.bodies = [make_feed(fs, i, now) for i in range(fs.feeds)]
        self.gzipped = [gzip.compress(b, 6) for b in self.bodies] if self.compress else []

    def _route(self, path: str, headers: dict[str, str]) -> tuple[int, bytes, list[str]]:
        if path.startswith("/feed/") and path.endswith(".xml"):
            try:
                feed = int(path[6:-4])
            except ValueError:
                feed = -1
            if 0 <= feed < self.fs.feeds:
                tag = etag_of(feed)
                extra = [f"ETag: {tag}", "Content-Type: application/rss+xml; charset=utf-8",
                         "Last-Modified: Mon, 21 Sep 2026 08:00:00 GMT"]
                if headers.get("if-none-match") == tag:
                    return 304, b"", extra
                if self.compress and "gzip" in headers.get("accept-encoding", ""):
                    return 200, self.gzipped[feed], [*extra, "Content-Encoding: gzip"]
                return 200, self.bodies[feed], extra
        if path.startswith("/article/"):
            bits = path.split("/")
            if len(bits) == 4 and bits[2].isdigit() and bits[3].isdigit():
                html = ["Content-Type: text/html; charset=utf-8"]
                return 200, make_article(int(bits[2]), int(bits[3])), html
        if path == "/_stats":
            stats = {**self.stats, "cpu": time.process_time()}
            return 200, json.dumps(stats).encode(), ["Content-Type: application/json"]
        if path.startswith("/_latency/") and path[10:].isdigit():
            self.latency = int(path[10:]) / 1000
            return 200, b"ok", ["Content-Type: text/plain"]
        return 404, b"not found", ["Content-Type: text/plain"]

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One connection: requests answered in turn until the client closes (keep-alive)."""
        self.stats["connections"] += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path, _version = (lines[0].split(" ", 2) + ["", ""])[:3]
                headers = {}
                for line in lines[1:]:
                    key, sep, value = line.partition(":")
                    if sep:
                        headers[key.strip().lower()] = value.strip()
                control = path.startswith("/_")
                if not control:
                    await asyncio.sleep(self.latency)
                status, body, extra = self._route(path, headers)
                if not control:
                    self._count(status, body)
                reason = {200: "OK", 304: "Not Modified", 404: "Not Found"}[status]
                close = headers.get("connection", "").lower() == "close"
                head_out = [f"HTTP/1.1 {status} {reason}", *extra, f"Content-Length: {len(body)}",
                            "Connection: close" if close else "Connection: keep-alive", "", ""]
                writer.write("\r\n".join(head_out).encode("latin-1") + (b"" if method == "HEAD" else body))
                await writer.drain()
                if close:
                    break
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass
        finally:
            writer.close()

    def _count(self, status: int, body: bytes) -> None:
        self.stats["requests"] += 1
        key = {200: "ok", 304: "not_modified"}.get(status, "other")
        self.stats[key] += 1
        self.stats["body_bytes"] += len(body)


async def listen(server: FeedServer, port: int = 0) -> tuple[int, list[asyncio.Server]]:
    """Bind every host on one port (port 0: pick a free one, retrying if it is taken elsewhere)."""
    for _attempt in range(20):
        servers: list[asyncio.Server] = []
        try:
            first = await asyncio.start_server(server.handle, host_address(0), port, backlog=1024)
            servers.append(first)
            chosen = first.sockets[0].getsockname()[1]
            for h in range(1, server.fs.hosts):
                address = host_address(h)
                servers.append(await asyncio.start_server(server.handle, address, chosen, backlog=1024))
            return chosen, servers
        except OSError as exc:
            for s in servers:
                s.close()
            if exc.errno != errno.EADDRINUSE or port:
                raise
    raise OSError("no port free on every bench host")


async def serve(fs: FeedSet, latency: float, compress: bool) -> None:
    """Run until stdin closes (the parent went away) or the process is killed."""
    server = FeedServer(fs, latency, compress=compress)
    port, servers = await listen(server)
    server.load(FeedSet(fs.feeds, fs.items, fs.hosts, port))
    print(f"READY {port}", flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)
    for s in servers:
        s.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--hosts", type=int, default=100)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--gzip", action="store_true", help="gzip bodies for clients that accept it")
    args = parser.parse_args(argv)
    if not 1 <= args.hosts <= MAX_HOSTS:
        parser.error(f"--hosts must be 1..{MAX_HOSTS}")
    asyncio.run(serve(FeedSet(args.feeds, args.items, args.hosts), args.latency, args.gzip))
    return 0


if __name__ == "__main__":
    sys.exit(main())
