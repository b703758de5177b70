"""Update ids a channel has already handled, and the accepted updates not yet handled."""

from __future__ import annotations

import time
from collections.abc import Callable

from bot.storage.base import REMEMBER_SECONDS, InboxStore, SeenUpdates, WaitingUpdate
from bot.storage.crypto import DataCipher
from bot.storage.sql.connection import SqlConnection
from bot.storage.workers import worker_token

# Pruning is a range delete on an index; doing it every few hundred claims keeps it cheap.
_PRUNE_EVERY = 500


class SqlSeenUpdates(SeenUpdates):
    """`claim(channel, update_id)` is True the first time an id is seen within a day.

    The upsert is one statement: two connections claiming the same id at once are serialised
    by the database, and only one of them inserts (or refreshes a day-old row)."""

    def __init__(self, db: SqlConnection, clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self.clock = clock
        self._claims = 0

    def claim(self, channel: str, update_id: str | int) -> bool:
        """Remember the id; False when it was already remembered (a duplicate delivery)."""
        now = self.clock()
        result = self.db.execute(
            "INSERT INTO seen_updates (channel, update_id, seen_at) VALUES (?, ?, ?)"
            " ON CONFLICT (channel, update_id) DO UPDATE SET seen_at = excluded.seen_at"
            " WHERE seen_updates.seen_at < ?",
            (channel, str(update_id), now, now - REMEMBER_SECONDS),
        )
        self._claims += 1
        if self._claims % _PRUNE_EVERY == 0:
            self.prune()
        return result.rowcount == 1

    def prune(self) -> int:
        """Forget ids older than a day; returns how many were forgotten."""
        return self.db.execute(
            "DELETE FROM seen_updates WHERE seen_at < ?", (self.clock() - REMEMBER_SECONDS,)
        ).rowcount


class SqlInbox(InboxStore):
    """The inbox table, claimed through the seen-updates store in the same transaction."""

    def __init__(self, db: SqlConnection, seen: SqlSeenUpdates, cipher: DataCipher) -> None:
        self.db = db
        self.seen = seen
        self.cipher = cipher
        # Which process took an update: only that one may drop it once its replies are out.
        self.worker = worker_token()

    def accept(self, channel: str, update_id: str, queue_key: str, body: str) -> bool:
        """Claim the id and keep the update, in one transaction; False for a duplicate."""
        with self.db.transaction("accept"):
            if not self.seen.claim(channel, update_id):
                return False
            self.db.execute(
                "INSERT INTO inbox (channel, update_id, queue_key, body, accepted_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (channel, update_id) DO NOTHING",
                (channel, update_id, queue_key, self.cipher.seal(body), self.seen.clock()),
            )
        return True

    def waiting(self, channel: str) -> list[WaitingUpdate]:
        """The channel's accepted, unhandled updates, oldest first."""
        rows = self.db.execute(
            "SELECT update_id, queue_key, body FROM inbox"
            " WHERE channel = ? AND handled_at IS NULL ORDER BY seq",
            (channel,),
        ).fetchall()
        return [WaitingUpdate(uid, key, self.cipher.open(body)) for uid, key, body in rows]

    def oldest(self, channel: str, queue_key: str) -> WaitingUpdate | None:
        """The chat's oldest kept update."""
        row = self.db.execute(
            "SELECT update_id, queue_key, body, handled_at, taken_by, replies, replies_sent"
            " FROM inbox"
            " WHERE channel = ? AND queue_key = ? ORDER BY seq LIMIT 1",
            (channel, queue_key),
        ).fetchone()
        if row is None:
            return None
        update_id, key, body, handled_at, taken_by, replies, replies_sent = row
        return WaitingUpdate(
            update_id,
            key,
            self.cipher.open(body),
            handled_at,
            taken_by,
            None if replies is None else self.cipher.open(replies),
            replies_sent,
        )

    def stale_keys(self, channel: str, accepted_before: float) -> list[str]:
        """Chats with updates kept since before `accepted_before`."""
        rows = self.db.execute(
            "SELECT DISTINCT queue_key FROM inbox WHERE channel = ? AND accepted_at < ?",
            (channel, accepted_before),
        ).fetchall()
        return [str(key) for (key,) in rows]

    def done(self, channel: str, update_id: str) -> bool:
        """Mark the update taken by this worker; False when it was already taken or is gone."""
        cursor = self.db.execute(
            "UPDATE inbox SET handled_at = ?, taken_by = ?"
            " WHERE channel = ? AND update_id = ? AND handled_at IS NULL",
            (self.seen.clock(), self.worker, channel, update_id),
        )
        return cursor.rowcount == 1

    def keep_replies(self, channel: str, update_id: str, replies: str) -> None:
        """Keep the turn's replies with the update this worker took, until they are sent."""
        self.db.execute(
            "UPDATE inbox SET replies = ? WHERE channel = ? AND update_id = ? AND taken_by = ?",
            (self.cipher.seal(replies), channel, update_id, self.worker),
        )

    def sending(self, channel: str, update_id: str, sent: int) -> None:
        """`sent` replies are out and this worker is still sending (`handled_at` is its
        heartbeat)."""
        self.db.execute(
            "UPDATE inbox SET handled_at = ?, replies_sent = ?"
            " WHERE channel = ? AND update_id = ? AND taken_by = ?",
            (self.seen.clock(), sent, channel, update_id, self.worker),
        )

    def take_over(self, channel: str, taken: WaitingUpdate) -> bool:
        """Take a dead worker's update to send its kept replies; False if another did."""
        cursor = self.db.execute(
            "UPDATE inbox SET handled_at = ?, taken_by = ? WHERE channel = ? AND update_id = ?"
            " AND taken_by = ? AND handled_at = ?",
            (self.seen.clock(), self.worker, channel, taken.update_id, taken.taken_by,
             taken.handled_at),
        )  # fmt: skip
        return cursor.rowcount == 1

    def sent(self, channel: str, update_id: str) -> None:
        """Drop the update unless another worker took it."""
        self.db.execute(
            "DELETE FROM inbox WHERE channel = ? AND update_id = ?"
            " AND (taken_by IS NULL OR taken_by = ?)",
            (channel, update_id, self.worker),
        )

    def drop(self, channel: str, update_id: str) -> None:
        """Drop the update whoever took it."""
        self.db.execute(
            "DELETE FROM inbox WHERE channel = ? AND update_id = ?", (channel, update_id)
        )
