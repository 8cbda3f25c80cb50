"""`newsbot run` and `newsbot scan` telling the truth about what they do: console alerts counted as sent,
a hanging source that delays nobody, Ctrl-C, the offline hint, scan's summary and progress line."""

from __future__ import annotations

import os
import pty
import re
import signal
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.newssite import NewsSite
from tests.test_e2e import clean_env, rss, wait_for, write_sources
from tests.test_service import free_port

NOW = datetime.now(UTC) - timedelta(hours=1)
TRAILER = ("Netflix drops the official trailer for All of Us Are Dead season 2",
           "The first full trailer for the second season arrived on Monday.", NOW)
DATE = ("All of Us Are Dead season 2 premieres March 3, Netflix announces",
        "Netflix announced today that the second season premieres on March 3.", NOW)
WATCH = "watches:\n  - {id: aouad-s2, title: All of Us Are Dead, season: 2}\n"


def env_for(tmp_path: Path, **extra: str) -> dict[str, str]:
    return clean_env(NEWSBOT_SOURCES=str(tmp_path / "sources.yaml"), NEWSBOT_STATE_DIR=str(tmp_path / "state"),
                     **extra)


def start(tmp_path: Path, *args: str, **env: str) -> tuple[subprocess.Popen[str], Path]:
    """The real daemon, its stderr going to a file the test can read while it runs."""
    log = tmp_path / "stderr.log"
    with log.open("w") as err:
        proc = subprocess.Popen([sys.executable, "-m", "bot", "run", *args], env=env_for(tmp_path, **env),
                                cwd=tmp_path, stdout=subprocess.PIPE, stderr=err, text=True)
    return proc, log


def test_console_alerts_are_counted_as_sent(tmp_path: Path, news_site: NewsSite,
                                            cleanup: list[subprocess.Popen[str]]) -> None:
    news_site.set("/feed.xml", rss([]))
    write_sources(tmp_path / "sources.yaml", news_site.url("/feed.xml"))
    port = free_port()
    proc, log = start(tmp_path, "--metrics-port", str(port), TZ="Asia/Seoul")
    cleanup.append(proc)

    def metrics() -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            return str(response.read().decode())

    wait_for(lambda: news_site.hits("/feed.xml") >= 1, what="first fetch")
    news_site.set("/feed.xml", rss([TRAILER, DATE]))
    wait_for(lambda: 'newsbot_alerts_total{result="sent"} 2.0' in metrics(), what="two alerts counted as sent")
    status = subprocess.run([sys.executable, "-m", "bot", "status"], env=env_for(tmp_path), cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)
    assert "Outbox: 0 pending, 2 sent" in status.stdout, status.stdout
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=20)
    err = log.read_text()
    assert proc.returncode == 130, err
    assert re.search(r"cycle: .* 2 alerts queued, 2 sent", err), err
    alerts = [block for block in out.split("─" * 60) if block.strip()]
    assert len(alerts) == 2 and out.count("\n\n") >= 2, out  # a rule before each, a blank line after
    for block in alerts:
        assert "Source: Local news" in block, block
        assert re.search(r"(Published|Found) \d{4}-\d\d-\d\d \d\d:\d\d KST", block), block
        why = next(line for line in block.splitlines() if line.startswith("Why: "))
        assert re.search(r"confidence 0\.\d\d", why), why
        headline = block.strip().splitlines()[1]
        assert headline not in why
    assert "stopping" in err


def test_a_hanging_source_delays_nobody_and_ctrl_c(tmp_path: Path, news_site: NewsSite,
                                                   cleanup: list[subprocess.Popen[str]]) -> None:
    news_site.set("/hang", rss([]))
    news_site.fault("/hang", "delay", seconds=60)
    news_site.set("/ok", rss([]))
    (tmp_path / "sources.yaml").write_text(
        WATCH + "sources:\n"
        f"  - {{name: hang, url: '{news_site.url('/hang')}', interval: 1s}}\n"
        f"  - {{name: ok, url: '{news_site.url('/ok')}', interval: 1s}}\n"
        "settings: {read_timeout: 60}\n", encoding="utf-8")
    proc, log = start(tmp_path)
    cleanup.append(proc)
    wait_for(lambda: news_site.hits("/hang") >= 1 and news_site.hits("/ok") >= 1, what="both sources asked")
    seen, last, gaps = news_site.hits("/ok"), time.monotonic(), list[float]()
    while len(gaps) < 4:
        now, hits = time.monotonic(), news_site.hits("/ok")
        if hits > seen:
            seen, gaps, last = hits, [*gaps, now - last], now
        assert now - last < 5, f"the healthy source waited {now - last:.1f} s behind the hanging one"
        time.sleep(0.02)
    assert max(gaps) < 2.6, gaps  # 1 s interval ±10%, started by a 1 s tick
    assert news_site.hits("/hang") == 1

    proc.send_signal(signal.SIGINT)
    wait_for(lambda: "stopping (waiting up to 10 s for 1 fetch)" in log.read_text(), what="the stopping line")
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    proc.wait(5)
    assert proc.returncode == 130
    assert time.monotonic() - sent < 3  # not the 10 s grace


def test_a_fetch_the_stop_cuts_short_is_counted_in_the_cycle_line(
        tmp_path: Path, news_site: NewsSite, cleanup: list[subprocess.Popen[str]]) -> None:
    news_site.set("/hang", rss([]))
    news_site.fault("/hang", "delay", seconds=60)
    (tmp_path / "sources.yaml").write_text(
        WATCH + f"sources:\n  - {{name: hang, url: '{news_site.url('/hang')}'}}\n"
        "settings: {read_timeout: 60}\n", encoding="utf-8")
    proc, log = start(tmp_path)
    cleanup.append(proc)
    wait_for(lambda: news_site.hits("/hang") >= 1, what="the source asked")
    proc.send_signal(signal.SIGTERM)
    proc.wait(20)  # the 10 s grace, then the fetch is cancelled
    assert proc.returncode == 0
    assert "cycle: 1 sources, 0 fetched, 0 unchanged, 0 failed, 1 cut short by the stop, 0 new items" in log.read_text()


def test_offline_hint_when_no_source_resolves(tmp_path: Path, cleanup: list[subprocess.Popen[str]]) -> None:
    # .invalid never resolves (RFC 6761); resolvers answer it locally.
    (tmp_path / "sources.yaml").write_text(
        WATCH + "sources:\n"
        "  - {name: a, url: 'http://feeds-a.invalid/rss', interval: 1s}\n"
        "  - {name: b, url: 'http://feeds-b.invalid/rss', interval: 1s}\n", encoding="utf-8")
    proc, log = start(tmp_path)
    cleanup.append(proc)
    wait_for(lambda: "no source resolved: is this machine offline?" in log.read_text(), what="the offline hint")
    wait_for(lambda: log.read_text().count("failed (2 in a row)") == 2, what="both sources failing again")
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=20)
    assert proc.returncode == 0
    assert log.read_text().count("is this machine offline") == 1


def test_no_offline_hint_while_one_source_resolves(tmp_path: Path, news_site: NewsSite,
                                                   cleanup: list[subprocess.Popen[str]]) -> None:
    news_site.set("/ok", rss([]))
    (tmp_path / "sources.yaml").write_text(
        WATCH + "sources:\n"
        "  - {name: a, url: 'http://feeds-a.invalid/rss', interval: 1s}\n"
        f"  - {{name: ok, url: '{news_site.url('/ok')}', interval: 1s}}\n", encoding="utf-8")
    proc, log = start(tmp_path)
    cleanup.append(proc)
    wait_for(lambda: news_site.hits("/ok") >= 2 and "DNS lookup failed" in log.read_text(), what="both sources")
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=20)
    assert "is this machine offline" not in log.read_text()


def scan(tmp_path: Path, stderr: int = subprocess.PIPE) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", "scan"], env=env_for(tmp_path), cwd=tmp_path,
                          stdout=subprocess.PIPE, stderr=stderr, text=True, timeout=60)


def test_scan_summary_also_when_nothing_is_new(tmp_path: Path, news_site: NewsSite) -> None:
    news_site.set("/feed.xml", rss([TRAILER]))
    news_site.set("/down", rss([]))
    news_site.fault("/down", "status", code=500)
    write_sources(tmp_path / "sources.yaml", news_site.url("/feed.xml"))
    with (tmp_path / "sources.yaml").open("a") as fh:
        fh.write(f"  - {{name: Down, url: '{news_site.url('/down')}'}}\n")
    first = scan(tmp_path)
    assert first.returncode == 0 and "\r" not in first.stderr  # no progress line off a terminal
    summary = first.stderr.strip().splitlines()[-1]
    assert re.fullmatch(r"scan: 2 sources: 1 fetched, 0 unchanged, 1 failed; 1 new item, 1 alert \(\d+\.\d s\)",
                        summary), first.stderr
    again = scan(tmp_path)
    assert again.stdout == ""
    assert re.match(r"scan: 2 sources: 0 fetched, 1 unchanged, 1 failed; 0 new items, 0 alerts",
                    again.stderr.strip().splitlines()[-1]), again.stderr


def test_scan_warns_when_there_are_no_sources(tmp_path: Path) -> None:
    (tmp_path / "sources.yaml").write_text(WATCH + "sources: []\n", encoding="utf-8")
    proc = scan(tmp_path)
    assert proc.returncode == 0
    assert "warning: the sources file lists no sources" in proc.stderr
    assert "scan: 0 sources" in proc.stderr


def test_scan_progress_line_on_a_terminal(tmp_path: Path, news_site: NewsSite) -> None:
    news_site.set("/fast", rss([]))
    news_site.set("/slow", rss([]))
    news_site.fault("/slow", "delay", seconds=1.5)
    (tmp_path / "sources.yaml").write_text(
        WATCH + "sources:\n"
        f"  - {{name: fast, url: '{news_site.url('/fast')}'}}\n"
        f"  - {{name: slow, url: '{news_site.url('/slow')}'}}\n", encoding="utf-8")
    leader, follower = pty.openpty()
    try:
        proc = scan(tmp_path, stderr=follower)
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the terminal's other end closed
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(leader)
    shown = b"".join(chunks).decode()
    assert proc.returncode == 0
    assert "\r2/2 sources (slow)" in shown, shown
    assert "scan: 2 sources: 2 fetched" in shown
