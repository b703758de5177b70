"""The SQLite backend: one file in WAL mode (or `:memory:`), through sqlite-utils."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.storage.sqlite.storage import SqliteStorage

if TYPE_CHECKING:
    from bot.config import Settings

__all__ = ["SqliteStorage", "open_storage"]


def open_storage(settings: Settings) -> SqliteStorage:
    """The database file the settings name (`BEIAN_DB_PATH`)."""
    return SqliteStorage(settings.db_path)
