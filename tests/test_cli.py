"""The command line as a user runs it: scan, classify, status, and `run` on the console."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.cli.main import main
from tests.fakebotapi import FakeBotAPI
from tests.newssite import NewsSite
from tests.test_e2e import clean_env, rss, wait_for, write_sources

NOW = datetime.now(UTC) - timedelta(hours=1)
TRAILER = ("Netflix drops the official trailer for All of Us Are Dead season 2",
           "The first full trailer for the second season arrived on Monday.", NOW)
SPECULATION = ("Will there be an All of Us Are Dead season 2 trailer soon?",
               "Here is everything we know so far; nothing is confirmed.", NOW)
OLD = ("All of Us Are Dead renewed for season 2 by Netflix", "A second season is official.",
       datetime(2022, 6, 7, tzinfo=UTC))


def _env(tmp_path: Path) -> dict[str, str]:
    return clean_env(NEWSBOT_SOURCES=str(tmp_path / "sources.yaml"), NEWSBOT_STATE_DIR=str(tmp_path / "state"))


def test_scan_prints_new_findings_once(tmp_path: Path, news_site: NewsSite,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    news_site.set("/feed.xml", rss([TRAILER, SPECULATION, OLD]))
    write_sources(tmp_path / "sources.yaml", news_site.url("/feed.xml"))
    args = ["scan", "--sources", str(tmp_path / "sources.yaml"), "--state", str(tmp_path / "state")]
    assert main(args) == 0
    out = capsys.readouterr().out.strip().splitlines()
    new = [line for line in out if "NEW" in line]
    assert len(new) == 1 and "official trailer" in new[0] and new[0].startswith("[trailer]")
    assert not any("Will there be" in line for line in out)

    assert main(args) == 0
    assert capsys.readouterr().out == ""


def test_scan_json_lines(tmp_path: Path, news_site: NewsSite, capsys: pytest.CaptureFixture[str]) -> None:
    news_site.set("/feed.xml", rss([TRAILER]))
    write_sources(tmp_path / "sources.yaml", news_site.url("/feed.xml"))
    assert main(["scan", "--json", "--sources", str(tmp_path / "sources.yaml"),
                 "--state", str(tmp_path / "state")]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(rows) == 1
    assert rows[0]["kind"] == "trailer" and rows[0]["watch"] == "aouad-s2" and rows[0]["alerted"] is True


def test_scan_reports_a_dead_source_and_goes_on(tmp_path: Path, news_site: NewsSite,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    news_site.set("/feed.xml", rss([TRAILER]))
    news_site.fault("/dead.xml", "status", code=500)
    path = tmp_path / "sources.yaml"
    write_sources(path, news_site.url("/feed.xml"))
    with path.open("a", encoding="utf-8") as fh:
        fh.write(f"  - name: Dead\n    url: {news_site.url('/dead.xml')}\n    interval: 1s\n")
    assert main(["scan", "--sources", str(path), "--state", str(tmp_path / "state")]) == 0
    captured = capsys.readouterr()
    assert "official trailer" in captured.out
    assert "'Dead' failed: HTTP 500" in captured.err


def test_classify_one_object_per_line(tmp_path: Path) -> None:
    write_sources(tmp_path / "sources.yaml", "http://127.0.0.1:9/feed.xml")
    lines = [
        json.dumps({"title": TRAILER[0], "summary": TRAILER[1], "extra": 1}),
        "this is not json",
        json.dumps({"title": SPECULATION[0]}),
        json.dumps(["a list"]),
        json.dumps({"title": "Cooking show returns", "published": "2026-01"}),
    ]
    proc = subprocess.run([sys.executable, "-m", "bot", "classify"], input="\n".join(lines) + "\n",
                          env=_env(tmp_path), capture_output=True, text=True, timeout=60, check=True)
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(rows) == 5
    assert rows[0]["alert"] is True and rows[0]["kind"] == "trailer" and rows[0]["watch"] == "aouad-s2"
    assert 0 <= rows[0]["confidence"] <= 1 and rows[0]["evidence"]
    assert "error" in rows[1] and "error" in rows[3]
    assert rows[2]["alert"] is False and rows[2]["kind"] is None
    assert rows[4]["alert"] is False
    assert rows[0]["confidence"] > rows[2]["confidence"]
    assert not (tmp_path / "state").exists()


def test_status_after_scan(tmp_path: Path, news_site: NewsSite, capsys: pytest.CaptureFixture[str]) -> None:
    news_site.set("/feed.xml", rss([TRAILER]))
    write_sources(tmp_path / "sources.yaml", news_site.url("/feed.xml"))
    common = ["--sources", str(tmp_path / "sources.yaml"), "--state", str(tmp_path / "state")]
    main(["scan", *common])
    capsys.readouterr()
    assert main(["status", *common]) == 0
    out = capsys.readouterr().out
    assert "Local news: ok" in out
    assert "Trailer" in out and "official trailer" in out


def test_run_on_console_without_token(tmp_path: Path, news_site: NewsSite) -> None:
    news_site.set("/feed.xml", rss([OLD]))
    write_sources(tmp_path / "sources.yaml", news_site.url("/feed.xml"))
    proc = subprocess.Popen([sys.executable, "-m", "bot", "run"], env=_env(tmp_path), cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: news_site.hits("/feed.xml") >= 1, what="first fetch")
        second = subprocess.run([sys.executable, "-m", "bot", "run"], env=_env(tmp_path), cwd=tmp_path,
                                capture_output=True, text=True, timeout=60)
        assert second.returncode == 2
        assert "already running" in second.stderr and str(proc.pid) in second.stderr

        news_site.set("/feed.xml", rss([TRAILER, SPECULATION, OLD]))
        hits = news_site.hits("/feed.xml")
        wait_for(lambda: news_site.hits("/feed.xml") >= hits + 2, what="two more cycles")
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert out.count("[Trailer]") == 1 and "official trailer" in out, out
    assert "Will there be" not in out and "renewed for season 2" not in out


def test_scan_with_a_token_sends_the_alerts(tmp_path: Path, news_site: NewsSite, bot_api: FakeBotAPI) -> None:
    from bot.store.store import State

    with State.open(tmp_path / "state") as state:
        state.subscribe(99, "private", "fan", now=NOW)
    news_site.set("/feed.xml", rss([TRAILER, SPECULATION]))
    write_sources(tmp_path / "sources.yaml", news_site.url("/feed.xml"))
    env = _env(tmp_path) | {"TELEGRAM_BOT_TOKEN": "123:TEST", "TELEGRAM_API_URL": bot_api.base_url}
    proc = subprocess.run([sys.executable, "-m", "bot", "scan"], env=env, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert len(bot_api.sent(99)) == 1 and "official trailer" in bot_api.sent(99)[0]
    assert not bot_api.calls_to("getUpdates")
    again = subprocess.run([sys.executable, "-m", "bot", "scan"], env=env, capture_output=True, text=True,
                           timeout=60)
    assert again.returncode == 0 and again.stdout == ""
    assert len(bot_api.sent(99)) == 1


def test_scan_exits_1_when_no_source_answers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "sources.yaml"
    write_sources(path, "http://127.0.0.1:1/feed.xml")
    with path.open("a", encoding="utf-8") as fh:
        fh.write("  - name: Other\n    url: http://127.0.0.1:2/feed.xml\n")
    assert main(["scan", "--sources", str(path), "--state", str(tmp_path / "state")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[:3] == ["newsbot: source 'Local news' failed: connection refused",
                       "newsbot: source 'Other' failed: connection refused",
                       "newsbot: no source answered"]
    assert err[3].startswith("scan: 2 sources: 0 fetched, 0 unchanged, 2 failed; 0 new items, 0 alerts (")
    assert len(err) == 4


@pytest.mark.parametrize("command", ["scan", "status", "sources list"])
def test_unusable_state_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str) -> None:
    write_sources(tmp_path / "sources.yaml", "http://127.0.0.1:1/feed.xml")
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "newsbot.db").write_bytes(b"this is not a database" * 100)
    code = main([*command.split(), "--sources", str(tmp_path / "sources.yaml"), "--state", str(tmp_path / "state")])
    assert code in (1, 2)
    err = capsys.readouterr().err
    assert err.startswith("newsbot: ") and "not a database" in err and "Traceback" not in err


def test_state_path_that_is_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_sources(tmp_path / "sources.yaml", "http://127.0.0.1:1/feed.xml")
    (tmp_path / "state").write_text("a file")
    assert main(["scan", "--sources", str(tmp_path / "sources.yaml"), "--state", str(tmp_path / "state")]) == 2
    assert capsys.readouterr().err.startswith("newsbot: state: ")


def test_classify_answers_every_line(tmp_path: Path) -> None:
    write_sources(tmp_path / "sources.yaml", "http://127.0.0.1:9/feed.xml")
    proc = subprocess.run([sys.executable, "-m", "bot", "classify"], input='{"title": "x"}\n\n{"title": "y"}\n',
                          env=_env(tmp_path), capture_output=True, text=True, timeout=60, check=True)
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(rows) == 3 and "error" in rows[1] and rows[2]["alert"] is False
