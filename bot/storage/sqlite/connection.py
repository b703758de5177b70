"""Opens the SQLite file in WAL mode and applies pending migrations."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from bot.storage.base import StorageUnavailable
from bot.storage.sqlite.migrations import migrations


def open_database(path: Path | str) -> Database:
    """Open (creating if needed) and migrate the database; ':memory:' works for units."""
    if str(path) != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        # Only the bot's user may read it; SQLite gives the -wal and -shm files the same mode.
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
        os.chmod(path, 0o600)
    # check_same_thread=False: channels may call the synchronous core from a worker thread;
    # every write still goes through this one connection, one statement at a time.
    conn = sqlite3.connect(str(path), check_same_thread=False, timeout=10)
    db = Database(conn, execute_plugins=False)
    if str(path) != ":memory:":
        db.enable_wal()
    db.execute("PRAGMA foreign_keys = ON")
    # /forget must leave none of the user's values in the file: deleted cells and freed pages
    # are overwritten with zeros, not merely unlinked (SqliteStorage.scrub empties the WAL).
    db.execute("PRAGMA secure_delete = ON")
    db.execute("PRAGMA synchronous = NORMAL")
    migrations.apply(db)
    return db


class SqliteConnection:
    """The shared stores' `SqlConnection` (bot.storage.sql) on the sqlite-utils database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def execute(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        """Run one statement (in the open transaction, if any)."""
        # Through sqlite-utils, not the bare connection: outside a transaction it commits
        # the implicit one the sqlite3 module opens before a write.
        return self.db.execute(sql, tuple(params))

    def insert_returning_id(self, sql: str, params: Sequence[Any] = ()) -> int | None:
        """Run an INSERT of at most one row; the new row's `id`, None if none was inserted."""
        cursor = self.execute(sql, params)
        return int(cursor.lastrowid) if cursor.rowcount and cursor.lastrowid else None

    def transaction(self, name: str) -> AbstractContextManager[None]:
        """A write transaction (BEGIN IMMEDIATE); nested, a savepoint called `name`."""
        return write_transaction(self.db.conn, name)

    def write(self, name: str) -> AbstractContextManager[None]:
        """A deferred autocommit write may fail at once with "database is locked" when another
        connection wrote since it read; holding the lock from the start makes it wait."""
        return write_transaction(self.db.conn, name)


@contextmanager
def write_transaction(conn: sqlite3.Connection, name: str = "nested") -> Iterator[None]:
    """A transaction that holds the write lock from its first statement (BEGIN IMMEDIATE).

    A deferred BEGIN reads first and asks for the lock at its first write; if another
    connection committed in between, SQLite fails it at once with "database is locked"
    instead of waiting. IMMEDIATE waits for the lock up to the busy timeout. Inside an open
    transaction it joins with a savepoint."""
    try:
        if conn.in_transaction:
            with _savepoint(conn, name):
                yield
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    except sqlite3.OperationalError as exc:
        if cannot_write(exc):
            raise StorageUnavailable(str(exc)) from exc
        raise


@contextmanager
def _savepoint(conn: sqlite3.Connection, name: str) -> Iterator[None]:
    conn.execute(f"SAVEPOINT {name}")
    try:
        yield
    except BaseException:
        # An error that already ended the transaction took the savepoint with it: rolling
        # back to it would hide the original error behind "no such savepoint".
        if conn.in_transaction:
            conn.execute(f"ROLLBACK TO SAVEPOINT {name}")
            conn.execute(f"RELEASE SAVEPOINT {name}")
        raise
    conn.execute(f"RELEASE SAVEPOINT {name}")


# The result codes (and their extended forms) of a database that cannot take writes now.
_CANNOT_WRITE = ("SQLITE_FULL", "SQLITE_READONLY", "SQLITE_IOERR", "SQLITE_CANTOPEN")


def cannot_write(exc: sqlite3.OperationalError) -> bool:
    name = getattr(exc, "sqlite_errorname", "") or ""
    return name.startswith(_CANNOT_WRITE)
