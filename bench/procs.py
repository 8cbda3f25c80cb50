"""Child processes of the benches: waited for within a bound, with their rusage, and stopped cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any


def bench_env(home: Path | None = None) -> dict[str, str]:
    """The environment of every measured process: no proxy, no token, and its own home if given."""
    env = {k: v for k, v in os.environ.items()
           if "proxy" not in k.lower() and not k.startswith(("TELEGRAM_", "NEWSBOT_"))}
    env.update(NO_PROXY="127.0.0.0/8", PYTHONDONTWRITEBYTECODE="1")
    if home is not None:
        env.update(HOME=str(home), XDG_CONFIG_HOME=str(home), XDG_CACHE_HOME=str(home))
    return env


def wait_bounded(proc: subprocess.Popen[Any], timeout: float) -> tuple[int, Any]:
    """Waits for `proc` (killed after `timeout` seconds); its wait status and rusage, read with wait4()."""
    deadline = time.monotonic() + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            return status, usage
        if time.monotonic() > deadline:
            proc.kill()
            _, status, usage = os.wait4(proc.pid, 0)
            return status, usage
        time.sleep(0.01)


def stop(proc: subprocess.Popen[Any], grace: float = 15.0) -> None:
    """SIGTERM, then SIGKILL if `proc` has not ended within `grace` seconds."""
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
