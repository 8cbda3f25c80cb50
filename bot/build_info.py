"""Which modules of the package run compiled (see setup.py), and which compiled ones are out of date.

A compiled module is imported in place of its source, so an edit to the source of one does not
run until the package is installed again (`pip install -e .`). The CLI warns about it and the
test suite stops on it.
"""

from __future__ import annotations

from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

COMPILED = ("cues", "detect", "detect_index", "detect_text", "parse", "parse_text", "urls")
"""The modules setup.py compiles when it can."""

_PACKAGE = Path(__file__).resolve().parent


def _compiled_file(name: str, package: Path) -> Path | None:
    for suffix in EXTENSION_SUFFIXES:
        path = package / f"{name}{suffix}"
        if path.exists():
            return path
    return None


def compiled(package: Path = _PACKAGE) -> list[str]:
    """Modules that are imported from a compiled file."""
    return [name for name in COMPILED if _compiled_file(name, package) is not None]


def stale(package: Path = _PACKAGE) -> list[str]:
    """Source files changed after their module was compiled (the change does not run yet).

    Only a source checkout (an editable install) is checked: an installed copy's files carry the
    times they were unpacked, which say nothing about what was compiled from what."""
    if {"site-packages", "dist-packages"} & set(package.parts):
        return []
    out = []
    for name in COMPILED:
        binary, source = _compiled_file(name, package), package / f"{name}.py"
        if binary is not None and source.exists() and source.stat().st_mtime > binary.stat().st_mtime:
            out.append(f"bot/{name}.py")
    return out


def stale_message(package: Path = _PACKAGE) -> str:
    """A one-line warning naming stale modules, or "" when every compiled module is current."""
    files = stale(package)
    if not files:
        return ""
    return (f"{', '.join(files)} changed after being compiled; the old compiled code runs until the "
            "package is installed again (pip install -e .)")
