"""`SqliteStorage`: the five stores on one sqlite-utils connection, one file (or memory)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from bot.storage.base import Leadership, StorageUnavailable
from bot.storage.crypto import DataCipher, WrongKeyError, key_file_of, load_cipher
from bot.storage.sql.storage import SqlStorage
from bot.storage.sqlite.connection import SqliteConnection, open_database, write_transaction
from bot.storage.sqlite.leadership import FileLeadership
from bot.storage.sqlite.reminders import SqliteReminders

logger = logging.getLogger(__name__)


class SqliteStorage(SqlStorage):
    """A SQLite database; several `SqliteStorage`s (threads, processes) may share one file."""

    def __init__(
        self,
        path: Path | str,
        clock: Callable[[], float] = time.time,
        cipher: DataCipher | None = None,
    ) -> None:
        """Open the file; without `cipher`, the key file beside it seals personal values."""
        self.path = path
        cipher = cipher or load_cipher(path)
        self.db = open_database(path)
        self.sql = SqliteConnection(self.db)
        try:
            # BEGIN IMMEDIATE holds the whole file: the plain read keeps other starters out.
            self._check_key(
                cipher,
                read_check="SELECT value FROM meta WHERE name = 'key_check'",
                wrong_key=(
                    f"the data key does not open {self.path}: it was written with another "
                    f"key. Set BEIAN_DATA_KEY to that key, or put its key file back at "
                    f"{key_file_of(Path(self.path))}; nothing is read or written in "
                    "plaintext instead."
                ),
            )
        except WrongKeyError:
            self.db.close()
            raise
        self._open_stores(cipher, clock, SqliteReminders)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One turn's transaction, holding the write lock from the start (two processes on one
        file wait for each other instead of failing); nested blocks become savepoints."""
        with write_transaction(self.db.conn, "turn"):
            yield

    @contextmanager
    def reading(self) -> Iterator[None]:
        """A deferred transaction, rolled back; StorageUnavailable if anything inside wrote."""
        conn = self.db.conn
        changes = conn.total_changes
        conn.execute("BEGIN")
        try:
            yield
        finally:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
        if conn.total_changes != changes:
            raise StorageUnavailable("the turn had to write")

    def leadership(self, name: str) -> Leadership:
        """A lock file beside the database: one holder on this machine."""
        return FileLeadership(self.path, name)

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
