"""The only SQL for reminders on PostgreSQL: insert, list, close/snooze, claims, outcomes.

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

from bot.storage.base import OPEN_STATUSES, NewReminder, ReminderStore, StoredReminder
from bot.storage.crypto import DataCipher
from bot.storage.postgres.connection import Database, Result

_INSERT = (
    "INSERT INTO reminders (channel, chat_id, chat_kind, user_id, user_name, series, kind,"
    " step, payload, due_at, urgent, status, attempts, late, created_at)"
    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 'pending', 0, FALSE, %s) RETURNING id"
)
_OPEN = "status IN (%s, %s, %s)"


def _rows(result: Result, cipher: DataCipher) -> list[StoredReminder]:
    out = []
    for values in result.rows:
        record = dict(zip(result.columns, values, strict=True))
        record["user_name"] = cipher.open(record["user_name"])
        record["payload"] = cipher.open(record["payload"])
        out.append(StoredReminder(**record))
    return out


class PostgresReminders(ReminderStore):
    """Reminder rows in PostgreSQL; safe to use from many connections and workers."""

    def __init__(self, db: Database, cipher: DataCipher) -> None:
        self.db = db
        self.cipher = cipher

    def _select(self, sql: str, params: Sequence[Any]) -> list[StoredReminder]:
        return _rows(self.db.execute(sql, params), self.cipher)

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
        with self.db.transaction():
            for series, status in [(s, "cancelled") for s in replace] + [
                (s, "done") for s in close
            ]:
                self.db.execute(
                    "UPDATE reminders SET status = %s, claimed_by = NULL, claim_until = NULL"
                    f" WHERE channel = %s AND user_id = %s AND series = %s AND {_OPEN}",
                    (status, channel, user_id, series, *OPEN_STATUSES),
                )
            for row in rows:
                inserted = self.db.execute(_INSERT, (*_values(row, self.cipher), now)).one()
                assert inserted is not None
                ids.append(int(inserted[0]))
        return ids

    def get(self, reminder_id: int) -> StoredReminder | None:
        """One row by id."""
        rows = self._select("SELECT * FROM reminders WHERE id = %s", (reminder_id,))
        return rows[0] if rows else None

    def open_for_user(
        self, channel: str, user_id: str, chat_id: str | None = None
    ) -> list[StoredReminder]:
        """The user's reminders still to come (optionally only those set in one chat)."""
        sql = f"SELECT * FROM reminders WHERE channel = %s AND user_id = %s AND {_OPEN}"
        params: list[Any] = [channel, user_id, *OPEN_STATUSES]
        if chat_id is not None:
            sql += " AND chat_id = %s"
            params.append(chat_id)
        return self._select(sql + " ORDER BY due_at, id", params)

    def close_series(self, channel: str, user_id: str, series: str, status: str) -> int:
        """Mark every open row of one of the user's clocks `done` or `cancelled`."""
        return self.db.execute(
            "UPDATE reminders SET status = %s, claimed_by = NULL, claim_until = NULL"
            f" WHERE channel = %s AND user_id = %s AND series = %s AND {_OPEN}",
            (status, channel, user_id, series, *OPEN_STATUSES),
        ).rowcount

    def snooze(self, reminder_id: int, due_at: int, now: int) -> int | None:
        """Move an open row to `due_at`, or re-arm a sent one as a new row; the row id or None."""
        with self.db.transaction():
            moved = self.db.execute(
                "UPDATE reminders SET due_at = %s, status = 'pending', claimed_by = NULL,"
                " claim_until = NULL WHERE id = %s AND status IN ('pending', 'paused')",
                (due_at, reminder_id),
            )
            if moved.rowcount:
                return reminder_id
            row = self.db.execute(
                "INSERT INTO reminders (channel, chat_id, chat_kind, user_id, user_name, series,"
                " kind, step, payload, due_at, urgent, status, attempts, late, created_at)"
                " SELECT channel, chat_id, chat_kind, user_id, user_name, series, kind, step,"
                " payload, %s, urgent, 'pending', 0, FALSE, %s FROM reminders"
                " WHERE id = %s AND status = 'sent' RETURNING id",
                (due_at, now, reminder_id),
            ).one()
            return int(row[0]) if row is not None else None

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
        where = "status = 'pending' AND due_at <= %s AND channel = ANY(%s)"
        if urgent_only:
            where += " AND urgent"
        return self._claim(where, [now, list(channels)], worker, lease_until, limit)

    def claim_due_for_chat(
        self, channel: str, chat_id: str, worker: str, now: int, lease_until: int, limit: int
    ) -> list[StoredReminder]:
        """Atomically take the due rows of one chat (the terminal asks for its own)."""
        if limit <= 0:
            return []
        where = "channel = %s AND chat_id = %s AND status = 'pending' AND due_at <= %s"
        return self._claim(where, [channel, chat_id, now], worker, lease_until, limit)

    def _claim(
        self, where: str, params: list[Any], worker: str, lease_until: int, limit: int
    ) -> list[StoredReminder]:
        sql = (
            "UPDATE reminders SET status = 'claimed', claimed_by = %s, claim_until = %s"
            f" WHERE id IN (SELECT id FROM reminders WHERE {where} ORDER BY due_at, id"
            " LIMIT %s FOR UPDATE SKIP LOCKED) AND status = 'pending' RETURNING *"
        )
        rows = self._select(sql, (worker, lease_until, *params, limit))
        # RETURNING gives no order guarantee; callers send in due order.
        return sorted(rows, key=lambda r: (r.due_at, r.id))

    def mark_sending(self, reminder_id: int, worker: str, lease_until: int) -> bool:
        """Record that the send starts; False if the row is no longer this worker's claim."""
        return (
            self.db.execute(
                "UPDATE reminders SET status = 'sending', claim_until = %s"
                " WHERE id = %s AND status = 'claimed' AND claimed_by = %s",
                (lease_until, reminder_id, worker),
            ).rowcount
            == 1
        )

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
        with self.db.transaction():
            sent = self.db.execute(
                "UPDATE reminders SET status = 'sent', sent_at = %s, late = %s,"
                " claimed_by = NULL, claim_until = NULL, attempts = attempts + 1,"
                " last_error = NULL"
                " WHERE id = %s AND claimed_by = %s AND status IN ('claimed', 'sending')",
                (now, late, reminder_id, worker),
            )
            if sent.rowcount != 1:
                return False
            if follow_up is not None:
                self.db.execute(_INSERT, (*_values(follow_up, self.cipher), now))
            return True

    def mark_skipped(self, reminder_ids: Sequence[int], worker: str) -> None:
        """Claimed rows made pointless by a later step of the same clock due at the same time."""
        self.db.execute(
            "UPDATE reminders SET status = 'skipped', claimed_by = NULL, claim_until = NULL"
            " WHERE id = ANY(%s) AND claimed_by = %s",
            (list(reminder_ids), worker),
        )

    def mark_retry(self, reminder_id: int, worker: str, due_at: int, error: str) -> None:
        """A transient failure: back to pending at `due_at`, one attempt counted."""
        self.db.execute(
            "UPDATE reminders SET status = 'pending', due_at = %s, last_error = %s,"
            " attempts = attempts + 1, claimed_by = NULL, claim_until = NULL"
            " WHERE id = %s AND claimed_by = %s",
            (due_at, error[:500], reminder_id, worker),
        )

    def mark_failed(self, reminder_id: int, worker: str, error: str) -> None:
        """A permanent failure: recorded, never retried."""
        self.db.execute(
            "UPDATE reminders SET status = 'failed', last_error = %s, attempts = attempts + 1,"
            " claimed_by = NULL, claim_until = NULL WHERE id = %s AND claimed_by = %s",
            (error[:500], reminder_id, worker),
        )

    def purge_finished(self, before: int) -> int:
        """Delete rows that are over (sent, done, cancelled, skipped, failed) and due before
        `before` (unix seconds); open rows are never touched. Returns how many went."""
        return self.db.execute(
            f"DELETE FROM reminders WHERE due_at < %s AND NOT {_OPEN} AND status <> 'sending'",
            (before, *OPEN_STATUSES),
        ).rowcount

    def pause_chat(self, channel: str, chat_id: str) -> int:
        """The chat blocked the bot: hold its pending rows until the user writes again."""
        return self.db.execute(
            "UPDATE reminders SET status = 'paused'"
            " WHERE channel = %s AND chat_id = %s AND status = 'pending'",
            (channel, chat_id),
        ).rowcount

    def resume_chat(self, channel: str, chat_id: str) -> int:
        """The user wrote in a paused chat: its held rows are pending again."""
        # A cheap read first: this runs on every reminder message, writes are rare.
        exists = self.db.execute(
            "SELECT 1 FROM reminders WHERE channel = %s AND chat_id = %s AND status = 'paused'"
            " LIMIT 1",
            (channel, chat_id),
        ).one()
        if exists is None:
            return 0
        return self.db.execute(
            "UPDATE reminders SET status = 'pending'"
            " WHERE channel = %s AND chat_id = %s AND status = 'paused'",
            (channel, chat_id),
        ).rowcount

    def renew_claims(self, worker: str, lease_until: int) -> int:
        """Heartbeat: extend the lease on everything `worker` holds."""
        return self.db.execute(
            "UPDATE reminders SET claim_until = %s"
            " WHERE status IN ('claimed', 'sending') AND claimed_by = %s",
            (lease_until, worker),
        ).rowcount

    def release_expired(self, now: int) -> int:
        """Give back rows whose worker stopped renewing its lease (it died)."""
        return self.db.execute(
            "UPDATE reminders SET status = 'pending', claimed_by = NULL, claim_until = NULL"
            " WHERE status IN ('claimed', 'sending') AND claim_until <= %s",
            (now,),
        ).rowcount

    def release_worker(self, worker: str) -> int:
        """Give back everything one worker id holds (its own earlier run, at start-up)."""
        return self.db.execute(
            "UPDATE reminders SET status = 'pending', claimed_by = NULL, claim_until = NULL"
            " WHERE status IN ('claimed', 'sending') AND claimed_by = %s",
            (worker,),
        ).rowcount

    def count(self, status: str) -> int:
        """How many rows have this status (operations and tests)."""
        row = self.db.execute("SELECT count(*) FROM reminders WHERE status = %s", (status,)).one()
        return int(row[0]) if row is not None else 0


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
        row.urgent,
    )
