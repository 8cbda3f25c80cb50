"""The daemon as an operator runs it: reloads, JSON logs, metrics, clean stop."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.newssite import NewsSite
from tests.test_e2e import clean_env, rss, wait_for

WATCH = "watches:\n  - {id: lk-s3, title: The Lantern Keepers, season: 3}\n"


def sources_text(site: NewsSite, *names: str) -> str:
    lines = [WATCH, "sources:\n"]
    lines += [f"  - {{name: {n}, url: '{site.url('/' + n)}', interval: 1s}}\n" for n in names]
    return "".join(lines)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_reload_logs_and_metrics(tmp_path: Path, news_site: NewsSite) -> None:
    for name in ("a", "b"):
        news_site.set(f"/{name}", rss([]))
    path = tmp_path / "sources.yaml"
    path.write_text(sources_text(news_site, "a"), encoding="utf-8")
    port = free_port()
    log_path = tmp_path / "log.jsonl"
    with log_path.open("w") as log_file:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "run", "--log-format", "json", "--metrics-port", str(port)],
            env=clean_env(NEWSBOT_SOURCES=str(path), NEWSBOT_STATE_DIR=str(tmp_path / "state")),
            cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=log_file, text=True)
        try:
            wait_for(lambda: news_site.hits("/a") >= 1, what="source a")

            path.write_text(sources_text(news_site, "a", "b"), encoding="utf-8")
            wait_for(lambda: news_site.hits("/b") >= 1, what="source b after the file changed")

            path.write_text("watches: [oops\n", encoding="utf-8")
            wait_for(lambda: "refused" in log_path.read_text(), what="the refused reload")
            a, b = news_site.hits("/a"), news_site.hits("/b")
            wait_for(lambda: news_site.hits("/a") > a and news_site.hits("/b") > b,
                     what="both sources still fetched with the old configuration")

            path.write_text(sources_text(news_site, "b"), encoding="utf-8")
            proc.send_signal(signal.SIGHUP)
            wait_for(lambda: "reloaded" in log_path.read_text(), what="reload")
            time.sleep(1.5)
            a = news_site.hits("/a")
            b = news_site.hits("/b")
            wait_for(lambda: news_site.hits("/b") >= b + 2, what="source b fetched twice more")
            assert news_site.hits("/a") == a

            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
                metrics = response.read().decode()
            assert 'newsbot_fetches_total{outcome="fetched"}' in metrics
            assert "newsbot_outbox_pending 0.0" in metrics
            assert "newsbot_last_successful_cycle_timestamp_seconds" in metrics
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(20)
    assert proc.returncode == 0
    records = [json.loads(line) for line in log_path.read_text().splitlines() if line.strip()]
    cycles = [r for r in records if r.get("event") == "cycle"]
    assert cycles, records[:5]
    assert {"sources", "fetched", "unchanged", "failed", "items", "findings", "alerts_queued", "sent"} <= set(
        cycles[-1])
    assert any("sources.yaml:1" in r["message"] for r in records if "refused" in r["message"])
