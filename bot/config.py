"""Loads and validates the sources file into typed records, and edits it without losing comments.

Reading uses a fast safe loader (PyYAML's libyaml parser, with YAML 1.2 scalars as ruamel reads them).
Only when that load or the validation fails is the file read again with ruamel's round-trip loader,
whose line numbers the error message names; the round-trip loader also does every edit.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import yaml as pyyaml

from bot.models import KINDS, Config, Kind, KnownEvent, Selectors, Settings, Source, Watch

if TYPE_CHECKING:  # ruamel is imported only to name an error's line or to edit the file
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap

T = TypeVar("T")

_INTERVAL_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|d)?\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"": 1.0, "s": 1.0, "sec": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0}
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
    yaml.preserve_quotes = True
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 4096  # long URLs stay on one line
    return yaml


def parse_interval(value: object) -> float:
    """Turns 900, "30s", "15m", "2h" or "1d" into seconds."""
    if isinstance(value, bool):
        raise ValueError("expected seconds or a duration such as 30s, 15m, 2h")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        match = _INTERVAL_RE.match(str(value))
        if not match:
            raise ValueError(f"{value!r} is not a duration (use seconds, or 30s, 15m, 2h, 1d)")
        seconds = float(match.group(1)) * _UNIT_SECONDS[(match.group(2) or "").lower()]
    if not math.isfinite(seconds) or seconds < 1:
        raise ValueError("must be at least 1 second (and finite)")
    return seconds


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
        unknown = sorted(str(k) for k in node if k not in allowed)
        if unknown:
            raise self.fail(node, unknown[0], f"{where}.{unknown[0]}",
                            f"unknown key (allowed: {', '.join(sorted(allowed))})")
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


def _url(value: object) -> str:
    text = _text(value)
    if not re.match(r"^https?://[^\s/]+", text, re.IGNORECASE):
        raise ValueError(f"{text!r} is not an http(s) URL")
    return text


def _kind(value: object) -> Kind:
    text = _text(value)
    if text not in KINDS:
        raise ValueError(f"{text!r} is not one of {', '.join(KINDS)}")
    return text


def _id(value: object) -> str:
    text = _text(value)
    if not _ID_RE.match(text):
        raise ValueError(f"{text!r}: at most 60 characters, no commas")
    return text


def _aliases(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        return (_text(value),)
    if not isinstance(value, list):
        raise ValueError("expected a list of names")
    return tuple(_text(v) for v in value)


def _watch(ck: _Checker, node: object, where: str, parent: object, index: int) -> Watch:
    m = ck.mapping(node, where, _WATCH_KEYS, parent, index)
    known_node = m.get("known") or []
    if not isinstance(known_node, list):
        raise ck.fail(m, "known", f"{where}.known", "expected a list of events")
    known = tuple(_known(ck, k, f"{where}.known[{i}]", known_node, i) for i, k in enumerate(known_node))
    season = ck.get(m, "season", where, _positive_int, required=True)
    return Watch(
        id=ck.get(m, "id", where, _id, required=True),
        title=ck.get(m, "title", where, _text, required=True),
        season=season,
        aliases=ck.get(m, "aliases", where, _aliases, default=()),
        exclude=ck.get(m, "exclude", where, _aliases, default=()),
        known=known,
    )


def _known(ck: _Checker, node: object, where: str, parent: object, index: int) -> KnownEvent:
    m = ck.mapping(node, where, _KNOWN_KEYS, parent, index)
    kind = ck.get(m, "kind", where, _kind, required=True)
    return KnownEvent(
        kind=kind,
        milestone=ck.get(m, "milestone", where, _text, default=str(kind)),
        date=ck.get(m, "date", where, _text, required=True),
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
        url=ck.get(m, "url", where, _url, required=True),
        kind=kind,  # type: ignore[arg-type]
        interval=ck.get(m, "interval", where, parse_interval, default=900.0),
        selectors=selectors,
        language=ck.get(m, "language", where, _text, default=""),
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
        if isinstance(default, bool):
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
    return Config(tuple(watches), tuple(sources), _settings(ck, m.get("settings"), m), path)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file (set --sources or NEWSBOT_SOURCES)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None


def load_document(path: Path) -> Any:
    """Reads the sources file as a round-trip document, turning read and syntax errors into ConfigError."""
    return _load_round_trip(path, _read(path))


def _load_round_trip(path: Path, text: str) -> Any:
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    try:
        return _yaml().load(text)
    except MarkedYAMLError as exc:
        mark = exc.context_mark or exc.problem_mark
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = "; ".join(p for p in (exc.context, exc.problem) if p) or "invalid YAML"
        if exc.context_mark is not None and exc.problem_mark is not None \
                and exc.problem_mark.line != exc.context_mark.line:
            problem += f" (line {exc.problem_mark.line + 1})"
        raise ConfigError(f"{path}{line}: YAML syntax error: {problem}") from None
    except YAMLError as exc:
        raise ConfigError(f"{path}: YAML error: {exc}") from None


def load_config(path: Path | str) -> Config:
    """Loads and validates the sources file; raises ConfigError with a one-line message."""
    p = Path(path)
    text = _read(p)
    try:
        return config_from_yaml(_load_fast(text), str(p))
    except (_Fallback, pyyaml.YAMLError, ConfigError):
        pass  # read again below, for the line numbers (or for what only the round-trip loader reads)
    return config_from_yaml(_load_round_trip(p, text), str(p))


class _Fallback(Exception):
    """Something the fast loader leaves to the round-trip loader (so both always read the same data)."""


_TRUE = {"true", "True", "TRUE"}
_DIRECTIVE_OR_TAG = re.compile(r"^%|(?:^|[\s\[\]{},:-])!", re.MULTILINE)
_PLAIN_DATE = re.compile(r"^\d{4}-\d\d-\d\d$")


class _FastConstructor(pyyaml.constructor.SafeConstructor):
    """Plain data only, with scalars constructed as ruamel's YAML 1.2 loader does."""

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
        return self.construct_yaml_timestamp(node)

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
    entry["interval"] = _format_interval(source.interval)
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


def _format_interval(seconds: float) -> str | int:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s" if seconds == int(seconds) else int(seconds)


def _write_document(path: Path, document: Any) -> None:
    """Writes the document next to the file, then renames it into place (never a half-written file)."""
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        _yaml().dump(document, fh)
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
    for source in sources:
        document["sources"].append(source_entry(source))
    config_from_yaml(document, str(p))
    _write_document(p, document)


def remove_source_from_file(path: Path | str, name: str) -> bool:
    """Removes the source called `name`; returns False if there was none."""
    p = Path(path)
    document = load_document(p)
    seq = document.get("sources") if isinstance(document, Mapping) else None
    if not isinstance(seq, list):
        return False
    for i, entry in enumerate(seq):
        if isinstance(entry, Mapping) and str(entry.get("name", "")).casefold() == name.casefold():
            del seq[i]
            _write_document(p, document)
            return True
    return False
