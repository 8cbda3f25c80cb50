"""The sources file: validation messages name file, line and key; edits keep comments."""

from __future__ import annotations

from pathlib import Path

import pytest

import bot.config
from bot.cli.main import main
from bot.config import (
    ConfigError,
    add_source_to_file,
    load_config,
    parse_interval,
    remove_source_from_file,
)
from bot.models import Source

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

ERRORS = [
    ("watches: [\n", ":2: YAML syntax error"),
    ("watches:\n  - id: a\n    title: 'A\n  season: 2\n", ":3: YAML syntax error"),
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
    ("watches:\n  - id: a\n    title: A\n    season: 2\n    id: b\n", ':2: YAML syntax error: while constructing '
     'a mapping; found duplicate key "id"'),
    ("watches:\n  - {id: a, title: A, season: !!str 2}\n", ":2: watches[0].season: expected a positive"),
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


@pytest.mark.parametrize(("value", "seconds"), [(30, 30), ("30s", 30), ("15m", 900), ("2h", 7200),
                                                ("1d", 86400), ("1.5h", 5400)])
def test_intervals(value: object, seconds: float) -> None:
    assert parse_interval(value) == seconds


@pytest.mark.parametrize("value", ["0s", "fast", True, -5, float("nan"), float("inf")])
def test_bad_intervals(value: object) -> None:
    with pytest.raises(ValueError):
        parse_interval(value)


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
           "2024-05-01T10:00:00Z", "=", "'x'", '"15m"', "15m", "[1, 2]", "{a: 1}", "!!str 5", "!!binary aGk=",
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
