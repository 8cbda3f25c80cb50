"""The command line's conventions: help for every command and option, init, check, -v/-q, and
options accepted only by the commands that use them."""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cli.main import main
from bot.cli.parser import build_parser
from tests.newssite import NewsSite
from tests.test_cli import TRAILER
from tests.test_e2e import clean_env, rss, wait_for, write_sources


def _parsers(parser: argparse.ArgumentParser, name: str = "newsbot") -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """Every parser under `parser`, itself included, with its command line."""
    yield name, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub_name, sub in action.choices.items():
                yield from _parsers(sub, f"{name} {sub_name}")


def test_every_command_and_option_has_help() -> None:
    missing = []
    seen = 0
    for name, parser in _parsers(build_parser()):
        seen += 1
        if not (parser.description or "").strip():
            missing.append(f"{name}: no description")
        for action in parser._actions:
            if isinstance(action, argparse._HelpAction | argparse._SubParsersAction):
                continue
            if not (action.help or "").strip() or action.help == argparse.SUPPRESS:
                missing.append(f"{name}: {'/'.join(action.option_strings) or action.dest}: no help")
    assert seen >= 14  # run scan classify status init check sources (list add remove check import export)
    assert missing == []


def test_top_level_help_names_the_token_console_mode_signals_and_exit_codes() -> None:
    proc = subprocess.run([sys.executable, "-m", "bot", "--help"], env=clean_env(), capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0
    for words in ("TELEGRAM_BOT_TOKEN", "console mode", "SIGHUP", "exit codes:", "130", "init", "check"):
        assert words in proc.stdout, words


@pytest.mark.parametrize("argv", [["classify", "--state", "x", "a headline"], ["sources", "export", "--state", "x"],
                                  ["check", "--state", "x"], ["init", "--state", "x"]])
def test_commands_that_ignore_the_state_refuse_state(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert "unrecognized arguments: --state" in capsys.readouterr().err


def test_init_writes_a_starter_that_check_accepts_and_never_overwrites(tmp_path: Path) -> None:
    env = clean_env()
    first = subprocess.run([sys.executable, "-m", "bot", "init"], cwd=tmp_path, env=env, capture_output=True,
                           text=True, timeout=60)
    assert first.returncode == 0, first.stderr
    written = (tmp_path / "sources.yaml").read_text(encoding="utf-8")
    assert written.startswith("# newsbot sources file") and written.count("  - name:") >= 3
    check = subprocess.run([sys.executable, "-m", "bot", "check"], cwd=tmp_path, env=env, capture_output=True,
                           text=True, timeout=60)
    assert check.returncode == 0 and check.stdout.strip() == "sources.yaml: ok (1 watch, 4 sources)"

    (tmp_path / "sources.yaml").write_text("# mine\n", encoding="utf-8")
    again = subprocess.run([sys.executable, "-m", "bot", "init"], cwd=tmp_path, env=env, capture_output=True,
                           text=True, timeout=60)
    assert again.returncode == 1 and "already exists" in again.stderr
    assert (tmp_path / "sources.yaml").read_text(encoding="utf-8") == "# mine\n"


def test_check_reports_a_broken_file_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "elsewhere.yaml"
    path.write_text("watches: []\nsources:\n  - name: A\n    url: https://a.example/feed\n    kind: fed\n",
                    encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "bot", "check", "--sources", str(path)], env=clean_env(),
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.startswith(f"newsbot: {path}:5: sources[0].kind") and len(proc.stderr.splitlines()) == 1


def test_verbose_scan_shows_the_warning_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "sources.yaml"
    write_sources(path, "http://127.0.0.1:1/feed.xml")
    common = ["--sources", str(path), "--state", str(tmp_path / "state")]
    assert main(["scan", *common]) == 1
    assert "WARNING" not in capsys.readouterr().err
    assert main(["scan", "-v", *common]) == 1
    assert "WARNING newsbot.pipeline: source 'Local news' failed (2 in a row)" in capsys.readouterr().err


def test_quiet_run_hides_the_info_lines(tmp_path: Path, news_site: NewsSite) -> None:
    news_site.set("/feed.xml", rss([TRAILER]))
    write_sources(tmp_path / "sources.yaml", news_site.url("/feed.xml"))
    env = clean_env(NEWSBOT_SOURCES=str(tmp_path / "sources.yaml"), NEWSBOT_STATE_DIR=str(tmp_path / "state"))
    proc = subprocess.Popen([sys.executable, "-m", "bot", "-q", "run"], env=env, cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: news_site.hits("/feed.xml") >= 2, what="two cycles")
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    assert "official trailer" in out  # the alert itself is still printed
    assert "INFO" not in err and "newsbot started" not in err, err


def test_the_starter_file_states_the_real_defaults() -> None:
    import re

    from bot.cli.starter import STARTER
    from bot.models import Settings

    stated = dict(re.findall(r"^#   (\w+): ([\d.]+)", STARTER, re.MULTILINE))
    assert stated, "the starter file lists its settings"
    defaults = Settings()
    for key, value in stated.items():
        assert float(value) == float(getattr(defaults, key)), key


@pytest.mark.parametrize("command", ["scan", "status", "run"])
@pytest.mark.parametrize("dangling", [False, True])
def test_a_state_path_that_is_not_a_directory_is_one_line(tmp_path: Path, command: str, dangling: bool,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    sources = tmp_path / "sources.yaml"
    sources.write_text("watches: [{id: lk-s3, title: The Lantern Keepers, season: 3}]\n", encoding="utf-8")
    not_a_dir = tmp_path / "labelled.jsonl"
    if dangling:
        not_a_dir.symlink_to(tmp_path / "gone")
    else:
        not_a_dir.write_text("{}\n", encoding="utf-8")
    assert main([command, "--sources", str(sources), "--state", str(not_a_dir)]) == 2
    err = capsys.readouterr().err
    assert err == f"newsbot: state: {not_a_dir} is not a directory (--state or NEWSBOT_STATE_DIR names " \
                  "the directory that holds newsbot.db)\n"
    assert dangling or not_a_dir.read_text(encoding="utf-8") == "{}\n"


def test_sources_list_works_beside_a_file_where_the_state_would_be(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    sources = tmp_path / "sources.yaml"
    sources.write_text("watches: [{id: lk-s3, title: The Lantern Keepers, season: 3}]\n"
                       "sources: [{name: Alpha, url: 'https://alpha.example/feed'}]\n", encoding="utf-8")
    (tmp_path / "state").write_text("not a directory\n", encoding="utf-8")
    assert main(["sources", "list", "--sources", str(sources), "--state", str(tmp_path / "state")]) == 0
    assert "Alpha" in capsys.readouterr().out
