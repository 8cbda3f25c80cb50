"""The instance lock of a state dir, and the check that its files are still the ones a daemon opened."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import TextIO

from bot.store.store import DB_NAME


class InstanceLock:
    """An exclusive lock on the state dir, so that two daemons never share one database."""

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / "newsbot.lock"
        self._fh: TextIO | None = None

    def acquire(self) -> str | None:
        """Takes the lock; returns a message naming the holder if another process has it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fh = self.path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.seek(0)
            holder = fh.read().strip() or "unknown"
            fh.close()
            return f"another newsbot is already running on {self.path.parent} (pid {holder})"
        fh.seek(0)
        fh.truncate()
        fh.write(str(os.getpid()))
        fh.flush()
        self._fh = fh
        return None

    def release(self) -> None:
        """Lets the lock go (at a clean exit; the system drops it if the process dies)."""
        if self._fh is not None:
            fcntl.flock(self._fh.fileno(), fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None


class StateFiles:
    """The database and lock file a daemon started with, by inode: a state dir deleted or replaced
    under the running daemon is noticed, so that it stops instead of writing to files nobody sees."""

    def __init__(self, state_dir: Path) -> None:
        self.paths = (state_dir / DB_NAME, InstanceLock(state_dir).path)
        self.inodes = tuple(self._inode(p) for p in self.paths)

    @staticmethod
    def _inode(path: Path) -> int | None:
        try:
            return path.stat().st_ino
        except OSError:
            return None

    def problem(self) -> str | None:
        """What is missing or replaced since the start, in one phrase; None when all is in place."""
        for path, inode in zip(self.paths, self.inodes, strict=True):
            now = self._inode(path)
            if now is None:
                return f"{path} is gone (deleted or moved)"
            if inode is not None and now != inode:
                return f"{path} was replaced by another file"
        return None


