"""The sources file: validation messages name file, line and key; edits keep comments."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import bot.config
import bot.daemon
from bot.cli.main import main
from bot.config import (
    ConfigError,
    add_source_to_file,
    load_config,
    parse_interval,
    remove_source_from_file,
)
from bot.daemon import Daemon, RunOptions
from bot.models import Selectors, Source
from tests.newssite import NewsSite
from tests.test_e2e import clean_env, rss, wait_for

GOOD = """\
# my watches
watches:
  - id: lk-s3
    title: The Lantern Keepers
    season: 3
    aliases: [등불지기]   # Korean title
sources:
  # the first source
  - name: Local
    url: http://127.0.0.1:9/feed.xml
    interval: 15m
"""

W = "watches:\n  - {id: a, title: A, season: 2}\n"

ERRORS = [
    ("watches: [\n", ":2: YAML syntax error: the file ends inside a '[...]' or '{...}'"),
    ("watches:\n  - {id: a, title: A\n  - b\n",
     ":2: YAML syntax error: the '{' opened on this line is not closed by a '}' (or its items lack a ',')"),
    ("watches:\n  - id: a\n    title: 'A\n  season: 2\n", ":3: title: a quote opened on this line is never closed"),
    ("watches:\n  - id: a\n    title: A\n", ":2: watches[0].season: missing required key"),
    ("watches:\n  - id: a\n    title: A\n    season: two\n", ":4: watches[0].season: expected a positive"),
    ("watches:\n  - id: a\n    title: A\n    season: 2\n    colour: red\n",
     ":5: watches[0].colour: unknown key"),
    ("watches:\n  - {id: a, title: A, season: 2}\nsources:\n  - name: x\n    url: ftp://x\n",
     ":5: sources[0].url: 'ftp://x' is not an http(s) URL"),
    ("watches:\n  - {id: a, title: A, season: 2}\nsources:\n  - name: x\n    url: http://x\n"
     "    interval: soon\n", ":6: sources[0].interval: 'soon' is not a duration"),
    ("watches:\n  - {id: a, title: A, season: 2}\nsources:\n  - name: x\n    url: http://x\n"
     "    kind: html\n", ":4: sources[0].selectors: a source of kind html needs CSS selectors"),
    ("watches:\n  - {id: a, title: A, season: 2}\nsources:\n  - {name: x, url: 'http://x'}\n"
     "  - {name: X, url: 'http://y'}\n", ":5: sources[1].name: duplicate name 'X'"),
    ("watches:\n  - {id: a, title: A, season: 2}\nsources:\n  - name: x\n    url: http://x\n"
     "    allow_private: true\n    public_only: true\n",
     ":7: sources[0].public_only: a source cannot be both allow_private and public_only"),
    ("sources: []\n", "watches: at least one watch is needed"),
    ("", "the file is empty"),
    ("watches:\n  - {id: a, title: A, season: 2}\nsettings:\n  concurrency: 0\n",
     ":4: settings.concurrency: expected a positive whole number"),
    ("watches:\n  - {id: a, title: A, season: 2, known: [{kind: gossip, date: 2024}]}\n",
     "watches[0].known[0].kind: 'gossip' is not one of"),
    ("watches:\n  - id: a\n    title: A\n    season: 2\n    id: b\n",
     ":5: id: this key appears twice in the same entry: keep one"),
    ("watches:\n  - {id: a, title: A, season: !!str 2}\n", ":2: watches[0].season: expected a positive"),
    (W + "sources:\n  - name: x\n    url: http://x\n    intervall: 5m\n",
     ":6: sources[0].intervall: unknown key (did you mean 'interval'?)"),
    (W + "sources:\n  - name: x\n    url: example.com/feed\n",
     ":5: sources[0].url: 'example.com/feed' is not an http(s) URL (did you mean 'https://example.com/feed'?)"),
    (W + "sources:\n  - name: x\n    url: https://x.example:99999/feed\n", ":5: sources[0].url: "),
    (W + "sources:\n  - name: x\n    url: http://x\n    interval: 5 mins please\n",
     ":6: sources[0].interval: '5 mins please' is not a duration: use seconds (900), or a number and a unit"),
    (W + "sources:\n  - name: x\n    url: http://x\n    interval: 5 fortnights\n",
     "unknown unit 'fortnights'"),
    ("watches:\n  - {id: a, title: A, season: 2, known: [{kind: trailer, milestone: trailer, date: 2024}]}\n"
     "  - {id: b, title: B, season: 2, known: [{kind: renewal, milestone: teaser, date: 2024}]}\n",
     ":3: watches[1].known[0].milestone: 'teaser' is not a milestone of renewal: use renewal"),
    ("watches:\n  - {id: a, title: A, season: 2, known: [{kind: renewl, date: 2024}]}\n",
     "'renewl' is not one of renewal, trailer, release_date, production (did you mean 'renewal'?)"),
    ("watches:\n  - {id: a, title: A, season: 2, exclude: {x: 1}}\n", ":2: watches[0].exclude: expected a list"),
    ("watches:\n  - {id: a, title: '???', season: 2}\n",
     ":2: watches[0].title: '???' has no letter or digit: a name is matched by its words"),
    ("watches:\n  - {id: a, title: A, season: 2, aliases: [B, '★']}\n", ":2: watches[0].aliases: '★' has no letter"),
    ("watches:\n  - id: a\n    title: A\n   season: 2\n",
     ":4: season: indented 3 spaces, which lines up with nothing above it (the line above is indented 4)"),
    ("watches:\n  - id: a\n    title: A\n    season: 2\n  oops: 1\n",
     ":5: oops: at the indentation of the list on line 2, whose items start with '- '"),
    ("watches:\n  - id: a\n    title: A\n    season: 2\n     x: 1\n",
     ":5: x: a 'key: value' cannot start here: is the line indented deeper than the key above it"),
    ("watches:\n- id: a\n  title: A\n\tseason: 2\n", ":4: season: a tab in the indentation"),
    ("watches:\n  - id: a\n    aliases:\n    - x\n   - y\n", ":5: indentation: indented 3 spaces"),
    ("watches:\n  - id: a\n    title A\n    season: 2\n", ":3: YAML syntax error: expected 'key: value' on this line"),
    ("watches: *nope\n", ":1: watches: found undefined alias 'nope': a *name needs an &name"),
    ("x: &x [*x]\nwatches:\n  - {id: a, title: A, season: 2}\n", ":1: YAML alias: an entry that contains itself"),
    ("watches: " + "[" * 100 + "]" * 100 + "\n", ": nested more than 64 levels deep"),
]


@pytest.mark.parametrize(("text", "expected"), ERRORS)
def test_errors_name_file_line_and_key(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value).startswith(str(path))
    assert expected in str(err.value)


def test_cli_reports_config_error_with_exit_code_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("watches:\n  - id: a\n    title: A\n    season: -1\n", encoding="utf-8")
    with pytest.raises(SystemExit) as exit_info:
        main(["scan", "--sources", str(path), "--state", str(tmp_path / "state")])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert f"{path}:4: watches[0].season" in err
    assert "Traceback" not in err


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load_config(tmp_path / "nope.yaml")


def test_good_file(tmp_path: Path) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text(GOOD, encoding="utf-8")
    config = load_config(path)
    assert config.watches[0].id == "lk-s3"
    assert config.watches[0].aliases == ("등불지기",)
    assert config.sources[0].interval == 900
    assert config.sources[0].kind == "feed"


@pytest.mark.parametrize(("value", "seconds"), [
    (30, 30), ("30", 30), ("30s", 30), ("30 sec", 30), ("30 seconds", 30), ("1 second", 1), ("15m", 900),
    ("15min", 900), ("15 m", 900), ("5 minutes", 300), ("1 minute", 60), ("15 MIN", 900), ("2h", 7200),
    ("2 hr", 7200), ("2 hours", 7200), ("1 hour", 3600), ("1d", 86400), ("1 day", 86400), ("2 days", 172800),
    ("1.5h", 5400), ("1h30m", 5400), ("1h 30m", 5400), ("1 hour 30 minutes", 5400)])
def test_intervals(value: object, seconds: float) -> None:
    assert parse_interval(value) == seconds


@pytest.mark.parametrize("value", ["0s", "fast", True, -5, float("nan"), float("inf"), "5 fortnights", "m5",
                                   "1:30", "", "15 m m", [5]])
def test_bad_intervals(value: object) -> None:
    with pytest.raises(ValueError, match=r"duration|unit|at least|empty"):
        parse_interval(value)


def test_known_dates_milestones_languages_and_exclude_are_read(tmp_path: Path) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text(
        "watches:\n  - id: a\n    title: A\n    season: 2\n    exclude: [A Spin-off]\n    known:\n"
        "      - {kind: trailer, milestone: teaser, date: 2024-05-01}\n      - {kind: production, date: 2024-5}\n"
        "      - {kind: production, milestone: filming_wrap, date: '2024'}\n"
        "sources:\n  - {name: a, url: 'http://127.0.0.1:9/a', language: KO}\n"
        "  - {name: b, url: 'http://127.0.0.1:9/b', language: pt-BR}\n", encoding="utf-8")
    config = load_config(path)
    watch = config.watches[0]
    assert watch.exclude == ("A Spin-off",)
    assert [(k.milestone, k.date) for k in watch.known] == [
        ("teaser", "2024-05-01"), ("production", "2024-5"), ("filming_wrap", "2024")]
    assert [s.language for s in config.sources] == ["ko", "pt-BR"]


# What the issue found crashing or silently accepted, each through the real command line.
CLI_ERRORS = [
    ("watches:\n  - id: a\n    title: A\n    season: 2\n    known:\n      - kind: renewal\n"
     "        date: 2025-13-45\n", ":7: watches[0].known[0].date: '2025-13-45' is not a date on the calendar"),
    ("watches:\n  - id: a\n    title: A\n    season: 2\n    known:\n      - {kind: renewal, date: 2025-02-30}\n",
     ":6: watches[0].known[0].date: '2025-02-30' is not a date on the calendar (day is out of range for month)"),
    ("watches:\n  - id: a\n    title: A\n    season: 2\n    known:\n      - kind: trailer\n"
     "        milestone: tralier\n        date: 2024-05-01\n",
     ":7: watches[0].known[0].milestone: 'tralier' is not a milestone of trailer (did you mean 'trailer'?): "
     "use trailer, teaser"),
    ("watches:\n  - id: a\n    title: A\n    season: 2\n    known:\n      - kind: renewal\n"
     "        date: yesterday\n",
     ":7: watches[0].known[0].date: 'yesterday' is not a date: use YYYY-MM-DD, YYYY-MM or YYYY"),
    (W + "sources:\n  - name: x\n    url: http://127.0.0.1:9/feed\n    language: english\n",
     ":6: sources[0].language: 'english' is not a language code (did you mean 'en'?): use a two-letter ISO 639-1"),
    (W + "sources:\n  - name: x\n    url: http://127.0.0.1:9/my feed.xml\n",
     ":5: sources[0].url: 'http://127.0.0.1:9/my feed.xml' contains a space: write a space in a URL as %20"),
    (W + "sources:\n  - name: x\n    url: http://127.0.0.1:9/feed\n  - name: y\n    url: HTTP://127.0.0.1:9/feed/\n",
     ":7: sources[1].url: the same URL as source 'x' (line 5): keep one of them"),
]


def run_cli(tmp_path: Path, text: str | bytes, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """`newsbot sources list` on a sources file with this text, as a user runs it."""
    path = tmp_path / "sources.yaml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return subprocess.run([sys.executable, "-m", "bot", "sources", "list"], capture_output=True, text=True,
                          env=clean_env(NEWSBOT_SOURCES=str(path), NEWSBOT_STATE_DIR=str(tmp_path / "state")),
                          cwd=tmp_path, timeout=timeout, check=False)


@pytest.mark.parametrize(("text", "expected"), CLI_ERRORS)
def test_cli_gives_one_line_and_exit_code_2(tmp_path: Path, text: str, expected: str) -> None:
    result = run_cli(tmp_path, text)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(f"newsbot: {tmp_path / 'sources.yaml'}{expected}"), result.stderr
    assert result.stderr.count("\n") == 1, result.stderr


def alias_bomb(levels: int = 9) -> str:
    """The YAML billion laughs where a value is read (each anchor repeats the one before ten times):
    printing this interval in an error once took gigabytes."""
    items = ["      - &l0 [" + ", ".join(["lol"] * 10) + "]"]
    items += [f"      - &l{i} [" + ", ".join([f"*l{i - 1}"] * 10) + "]" for i in range(1, levels)]
    return W + "sources:\n  - name: x\n    url: http://127.0.0.1:9/feed\n    interval:\n" + "\n".join(items) + "\n"


def test_cli_refuses_an_alias_bomb_quickly(tmp_path: Path) -> None:
    result = run_cli(tmp_path, alias_bomb(), timeout=15)
    assert result.returncode == 2
    assert result.stderr == (f"newsbot: {tmp_path / 'sources.yaml'}:14: YAML aliases: repeating this entry through "
                             "aliases (*name) adds more than 10000 values; refused\n")


def test_a_few_aliases_are_fine(tmp_path: Path) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text(W + "sources:\n  - name: a\n    url: http://127.0.0.1:9/a\n    kind: html\n"
                    "    selectors: &sel {item: li, title: a}\n"
                    "  - {name: b, url: 'http://127.0.0.1:9/b', kind: html, selectors: *sel}\n", encoding="utf-8")
    assert [s.selectors for s in load_config(path).sources] == [Selectors(item="li", title="a")] * 2


def test_cli_refuses_a_file_over_the_size_limit(tmp_path: Path) -> None:
    text = W + "# " + "x" * bot.config.MAX_FILE_BYTES + "\n"
    result = run_cli(tmp_path, text, timeout=15)
    assert result.returncode == 2
    assert result.stderr == f"newsbot: {tmp_path / 'sources.yaml'}: larger than 2 MB, too large for a sources file\n"


def test_cli_refuses_a_file_that_is_not_utf8(tmp_path: Path) -> None:
    result = run_cli(tmp_path, W.encode() + b"# caf\xe9\n")
    assert result.returncode == 2
    assert result.stderr == f"newsbot: {tmp_path / 'sources.yaml'}:3: not UTF-8 text (save the file as UTF-8)\n"


def test_shipped_sources_file_is_valid() -> None:
    config = load_config(Path(__file__).parent.parent / "sources.yaml")
    assert any(w.season == 2 and "지금 우리 학교는" in w.aliases for w in config.watches)
    assert len(config.sources) >= 8


def test_add_and_remove_keep_comments_and_order(tmp_path: Path) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text(GOOD, encoding="utf-8")
    add_source_to_file(path, Source(name="New", url="http://127.0.0.1:9/new.xml", interval=7200))
    text = path.read_text(encoding="utf-8")
    assert "# my watches" in text and "# the first source" in text and "# Korean title" in text
    assert text.index("name: Local") < text.index("name: New")
    assert "interval: 2h" in text
    assert [s.name for s in load_config(path).sources] == ["Local", "New"]
    assert remove_source_from_file(path, "local")
    assert [s.name for s in load_config(path).sources] == ["New"]
    assert "# my watches" in path.read_text(encoding="utf-8")
    assert not remove_source_from_file(path, "Local")


def test_address_flags_are_written_and_read_back(tmp_path: Path) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text(GOOD, encoding="utf-8")
    add_source_to_file(path, Source(name="Wire", url="https://wire.example/feed.xml", public_only=True))
    add_source_to_file(path, Source(name="Lan", url="http://10.0.0.5/feed.xml", allow_private=True))
    text = path.read_text(encoding="utf-8")
    assert text.count("public_only: true") == 1 and text.count("allow_private: true") == 1
    flags = {s.name: (s.public_only, s.allow_private) for s in load_config(path).sources}
    assert flags == {"Local": (False, False), "Wire": (True, False), "Lan": (False, True)}


def test_add_refuses_a_duplicate_name(tmp_path: Path) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text(GOOD, encoding="utf-8")
    with pytest.raises(ConfigError, match="duplicate name"):
        add_source_to_file(path, Source(name="LOCAL", url="http://127.0.0.1:9/other.xml"))
    assert path.read_text(encoding="utf-8") == GOOD


def test_reading_never_needs_the_round_trip_loader(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def slow(*args: object) -> None:
        raise AssertionError("the round-trip loader read a valid file")

    monkeypatch.setattr(bot.config, "_load_round_trip", slow)
    path = tmp_path / "sources.yaml"
    path.write_text(GOOD, encoding="utf-8")
    assert load_config(path).sources[0].name == "Local"
    assert load_config(Path(__file__).parent.parent / "sources.yaml").watches


SCALARS = ["017", "0o17", "0x1F", "0b101", "1_000", "-5", "+3", "1.5", "1e3", ".5", "-.inf", ".NaN", "1:30",
           "yes", "on", "no", "True", "FALSE", "~", "null", "2022-06-07", "2024-05-01 10:00:00",
           "2024-05-01T10:00:00Z", "2025-02-30",
           "2025-13-45", "=", "'x'", '"15m"', "15m", "[1, 2]", "{a: 1}", "!!str 5", "!!binary aGk=",
           "&a 5", "2024", "3.", ""]


def _outcome(path: Path) -> object:
    try:
        return load_config(path)
    except ConfigError as exc:
        return str(exc)


FIELDS = [
    "watches:\n  - {{id: a, title: {v}, season: 2}}\n",
    "watches:\n  - id: a\n    title: A\n    season: {v}\n",
    "watches:\n  - {{id: a, title: A, season: 2, aliases: [{v}]}}\n",
    "watches:\n  - {{id: a, title: A, season: 2, known: [{{kind: renewal, date: {v}}}]}}\n",
    "watches:\n  - {{id: a, title: A, season: 2}}\nsources:\n  - name: {v}\n    url: http://127.0.0.1:9/f\n",
    "watches:\n  - {{id: a, title: A, season: 2}}\nsources:\n  - {{name: n, url: 'http://127.0.0.1:9/f', "
    "interval: {v}}}\n",
    "watches:\n  - {{id: a, title: A, season: 2}}\nsources:\n  - {{name: n, url: 'http://127.0.0.1:9/f', "
    "paused: {v}}}\n",
    "watches:\n  - {{id: a, title: A, season: 2}}\nsettings:\n  concurrency: {v}\n",
    "watches:\n  - {{id: a, title: A, season: 2}}\nsettings:\n  connect_timeout: {v}\n",
]


@pytest.mark.parametrize("field", FIELDS)
@pytest.mark.parametrize("value", SCALARS)
def test_the_fast_and_the_round_trip_loader_read_the_same(tmp_path: Path, value: str, field: str,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text(field.format(v=value), encoding="utf-8")
    fast = _outcome(path)

    def no_fast(text: str) -> object:
        raise bot.config._Fallback("test")

    monkeypatch.setattr(bot.config, "_load_fast", no_fast)
    assert _outcome(path) == fast


def test_the_daemon_keeps_its_configuration_on_a_bad_reload(tmp_path: Path, news_site: NewsSite) -> None:
    news_site.set("/a", rss([]))
    path = tmp_path / "sources.yaml"
    good = W + f"sources:\n  - {{name: a, url: '{news_site.url('/a')}', interval: 1s}}\n"
    path.write_text(good, encoding="utf-8")
    log_path = tmp_path / "log.txt"
    with log_path.open("w") as log_file:
        proc = subprocess.Popen([sys.executable, "-m", "bot", "run"], cwd=tmp_path, stdout=subprocess.DEVNULL,
                                stderr=log_file, env=clean_env(NEWSBOT_SOURCES=str(path),
                                                               NEWSBOT_STATE_DIR=str(tmp_path / "state")))
        try:
            wait_for(lambda: news_site.hits("/a") >= 1, what="the first fetch")
            path.write_text(good.replace("season: 2}", "season: 2, known: [{kind: renewal, date: 2025-02-30}]}"),
                            encoding="utf-8")
            wait_for(lambda: "refused" in log_path.read_text(), what="the refused file change")

            before = path.stat()
            path.write_text(alias_bomb(), encoding="utf-8")
            os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # for SIGHUP only, not the file watch
            proc.send_signal(signal.SIGHUP)
            wait_for(lambda: log_path.read_text().count("refused") >= 2, what="the refused alias bomb")
            hits = news_site.hits("/a")
            wait_for(lambda: news_site.hits("/a") > hits, what="a fetch with the old configuration")

            path.write_text(good.replace("interval: 1s", "interval: 2s"), encoding="utf-8")
            proc.send_signal(signal.SIGHUP)
            wait_for(lambda: "reloaded (SIGHUP)" in log_path.read_text(), what="the good reload")
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(20)
    log = log_path.read_text()
    assert proc.returncode == 0, log
    assert "Traceback" not in log
    refused = [line for line in log.splitlines() if "refused" in line]
    assert len(refused) == 2, log
    assert refused[0].endswith(f"reload (sources file changed) refused, keeping the running configuration: "
                               f"{path}:2: watches[0].known[0].date: '2025-02-30' is not a date on the calendar "
                               "(day is out of range for month)")
    assert refused[1].endswith(f"reload (SIGHUP) refused, keeping the running configuration: {path}:14: "
                               "YAML aliases: repeating this entry through aliases (*name) adds more than 10000 "
                               "values; refused")


def test_a_reload_reads_the_file_off_the_event_loop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text(GOOD, encoding="utf-8")
    threads: list[threading.Thread] = []
    release = threading.Event()

    def failing_load(p: Path) -> object:
        threads.append(threading.current_thread())
        release.wait(10)
        raise MemoryError("out of memory")

    async def scenario() -> None:
        daemon = Daemon(RunOptions(load_config(path), path, tmp_path / "state"))
        before = daemon.config
        monkeypatch.setattr(bot.daemon, "load_config", failing_load)
        try:
            daemon.reload("SIGHUP")
            async with asyncio.timeout(10):
                while not threads:  # the loop keeps turning while the file is read
                    await asyncio.sleep(0.01)
            release.set()
            await asyncio.gather(*daemon._reloads)
            assert daemon.config is before
        finally:
            daemon.state.close()
            await daemon.fetcher.aclose()

    asyncio.run(scenario())
    assert threads and threads[0] is not threading.main_thread()
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == [
        "reload (SIGHUP) failed, keeping the running configuration: MemoryError: out of memory"]


_WATCH = "watches:\n  - {id: w, title: The Lantern Keepers, season: 3}\n"


@pytest.mark.parametrize(("text", "after_remove"), [
    (_WATCH + "sources:\n  - name: A\n    url: https://a.example/feed\n  # - name: Old\n  #   url: https://old.example/feed\n"
     "  - name: B\n    url: https://b.example/feed\n\n# settings follow\nsettings:\n  per_host: 2\n",
     _WATCH + "sources:\n  - name: A\n    url: https://a.example/feed\n  # - name: Old\n  #   url: https://old.example/feed\n"
     "\n# settings follow\nsettings:\n  per_host: 2\n"),
    (_WATCH + "sources:\n  - {name: A, url: 'https://a.example/feed'}\n  - name: B\n    url: https://b.example/feed\n"
     "# the end\nsettings: {concurrency: 8}\n",
     _WATCH + "sources:\n  - {name: A, url: 'https://a.example/feed'}\n# the end\nsettings: {concurrency: 8}\n"),
    (_WATCH + "sources:\n  - name: B\n    url: https://b.example/feed\n\n# settings:\n#   concurrency: 8\n",
     _WATCH + "sources: []\n\n# settings:\n#   concurrency: 8\n"),
    (_WATCH + "sources:\n  - name: A\n    url: https://a.example/feed   # a's feed\n  - name: B\n    url: https://b.example/\n"
     "    kind: html\n    selectors: {item: article, title: h2}\n\n# end\n",
     _WATCH + "sources:\n  - name: A\n    url: https://a.example/feed   # a's feed\n\n# end\n"),
])
def test_what_follows_the_sources_list_stays_after_it(tmp_path: Path, text: str, after_remove: str) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text(text, encoding="utf-8")
    assert remove_source_from_file(path, "B")
    assert path.read_text(encoding="utf-8") == after_remove
    add_source_to_file(path, Source(name="C", url="https://c.example/feed"))
    added = path.read_text(encoding="utf-8")
    assert [s.name for s in load_config(path).sources][-1] == "C"
    tail = after_remove.split("https://", 1)[1] if "name: A" in after_remove else after_remove.split("sources: []\n")[1]
    last_comment = [line for line in tail.splitlines() if line.lstrip().startswith("#")][-1]
    assert added.index("name: C") < added.index(last_comment)
