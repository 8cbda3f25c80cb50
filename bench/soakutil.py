"""The soak bench's feed server: many feeds on loopback hosts that change, fail and stall at random.

Feed i lives on 127.0.0.(2 + i % hosts), all hosts on one port. Each answer is drawn at random:
mostly the feed (or 304 for a matching ETag), sometimes a 500/503, a reset connection, a request
that hangs past any sane read timeout, a slow answer, a truncated body or a body that is not XML.
Now and then a feed grows a new unrelated item, or a fresh speculation piece about a watched show
(which must never alert). Real announcements are added on request by the bench through
GET /_announce?feeds=1,2&title=...&summary=... ; GET /_stats answers counters as JSON.

Run alone: python bench/soakutil.py [--feeds 1000] [--hosts 100] [--seed 1]; prints "READY <port>"
and serves until stdin closes. Only 127.0.0.0/8 addresses are ever bound or named.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import json
import random
import socket
import struct
import sys
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape

MAX_HOSTS = 250
KEEP_ITEMS = 30
HANG_SECONDS = 45.0

# Made-up shows the soak watches (season 2 each); no title is part of another.
SHOWS = (
    "Lanterns of Veyra", "The Glass Orchard", "Midnight Ferry", "Copper Saints", "Salt and Thunder",
    "The Quiet Cartographer", "Ember Valley", "Paper Moons", "Velvet Hounds", "Frostline",
    "Harbor of Echoes", "Saffron Court",
)
# One real announcement per (kind, show): headline and summary templates, in our own words.
ANNOUNCEMENTS = (
    ("renewal", "Netflix renews {t} for a second season",
     "The streamer confirmed on Monday that {t} will return for season 2."),
    ("trailer", "Netflix releases the official trailer for {t} season 2",
     "The first full trailer for the second season of {t} is out now."),
    ("release_date", "{t} season 2 premieres on March 14, Netflix announces",
     "Netflix set the release date for the second season of {t}."),
    ("production", "Filming has officially begun on {t} season 2",
     "Cameras started rolling this week on the second season of {t}."),
)
SPECULATION = (
    ("{t} season 2: everything we know so far", "Rumours, cast theories and what the finale could mean."),
    ("Will there be a {t} season 2? Fans keep asking", "An explainer on the long wait and the hints so far."),
    ("Five theories about where {t} season 2 could go", "Our writers guess at the story of a second season."),
)
_WHO = ("The city council", "A regional rail operator", "The harbour authority", "A football club",
        "The weather service", "A hospital board", "The school district", "An orchestra", "A film festival",
        "The farmers' union", "A mountain rescue team", "The space agency", "A local bakery")
_DOES = ("approves a budget for", "warns of delays to", "unveils plans for", "postpones a vote on",
         "reports record numbers for", "faces questions over", "cuts prices on", "opens an inquiry into")
_WHAT = ("the riverside park", "electric buses", "winter heating", "the old bridge", "night trains",
         "public libraries", "water quality", "cycle lanes", "the new stadium", "rural broadband")

# Chance per feed request of each fault; the rest get the feed.
FAULTS = (("error500", 0.03), ("error503", 0.01), ("reset", 0.02), ("hang", 0.005), ("slow", 0.05),
          ("truncate", 0.01), ("garbage", 0.005))
NEW_ITEM = 0.04
NEW_SPECULATION = 0.004


def host_address(index: int) -> str:
    """The `index`-th soak host: 127.0.0.2, 127.0.0.3, ... (loopback only)."""
    if not 0 <= index < MAX_HOSTS:
        raise ValueError(f"host index {index} outside 0..{MAX_HOSTS - 1}")
    return f"127.0.0.{2 + index}"


def feed_url(feed: int, hosts: int, port: int) -> str:
    """Where feed `feed` is served."""
    return f"http://{host_address(feed % hosts)}:{port}/feed/{feed}.xml"


@dataclass
class Feed:
    """One feed's items (newest last) and version; the body is rebuilt only when it changes."""

    number: int
    items: deque[tuple[str, str, str, datetime]] = field(default_factory=lambda: deque(maxlen=KEEP_ITEMS))
    version: int = 1
    body: bytes = b""
    next_item: int = 0

    @property
    def etag(self) -> str:
        return f'"f{self.number}-v{self.version}"'

    def add(self, title: str, summary: str, when: datetime) -> None:
        self.next_item += 1
        self.items.append((f"soak-{self.number}-{self.next_item}", title, summary, when))
        self.version += 1
        self.body = b""

    def render(self, base: str) -> bytes:
        if not self.body:
            parts = [
                f"<item><title>{escape(title)}</title><link>{base}/a/{self.number}/{guid}</link>"
                f'<guid isPermaLink="false">{guid}</guid><pubDate>{format_datetime(when)}</pubDate>'
                f"<description>{escape(summary)}</description></item>"
                for guid, title, summary, when in reversed(self.items)
            ]
            self.body = ('<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>'
                         f"<title>Soak Herald {self.number}</title><link>{base}/</link>"
                         f"<description>Feed {self.number}</description>{''.join(parts)}</channel></rss>"
                         ).encode()
        return self.body


class SoakServer:
    """Serves the feeds with random faults and takes announcements from the bench."""

    def __init__(self, feeds: int, hosts: int, seed: int) -> None:
        self.hosts = hosts
        self.port = 0
        self.rng = random.Random(seed)
        self.stats: Counter[str] = Counter()
        old = datetime.now(UTC) - timedelta(days=20)
        self.feeds = [Feed(i) for i in range(feeds)]
        for feed in self.feeds:
            for n in range(20):
                feed.add(self._noise(), "Officials gave details at a meeting on Tuesday.",
                         old - timedelta(hours=7 * n + feed.number % 24))
            if feed.number % 5 == 0:
                title, summary = self.rng.choice(SPECULATION)
                show = self.rng.choice(SHOWS)
                feed.add(title.format(t=show), summary, old)

    def _noise(self) -> str:
        r = self.rng
        return f"{r.choice(_WHO)} {r.choice(_DOES)} {r.choice(_WHAT)} ({r.randrange(10_000)})"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One client connection, HTTP/1.1 with keep-alive."""
        try:
            while True:
                line = await reader.readline()
                if not line:
                    break
                method, target = line.decode("latin-1").split(" ", 2)[:2]
                headers: dict[str, str] = {}
                while True:
                    raw = await reader.readline()
                    if raw in (b"\r\n", b"\n", b""):
                        break
                    key, _, value = raw.decode("latin-1").partition(":")
                    headers[key.strip().lower()] = value.strip()
                if not await self._respond(method, target, headers, writer):
                    break
        except (ConnectionError, ValueError, asyncio.IncompleteReadError):
            pass
        except asyncio.CancelledError:
            pass  # the server is shutting down with a hung request open
        finally:
            writer.close()

    async def _respond(self, method: str, target: str, headers: dict[str, str],
                       writer: asyncio.StreamWriter) -> bool:
        """Answers one request; False when the connection must end."""
        url = urlsplit(target)
        parts = url.path.strip("/").split("/")
        if parts[0] == "_announce":
            return await self._send(writer, 200, json.dumps(self.announce(parse_qs(url.query))).encode(),
                                    "application/json")
        if parts[0] == "_stats":
            return await self._send(writer, 200, json.dumps(dict(self.stats)).encode(), "application/json")
        if parts[0] == "a":
            body = b"<!doctype html><html><body><article><p>Local news story.</p></article></body></html>"
            return await self._send(writer, 200, body, "text/html; charset=utf-8")
        if parts[0] != "feed" or len(parts) != 2:
            return await self._send(writer, 404, b"not found", "text/plain")
        try:
            feed = self.feeds[int(parts[1].removesuffix(".xml"))]
        except (ValueError, IndexError):
            return await self._send(writer, 404, b"not found", "text/plain")
        return await self._feed(feed, headers, writer, send_body=method != "HEAD")

    async def _feed(self, feed: Feed, headers: dict[str, str], writer: asyncio.StreamWriter, *,
                    send_body: bool) -> bool:
        self.stats["feed_requests"] += 1
        fault = self._draw()
        if fault:
            self.stats[fault] += 1
        if fault == "reset":
            sock = writer.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()
            return False
        if fault == "hang":
            await asyncio.sleep(HANG_SECONDS)
            return False
        if fault in ("error500", "error503"):
            extra = {"Retry-After": "30"} if fault == "error503" else {}
            return await self._send(writer, int(fault[-3:]), b"server error", "text/plain", extra)
        if fault == "slow":
            await asyncio.sleep(self.rng.uniform(0.5, 4.0))
        if fault == "garbage":
            return await self._send(writer, 200, b"<html><body>Service temporarily", "application/rss+xml")
        self._maybe_grow(feed)
        if headers.get("if-none-match") == feed.etag:
            self.stats["not_modified"] += 1
            return await self._send(writer, 304, b"", "", {"ETag": feed.etag})
        base = f"http://{host_address(feed.number % self.hosts)}:{self.port}"
        body = feed.render(base)
        if fault == "truncate":
            head = _head(200, len(body), "application/rss+xml; charset=utf-8", {"ETag": feed.etag})
            writer.write(head + body[: len(body) // 2])
            await writer.drain()
            return False
        self.stats["ok"] += 1
        return await self._send(writer, 200, body if send_body else b"", "application/rss+xml; charset=utf-8",
                                {"ETag": feed.etag}, length=len(body))

    def _draw(self) -> str:
        x = self.rng.random()
        for name, p in FAULTS:
            if x < p:
                return name
            x -= p
        return ""

    def _maybe_grow(self, feed: Feed) -> None:
        now = datetime.now(UTC)
        x = self.rng.random()
        if x < NEW_ITEM:
            feed.add(self._noise(), "Further details are expected later this month.", now)
            self.stats["new_items"] += 1
        elif x < NEW_ITEM + NEW_SPECULATION:
            title, summary = self.rng.choice(SPECULATION)
            feed.add(title.format(t=self.rng.choice(SHOWS)), summary, now)
            self.stats["new_speculation"] += 1

    def announce(self, query: dict[str, list[str]]) -> dict[str, object]:
        """Adds a real announcement (title, summary, published now) to the given feeds."""
        title, summary = query["title"][0], query.get("summary", [""])[0]
        feeds = [int(f) for f in query["feeds"][0].split(",")]
        for number in feeds:
            self.feeds[number].add(title, summary, datetime.now(UTC) - timedelta(seconds=30))
        self.stats["announcements"] += 1
        return {"ok": True, "feeds": feeds}

    async def _send(self, writer: asyncio.StreamWriter, status: int, body: bytes, content_type: str,
                    extra: dict[str, str] | None = None, *, length: int | None = None) -> bool:
        writer.write(_head(status, len(body) if length is None else length, content_type, extra or {}) + body)
        await writer.drain()
        return True


def _head(status: int, length: int, content_type: str, extra: dict[str, str]) -> bytes:
    reason = {200: "OK", 304: "Not Modified", 404: "Not Found", 500: "Internal Server Error",
              503: "Service Unavailable"}.get(status, "Unknown")
    lines = [f"HTTP/1.1 {status} {reason}"]
    if content_type:
        lines.append(f"Content-Type: {content_type}")
    if status != 304:
        lines.append(f"Content-Length: {length}")
    lines += [f"{k}: {v}" for k, v in extra.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def listen(server: SoakServer) -> list[asyncio.Server]:
    """Binds every host on one free port."""
    for _attempt in range(20):
        servers: list[asyncio.Server] = []
        try:
            first = await asyncio.start_server(server.handle, host_address(0), 0, backlog=1024)
            servers.append(first)
            port = first.sockets[0].getsockname()[1]
            for h in range(1, server.hosts):
                servers.append(await asyncio.start_server(server.handle, host_address(h), port, backlog=1024))
            server.port = port
            return servers
        except OSError as exc:
            for s in servers:
                s.close()
            if exc.errno != errno.EADDRINUSE:
                raise
    raise OSError("no port free on every soak host")


async def serve(feeds: int, hosts: int, seed: int) -> None:
    """Runs until stdin closes (the bench went away)."""
    server = SoakServer(feeds, hosts, seed)
    servers = await listen(server)
    print(f"READY {server.port}", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    for s in servers:
        s.close()


def vm_hwm_kib(pid: int) -> int:
    """The process's peak resident set size (VmHWM) in KiB, 0 if unknown."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Soak bench feed server (loopback only).")
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--hosts", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    if not 1 <= args.hosts <= MAX_HOSTS:
        parser.error(f"--hosts must be 1..{MAX_HOSTS}")
    asyncio.run(serve(args.feeds, args.hosts, args.seed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
