"""How reminders are claimed on SQLite; the SQL itself is shared (bot.storage.sql.reminders).

Times are integer unix seconds in UTC (see m003_reminders for why). Every write runs in a
`BEGIN IMMEDIATE` transaction: the write lock is taken *before* the rows are read, so two
connections (threads, processes, later workers on one file) can never claim the same row, and
SQLite's busy timeout makes the second one wait instead of failing.

The row states are drawn in `bot.storage.base.ReminderStore`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.storage.sql.reminders import SqlReminders


class SqliteReminders(SqlReminders):
    """Reminder rows in SQLite; safe to use from several connections on one file."""

    # The claim's pick needs no row locks: it runs under the database's write lock.
    _SKIP_LOCKED = ""

    def _in(self, column: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
        """`column IN (?, ...)`: SQLite has no arrays to bind."""
        return f"{column} IN ({', '.join('?' for _ in values)})", list(values)
