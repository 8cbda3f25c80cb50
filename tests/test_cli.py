"""The command line as a user runs it: scan, classify, status, and `run` on the console."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.cli.main import main
from bot.models import Decision, Item
from bot.pipeline import Finding
from bot.scan import print_finding
from bot.store.records import Event
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


def test_scan_prints_the_kind_a_finding_is_recorded_as(tmp_path: Path) -> None:
    """A renewal report told after the season's renewal may be recorded (and sent) as the date it also
    tells: `scan` says what was recorded, in both forms."""
    item = Item(title="All of Us Are Dead season 2 returns on 3 October", url="https://news.example/a", published=NOW)
    decision = Decision(alert=True, kind="renewal", watch="aouad-s2", confidence=0.9, evidence=item.title,
                        milestone="renewal", next_kind="release_date", next_milestone="release_date")
    event = Event(id=7, watch="aouad-s2", kind="release_date", milestone="release_date", first_seen=NOW,
                  published=NOW, title=item.title, url=item.url, source="s", evidence=item.title, reports=1,
                  alerted=True)
    finding = Finding(source="s", item=item, decision=decision, event=event, new_event=True, alerted=True, queued=1)
    text, lines = io.StringIO(), io.StringIO()
    print_finding(finding, text)
    print_finding(finding, lines, as_json=True)
    assert text.getvalue().startswith("[release_date] aouad-s2 NEW: ")
    row = json.loads(lines.getvalue())
    assert (row["kind"], row["milestone"]) == ("release_date", "release_date")


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


def test_classify_json_lines_in_json_lines_out(tmp_path: Path) -> None:
    write_sources(tmp_path / "sources.yaml", "http://127.0.0.1:9/feed.xml")
    lines = [
        json.dumps({"title": TRAILER[0], "summary": TRAILER[1], "extra": 1}),
        "{this is not json",
        json.dumps({"title": SPECULATION[0]}),
        json.dumps(["a list"]),
        json.dumps({"title": "Cooking show returns", "published": "2026-01"}),
        "All of Us Are Dead renewed for season 2 by Netflix",
    ]
    proc = subprocess.run([sys.executable, "-m", "bot", "classify"], input="\n".join(lines) + "\n",
                          env=_env(tmp_path), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1  # two lines could not be judged; every line was answered
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(rows) == 6
    assert rows[0]["alert"] is True and rows[0]["kind"] == "trailer" and rows[0]["watch"] == "aouad-s2"
    assert rows[0]["title"] == TRAILER[0] and rows[0]["milestone"] == "trailer"
    assert 0 <= rows[0]["confidence"] <= 1 and rows[0]["evidence"]
    assert rows[1]["error"].startswith("line 2: not valid JSON") and rows[3]["error"].startswith("line 4: ")
    assert rows[2]["alert"] is False and rows[2]["kind"] is None and rows[2]["milestone"] is None
    assert rows[4]["alert"] is False
    assert rows[5]["alert"] is True and rows[5]["kind"] == "renewal"  # a plain headline among JSON
    assert rows[0]["confidence"] > rows[2]["confidence"]
    assert not (tmp_path / "state").exists()


def test_classify_a_headline_given_as_an_argument(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_sources(tmp_path / "sources.yaml", "http://127.0.0.1:9/feed.xml")
    sources = ["--sources", str(tmp_path / "sources.yaml")]
    headline = "Netflix drops the first teaser for All of Us Are Dead season 2"
    assert main(["classify", headline, SPECULATION[0], *sources]) == 0
    alert, quiet = capsys.readouterr().out.splitlines()
    assert alert.startswith("ALERT trailer (teaser)") and alert.endswith(headline)
    assert quiet.startswith("no alert") and quiet.endswith(SPECULATION[0])
    assert main(["classify", "--json", headline, *sources]) == 0
    row = json.loads(capsys.readouterr().out)
    assert (row["title"], row["kind"], row["milestone"]) == (headline, "trailer", "teaser")


def test_classify_a_headline_that_starts_with_a_bracketed_tag(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    """Korean and other news often open with a tag ("[단독]", "[Exclusive]"): that is a headline, not JSON,
    as an argument and as the first line on stdin."""
    write_sources(tmp_path / "sources.yaml", "http://127.0.0.1:9/feed.xml")
    headline = "[Exclusive] All of Us Are Dead season 2 officially begins filming"
    korean = "[단독] '지금 우리 학교는' 시즌2 촬영 시작"
    assert main(["classify", headline, korean, "--sources", str(tmp_path / "sources.yaml")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[:2] for line in lines] == [["ALERT", "production"]] * 2, lines
    proc = subprocess.run([sys.executable, "-m", "bot", "classify"], input=f"{korean}\n{headline}\n",
                          env=_env(tmp_path), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    out = proc.stdout.splitlines()
    assert len(out) == 2 and all(line.startswith("ALERT production") for line in out), out


def test_classify_plain_lines_on_stdin(tmp_path: Path) -> None:
    write_sources(tmp_path / "sources.yaml", "http://127.0.0.1:9/feed.xml")
    text = ("All of Us Are Dead season 2 officially begins filming\n"
            "\n"
            f"{SPECULATION[0]}\n"
            + json.dumps({"title": "All of Us Are Dead renewed for season 2"}) + "\n")
    proc = subprocess.run([sys.executable, "-m", "bot", "classify"], input=text, env=_env(tmp_path),
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    out = proc.stdout.splitlines()
    assert len(out) == 3
    assert out[0].startswith("ALERT production (filming start)") and "begins filming" in out[0]
    assert out[1].startswith("no alert") and "Will there be" in out[1]
    assert out[2].startswith("ALERT renewal  ") and out[2].endswith("renewed for season 2")
    assert proc.stderr.splitlines() == ["newsbot: classify: line 2: empty",
                                        "newsbot: classify: 1 of 4 could not be judged"]
    good = subprocess.run([sys.executable, "-m", "bot", "classify"], input=SPECULATION[0] + "\n",
                          env=_env(tmp_path), capture_output=True, text=True, timeout=60)
    assert good.returncode == 0 and good.stdout.startswith("no alert") and good.stderr == ""


KNOWN_MONTH = ("    known:\n"
               "      - {kind: production, milestone: delay, date: 2024-05, source: Korean press, title: Delayed}\n")


def _scanned(tmp_path: Path, news_site: NewsSite, interval: str = "1s") -> list[str]:
    """A sources file with a month-only known event, scanned once; returns the common flags."""
    news_site.set("/feed.xml", rss([TRAILER]))
    path = tmp_path / "sources.yaml"
    write_sources(path, news_site.url("/feed.xml"))
    path.write_text(path.read_text(encoding="utf-8").replace("    aliases:", KNOWN_MONTH + "    aliases:")
                    .replace("interval: 1s", f"interval: {interval}"), encoding="utf-8")
    common = ["--sources", str(path), "--state", str(tmp_path / "state")]
    assert main(["scan", *common]) == 0
    return common


def test_status_after_scan(tmp_path: Path, news_site: NewsSite, capsys: pytest.CaptureFixture[str]) -> None:
    common = _scanned(tmp_path, news_site, interval="2h")
    capsys.readouterr()
    assert main(["status", *common]) == 0
    out = capsys.readouterr().out
    assert "Local news: ok, last success 0 s ago, 1 item seen, next fetch in 1 h" in out
    cycle = next(line for line in out.splitlines() if line.startswith("Last cycle:"))
    assert "1 source, 1 fetched, 0 unchanged, 0 failed, 1 new item, 1 finding, 1 new event" in cycle
    hour = next(line for line in out.splitlines() if line.startswith("Last hour:"))
    assert hour.startswith("Last hour: 1 round: 1 source, 1 fetched, 0 unchanged")
    assert re.search(r"; elapsed \d+\.\d\d s$", cycle) and "_" not in cycle
    assert "  May 2024: Production (delay): Delayed — Korean press, known" in out
    assert ": Trailer: " in out and "Trailer (trailer)" not in out and "official trailer" in out and "1 report" in out


def test_status_json(tmp_path: Path, news_site: NewsSite, capsys: pytest.CaptureFixture[str]) -> None:
    common = _scanned(tmp_path, news_site)
    capsys.readouterr()
    assert main(["status", "--json", *common]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["last_cycle"]["fetched"] == 1 and status["outbox"] == {"pending": 0, "sent": 0}
    assert status["last_hour"]["rounds"] == 1 and status["last_hour"]["fetched"] == 1
    (source,) = status["sources"]
    assert source["name"] == "Local news" and source["health"] == "ok" and source["items_seen"] == 1
    assert datetime.fromisoformat(source["next_fetch"]) > datetime.fromisoformat(source["last_attempt"])
    events = status["watches"][0]["events"]
    assert [(e["kind"], e["date"]) for e in events][0] == ("production", "2024-05")
    assert events[1]["kind"] == "trailer" and events[1]["alerted"] is True


def _without_write_access() -> list[str]:
    """A command prefix that runs a process unable to write where the file modes forbid it (root
    ignores modes unless it gives up CAP_DAC_OVERRIDE); skips the test where neither is possible."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv")
    caps = "-dac_override,-dac_read_search"
    return ["setpriv", f"--inh-caps={caps}", f"--bounding-set={caps}"]


@pytest.mark.parametrize("command", [["status"], ["sources", "list"]])
def test_reports_work_on_a_state_that_cannot_be_written(tmp_path: Path, news_site: NewsSite,
                                                        command: list[str]) -> None:
    prefix = _without_write_access()
    common = _scanned(tmp_path, news_site)
    state = tmp_path / "state"
    before = sorted(p.name for p in state.iterdir())
    for path in state.iterdir():
        path.chmod(0o444)
    state.chmod(0o555)
    try:
        proc = subprocess.run([*prefix, sys.executable, "-m", "bot", *command, *common], env=_env(tmp_path),
                              capture_output=True, text=True, timeout=60)
    finally:
        state.chmod(0o755)
    assert proc.returncode == 0, proc.stderr
    assert "Local news" in proc.stdout and proc.stderr == ""
    assert sorted(p.name for p in state.iterdir()) == before


def test_run_on_console_without_token(tmp_path: Path, news_site: NewsSite,
                                      capsys: pytest.CaptureFixture[str]) -> None:
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

    # the console is where alerts went, not a subscriber: status counts real chats only
    common = ["--sources", str(tmp_path / "sources.yaml"), "--state", str(tmp_path / "state")]
    assert main(["status", *common]) == 0
    report = capsys.readouterr().out
    assert "Outbox: 0 pending, 1 sent" in report and "Subscribers: 0 active of 0" in report
    assert main(["status", "--json", *common]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["subscribers"] == {"active": 0, "total": 0} and status["outbox"] == {"pending": 0, "sent": 1}


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



# Two reports of one release date, each too unsure to alert alone (0.5 to 0.85 with the shipped weights).
UNSURE = ("All of Us Are Dead season 2 premiere date revealed", "", NOW)
UNSURE_TOO = ("All of Us Are Dead season 2 release date announced", "", NOW)


def test_an_unsure_report_waits_for_a_second_one_before_it_alerts(tmp_path: Path, news_site: NewsSite,
                                                                   bot_api: FakeBotAPI) -> None:
    from bot.store.store import State

    with State.open(tmp_path / "state") as state:
        state.subscribe(99, "private", "fan", now=NOW)
    news_site.set("/feed.xml", rss([UNSURE]))
    write_sources(tmp_path / "sources.yaml", news_site.url("/feed.xml"))
    env = _env(tmp_path) | {"TELEGRAM_BOT_TOKEN": "123:TEST", "TELEGRAM_API_URL": bot_api.base_url}

    def scan() -> str:
        proc = subprocess.run([sys.executable, "-m", "bot", "scan"], env=env, capture_output=True, text=True,
                              timeout=60)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    first = scan()
    assert "[release_date] aouad-s2 waiting for a second report: All of Us Are Dead season 2 premiere" in first, first
    assert bot_api.sent(99) == []
    status = subprocess.run([sys.executable, "-m", "bot", "status"], env=env, capture_output=True, text=True,
                            timeout=60)
    assert "  waiting for a second report: Release date: All of Us Are Dead season 2 premiere" in status.stdout, \
        status.stdout
    assert "no known events" in status.stdout
    as_json = subprocess.run([sys.executable, "-m", "bot", "status", "--json"], env=env, capture_output=True,
                             text=True, timeout=60)
    watch = json.loads(as_json.stdout)["watches"][0]
    assert watch["events"] == [] and [w["kind"] for w in watch["waiting"]] == ["release_date"]
    news_site.set("/feed.xml", rss([UNSURE, UNSURE_TOO]))
    second = scan()
    assert "[release_date] aouad-s2 NEW: All of Us Are Dead season 2 release date announced" in second, second
    sent = bot_api.sent(99)
    assert len(sent) == 1 and "season 2 premiere date revealed" in sent[0], sent  # the surer report
    status = subprocess.run([sys.executable, "-m", "bot", "status"], env=env, capture_output=True, text=True,
                            timeout=60)
    assert "waiting for a second report" not in status.stdout and "2 reports" in status.stdout, status.stdout



def test_sure_confidence_setting_sends_an_unsure_alert_at_once(tmp_path: Path, news_site: NewsSite,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    news_site.set("/feed.xml", rss([UNSURE]))
    path = tmp_path / "sources.yaml"
    write_sources(path, news_site.url("/feed.xml"))
    with path.open("a", encoding="utf-8") as fh:
        fh.write("settings:\n  sure_confidence: 0.5\n")
    assert main(["scan", "--sources", str(path), "--state", str(tmp_path / "state")]) == 0
    assert "[release_date] aouad-s2 NEW: All of Us Are Dead season 2 premiere" in capsys.readouterr().out


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
                          env=_env(tmp_path), capture_output=True, text=True, timeout=60)
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(rows) == 3 and rows[1] == {"error": "line 2: empty"} and rows[2]["alert"] is False
    assert proc.returncode == 1
