"""Loads and validates the sources file into typed records, and edits it without losing comments.

Reading uses a fast safe loader (PyYAML's libyaml parser, with YAML 1.2 scalars as ruamel reads them).
Only when that load or the validation fails is the file read again with ruamel's round-trip loader,
whose line numbers the error message names; the round-trip loader also does every edit.
"""

from __future__ import annotations

import copy
import difflib
import functools
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import fields
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import yaml as pyyaml

from bot.models import (
    DATE_PREFIX,
    KINDS,
    MILESTONES,
    Config,
    Kind,
    KnownEvent,
    Selectors,
    Settings,
    Source,
    Watch,
    parse_date_prefix,
)
from bot.urls import canonical_url, display_url, url_problem

if TYPE_CHECKING:  # ruamel is imported only to name an error's line or to edit the file
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap

T = TypeVar("T")

MAX_FILE_BYTES = 2 * 1024 * 1024
"""A sources file larger than this is refused unread (thousands of sources fit in a few hundred KB)."""
MAX_ALIAS_EXPANSION = 10_000
"""How many nodes YAML aliases (`*name`) may add to the document, so an alias bomb is refused unbuilt."""
MAX_DEPTH = 64
"""How deeply the sources file may nest (a valid one nests five levels)."""

_DURATION_RE = re.compile(r"(?:\d+(?:\.\d+)?\s*[a-z]+\s*)+")
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([a-z]+)")
_UNIT_SECONDS = {
    **dict.fromkeys(("s", "sec", "secs", "second", "seconds"), 1.0),
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), 60.0),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), 3600.0),
    **dict.fromkeys(("d", "day", "days"), 86400.0),
}
DURATION_FORMS = "seconds (900), or a number and a unit: 30s, 15m, 2h, 1d, 1h30m, 5 minutes, 2 hours"
_ID_RE = re.compile(r"^[^,\s](?:[^,]{0,58}[^,\s])?$")

_WATCH_KEYS = {"id", "title", "season", "aliases", "known", "exclude"}
_KNOWN_KEYS = {"kind", "milestone", "date", "source", "title"}
_SOURCE_KEYS = {"name", "url", "kind", "interval", "selectors", "language", "paused", "allow_private", "public_only"}
_SELECTOR_KEYS = {"item", "title", "link", "summary", "date"}
_TOP_KEYS = {"watches", "sources", "settings"}


class ConfigError(Exception):
    """A problem in the sources file, already phrased for the user (file, line and key)."""


def _yaml() -> YAML:
    """A round-trip YAML instance: keeps comments and order, constructs only plain data (safe)."""
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.Constructor = _round_trip_constructor()
    yaml.preserve_quotes = True
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 4096  # long URLs stay on one line
    return yaml


@functools.cache
def _round_trip_constructor() -> type:
    """ruamel's round-trip constructor, checking the node graph first and keeping an impossible date as text."""
    from ruamel.yaml.constructor import RoundTripConstructor

    class Constructor(RoundTripConstructor):
        def construct_document(self, node: Any) -> Any:
            _check_graph(node)
            return super().construct_document(node)

        def construct_yaml_timestamp(self, node: Any, values: Any = None) -> Any:
            try:
                return super().construct_yaml_timestamp(node, values)
            except ValueError:
                return self.construct_scalar(node)

    Constructor.add_constructor("tag:yaml.org,2002:timestamp", Constructor.construct_yaml_timestamp)
    return Constructor


def parse_interval(value: object) -> float:
    """Turns 900, "30s", "15 min", "5 minutes", "2h", "1 day" or "1h30m" into seconds."""
    if isinstance(value, bool) or isinstance(value, Mapping | list):
        raise ValueError(f"expected a duration: {DURATION_FORMS}")
    seconds = float(value) if isinstance(value, int | float) else _duration(str(value))
    if not math.isfinite(seconds) or seconds < 1:
        raise ValueError("must be at least 1 second (and finite)")
    return seconds


def _duration(value: str) -> float:
    """Seconds in a written duration; ValueError naming the accepted forms."""
    text = value.strip().lower()
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        return float(text)
    if not _DURATION_RE.fullmatch(text):
        raise ValueError(f"{value!r} is not a duration: use {DURATION_FORMS}")
    seconds = 0.0
    for number, unit in _DURATION_PART.findall(text):
        if unit not in _UNIT_SECONDS:
            raise ValueError(f"{value!r}: unknown unit {unit!r}{_did_you_mean(unit, _UNIT_SECONDS)}; "
                             f"use {DURATION_FORMS}")
        seconds += float(number) * _UNIT_SECONDS[unit]
    return seconds


def _did_you_mean(word: str, choices: Iterable[object]) -> str:
    """" (did you mean 'x'?)" for the nearest choice, or "" when none is near."""
    options = [str(c) for c in choices]
    folded = {o.casefold(): o for o in options}
    near = folded.get(word.casefold()) or next(iter(difflib.get_close_matches(word, options, n=1, cutoff=0.6)), None)
    return f" (did you mean {near!r}?)" if near and near != word else ""


class _Checker:
    """Walks the loaded YAML, naming file, line and key in every error."""

    def __init__(self, path: str) -> None:
        self.path = path

    def fail(self, node: object, key: str | int | None, where: str, message: str) -> ConfigError:
        line = _line_of(node, key)
        loc = f"{self.path}:{line}" if line else self.path
        return ConfigError(f"{loc}: {where}: {message}")

    def mapping(self, node: object, where: str, allowed: set[str], parent: object, pkey: Any) -> Mapping[Any, Any]:
        if not isinstance(node, Mapping):
            raise self.fail(parent, pkey, where, "expected a mapping of keys")
        unknown = [k for k in node if k not in allowed]
        if unknown:
            key = unknown[0]
            raise self.fail(node, key, f"{where}.{key}", f"unknown key{_did_you_mean(str(key), sorted(allowed))} "
                            f"(allowed: {', '.join(sorted(allowed))})")
        return node

    def get(self, node: Mapping[Any, Any], key: str, where: str, conv: Callable[[object], T],
            default: T | None = None, required: bool = False) -> T:
        if key not in node or node[key] is None:
            if required:
                raise self.fail(node, None, f"{where}.{key}", "missing required key")
            return default  # type: ignore[return-value]
        try:
            return conv(node[key])
        except (TypeError, ValueError) as exc:
            raise self.fail(node, key, f"{where}.{key}", str(exc)) from None


def _line_of(node: object, key: str | int | None) -> int:
    """1-based line of a key (or of the node itself) as ruamel recorded it; 0 when unknown."""
    lc = getattr(node, "lc", None)
    if lc is None:
        return 0
    try:
        if key is not None and isinstance(node, Mapping) and key in node:
            return int(lc.key(key)[0]) + 1
        if key is not None and isinstance(node, list) and isinstance(key, int):
            return int(lc.item(key)[0]) + 1
    except (KeyError, IndexError, TypeError):
        pass
    return int(lc.line) + 1 if isinstance(lc.line, int) else 0


def _text(value: object) -> str:
    if isinstance(value, Mapping | list):
        raise ValueError("expected text")
    text = str(value).strip()
    if not text:
        raise ValueError("must not be empty")
    return text


def _bool(value: object) -> bool:
    if not isinstance(value, bool):
        raise ValueError("expected true or false")
    return value


def _positive_int(value: object) -> int:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError("expected a positive whole number")
    return value


def _number(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < math.inf:
        raise ValueError("expected a number ≥ 0")
    return float(value)


def _probability(value: object) -> float:
    number = _number(value)
    if number > 1:
        raise ValueError("expected a confidence from 0 to 1")
    return number


def source_url(value: object) -> str:
    """A source's URL as the sources file, `sources add` and /addsource take it: absolute http(s), no
    spaces, and fetchable as the fetch layer checks it (url_problem); else ValueError saying why."""
    text = _text(value)
    if not re.match(r"^https?://", text, re.IGNORECASE):
        hint = ""
        if re.match(r"^[\w-]+(?:\.[\w-]+)+(?::\d+)?(?:[/?#]|$)", text):
            hint = f" (did you mean 'https://{text}'?)"
        raise ValueError(f"{text!r} is not an http(s) URL{hint}")
    if re.search(r"\s", text):
        raise ValueError(f"{text!r} contains a space: write a space in a URL as %20")
    if (problem := url_problem(text)) is not None:  # the fetch layer's own check: a port out of range...
        raise ValueError(f"{display_url(text)!r} is not a valid URL: {problem}")
    return text


# ISO 639-1 (with the old iw, in, ji that some sites still use).
_LANGUAGES = frozenset("""
aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu cv cy da de dv dz ee
el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht hu hy hz ia id ie ig ii ik in io is
it iu iw ja ji jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr
ms mt my na nb nd ne ng nl nn no nr nv ny oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk
sl sm sn so sq sr ss st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi yo
za zh zu""".split())
_LANGUAGE_NAMES = {
    "english": "en", "korean": "ko", "spanish": "es", "portuguese": "pt", "indonesian": "id", "japanese": "ja",
    "chinese": "zh", "french": "fr", "german": "de", "italian": "it", "thai": "th", "vietnamese": "vi",
    "hindi": "hi", "arabic": "ar", "russian": "ru", "turkish": "tr", "tagalog": "tl", "filipino": "tl",
    "malay": "ms", "dutch": "nl", "polish": "pl",
}


def language_code(value: object) -> str:
    """An ISO 639-1 code, optionally with a region ("pt-BR", "es-419"); the code is lower-cased."""
    text = _text(value)
    code, _, region = text.replace("_", "-").partition("-")
    if code.lower() in _LANGUAGES and (not region or re.fullmatch(r"[A-Za-z]{2}|\d{3}", region)):
        return f"{code.lower()}-{region}" if region else code.lower()
    guess = _LANGUAGE_NAMES.get(text.casefold())
    hint = f" (did you mean {guess!r}?)" if guess else ""
    raise ValueError(f"{text!r} is not a language code{hint}: use a two-letter ISO 639-1 code such as en, ko, es")


def _date(value: object) -> str:
    """A known event's date: YYYY-MM-DD, YYYY-MM or YYYY (or a YAML timestamp), checked on the calendar."""
    if isinstance(value, date):  # a datetime too: YAML read it as one, so it is on the calendar
        return str(value)
    text = _text(value)
    match = DATE_PREFIX.match(text)
    if match:  # the calendar says what is wrong ("day is out of range for month")
        try:
            date(*(int(g) if g else 1 for g in match.groups()))
        except ValueError as exc:
            raise ValueError(f"{text!r} is not a date on the calendar ({exc})") from None
    elif parse_date_prefix(text) is None:
        raise ValueError(f"{text!r} is not a date: use YYYY-MM-DD, YYYY-MM or YYYY")
    return text


def _kind(value: object) -> Kind:
    text = _text(value)
    if text not in KINDS:
        raise ValueError(f"{text!r} is not one of {', '.join(KINDS)}{_did_you_mean(text, KINDS)}")
    return text


def _id(value: object) -> str:
    text = _text(value)
    if not _ID_RE.match(text):
        raise ValueError(f"{text!r}: at most 60 characters, no commas")
    return text


def _show_name(value: object) -> str:
    """A show's name: text that holds a letter or a digit (what detection matches)."""
    text = _text(value)
    if not any(c.isalnum() for c in text):
        raise ValueError(f"{text!r} has no letter or digit: a name is matched by its words")
    return text


def _aliases(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        return (_show_name(value),)
    if not isinstance(value, list):
        raise ValueError("expected a list of names")
    return tuple(_show_name(v) for v in value)


def _watch(ck: _Checker, node: object, where: str, parent: object, index: int) -> Watch:
    m = ck.mapping(node, where, _WATCH_KEYS, parent, index)
    known_node = m.get("known") or []
    if not isinstance(known_node, list):
        raise ck.fail(m, "known", f"{where}.known", "expected a list of events")
    known = tuple(_known(ck, k, f"{where}.known[{i}]", known_node, i) for i, k in enumerate(known_node))
    season = ck.get(m, "season", where, _positive_int, required=True)
    return Watch(
        id=ck.get(m, "id", where, _id, required=True),
        title=ck.get(m, "title", where, _show_name, required=True),
        season=season,
        aliases=ck.get(m, "aliases", where, _aliases, default=()),
        exclude=ck.get(m, "exclude", where, _aliases, default=()),
        known=known,
    )


def _known(ck: _Checker, node: object, where: str, parent: object, index: int) -> KnownEvent:
    m = ck.mapping(node, where, _KNOWN_KEYS, parent, index)
    kind = ck.get(m, "kind", where, _kind, required=True)
    milestones = MILESTONES[kind]

    def milestone(value: object) -> str:
        text = _text(value)
        if text not in milestones:
            raise ValueError(f"{text!r} is not a milestone of {kind}{_did_you_mean(text, milestones)}: "
                             f"use {', '.join(milestones)}")
        return text

    return KnownEvent(
        kind=kind,
        milestone=ck.get(m, "milestone", where, milestone, default=str(kind)),
        date=ck.get(m, "date", where, _date, required=True),
        source=ck.get(m, "source", where, _text, default=""),
        title=ck.get(m, "title", where, _text, default=""),
    )


def _source(ck: _Checker, node: object, where: str, parent: object, index: int) -> Source:
    m = ck.mapping(node, where, _SOURCE_KEYS, parent, index)
    kind = ck.get(m, "kind", where, _text, default="feed")
    if kind not in ("feed", "html"):
        raise ck.fail(m, "kind", f"{where}.kind", f"{kind!r} is not 'feed' or 'html'")
    selectors = None
    if kind == "html":
        if "selectors" not in m:
            raise ck.fail(m, None, f"{where}.selectors", "a source of kind html needs CSS selectors")
        sm = ck.mapping(m["selectors"], f"{where}.selectors", _SELECTOR_KEYS, m, "selectors")
        sw = f"{where}.selectors"
        selectors = Selectors(
            item=ck.get(sm, "item", sw, _text, required=True),
            title=ck.get(sm, "title", sw, _text, required=True),
            link=ck.get(sm, "link", sw, _text, default="a"),
            summary=ck.get(sm, "summary", sw, _text, default=""),
            date=ck.get(sm, "date", sw, _text, default=""),
        )
    allow_private = ck.get(m, "allow_private", where, _bool, default=False)
    public_only = ck.get(m, "public_only", where, _bool, default=False)
    if allow_private and public_only:
        raise ck.fail(m, "public_only", f"{where}.public_only",
                      "a source cannot be both allow_private and public_only; keep the one you mean")
    return Source(
        name=ck.get(m, "name", where, _text, required=True),
        url=ck.get(m, "url", where, source_url, required=True),
        kind=kind,  # type: ignore[arg-type]
        interval=ck.get(m, "interval", where, parse_interval, default=900.0),
        selectors=selectors,
        language=ck.get(m, "language", where, language_code, default=""),
        paused=ck.get(m, "paused", where, _bool, default=False),
        allow_private=allow_private,
        public_only=public_only,
    )


def _settings(ck: _Checker, node: object, parent: object) -> Settings:
    if node is None:
        return Settings()
    allowed = {f.name for f in fields(Settings)}
    m = ck.mapping(node, "settings", allowed, parent, "settings")
    values: dict[str, Any] = {}
    for f in fields(Settings):
        if f.name not in m:
            continue
        default = getattr(Settings(), f.name)
        if f.name == "sure_confidence":
            values[f.name] = ck.get(m, f.name, "settings", _probability)
        elif isinstance(default, bool):
            values[f.name] = ck.get(m, f.name, "settings", _bool)
        elif isinstance(default, int):
            values[f.name] = ck.get(m, f.name, "settings", _positive_int)
        elif isinstance(default, float):
            values[f.name] = ck.get(m, f.name, "settings", _number)
        else:
            values[f.name] = ck.get(m, f.name, "settings", _text)
    return Settings(**values)


def _list(ck: _Checker, root: Mapping[Any, Any], key: str) -> list[Any]:
    node = root.get(key)
    if node is None:
        return []
    if not isinstance(node, list):
        raise ck.fail(root, key, key, "expected a list")
    return node


def _unique(ck: _Checker, seq: list[Any], values: list[str], key: str, what: str) -> None:
    seen: set[str] = set()
    for i, value in enumerate(values):
        if value.casefold() in seen:
            raise ck.fail(seq[i], key, f"{what}[{i}].{key}", f"duplicate {key} {value!r}")
        seen.add(value.casefold())


def _unique_urls(ck: _Checker, seq: list[Any], sources: list[Source]) -> None:
    """Refuses a URL listed twice (under two names it would be fetched and reported twice)."""
    seen: dict[str, int] = {}
    for i, source in enumerate(sources):
        key = canonical_url(source.url)
        if key in seen:
            first = seen[key]
            line = _line_of(seq[first], "url")
            at = f" (line {line})" if line else ""
            raise ck.fail(seq[i], "url", f"sources[{i}].url",
                          f"the same URL as source {sources[first].name!r}{at}: keep one of them")
        seen[key] = i


def config_from_yaml(root: object, path: str) -> Config:
    """Validates an already-loaded YAML document into a Config."""
    ck = _Checker(path)
    if root is None:
        raise ConfigError(f"{path}: the file is empty (expected 'watches:' and 'sources:' lists)")
    m = ck.mapping(root, "top level", _TOP_KEYS, root, None)
    wseq, sseq = _list(ck, m, "watches"), _list(ck, m, "sources")
    watches = [_watch(ck, w, f"watches[{i}]", wseq, i) for i, w in enumerate(wseq)]
    sources = [_source(ck, s, f"sources[{i}]", sseq, i) for i, s in enumerate(sseq)]
    if not watches:
        raise ck.fail(m, "watches" if "watches" in m else None, "watches", "at least one watch is needed")
    _unique(ck, wseq, [w.id for w in watches], "id", "watches")
    _unique(ck, sseq, [s.name for s in sources], "name", "sources")
    _unique_urls(ck, sseq, sources)
    return Config(tuple(watches), tuple(sources), _settings(ck, m.get("settings"), m), path)


class _Refused(ConfigError):
    """A file refused before it is built (too large, an alias bomb, too deep): never read a second time."""


class _Refusal(Exception):
    """Raised inside a loader when the node graph is refused; the loader's caller adds the path."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line


def _read(path: Path) -> str:
    """The file's text, refusing a file over MAX_FILE_BYTES without reading the rest of it."""
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file (set --sources or NEWSBOT_SOURCES)") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if len(data) > MAX_FILE_BYTES:
        raise _Refused(f"{path}: larger than {MAX_FILE_BYTES // 2**20} MB, too large for a sources file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise ConfigError(f"{path}:{line}: not UTF-8 text (save the file as UTF-8)") from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _check_graph(root: Any) -> None:
    """Refuses a YAML node graph that aliases expand beyond MAX_ALIAS_EXPANSION nodes, that nests
    deeper than MAX_DEPTH, or that contains itself; linear in the nodes as written."""
    sizes: dict[int, int] = {}
    refs: dict[int, int] = {}
    nodes: dict[int, Any] = {}  # id -> node, to name the line of the worst one
    open_: set[int] = set()
    stack: list[tuple[Any, int, bool]] = [(root, 0, False)]
    while stack:
        node, depth, done = stack.pop()
        kids = _children(node)
        if done:
            open_.discard(id(node))
            sizes[id(node)] = 1 + sum(sizes[id(k)] for k in kids)
            continue
        refs[id(node)] = refs.get(id(node), 0) + 1
        if id(node) in sizes:
            continue
        if id(node) in open_:
            raise _Refusal(_node_line(node), "YAML alias: an entry that contains itself")
        if depth > MAX_DEPTH:
            raise _Refusal(_node_line(node), f"nested more than {MAX_DEPTH} levels deep")
        open_.add(id(node))
        nodes[id(node)] = node
        stack.append((node, depth, True))
        stack.extend((k, depth + 1, False) for k in kids)
    if sizes[id(root)] - len(sizes) > MAX_ALIAS_EXPANSION:
        worst = max(nodes, key=lambda i: (refs[i] - 1) * sizes[i])
        raise _Refusal(_node_line(nodes[worst]), f"YAML aliases: repeating this entry through aliases "
                       f"(*name) adds more than {MAX_ALIAS_EXPANSION} values; refused")


def _children(node: Any) -> list[Any]:
    """The child nodes of a PyYAML or ruamel node (keys and values of a mapping)."""
    value = getattr(node, "value", None)
    if not isinstance(value, list):
        return []
    kids: list[Any] = []
    for entry in value:
        kids.extend(entry if isinstance(entry, tuple) else (entry,))
    return kids


def _node_line(node: Any) -> int:
    mark = getattr(node, "start_mark", None)
    return int(mark.line) + 1 if mark is not None else 0


def load_document(path: Path) -> Any:
    """Reads the sources file as a round-trip document, turning read and syntax errors into ConfigError."""
    return _load_round_trip(path, _read(path))


def _load_round_trip(path: Path, text: str) -> Any:
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    _refuse_deep(path, text)
    try:
        return _yaml().load(text)
    except _Refusal as exc:
        raise _Refused(f"{path}:{exc.line}: {exc}") from None
    except RecursionError:
        raise _Refused(f"{path}: nested more than {MAX_DEPTH} levels deep") from None
    except MarkedYAMLError as exc:
        raise ConfigError(f"{path}:{_syntax_message(exc, text)}") from None
    except YAMLError as exc:
        raise ConfigError(f"{path}: YAML error: {exc}") from None


def _refuse_deep(path: Path, text: str) -> None:
    """Refuses nesting that libyaml refuses, before ruamel's slower parser spends seconds on it."""
    loader = _FastLoader(text)
    try:
        while loader.check_event():
            loader.get_event()
    except pyyaml.YAMLError as exc:
        if "nesting depth" in str(exc):
            raise _Refused(f"{path}: nested more than {MAX_DEPTH} levels deep") from None
    finally:
        loader.dispose()


def load_config(path: Path | str) -> Config:
    """Loads and validates the sources file; raises ConfigError with a one-line message."""
    p = Path(path)
    text = _read(p)
    try:
        return config_from_yaml(_load_fast(text), str(p))
    except _Refusal as exc:
        raise _Refused(f"{p}:{exc.line}: {exc}") from None
    except (_Fallback, pyyaml.YAMLError, ConfigError, RecursionError):
        pass  # read again below, for the line numbers (or for what only the round-trip loader reads)
    return config_from_yaml(_load_round_trip(p, text), str(p))


_LINE_KEY = re.compile(r"^[ \t]*(?:-[ \t]+)*([^\s#'\"\[\]{},:&*!|>-][^:#]*?)[ \t]*:(?:[ \t]|$)")


def _syntax_message(exc: Any, text: str) -> str:
    """"line: key: what is wrong" for a YAML syntax error, in a user's words where the case is common."""
    problem, context = str(exc.problem or ""), str(exc.context or "")
    pmark, cmark = exc.problem_mark, exc.context_mark
    lines = text.split("\n")
    at = pmark or cmark
    message = ""
    if "expected <block end>" in problem:
        col = pmark.column
        opener = lines[cmark.line] if cmark is not None and cmark.line < len(lines) else ""
        if cmark is not None and cmark.column == col and opener[col:col + 1] == "-":
            message = (f"at the indentation of the list on line {cmark.line + 1}, whose items start with '- ': "
                       "indent it like the keys of the item above")
        else:
            above = next((ln for ln in reversed(lines[:pmark.line]) if ln.strip() and not ln.lstrip().startswith("#")),
                         "")
            dash = lines[pmark.line].lstrip().startswith("-")  # compare list items by their '-', keys by key
            indent = len(above) - len(above.lstrip(" " if dash else " -"))
            message = (f"indented {col} spaces, which lines up with nothing above it (the line above is "
                       f"indented {indent}): indent it like its siblings")
    elif "mapping values are not allowed" in problem:
        message = ("a 'key: value' cannot start here: is the line indented deeper than the key above it, "
                   "or does a value contain ': ' (then put the value in quotes)?")
    elif "'\\t'" in problem or "\t" in problem:
        message = "a tab in the indentation: YAML indents with spaces only"
    elif "quoted scalar" in context and "end of stream" in problem:
        at, message = cmark, "a quote opened on this line is never closed"
    elif "while parsing a flow sequence" in context or "while parsing a flow mapping" in context:
        bracket = "[" if "sequence" in context else "{"
        at, message = cmark, (f"the '{bracket}' opened on this line is not closed by a "
                              f"'{']' if bracket == '[' else '}'}' (or its items lack a ',')")
    elif "while parsing a flow node" in context and "<stream end>" in problem:
        message = "the file ends inside a '[...]' or '{...}'"
    elif "could not find expected ':'" in problem:
        at, message = cmark, "expected 'key: value' on this line (is the ':' missing?)"
    elif "duplicate key" in problem:
        message = "this key appears twice in the same entry: keep one"
    elif "undefined alias" in problem:
        message = f"{problem}: a *name needs an &name earlier in the file"
    line_no = at.line + 1 if at is not None else 0
    if not message:
        return f"{line_no}: YAML syntax error: " + "; ".join(p for p in (context, problem) if p)
    match = _LINE_KEY.match(lines[at.line]) if at is not None and at.line < len(lines) else None
    key = match.group(1).strip() if match else "indentation" if "indent" in message else "YAML syntax error"
    return f"{line_no}: {key}: {message}"


class _Fallback(Exception):
    """Something the fast loader leaves to the round-trip loader (so both always read the same data)."""


_TRUE = {"true", "True", "TRUE"}
_DIRECTIVE_OR_TAG = re.compile(r"^%|(?:^|[\s\[\]{},:-])!", re.MULTILINE)
_PLAIN_DATE = re.compile(r"^\d{4}-\d\d-\d\d$")


class _FastConstructor(pyyaml.constructor.SafeConstructor):
    """Plain data only, with scalars constructed as ruamel's YAML 1.2 loader does."""

    aliases_possible = True  # cleared for a text without "*": its graph is a tree, as written

    def construct_document(self, node: pyyaml.Node) -> Any:
        if self.aliases_possible:
            _check_graph(node)
        return super().construct_document(node)

    def construct_mapping(self, node: pyyaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        if any(k.tag == "tag:yaml.org,2002:merge" for k, _ in node.value):
            raise _Fallback("merge key")
        mapping = super().construct_mapping(node, deep)
        if len(mapping) != len(node.value):
            raise _Fallback("duplicate key")  # the round-trip loader names it
        return mapping

    def construct_map(self, node: pyyaml.MappingNode) -> Any:
        data: dict[Any, Any] = {}
        yield data
        data.update(self.construct_mapping(node))

    def construct_seq(self, node: pyyaml.SequenceNode) -> Any:
        data: list[Any] = []
        yield data
        data.extend(self.construct_sequence(node))

    def construct_bool(self, node: pyyaml.ScalarNode) -> bool:
        return self.construct_scalar(node) in _TRUE

    def construct_int(self, node: pyyaml.ScalarNode) -> int:
        text = str(self.construct_scalar(node)).replace("_", "")
        sign = -1 if text[:1] == "-" else 1
        text = text.lstrip("+-")
        base = {"0b": 2, "0o": 8, "0x": 16}.get(text[:2], 10)
        return sign * int(text[2:] if base != 10 else text, base)

    def construct_float(self, node: pyyaml.ScalarNode) -> float:
        text = str(self.construct_scalar(node)).replace("_", "").lower()
        sign = -1.0 if text[:1] == "-" else 1.0
        text = text.lstrip("+-")
        return sign * (math.inf if text == ".inf" else math.nan if text == ".nan" else float(text))

    def construct_date(self, node: pyyaml.ScalarNode) -> Any:
        if not _PLAIN_DATE.match(str(node.value)):
            raise _Fallback("timestamp")  # ruamel's TimeStamp prints differently from a datetime
        try:
            return self.construct_yaml_timestamp(node)
        except ValueError:  # not on the calendar (2025-02-30): the text, for validation to name
            return str(node.value)

    def construct_other(self, node: pyyaml.Node) -> Any:
        raise _Fallback(f"tag {node.tag}")


_FastConstructor.yaml_constructors = {  # only these: anything else is left to the round-trip loader
    "tag:yaml.org,2002:null": _FastConstructor.construct_yaml_null,
    "tag:yaml.org,2002:str": _FastConstructor.construct_yaml_str,
    "tag:yaml.org,2002:bool": _FastConstructor.construct_bool,
    "tag:yaml.org,2002:int": _FastConstructor.construct_int,
    "tag:yaml.org,2002:float": _FastConstructor.construct_float,
    "tag:yaml.org,2002:timestamp": _FastConstructor.construct_date,
    "tag:yaml.org,2002:seq": _FastConstructor.construct_seq,
    "tag:yaml.org,2002:map": _FastConstructor.construct_map,
    None: _FastConstructor.construct_other,
}


class _Resolver12(pyyaml.resolver.BaseResolver):
    """The implicit types of YAML 1.2, with the patterns ruamel uses (so `yes`, `on`, `1:30` stay text)."""


# ruamel's YAML 1.2 patterns (ruamel.yaml.resolver), so the fast read resolves plain scalars as ruamel does.
_IMPLICIT_12 = (
    ("bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("float", r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
        |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
        |[-+]?\.[0-9_]+(?:[eE][-+][0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""", "-+0123456789."),
    ("int", r"""^(?:[-+]?0b[0-1_]+
        |[-+]?0o?[0-7_]+
        |[-+]?[0-9_]+
        |[-+]?0x[0-9a-fA-F_]+)$""", "-+0123456789"),
    ("merge", r"^(?:<<)$", "<"),
    ("null", r"^(?: ~ |null|Null|NULL | )$", ["~", "n", "N", ""]),
    ("timestamp", r"""^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]
        |[0-9][0-9][0-9][0-9] -[0-9][0-9]? -[0-9][0-9]?
        (?:[Tt]|[ \t]+)[0-9][0-9]?
        :[0-9][0-9] :[0-9][0-9] (?:\.[0-9]*)?
        (?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$""", "0123456789"),
)
for _name, _pattern, _first in _IMPLICIT_12:
    _Resolver12.add_implicit_resolver(f"tag:yaml.org,2002:{_name}", re.compile(_pattern, re.VERBOSE),
                                      list(_first))

try:  # libyaml's parser when PyYAML was built with it
    from yaml._yaml import CParser as _CParser

    class _FastLoader(_CParser, _FastConstructor, _Resolver12):
        """libyaml's parser, the plain-data constructor and YAML 1.2 resolution."""

        def __init__(self, stream: str) -> None:
            _CParser.__init__(self, stream)
            _FastConstructor.__init__(self)
            _Resolver12.__init__(self)
except ImportError:  # pragma: no cover - PyYAML without libyaml
    class _FastLoader(pyyaml.reader.Reader, pyyaml.scanner.Scanner, pyyaml.parser.Parser,  # type: ignore[no-redef]
                      pyyaml.composer.Composer, _FastConstructor, _Resolver12):
        """PyYAML's own parser, the plain-data constructor and YAML 1.2 resolution."""

        def __init__(self, stream: str) -> None:
            pyyaml.reader.Reader.__init__(self, stream)
            pyyaml.scanner.Scanner.__init__(self)
            pyyaml.parser.Parser.__init__(self)
            pyyaml.composer.Composer.__init__(self)
            _FastConstructor.__init__(self)
            _Resolver12.__init__(self)


def _load_fast(text: str) -> Any:
    """The document as plain dicts, lists and scalars; raises _Fallback or YAMLError when in doubt."""
    if _DIRECTIVE_OR_TAG.search(text):
        raise _Fallback("directive or tag")  # %YAML 1.1 and explicit tags read differently in ruamel
    loader = _FastLoader(text)
    loader.aliases_possible = "*" in text
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def source_entry(source: Source) -> CommentedMap:
    """The YAML mapping for a source, with only the keys that differ from the defaults."""
    from ruamel.yaml.comments import CommentedMap

    entry = CommentedMap()
    entry["name"] = source.name
    entry["url"] = source.url
    entry["kind"] = source.kind
    entry["interval"] = format_interval(source.interval)
    if source.language:
        entry["language"] = source.language
    if source.selectors is not None:
        sel = CommentedMap()
        for f in fields(Selectors):
            value = getattr(source.selectors, f.name)
            if value:
                sel[f.name] = value
        entry["selectors"] = sel
    if source.allow_private:
        entry["allow_private"] = True
    if source.public_only:
        entry["public_only"] = True
    return entry


def format_interval(seconds: float) -> str:
    """An interval as the sources file writes it (15m, 2h, 90s, 1.5s), which parse_interval reads back."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def _write_document(path: Path, document: Any, tail: str = "") -> None:
    """Writes the document (and `tail`, lines that end the file) next to the file, then renames it
    into place (never a half-written file)."""
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        _yaml().dump(document, fh)
        fh.write(tail)
    tmp.replace(path)


def add_source_to_file(path: Path | str, source: Source) -> None:
    """Appends a source to the sources file, keeping its comments and order; validates the result first."""
    add_sources_to_file(path, [source])


def add_sources_to_file(path: Path | str, sources: list[Source]) -> None:
    """Appends sources with one read and one write (round-trip YAML is slow); validates before writing."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    p = Path(path)
    document = load_document(p)
    if document is None:
        document = CommentedMap()
    if not isinstance(document, CommentedMap):
        raise ConfigError(f"{p}: the top level is not a mapping")
    if document.get("sources") is None:
        document["sources"] = CommentedSeq()
    seq = document["sources"]
    before = seq[-1] if len(seq) else None
    template = _trailing_token(before)
    rest = _take_trailing_comments(before) if template is not None else ""
    for source in sources:
        seq.append(source_entry(source))
    tail = _place_after_sources(document, rest, template) if rest else ""
    config_from_yaml(document, str(p))
    _write_document(p, document, tail)


def _last_key(entry: Any) -> tuple[Any, Any] | None:
    """The innermost last (mapping, key) of a block-style entry: where YAML keeps the comments that
    follow it (None for a flow-style entry, `{name: ..., url: ...}`, which keeps none)."""
    from ruamel.yaml.comments import CommentedMap

    found = None
    while isinstance(entry, CommentedMap) and len(entry) and not entry.fa.flow_style():
        key = list(entry)[-1]
        found, entry = (entry, key), entry[key]
    return found


def _take_trailing_comments(entry: Any) -> str:
    """Removes from a source the lines that follow it (blank lines, comments: the file's next section,
    or a commented-out one) and returns them; its own line-end comment stays."""
    token = _trailing_token(entry)
    if token is None or "\n" not in token.value:
        return ""
    line, rest = str(token.value).split("\n", 1)
    token.value = line + "\n"
    return rest


def _trailing_token(entry: Any) -> Any:
    """The comment token that follows a source (None when nothing does, or it cannot hold one)."""
    last = _last_key(entry)
    slots = last[0].ca.items.get(last[1]) if last else None
    return slots[2] if slots and len(slots) > 2 else None


def _place_after_sources(document: Any, rest: str, template: Any) -> str:
    """Puts the lines taken from after the list back after it: after its last source, else before the
    key that follows `sources:`; returns them when they can only end the file."""
    seq = document["sources"]
    if len(seq) and _put_trailing_comments(seq[-1], rest, template):
        return ""
    keys = list(document)
    after = keys.index("sources") + 1
    if after < len(keys):
        slots = document.ca.items.setdefault(keys[after], [None, None, None, None])
        token = copy.copy(template)
        token.value = rest
        slots[1] = [token, *(slots[1] or [])]
        return ""
    return rest


def _put_trailing_comments(entry: Any, rest: str, template: Any) -> bool:
    """Writes `rest` (from `_take_trailing_comments`) after a source, after what already follows it;
    False when the source cannot hold comments (flow style)."""
    last = _last_key(entry)
    if not rest or last is None:
        return False
    slots = last[0].ca.items.setdefault(last[1], [None, None, None, None])
    while len(slots) < 3:
        slots.append(None)
    if slots[2] is None:
        moved = copy.copy(template)
        moved.value = "\n" + rest
        slots[2] = moved
    else:  # its own comments stay first, where they stood
        slots[2].value = slots[2].value + ("" if slots[2].value.endswith("\n") else "\n") + rest
    return True


def remove_source_from_file(path: Path | str, name: str) -> bool:
    """Removes the source called `name`; returns False if there was none."""
    p = Path(path)
    document = load_document(p)
    seq = document.get("sources") if isinstance(document, Mapping) else None
    if not isinstance(seq, list):
        return False
    for i, entry in enumerate(seq):
        if isinstance(entry, Mapping) and str(entry.get("name", "")).casefold() == name.casefold():
            template, rest = _trailing_token(entry), ""
            if i == len(seq) - 1 and template is not None:
                rest = _take_trailing_comments(entry)  # what followed the list stays after it
            del seq[i]
            tail = _place_after_sources(document, rest, template) if rest else ""
            _write_document(p, document, tail)
            return True
    return False
