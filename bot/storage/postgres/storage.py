"""`PostgresStorage`: the five stores on one connection pool to one PostgreSQL database."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from bot.storage.base import Storage, StorageUnavailable
from bot.storage.crypto import DataCipher, WrongKeyError
from bot.storage.postgres import migrations
from bot.storage.postgres.connection import Database, connect, safe_url
from bot.storage.postgres.filings import PostgresFilings
from bot.storage.postgres.reminders import PostgresReminders
from bot.storage.postgres.sessions import PostgresSessions
from bot.storage.postgres.updates import PostgresInbox, PostgresSeenUpdates

# Every table that holds a user's data, keyed by (channel, user_id).
_USER_TABLES = ("sessions", "filings", "reminders")
# The sealed columns of each table (bot.storage.crypto), keyed by the table's key columns;
# the same columns as on SQLite (sessions has no row id here: its primary key is used).
_SEALED = {
    ("sessions", ("channel", "chat_id", "user_id")): ("state",),
    ("filings", ("id",)): ("label", "data"),
    ("reminders", ("id",)): ("user_name", "payload"),
    ("inbox", ("seq",)): ("body",),
}


class PostgresStorage(Storage):
    """A PostgreSQL database; any number of `PostgresStorage`s (workers) may share it."""

    def __init__(
        self,
        url: str,
        cipher: DataCipher,
        clock: Callable[[], float] = time.time,
        *,
        pool_size: int = 4,
    ) -> None:
        """Migrate (under the advisory lock), check the data key, open the pool."""
        self.url = url
        with connect(url) as conn:
            migrations.apply(conn)
        self.db = Database(url, max_size=pool_size)
        try:
            self._check_key(cipher)
        except BaseException:
            self.db.close()
            raise
        self._sessions = PostgresSessions(self.db, cipher)
        self._filings = PostgresFilings(self.db, cipher)
        self._reminders = PostgresReminders(self.db, cipher)
        self._seen = PostgresSeenUpdates(self.db, clock)
        self._inbox = PostgresInbox(self.db, self._seen, cipher)

    def _check_key(self, cipher: DataCipher) -> None:
        """Stop on a key that does not open this database; seal with the first key what an
        older key sealed (a rotation). The meta row is locked while that runs, so two workers
        starting with a new key do not both reseal."""
        with self.db.transaction():
            self.db.execute(
                "INSERT INTO meta (name, value) VALUES ('key_check', '')"
                " ON CONFLICT (name) DO NOTHING"
            )
            row = self.db.execute(
                "SELECT value FROM meta WHERE name = 'key_check' FOR UPDATE"
            ).one()
            stored = str(row[0]) if row is not None else ""
            if stored:
                try:
                    cipher.check(stored)
                except WrongKeyError:
                    raise WrongKeyError(
                        f"the data key does not open {safe_url(self.url)}: it was written "
                        "with another key. Set BEIAN_DATA_KEY to that key; nothing is read or "
                        "written in plaintext instead."
                    ) from None
                if cipher.seals_with_first_key(stored):
                    return
            self._reseal_all(cipher)
            self.db.execute(
                "UPDATE meta SET value = %s WHERE name = 'key_check'", (cipher.probe(),)
            )

    def _reseal_all(self, cipher: DataCipher) -> None:
        for (table, keys), columns in _SEALED.items():
            result = self.db.execute(f"SELECT {', '.join(keys + columns)} FROM {table}")
            assignments = ", ".join(f"{c} = %s" for c in columns)
            match = " AND ".join(f"{k} = %s" for k in keys)
            for row in result.rows:
                key_values, values = row[: len(keys)], row[len(keys) :]
                self.db.execute(
                    f"UPDATE {table} SET {assignments} WHERE {match}",
                    (*(cipher.reseal(v) for v in values), *key_values),
                )

    @property
    def sessions(self) -> PostgresSessions:
        """Conversation states."""
        return self._sessions

    @property
    def filings(self) -> PostgresFilings:
        """Filings users collect."""
        return self._filings

    @property
    def reminders(self) -> PostgresReminders:
        """Reminder rows."""
        return self._reminders

    @property
    def seen_updates(self) -> PostgresSeenUpdates:
        """Handled update ids."""
        return self._seen

    @property
    def inbox(self) -> PostgresInbox:
        """Accepted updates not yet handled."""
        return self._inbox

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One turn's transaction on a connection pinned to this thread; nested blocks become
        savepoints. Row locks, not a database lock: other workers' turns run alongside."""
        with self.db.transaction():
            yield

    @contextmanager
    def reading(self) -> Iterator[None]:
        """A transaction that is rolled back; StorageUnavailable if anything inside wrote.

        PostgreSQL gives a transaction an id at its first write (of any row, also one a
        savepoint later undid), so "was an id assigned" is "did it write"."""
        wrote = False
        with self.db.transaction(read_back=True):
            yield
            row = self.db.execute("SELECT pg_current_xact_id_if_assigned() IS NOT NULL").one()
            wrote = bool(row and row[0])
        if wrote:
            raise StorageUnavailable("the turn had to write")

    def forget_user(self, channel: str, user_id: str) -> int:
        """Delete the user's rows from every table in one transaction; returns how many."""
        deleted = 0
        with self.db.transaction():
            for table in _USER_TABLES:
                deleted += self.db.execute(
                    f"DELETE FROM {table} WHERE channel = %s AND user_id = %s",
                    (channel, user_id),
                ).rowcount
        return deleted

    def scrub(self) -> None:
        """VACUUM the user tables after a committed delete.

        What it does: PostgreSQL never overwrites a deleted row in place; DELETE only marks
        the row version dead. VACUUM removes the dead versions and their index entries and
        marks their space free for new rows, so the values are gone from every query, index
        scan and `pg_dump` from then on, and the space is overwritten as rows are written.

        What it does not guarantee: that the bytes are gone from the disk. VACUUM does not
        zero the freed space (only VACUUM FULL rewrites a table, and the old file is unlinked,
        not wiped); the write-ahead log still holds the rows until its segments are recycled,
        and archived WAL, replicas and backups keep them as long as they are kept. A row still
        visible to a transaction that was open before the delete is kept until it ends. For
        the values at rest that matter most, the sealed columns (bot.storage.crypto) are
        unreadable without the data key in any case."""
        if self.db.pinned is not None:
            raise RuntimeError("scrub() runs after the delete has committed")
        for table in _USER_TABLES:
            self.db.execute(f"VACUUM {table}")

    def close(self) -> None:
        """Close the pool."""
        self.db.close()
