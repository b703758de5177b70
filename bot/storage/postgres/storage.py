"""`PostgresStorage`: the five stores on one connection pool to one PostgreSQL database."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from bot.storage.base import Leadership, SendBudget, StorageUnavailable
from bot.storage.crypto import DataCipher
from bot.storage.postgres import migrations
from bot.storage.postgres.budget import PostgresSendBudget
from bot.storage.postgres.connection import Database, PostgresConnection, connect, safe_url
from bot.storage.postgres.leadership import AdvisoryLeadership
from bot.storage.postgres.reminders import PostgresReminders
from bot.storage.sql.storage import USER_TABLES, SqlStorage

# Inserts the check row if missing and locks it either way (DO UPDATE takes the row lock,
# RETURNING gives the committed value): a second worker starting with a new key waits here
# until the first has resealed, then finds the new check value.
_READ_CHECK = (
    "INSERT INTO meta (name, value) VALUES ('key_check', '')"
    " ON CONFLICT (name) DO UPDATE SET value = meta.value RETURNING value"
)


class PostgresStorage(SqlStorage):
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
        self.sql = PostgresConnection(self.db)
        try:
            self._check_key(
                cipher,
                read_check=_READ_CHECK,
                wrong_key=(
                    f"the data key does not open {safe_url(self.url)}: it was written "
                    "with another key. Set BEIAN_DATA_KEY to that key; nothing is read or "
                    "written in plaintext instead."
                ),
            )
        except BaseException:
            self.db.close()
            raise
        self._open_stores(cipher, clock, PostgresReminders)

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

    def send_budget(self) -> SendBudget:
        """Telegram's and WeCom's limits hold for all the workers together."""
        return PostgresSendBudget(self.db)

    def leadership(self, name: str) -> Leadership:
        """A session-level advisory lock: one holder among all the workers."""
        return AdvisoryLeadership(self.url, name)

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
        for table in USER_TABLES:
            self.db.execute(f"VACUUM {table}")

    def close(self) -> None:
        """Close the pool."""
        self.db.close()
