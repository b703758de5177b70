"""`SqliteStorage`: the five stores on one sqlite-utils connection, one file (or memory)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from bot.storage.base import Storage
from bot.storage.sqlite.connection import open_database, write_transaction
from bot.storage.sqlite.filings import SqliteFilings
from bot.storage.sqlite.reminders import SqliteReminders
from bot.storage.sqlite.sessions import SqliteSessions
from bot.storage.sqlite.updates import SqliteInbox, SqliteSeenUpdates

logger = logging.getLogger(__name__)
# Every table that holds a user's data, keyed by (channel, user_id).
_USER_TABLES = ("sessions", "filings", "reminders")


class SqliteStorage(Storage):
    """A SQLite database; several `SqliteStorage`s (threads, processes) may share one file."""

    def __init__(self, path: Path | str, clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self.db = open_database(path)
        self._sessions = SqliteSessions(self.db)
        self._filings = SqliteFilings(self.db)
        self._reminders = SqliteReminders(self.db)
        self._seen = SqliteSeenUpdates(self.db, clock)
        self._inbox = SqliteInbox(self.db, self._seen)

    @property
    def sessions(self) -> SqliteSessions:
        """Conversation states."""
        return self._sessions

    @property
    def filings(self) -> SqliteFilings:
        """Filings users collect."""
        return self._filings

    @property
    def reminders(self) -> SqliteReminders:
        """Reminder rows."""
        return self._reminders

    @property
    def seen_updates(self) -> SqliteSeenUpdates:
        """Handled update ids."""
        return self._seen

    @property
    def inbox(self) -> SqliteInbox:
        """Accepted updates not yet handled."""
        return self._inbox

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One turn's transaction, holding the write lock from the start (two processes on one
        file wait for each other instead of failing); nested blocks become savepoints."""
        with write_transaction(self.db.conn, "turn"):
            yield

    def forget_user(self, channel: str, user_id: str) -> int:
        """Delete the user's rows from every table in one transaction; returns how many."""
        deleted = 0
        with write_transaction(self.db.conn, "forget"):
            for table in _USER_TABLES:
                cursor = self.db.conn.execute(
                    f"DELETE FROM {table} WHERE channel = ? AND user_id = ?", (channel, user_id)
                )
                deleted += cursor.rowcount
        return deleted

    def scrub(self) -> None:
        """Copy the WAL into the main file and truncate it, so no old frame keeps the values.

        secure_delete (set at open) has already zeroed the deleted cells and freed pages; the
        WAL still holds the frames written before the delete until this checkpoint."""
        if self.db.conn.in_transaction:
            raise RuntimeError("scrub() runs after the delete has committed")
        for _ in range(5):  # a reader in the middle of a read can make one attempt partial
            busy, _, _ = self.db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            if not busy:
                return
        logger.warning("WAL checkpoint after a delete stayed busy; a later checkpoint ends it")

    def close(self) -> None:
        """Close the connection."""
        self.db.close()
