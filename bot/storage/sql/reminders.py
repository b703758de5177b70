"""The reminders' SQL and logic: insert, list, close/snooze, claims, outcomes.

Times are integer unix seconds in UTC (see m003_reminders for why). A backend subclass says
only how a claim picks its rows without racing another connection's claim and how a column
is matched against a list (`_SKIP_LOCKED`, `_in`); the row states are drawn in
`bot.storage.base.ReminderStore`.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import fields
from typing import Any

from bot.storage.base import OPEN_STATUSES, NewReminder, ReminderStore, StoredReminder
from bot.storage.crypto import DataCipher
from bot.storage.sql.connection import SqlConnection

# Named, not `*`: rows are built from the values in StoredReminder's field order.
_FIELDS = tuple(f.name for f in fields(StoredReminder))
_COLUMNS = ", ".join(_FIELDS)
_INSERT = (
    "INSERT INTO reminders (channel, chat_id, chat_kind, user_id, user_name, series, kind,"
    " step, payload, due_at, urgent, status, attempts, late, created_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', 0, FALSE, ?)"
)
_OPEN = "status IN (?, ?, ?)"
# The rows a worker holds: claimed, or being sent.
_HELD = "status IN ('claimed', 'sending')"


class SqlReminders(ReminderStore):
    """Reminder rows; safe to use from several connections on one database."""

    # Appended to the claim's row pick: how it skips rows another claimer holds (if needed).
    _SKIP_LOCKED = ""

    def __init__(self, db: SqlConnection, cipher: DataCipher) -> None:
        self.db = db
        self.cipher = cipher

    @abstractmethod
    def _in(self, column: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
        """`column` matched against any of `values`: the condition and its parameters."""

    def _select(self, sql: str, params: Sequence[Any]) -> list[StoredReminder]:
        return [self._row(values) for values in self.db.execute(sql, params).fetchall()]

    def _row(self, values: Sequence[Any]) -> StoredReminder:
        record = dict(zip(_FIELDS, values, strict=True))
        record["user_name"] = self.cipher.open(record["user_name"])
        record["payload"] = self.cipher.open(record["payload"])
        # SQLite keeps the flags as 0/1.
        record["urgent"] = bool(record["urgent"])
        record["late"] = bool(record["late"])
        return StoredReminder(**record)

    def _values(self, row: NewReminder) -> tuple[Any, ...]:
        return (
            row.channel,
            row.chat_id,
            row.chat_kind,
            row.user_id,
            self.cipher.seal(row.user_name),
            row.series,
            row.kind,
            row.step,
            self.cipher.seal(row.payload),
            row.due_at,
            row.urgent,
        )

    # ---- what users do -----------------------------------------------------------------

    def schedule(
        self,
        rows: Sequence[NewReminder],
        *,
        channel: str,
        user_id: str,
        replace: Sequence[str] = (),
        close: Sequence[str] = (),
        now: int,
    ) -> list[int]:
        """Atomically: cancel open `replace` clocks, mark `close` ones done, insert `rows`."""
        ids: list[int] = []
        with self.db.transaction("reminders_write"):
            for series, status in [(s, "cancelled") for s in replace] + [
                (s, "done") for s in close
            ]:
                self.db.execute(
                    "UPDATE reminders SET status = ?, claimed_by = NULL, claim_until = NULL"
                    f" WHERE channel = ? AND user_id = ? AND series = ? AND {_OPEN}",
                    (status, channel, user_id, series, *OPEN_STATUSES),
                )
            for row in rows:
                new_id = self.db.insert_returning_id(_INSERT, (*self._values(row), now))
                assert new_id is not None  # a plain INSERT ... VALUES always inserts its row
                ids.append(new_id)
        return ids

    def get(self, reminder_id: int) -> StoredReminder | None:
        """One row by id."""
        rows = self._select(f"SELECT {_COLUMNS} FROM reminders WHERE id = ?", (reminder_id,))
        return rows[0] if rows else None

    def open_for_user(
        self, channel: str, user_id: str, chat_id: str | None = None
    ) -> list[StoredReminder]:
        """The user's reminders still to come (optionally only those set in one chat)."""
        sql = f"SELECT {_COLUMNS} FROM reminders WHERE channel = ? AND user_id = ? AND {_OPEN}"
        params: list[Any] = [channel, user_id, *OPEN_STATUSES]
        if chat_id is not None:
            sql += " AND chat_id = ?"
            params.append(chat_id)
        return self._select(sql + " ORDER BY due_at, id", params)

    def close_series(self, channel: str, user_id: str, series: str, status: str) -> int:
        """Mark every open row of one of the user's clocks `done` or `cancelled`."""
        with self.db.write("reminders_write"):
            return self.db.execute(
                "UPDATE reminders SET status = ?, claimed_by = NULL, claim_until = NULL"
                f" WHERE channel = ? AND user_id = ? AND series = ? AND {_OPEN}",
                (status, channel, user_id, series, *OPEN_STATUSES),
            ).rowcount

    def snooze(self, reminder_id: int, due_at: int, now: int) -> int | None:
        """Move an open row to `due_at`, or re-arm a sent one as a new row; the row id or None."""
        with self.db.transaction("reminders_write"):
            moved = self.db.execute(
                "UPDATE reminders SET due_at = ?, status = 'pending', claimed_by = NULL,"
                " claim_until = NULL WHERE id = ? AND status IN ('pending', 'paused')",
                (due_at, reminder_id),
            )
            if moved.rowcount:
                return reminder_id
            return self.db.insert_returning_id(
                "INSERT INTO reminders (channel, chat_id, chat_kind, user_id, user_name, series,"
                " kind, step, payload, due_at, urgent, status, attempts, late, created_at)"
                " SELECT channel, chat_id, chat_kind, user_id, user_name, series, kind, step,"
                " payload, ?, urgent, 'pending', 0, FALSE, ? FROM reminders"
                " WHERE id = ? AND status = 'sent'",
                (due_at, now, reminder_id),
            )

    # ---- what the sender does ----------------------------------------------------------

    def claim_due(
        self,
        worker: str,
        now: int,
        lease_until: int,
        limit: int,
        *,
        channels: Sequence[str],
        urgent_only: bool = False,
    ) -> list[StoredReminder]:
        """Atomically take up to `limit` due rows of these channels for `worker`, oldest first."""
        if not channels or limit <= 0:
            return []
        in_channels, channel_params = self._in("channel", channels)
        where = f"status = 'pending' AND due_at <= ? AND {in_channels}"
        if urgent_only:
            where += " AND urgent = TRUE"
        return self._claim(where, [now, *channel_params], worker, lease_until, limit)

    def claim_due_for_chat(
        self, channel: str, chat_id: str, worker: str, now: int, lease_until: int, limit: int
    ) -> list[StoredReminder]:
        """Atomically take the due rows of one chat (the terminal asks for its own)."""
        if limit <= 0:
            return []
        where = "channel = ? AND chat_id = ? AND status = 'pending' AND due_at <= ?"
        return self._claim(where, [channel, chat_id, now], worker, lease_until, limit)

    def _claim(
        self, where: str, params: list[Any], worker: str, lease_until: int, limit: int
    ) -> list[StoredReminder]:
        # The outer `status = 'pending'` re-checks a row another claimer took and committed
        # after this one's pick read it (where the pick does not hold the whole database).
        sql = (
            "UPDATE reminders SET status = 'claimed', claimed_by = ?, claim_until = ?"
            f" WHERE id IN (SELECT id FROM reminders WHERE {where} ORDER BY due_at, id"
            f" LIMIT ?{self._SKIP_LOCKED}) AND status = 'pending' RETURNING {_COLUMNS}"
        )
        with self.db.write("reminders_write"):
            rows = self._select(sql, (worker, lease_until, *params, limit))
        # RETURNING gives no order guarantee; callers send in due order.
        return sorted(rows, key=lambda r: (r.due_at, r.id))

    def mark_sending(self, reminder_id: int, worker: str, lease_until: int) -> bool:
        """Record that the send starts; False if the row is no longer this worker's claim."""
        with self.db.write("reminders_write"):
            marked = self.db.execute(
                "UPDATE reminders SET status = 'sending', claim_until = ?"
                " WHERE id = ? AND status = 'claimed' AND claimed_by = ?",
                (lease_until, reminder_id, worker),
            )
            return marked.rowcount == 1

    def mark_sent(
        self,
        reminder_id: int,
        worker: str,
        now: int,
        *,
        late: bool,
        follow_up: NewReminder | None = None,
    ) -> bool:
        """Record the delivery (and insert the next occurrence of a recurring reminder)."""
        with self.db.transaction("reminders_write"):
            sent = self.db.execute(
                "UPDATE reminders SET status = 'sent', sent_at = ?, late = ?,"
                " claimed_by = NULL, claim_until = NULL, attempts = attempts + 1,"
                f" last_error = NULL WHERE id = ? AND claimed_by = ? AND {_HELD}",
                (now, late, reminder_id, worker),
            )
            if sent.rowcount != 1:
                return False
            if follow_up is not None:
                self.db.execute(_INSERT, (*self._values(follow_up), now))
            return True

    def mark_skipped(self, reminder_ids: Sequence[int], worker: str) -> None:
        """Claimed rows made pointless by a later step of the same clock due at the same time."""
        if not reminder_ids:
            return
        in_ids, id_params = self._in("id", reminder_ids)
        with self.db.write("reminders_write"):
            self.db.execute(
                "UPDATE reminders SET status = 'skipped', claimed_by = NULL, claim_until = NULL"
                f" WHERE {in_ids} AND claimed_by = ?",
                (*id_params, worker),
            )

    def mark_retry(self, reminder_id: int, worker: str, due_at: int, error: str) -> None:
        """A transient failure: back to pending at `due_at`, one attempt counted."""
        with self.db.write("reminders_write"):
            self.db.execute(
                "UPDATE reminders SET status = 'pending', due_at = ?, last_error = ?,"
                " attempts = attempts + 1, claimed_by = NULL, claim_until = NULL"
                " WHERE id = ? AND claimed_by = ?",
                (due_at, error[:500], reminder_id, worker),
            )

    def mark_failed(self, reminder_id: int, worker: str, error: str) -> None:
        """A permanent failure: recorded, never retried."""
        with self.db.write("reminders_write"):
            self.db.execute(
                "UPDATE reminders SET status = 'failed', last_error = ?, attempts = attempts + 1,"
                " claimed_by = NULL, claim_until = NULL WHERE id = ? AND claimed_by = ?",
                (error[:500], reminder_id, worker),
            )

    def purge_finished(self, before: int) -> int:
        """Delete rows that are over (sent, done, cancelled, skipped, failed) and due before
        `before` (unix seconds); open rows are never touched. Returns how many went."""
        return self.db.execute(
            "DELETE FROM reminders WHERE due_at < ? AND status NOT IN (?, ?, ?, 'sending')",
            (before, *OPEN_STATUSES),
        ).rowcount

    def pause_chat(self, channel: str, chat_id: str) -> int:
        """The chat blocked the bot: hold its pending rows until the user writes again."""
        with self.db.write("reminders_write"):
            return self.db.execute(
                "UPDATE reminders SET status = 'paused'"
                " WHERE channel = ? AND chat_id = ? AND status = 'pending'",
                (channel, chat_id),
            ).rowcount

    def resume_chat(self, channel: str, chat_id: str) -> int:
        """The user wrote in a paused chat: its held rows are pending again."""
        # A cheap read first: this runs on every reminder message, writes are rare.
        exists = self.db.execute(
            "SELECT 1 FROM reminders WHERE channel = ? AND chat_id = ? AND status = 'paused'"
            " LIMIT 1",
            (channel, chat_id),
        ).fetchone()
        if exists is None:
            return 0
        with self.db.write("reminders_write"):
            return self.db.execute(
                "UPDATE reminders SET status = 'pending'"
                " WHERE channel = ? AND chat_id = ? AND status = 'paused'",
                (channel, chat_id),
            ).rowcount

    def renew_claims(self, worker: str, lease_until: int) -> int:
        """Heartbeat: extend the lease on everything `worker` holds."""
        with self.db.write("reminders_write"):
            return self.db.execute(
                f"UPDATE reminders SET claim_until = ? WHERE {_HELD} AND claimed_by = ?",
                (lease_until, worker),
            ).rowcount

    def release_expired(self, now: int) -> int:
        """Give back rows whose worker stopped renewing its lease (it died)."""
        with self.db.write("reminders_write"):
            return self.db.execute(
                "UPDATE reminders SET status = 'pending', claimed_by = NULL, claim_until = NULL"
                f" WHERE {_HELD} AND claim_until <= ?",
                (now,),
            ).rowcount

    def release_worker(self, worker: str) -> int:
        """Give back everything one worker id holds (its own earlier run, at start-up)."""
        with self.db.write("reminders_write"):
            return self.db.execute(
                "UPDATE reminders SET status = 'pending', claimed_by = NULL, claim_until = NULL"
                f" WHERE {_HELD} AND claimed_by = ?",
                (worker,),
            ).rowcount

    def count(self, status: str) -> int:
        """How many rows have this status (operations and tests)."""
        row = self.db.execute("SELECT count(*) FROM reminders WHERE status = ?", (status,))
        return int(row.fetchone()[0])
