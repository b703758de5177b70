"""The only SQL for reminders: insert, list, cancel/snooze/done, atomic claims, outcomes.

Times are integer unix seconds in UTC (see m003_reminders for why). Every write runs in a
`BEGIN IMMEDIATE` transaction: the write lock is taken *before* the rows are read, so two
connections (threads, processes, later workers on one file) can never claim the same row, and
SQLite's busy timeout makes the second one wait instead of failing.

The row states are drawn in `bot.storage.base.ReminderStore`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlite_utils import Database

from bot.storage.base import OPEN_STATUSES, NewReminder, ReminderStore, StoredReminder
from bot.storage.crypto import DataCipher
from bot.storage.sqlite.connection import write_transaction

_INSERT = (
    "INSERT INTO reminders (channel, chat_id, chat_kind, user_id, user_name, series, kind,"
    " step, payload, due_at, urgent, status, attempts, late, created_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', 0, 0, ?)"
)


def _row(cursor: sqlite3.Cursor, values: tuple[Any, ...], cipher: DataCipher) -> StoredReminder:
    record = {d[0]: v for d, v in zip(cursor.description, values, strict=True)}
    record["user_name"] = cipher.open(record["user_name"])
    record["payload"] = cipher.open(record["payload"])
    record["urgent"] = bool(record["urgent"])
    record["late"] = bool(record["late"])
    return StoredReminder(**record)


class SqliteReminders(ReminderStore):
    """Reminder rows in SQLite; safe to use from several connections on one file."""

    def __init__(self, db: Database, cipher: DataCipher) -> None:
        self.db = db
        self.cipher = cipher

    # ---- transactions ------------------------------------------------------------------

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction that holds the write lock from its first statement."""
        with write_transaction(self.db.conn, "reminders_write"):
            yield self.db.conn

    def _select(self, sql: str, params: Sequence[Any]) -> list[StoredReminder]:
        cursor = self.db.conn.execute(sql, tuple(params))
        return [_row(cursor, values, self.cipher) for values in cursor.fetchall()]

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
        with self._write() as conn:
            for series, status in [(s, "cancelled") for s in replace] + [
                (s, "done") for s in close
            ]:
                conn.execute(
                    "UPDATE reminders SET status = ?, claimed_by = NULL, claim_until = NULL"
                    " WHERE channel = ? AND user_id = ? AND series = ? AND status IN (?, ?, ?)",
                    (status, channel, user_id, series, *OPEN_STATUSES),
                )
            for row in rows:
                cursor = conn.execute(_INSERT, (*_values(row, self.cipher), now))
                ids.append(int(cursor.lastrowid or 0))
        return ids

    def get(self, reminder_id: int) -> StoredReminder | None:
        """One row by id."""
        rows = self._select("SELECT * FROM reminders WHERE id = ?", (reminder_id,))
        return rows[0] if rows else None

    def open_for_user(
        self, channel: str, user_id: str, chat_id: str | None = None
    ) -> list[StoredReminder]:
        """The user's reminders still to come (optionally only those set in one chat)."""
        sql = "SELECT * FROM reminders WHERE channel = ? AND user_id = ? AND status IN (?, ?, ?)"
        params: list[Any] = [channel, user_id, *OPEN_STATUSES]
        if chat_id is not None:
            sql += " AND chat_id = ?"
            params.append(chat_id)
        return self._select(sql + " ORDER BY due_at, id", params)

    def close_series(self, channel: str, user_id: str, series: str, status: str) -> int:
        """Mark every open row of one of the user's clocks `done` or `cancelled`."""
        with self._write() as conn:
            cursor = conn.execute(
                "UPDATE reminders SET status = ?, claimed_by = NULL, claim_until = NULL"
                " WHERE channel = ? AND user_id = ? AND series = ? AND status IN (?, ?, ?)",
                (status, channel, user_id, series, *OPEN_STATUSES),
            )
            return cursor.rowcount

    def snooze(self, reminder_id: int, due_at: int, now: int) -> int | None:
        """Move an open row to `due_at`, or re-arm a sent one as a new row; the row id or None."""
        with self._write() as conn:
            cursor = conn.execute(
                "UPDATE reminders SET due_at = ?, status = 'pending', claimed_by = NULL,"
                " claim_until = NULL WHERE id = ? AND status IN ('pending', 'paused')",
                (due_at, reminder_id),
            )
            if cursor.rowcount:
                return reminder_id
            cursor = conn.execute(
                "INSERT INTO reminders (channel, chat_id, chat_kind, user_id, user_name, series,"
                " kind, step, payload, due_at, urgent, status, attempts, late, created_at)"
                " SELECT channel, chat_id, chat_kind, user_id, user_name, series, kind, step,"
                " payload, ?, urgent, 'pending', 0, 0, ? FROM reminders"
                " WHERE id = ? AND status = 'sent'",
                (due_at, now, reminder_id),
            )
            return int(cursor.lastrowid) if cursor.rowcount and cursor.lastrowid else None

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
        marks = ", ".join("?" for _ in channels)
        where = f"status = 'pending' AND due_at <= ? AND channel IN ({marks})"
        if urgent_only:
            where += " AND urgent = 1"
        return self._claim(where, [now, *channels], worker, lease_until, limit)

    def claim_due_for_chat(
        self, channel: str, chat_id: str, worker: str, now: int, lease_until: int, limit: int
    ) -> list[StoredReminder]:
        """Atomically take the due rows of one chat (the terminal asks for its own)."""
        where = "channel = ? AND chat_id = ? AND status = 'pending' AND due_at <= ?"
        return self._claim(where, [channel, chat_id, now], worker, lease_until, limit)

    def _claim(
        self, where: str, params: list[Any], worker: str, lease_until: int, limit: int
    ) -> list[StoredReminder]:
        sql = (
            "UPDATE reminders SET status = 'claimed', claimed_by = ?, claim_until = ?"
            f" WHERE id IN (SELECT id FROM reminders WHERE {where} ORDER BY due_at, id LIMIT ?)"
            " RETURNING *"
        )
        with self._write() as conn:
            cursor = conn.execute(sql, (worker, lease_until, *params, limit))
            rows = [_row(cursor, values, self.cipher) for values in cursor.fetchall()]
        # RETURNING gives no order guarantee; callers send in due order.
        return sorted(rows, key=lambda r: (r.due_at, r.id))

    def mark_sending(self, reminder_id: int, worker: str, lease_until: int) -> bool:
        """Record that the send starts; False if the row is no longer this worker's claim."""
        with self._write() as conn:
            cursor = conn.execute(
                "UPDATE reminders SET status = 'sending', claim_until = ?"
                " WHERE id = ? AND status = 'claimed' AND claimed_by = ?",
                (lease_until, reminder_id, worker),
            )
            return cursor.rowcount == 1

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
        with self._write() as conn:
            cursor = conn.execute(
                "UPDATE reminders SET status = 'sent', sent_at = ?, late = ?, claimed_by = NULL,"
                " claim_until = NULL, attempts = attempts + 1, last_error = NULL"
                " WHERE id = ? AND claimed_by = ? AND status IN ('claimed', 'sending')",
                (now, int(late), reminder_id, worker),
            )
            if cursor.rowcount != 1:
                return False
            if follow_up is not None:
                conn.execute(_INSERT, (*_values(follow_up, self.cipher), now))
            return True

    def mark_skipped(self, reminder_ids: Sequence[int], worker: str) -> None:
        """Claimed rows made pointless by a later step of the same clock due at the same time."""
        with self._write() as conn:
            conn.executemany(
                "UPDATE reminders SET status = 'skipped', claimed_by = NULL, claim_until = NULL"
                " WHERE id = ? AND claimed_by = ?",
                [(reminder_id, worker) for reminder_id in reminder_ids],
            )

    def mark_retry(self, reminder_id: int, worker: str, due_at: int, error: str) -> None:
        """A transient failure: back to pending at `due_at`, one attempt counted."""
        with self._write() as conn:
            conn.execute(
                "UPDATE reminders SET status = 'pending', due_at = ?, last_error = ?,"
                " attempts = attempts + 1, claimed_by = NULL, claim_until = NULL"
                " WHERE id = ? AND claimed_by = ?",
                (due_at, error[:500], reminder_id, worker),
            )

    def mark_failed(self, reminder_id: int, worker: str, error: str) -> None:
        """A permanent failure: recorded, never retried."""
        with self._write() as conn:
            conn.execute(
                "UPDATE reminders SET status = 'failed', last_error = ?, attempts = attempts + 1,"
                " claimed_by = NULL, claim_until = NULL WHERE id = ? AND claimed_by = ?",
                (error[:500], reminder_id, worker),
            )

    def purge_finished(self, before: int) -> int:
        """Delete rows that are over (sent, done, cancelled, skipped, failed) and due before
        `before` (unix seconds); open rows are never touched. Returns how many went."""
        cursor = self.db.execute(
            "DELETE FROM reminders WHERE due_at < ? AND status NOT IN (?, ?, ?, 'sending')",
            (before, *OPEN_STATUSES),
        )
        return cursor.rowcount

    def pause_chat(self, channel: str, chat_id: str) -> int:
        """The chat blocked the bot: hold its pending rows until the user writes again."""
        with self._write() as conn:
            cursor = conn.execute(
                "UPDATE reminders SET status = 'paused'"
                " WHERE channel = ? AND chat_id = ? AND status = 'pending'",
                (channel, chat_id),
            )
            return cursor.rowcount

    def resume_chat(self, channel: str, chat_id: str) -> int:
        """The user wrote in a paused chat: its held rows are pending again."""
        # A cheap read first: this runs on every reminder message, writes are rare.
        exists = self.db.conn.execute(
            "SELECT 1 FROM reminders WHERE channel = ? AND chat_id = ? AND status = 'paused'"
            " LIMIT 1",
            (channel, chat_id),
        ).fetchone()
        if exists is None:
            return 0
        with self._write() as conn:
            cursor = conn.execute(
                "UPDATE reminders SET status = 'pending'"
                " WHERE channel = ? AND chat_id = ? AND status = 'paused'",
                (channel, chat_id),
            )
            return cursor.rowcount

    def renew_claims(self, worker: str, lease_until: int) -> int:
        """Heartbeat: extend the lease on everything `worker` holds."""
        with self._write() as conn:
            cursor = conn.execute(
                "UPDATE reminders SET claim_until = ?"
                " WHERE status IN ('claimed', 'sending') AND claimed_by = ?",
                (lease_until, worker),
            )
            return cursor.rowcount

    def release_expired(self, now: int) -> int:
        """Give back rows whose worker stopped renewing its lease (it died)."""
        with self._write() as conn:
            cursor = conn.execute(
                "UPDATE reminders SET status = 'pending', claimed_by = NULL, claim_until = NULL"
                " WHERE status IN ('claimed', 'sending') AND claim_until <= ?",
                (now,),
            )
            return cursor.rowcount

    def release_worker(self, worker: str) -> int:
        """Give back everything one worker id holds (its own earlier run, at start-up)."""
        with self._write() as conn:
            cursor = conn.execute(
                "UPDATE reminders SET status = 'pending', claimed_by = NULL, claim_until = NULL"
                " WHERE status IN ('claimed', 'sending') AND claimed_by = ?",
                (worker,),
            )
            return cursor.rowcount

    def count(self, status: str) -> int:
        """How many rows have this status (operations and tests)."""
        row = self.db.conn.execute(
            "SELECT count(*) FROM reminders WHERE status = ?", (status,)
        ).fetchone()
        return int(row[0])


def _values(row: NewReminder, cipher: DataCipher) -> tuple[Any, ...]:
    return (
        row.channel,
        row.chat_id,
        row.chat_kind,
        row.user_id,
        cipher.seal(row.user_name),
        row.series,
        row.kind,
        row.step,
        cipher.seal(row.payload),
        row.due_at,
        int(row.urgent),
    )
