"""One holder per SQLite file: an exclusive `flock` on a lock file beside the database.

A SQLite file is on one machine, so the operating system's file lock is the election: it is
released the moment the holder's process ends, however it ends.
"""

from __future__ import annotations

import fcntl
import os
import re
from pathlib import Path

from bot.storage.base import Leadership


class FileLeadership(Leadership):
    """`<database>.<name>.lock`, held with a non-blocking exclusive flock."""

    def __init__(self, database: Path | str, name: str) -> None:
        safe = re.sub(r"[^A-Za-z0-9_-]", "_", name)
        # An in-memory database is its process's alone: nothing to share, so always held.
        self.path = None if str(database) == ":memory:" else Path(f"{database}.{safe}.lock")
        self._fd: int | None = None

    def try_acquire(self) -> bool:
        """Take the lock if no other process has it."""
        if self.path is None or self._fd is not None:
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def still_held(self) -> bool:
        """A file lock is not lost while the process lives."""
        return self.path is None or self._fd is not None

    def release(self) -> None:
        """Unlock (closing the descriptor releases the flock)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
