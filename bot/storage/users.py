"""`/forget`: delete everything stored about one user on one channel."""

from __future__ import annotations

from sqlite_utils import Database

# Every table that holds a user's data, keyed by (channel, user_id).
_USER_TABLES = ("sessions", "filings", "reminders")


def forget_user(db: Database, channel: str, user_id: str) -> int:
    """Delete the user's rows from every table in one transaction; returns how many."""
    deleted = 0
    with db.atomic():
        for table in _USER_TABLES:
            if db[table].exists():
                cursor = db.conn.execute(
                    f"DELETE FROM {table} WHERE channel = ? AND user_id = ?", (channel, user_id)
                )
                deleted += cursor.rowcount
    return deleted
