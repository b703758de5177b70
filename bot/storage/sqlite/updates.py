"""Update ids a channel has already handled, so a redelivered update is handled once."""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlite_utils import Database

from bot.storage.base import REMEMBER_SECONDS, SeenUpdates

# Pruning is a range delete on an index; doing it every few hundred claims keeps it cheap.
_PRUNE_EVERY = 500


class SqliteSeenUpdates(SeenUpdates):
    """`claim(channel, update_id)` is True the first time an id is seen within a day."""

    def __init__(self, db: Database, clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self.clock = clock
        self._claims = 0

    def claim(self, channel: str, update_id: str | int) -> bool:
        """Remember the id; False when it was already remembered (a duplicate delivery)."""
        now = self.clock()
        cursor = self.db.execute(
            "INSERT INTO seen_updates (channel, update_id, seen_at) VALUES (?, ?, ?)"
            " ON CONFLICT (channel, update_id) DO UPDATE SET seen_at = excluded.seen_at"
            " WHERE seen_updates.seen_at < ?",
            (channel, str(update_id), now, now - REMEMBER_SECONDS),
        )
        self._claims += 1
        if self._claims % _PRUNE_EVERY == 0:
            self.prune()
        return cursor.rowcount == 1

    def prune(self) -> int:
        """Forget ids older than a day; returns how many were forgotten."""
        cursor = self.db.execute(
            "DELETE FROM seen_updates WHERE seen_at < ?", (self.clock() - REMEMBER_SECONDS,)
        )
        return cursor.rowcount
