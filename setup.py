"""Build hook: compiles the hot pure-Python modules (detection, feed parsing) to C with mypyc.

The code is the same typed Python either way; compiled, detection runs about 1.6 times as fast
and feed parsing about 1.15 times (bench/detect.py, bench/parse.py). Compiling needs a C compiler
and Python's headers. Without them, or with NEWSBOT_PURE_PYTHON=1 set at install time, the
package installs as plain Python and behaves the same, only slower.

Everything else is in pyproject.toml.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from setuptools import setup
from setuptools.command.build_ext import build_ext

# Pure modules only: no I/O, nothing the tests replace at run time.
COMPILED = [
    "bot/cues.py",
    "bot/detect.py",
    "bot/detect_index.py",
    "bot/detect_text.py",
    "bot/parse.py",
    "bot/parse_text.py",
    "bot/urls.py",
]


class _OptionalBuildExt(build_ext):
    """Builds the compiled modules, or none of them: a failed compile leaves the pure package."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:  # noqa: BLE001 - any compiler failure means: install pure Python
            print(f"newsbot: compiling failed ({exc}); installing plain Python modules", file=sys.stderr)
            for path in self.get_outputs():
                Path(path).unlink(missing_ok=True)


def _extensions() -> list[Any]:
    """The mypyc extensions, or [] when compiling is off or mypyc is not available."""
    if os.environ.get("NEWSBOT_PURE_PYTHON"):
        return []
    try:
        from mypyc.build import mypycify
    except ImportError:
        print("newsbot: mypyc not available; installing plain Python modules", file=sys.stderr)
        return []
    try:
        # The build runs apart from the installed dependencies, so their types are unknown here:
        # no strict config, imports without stubs are dynamic (the tests run mypy --strict).
        options = ["--config-file", "", "--ignore-missing-imports"]
        return list(mypycify([*options, *COMPILED], opt_level="3", group_name="newsbot"))
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - type errors end mypycify with SystemExit
        print(f"newsbot: mypyc failed ({exc}); installing plain Python modules", file=sys.stderr)
        return []


setup(ext_modules=_extensions(), cmdclass={"build_ext": _OptionalBuildExt})
