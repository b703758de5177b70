"""How reminders are claimed on PostgreSQL; the SQL itself is shared (bot.storage.sql.reminders).

Times are BIGINT unix seconds in UTC, as on SQLite. A claim is one statement: the due rows
are picked with `FOR UPDATE SKIP LOCKED`, so two workers claiming at once each lock and take
different rows instead of waiting for (or taking) the other's; a row another worker has just
claimed and committed is re-checked against `status = 'pending'` and left out. Leases
(`claim_until`) give the rows of a worker that died back, as on SQLite.

The row states are drawn in `bot.storage.base.ReminderStore`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.storage.sql.reminders import SqlReminders


class PostgresReminders(SqlReminders):
    """Reminder rows in PostgreSQL; safe to use from many connections and workers."""

    _SKIP_LOCKED = " FOR UPDATE SKIP LOCKED"

    def _in(self, column: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
        """`column = ANY(?)` with one array parameter: one statement text for any count."""
        return f"{column} = ANY(?)", [list(values)]
