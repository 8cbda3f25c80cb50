"""The CPU floor of the HTTP client alone: the same GETs as a scan, made with httpx and nothing else.

Run by bench/scan.py as a whole process, measured like `newsbot scan` and urlwatch:

    python bench/floor.py URLS ETAGS

URLS lists one URL per line. When ETAGS does not exist (cold), every URL is fetched and its ETag
written to ETAGS; when it exists (warm), every URL is fetched with If-None-Match. It uses httpx as
newsbot does at its best: one client per host (no pool shared by a hundred hosts), one TLS context,
2 connections per host, 64 requests at once. No parsing, no state, no detection: what is left of a
scan's CPU when everything newsbot adds is taken away.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import sys
from pathlib import Path

import httpx

CONCURRENCY = 64
PER_HOST = 2


async def fetch_all(urls: list[str], etags: dict[str, str]) -> dict[str, str]:
    """GETs every URL (conditional when an ETag is known); returns the ETags answered."""
    context = ssl.create_default_context()
    clients: dict[str, httpx.AsyncClient] = {}
    gate = asyncio.Semaphore(CONCURRENCY)
    found: dict[str, str] = {}

    async def one(url: str) -> None:
        host = httpx.URL(url).netloc.decode()
        if host not in clients:
            limits = httpx.Limits(max_connections=PER_HOST, max_keepalive_connections=PER_HOST)
            clients[host] = httpx.AsyncClient(verify=context, trust_env=False, limits=limits)
        headers = {"If-None-Match": etags[url]} if url in etags else {}
        async with gate:
            response = await clients[host].get(url, headers=headers)
        if etag := response.headers.get("etag"):
            found[url] = etag

    try:
        await asyncio.gather(*(one(url) for url in urls))
    finally:
        for client in clients.values():
            await client.aclose()
    return found


def main(argv: list[str]) -> int:
    urls = Path(argv[1]).read_text(encoding="utf-8").split()
    etag_file = Path(argv[2])
    warm = etag_file.exists()
    etags = json.loads(etag_file.read_text(encoding="utf-8")) if warm else {}
    found = asyncio.run(fetch_all(urls, etags))
    if not warm:
        etag_file.write_text(json.dumps(found), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
