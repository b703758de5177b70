"""The SQLite backend: one file in WAL mode (or `:memory:`), through sqlite-utils."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

from sqlite_utils import Database

from bot.storage.base import MigrationStatus
from bot.storage.crypto import load_cipher
from bot.storage.sqlite.connection import open_database
from bot.storage.sqlite.migrations import migrations
from bot.storage.sqlite.storage import SqliteStorage

if TYPE_CHECKING:
    from bot.config import Settings

__all__ = ["SqliteStorage", "migrate", "migration_status", "open_storage"]


def open_storage(settings: Settings) -> SqliteStorage:
    """The database file the settings name (`BEIAN_DB_PATH`), sealed with the data key."""
    key = settings.data_key.get_secret_value() if settings.data_key else None
    return SqliteStorage(settings.db_path, cipher=load_cipher(settings.db_path, key))


def migration_status(settings: Settings) -> MigrationStatus:
    """Applied and pending migrations, read only: a missing file is not created."""
    path = Path(settings.db_path)
    names = [m.name for m in migrations.pending(Database(memory=True))]
    if not path.exists():
        return MigrationStatus(str(path), applied=[], pending=names)
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        db = Database(conn, execute_plugins=False)
        applied = [m.name for m in migrations.applied(db)]
        pending = [m.name for m in migrations.pending(db)]
    finally:
        conn.close()
    return MigrationStatus(str(path), applied=applied, pending=pending)


def migrate(settings: Settings) -> list[str]:
    """Apply what is pending (opening the file does); returns the names applied."""
    before = migration_status(settings).pending
    open_database(settings.db_path).close()
    return before
