"""The code stays typed and lint-clean: ruff and mypy --strict, as configured in pyproject.toml."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("command", [["ruff", "check", "bot", "tests", "bench"], ["mypy"]])
def test_clean(command: list[str]) -> None:
    if shutil.which(command[0]) is None and not (Path(sys.executable).parent / command[0]).exists():
        pytest.fail(f"{command[0]} is not installed: pip install -e '.[test]'")
    exe = str(Path(sys.executable).parent / command[0])
    proc = subprocess.run([exe if Path(exe).exists() else command[0], *command[1:]], cwd=REPO,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
