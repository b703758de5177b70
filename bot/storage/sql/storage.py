"""What both backends' `Storage` do alike: the six stores, the data key check, /forget."""

from __future__ import annotations

from collections.abc import Callable

from bot.storage.base import Storage
from bot.storage.crypto import DataCipher, WrongKeyError
from bot.storage.sql.connection import SqlConnection
from bot.storage.sql.filings import SqlFilings
from bot.storage.sql.group_robots import SqlGroupRobots
from bot.storage.sql.reminders import SqlReminders
from bot.storage.sql.sessions import SqlSessions
from bot.storage.sql.updates import SqlInbox, SqlSeenUpdates

# Every table that holds a user's data, keyed by (channel, user_id).
USER_TABLES = ("sessions", "filings", "reminders")
# The sealed columns of each table (bot.storage.crypto), keyed by the columns that find a row.
SEALED = {
    ("sessions", ("channel", "chat_id", "user_id")): ("state",),
    ("filings", ("id",)): ("label", "data"),
    ("reminders", ("id",)): ("user_name", "payload"),
    ("inbox", ("seq",)): ("body", "replies"),
    ("group_robots", ("channel", "chat_id")): ("url",),
}


class SqlStorage(Storage):
    """The stores on one `SqlConnection`; a backend adds connecting, transactions, scrub."""

    sql: SqlConnection
    _sessions: SqlSessions
    _filings: SqlFilings
    _reminders: SqlReminders
    _seen: SqlSeenUpdates
    _inbox: SqlInbox
    _group_robots: SqlGroupRobots

    def _open_stores(
        self, cipher: DataCipher, clock: Callable[[], float], reminders: type[SqlReminders]
    ) -> None:
        self._sessions = SqlSessions(self.sql, cipher)
        self._filings = SqlFilings(self.sql, cipher)
        self._reminders = reminders(self.sql, cipher)
        self._seen = SqlSeenUpdates(self.sql, clock)
        self._inbox = SqlInbox(self.sql, self._seen, cipher)
        self._group_robots = SqlGroupRobots(self.sql, cipher)

    def _check_key(self, cipher: DataCipher, *, read_check: str, wrong_key: str) -> None:
        """Stop on a key that does not open this database; seal with the first key what an
        older version stored in plaintext or an older key sealed (a rotation).

        `read_check` returns the stored check value and keeps other starters out until the
        transaction ends, so two of them starting with a new key do not both reseal."""
        with self.sql.transaction("key_check"):
            row = self.sql.execute(read_check).fetchone()
            stored = str(row[0]) if row is not None else ""
            if stored:
                try:
                    cipher.check(stored)
                except WrongKeyError:
                    raise WrongKeyError(wrong_key) from None
                if cipher.seals_with_first_key(stored):
                    return
            self._reseal_all(cipher)
            self.sql.execute(
                "INSERT INTO meta (name, value) VALUES ('key_check', ?)"
                " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                (cipher.probe(),),
            )

    def _reseal_all(self, cipher: DataCipher) -> None:
        for (table, keys), columns in SEALED.items():
            rows = self.sql.execute(f"SELECT {', '.join(keys + columns)} FROM {table}")
            assignments = ", ".join(f"{c} = ?" for c in columns)
            match = " AND ".join(f"{k} = ?" for k in keys)
            for row in rows.fetchall():
                key_values, values = row[: len(keys)], row[len(keys) :]
                self.sql.execute(
                    f"UPDATE {table} SET {assignments} WHERE {match}",
                    (*(None if v is None else cipher.reseal(v) for v in values), *key_values),
                )

    @property
    def sessions(self) -> SqlSessions:
        """Conversation states."""
        return self._sessions

    @property
    def filings(self) -> SqlFilings:
        """Filings users collect."""
        return self._filings

    @property
    def reminders(self) -> SqlReminders:
        """Reminder rows."""
        return self._reminders

    @property
    def seen_updates(self) -> SqlSeenUpdates:
        """Handled update ids."""
        return self._seen

    @property
    def inbox(self) -> SqlInbox:
        """Accepted updates not yet handled."""
        return self._inbox

    @property
    def group_robots(self) -> SqlGroupRobots:
        """Group robots bound to group chats."""
        return self._group_robots

    def forget_user(self, channel: str, user_id: str) -> int:
        """Delete the user's rows from every table in one transaction; returns how many."""
        deleted = 0
        with self.sql.transaction("forget"):
            for table in USER_TABLES:
                deleted += self.sql.execute(
                    f"DELETE FROM {table} WHERE channel = ? AND user_id = ?", (channel, user_id)
                ).rowcount
        return deleted
