"""`SqliteStorage`: the five stores on one sqlite-utils connection, one file (or memory)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from bot.storage.base import Storage, StorageUnavailable
from bot.storage.crypto import DataCipher, WrongKeyError, key_file_of, load_cipher
from bot.storage.sqlite.connection import open_database, write_transaction
from bot.storage.sqlite.filings import SqliteFilings
from bot.storage.sqlite.reminders import SqliteReminders
from bot.storage.sqlite.sessions import SqliteSessions
from bot.storage.sqlite.updates import SqliteInbox, SqliteSeenUpdates

logger = logging.getLogger(__name__)
# Every table that holds a user's data, keyed by (channel, user_id).
_USER_TABLES = ("sessions", "filings", "reminders")
# The sealed columns of each table (bot.storage.crypto), keyed by the table's row id column.
_SEALED = {
    ("sessions", "rowid"): ("state",),
    ("filings", "id"): ("label", "data"),
    ("reminders", "id"): ("user_name", "payload"),
    ("inbox", "seq"): ("body",),
}


class SqliteStorage(Storage):
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
        try:
            self._check_key(cipher)
        except WrongKeyError:
            self.db.close()
            raise
        self._sessions = SqliteSessions(self.db, cipher)
        self._filings = SqliteFilings(self.db, cipher)
        self._reminders = SqliteReminders(self.db, cipher)
        self._seen = SqliteSeenUpdates(self.db, clock)
        self._inbox = SqliteInbox(self.db, self._seen, cipher)

    def _check_key(self, cipher: DataCipher) -> None:
        """Stop on a key that does not open this database; seal with the first key what an
        older version stored in plaintext or an older key sealed (a rotation)."""
        with write_transaction(self.db.conn, "key_check"):
            row = self.db.execute("SELECT value FROM meta WHERE name = 'key_check'").fetchone()
            if row is not None:
                try:
                    cipher.check(row[0])
                except WrongKeyError:
                    raise WrongKeyError(
                        f"the data key does not open {self.path}: it was written with another "
                        f"key. Set BEIAN_DATA_KEY to that key, or put its key file back at "
                        f"{key_file_of(Path(self.path))}; nothing is read or written in "
                        "plaintext instead."
                    ) from None
                if cipher.seals_with_first_key(row[0]):
                    return
            self._reseal_all(cipher)
            self.db.execute(
                "INSERT INTO meta (name, value) VALUES ('key_check', ?)"
                " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                (cipher.probe(),),
            )

    def _reseal_all(self, cipher: DataCipher) -> None:
        for (table, id_column), columns in _SEALED.items():
            rows = self.db.execute(f"SELECT {id_column}, {', '.join(columns)} FROM {table}")
            assignments = ", ".join(f"{c} = ?" for c in columns)
            for row_id, *values in rows.fetchall():
                self.db.execute(
                    f"UPDATE {table} SET {assignments} WHERE {id_column} = ?",
                    (*(cipher.reseal(v) for v in values), row_id),
                )

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
