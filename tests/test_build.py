"""The optional compiled build: setup.py and the package agree on what is compiled, and an
out-of-date compiled module is noticed."""

from __future__ import annotations

import ast
import os
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

from bot import build_info

ROOT = Path(__file__).resolve().parent.parent


def test_setup_compiles_the_modules_the_package_names() -> None:
    tree = ast.parse((ROOT / "setup.py").read_text())
    listed = next(node.value for node in tree.body if isinstance(node, ast.Assign)
                  and any(isinstance(t, ast.Name) and t.id == "COMPILED" for t in node.targets))
    paths = ast.literal_eval(listed)
    assert [Path(p).stem for p in paths] == list(build_info.COMPILED)
    assert all((ROOT / p).exists() for p in paths)


def _package(tmp_path: Path, *, source_newer: bool) -> Path:
    source, binary = tmp_path / "detect.py", tmp_path / f"detect{EXTENSION_SUFFIXES[0]}"
    source.write_text("")
    binary.write_bytes(b"")
    older, newer = 1_000_000, 2_000_000
    os.utime(source, (newer, newer) if source_newer else (older, older))
    os.utime(binary, (older, older) if source_newer else (newer, newer))
    (tmp_path / "urls.py").write_text("")  # a source with nothing compiled is never stale
    return tmp_path


def test_a_source_edited_after_compiling_is_reported(tmp_path: Path) -> None:
    package = _package(tmp_path, source_newer=True)
    assert build_info.compiled(package) == ["detect"]
    assert build_info.stale(package) == ["bot/detect.py"]
    assert "bot/detect.py" in build_info.stale_message(package)
    assert "pip install -e ." in build_info.stale_message(package)


def test_a_current_compiled_module_is_not_reported(tmp_path: Path) -> None:
    package = _package(tmp_path, source_newer=False)
    assert build_info.compiled(package) == ["detect"]
    assert build_info.stale(package) == []
    assert build_info.stale_message(package) == ""


def test_an_installed_copy_is_never_reported(tmp_path: Path) -> None:
    installed = tmp_path / "lib" / "site-packages" / "bot"
    installed.mkdir(parents=True)
    package = _package(installed, source_newer=True)
    assert build_info.compiled(package) == ["detect"]
    assert build_info.stale(package) == []
