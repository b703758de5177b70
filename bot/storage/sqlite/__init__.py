"""The SQLite backend: one file in WAL mode (or `:memory:`), through sqlite-utils."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.storage.crypto import load_cipher
from bot.storage.sqlite.storage import SqliteStorage

if TYPE_CHECKING:
    from bot.config import Settings

__all__ = ["SqliteStorage", "open_storage"]


def open_storage(settings: Settings) -> SqliteStorage:
    """The database file the settings name (`BEIAN_DB_PATH`), sealed with the data key."""
    key = settings.data_key.get_secret_value() if settings.data_key else None
    return SqliteStorage(settings.db_path, cipher=load_cipher(settings.db_path, key))
