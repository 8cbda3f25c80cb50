"""NEWSBOT_WEIGHTS: the replay bench's way to give the real process other fitted weights."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
HEADLINE = "Netflix unveils the official trailer for The Lantern Keepers season 3"


def classify(tmp_path: Path, weights: str | None) -> subprocess.CompletedProcess[str]:
    sources = tmp_path / "sources.yaml"
    sources.write_text("watches: [{id: lk-s3, title: The Lantern Keepers, season: 3}]\nsources: []\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSBOT_")}
    if weights is not None:
        env["NEWSBOT_WEIGHTS"] = weights
    return subprocess.run([sys.executable, "-m", "bot", "classify", "--sources", str(sources), HEADLINE],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)


def test_weights_file_from_the_environment_is_the_one_used(tmp_path: Path) -> None:
    shipped = json.loads((REPO / "bot" / "detect" / "weights.json").read_text(encoding="utf-8"))
    assert classify(tmp_path, None).stdout.startswith("ALERT trailer")
    shipped["alert"]["bias"] = -50.0  # nothing can alert with this bias
    mute = tmp_path / "mute.json"
    mute.write_text(json.dumps(shipped), encoding="utf-8")
    assert not classify(tmp_path, str(mute)).stdout.startswith("ALERT")


def test_a_bad_weights_file_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text('{"format": 1}', encoding="utf-8")
    for path in (str(tmp_path / "missing.json"), str(tmp_path / "bad.json")):
        done = classify(tmp_path, path)
        assert done.returncode != 0 and "Traceback" not in done.stderr
        assert done.stderr.strip().splitlines() == [done.stderr.strip()]
        assert done.stderr.startswith(f"newsbot: NEWSBOT_WEIGHTS: cannot use {path}")
