"""A URL with an impossible port is refused as one line wherever it comes in: the sources file,
`sources add`, /addsource, and any fetch (a redirect included), never a traceback."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.cli.main import main
from bot.config import load_config
from bot.fetch.client import Fetcher
from bot.models import Settings
from bot.store.store import State
from bot.telegram.admin import SourceAdmin
from tests.newssite import NewsSite

HEAD = "watches:\n  - {id: aouad-s2, title: All of Us Are Dead, season: 2}\nsources:\n"
PORTS = [("70000", "the port 70000 is out of range (1-65535)"), ("0", "the port 0 is out of range (1-65535)"),
         ("-1", "the port '-1' is not a number")]


def _cli(tmp_path: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        state = ["--state", str(tmp_path / "state")] if args[0] == "scan" else []
        code = main([*args, "--sources", str(tmp_path / "sources.yaml"), *state])
    except SystemExit as exc:  # a sources file that does not load ends the command at once
        code = int(str(exc.code))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(("port", "problem"), PORTS)
def test_the_sources_file_refuses_an_impossible_port(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                     port: str, problem: str) -> None:
    (tmp_path / "sources.yaml").write_text(
        HEAD + f"  - name: Wire\n    url: http://user:pw@127.0.0.1:{port}/feed\n", encoding="utf-8")
    code, out, err = _cli(tmp_path, capsys, "scan")
    assert code == 2 and out == ""
    assert err == (f"newsbot: {tmp_path / 'sources.yaml'}:5: sources[0].url: "
                   f"'http://127.0.0.1:{port}/feed' is not a valid URL: {problem}\n")


@pytest.mark.parametrize(("port", "problem"), PORTS)
@pytest.mark.parametrize("check", [[], ["--no-check", "--name", "Wire"]], ids=["fetched", "no-check"])
def test_sources_add_refuses_an_impossible_port(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                port: str, problem: str, check: list[str]) -> None:
    (tmp_path / "sources.yaml").write_text(HEAD + "  []\n", encoding="utf-8")
    code, out, err = _cli(tmp_path, capsys, "sources", "add", "-y", *check, f"http://127.0.0.1:{port}/feed")
    assert code == 2 and out == ""
    assert err == f"newsbot: 'http://127.0.0.1:{port}/feed' is not a valid URL: {problem}\n"
    assert load_config(tmp_path / "sources.yaml").sources == ()


async def test_addsource_refuses_an_impossible_port(tmp_path: Path) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text(HEAD + "  []\n", encoding="utf-8")
    with State.open(tmp_path / "state") as state:
        async with Fetcher(Settings()) as fetcher:
            admin = SourceAdmin(path, state, fetcher, lambda: load_config(path), lambda why: None)
            reply = await admin.add("https://news.example:99999/feed", None)
    assert reply == ("Not added: &#x27;https://news.example:99999/feed&#x27; is not a valid URL: "
                     "the port 99999 is out of range (1-65535)")


@pytest.mark.parametrize("public_only", [False, True])
async def test_a_fetch_reports_an_impossible_port_in_one_line(news_site: NewsSite, caplog: pytest.LogCaptureFixture,
                                                              public_only: bool) -> None:
    news_site.fault("/moved", "redirect", to="http://127.0.0.1:70000/feed", code=301)
    with caplog.at_level(logging.DEBUG):
        async with Fetcher(Settings()) as fetcher:
            asked = await fetcher.fetch("http://user:pw@127.0.0.1:99999/feed", public_only=public_only)
            redirected = await fetcher.fetch(news_site.url("/moved"))
    assert asked.error == "invalid URL http://127.0.0.1:99999/feed: the port 99999 is out of range (1-65535)"
    assert redirected.error == ("redirect to unsupported URL http://127.0.0.1:70000/feed: "
                                "the port 70000 is out of range (1-65535)")
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING or r.exc_info]
