"""Conversation state per (channel, chat, user), saved as JSON before a reply goes out."""

from __future__ import annotations

from bot.storage.base import SessionStore
from bot.storage.crypto import DataCipher
from bot.storage.sql.connection import SqlConnection, utc_now_iso


class SqlSessions(SessionStore):
    """Load and save one conversation's state document."""

    def __init__(self, db: SqlConnection, cipher: DataCipher) -> None:
        self.db = db
        self.cipher = cipher

    def load(self, channel: str, chat_id: str, user_id: str) -> str | None:
        """The saved state JSON, or None for a new conversation."""
        row = self.db.execute(
            "SELECT state FROM sessions WHERE channel = ? AND chat_id = ? AND user_id = ?",
            (channel, chat_id, user_id),
        ).fetchone()
        return None if row is None else self.cipher.open(str(row[0]))

    def save(self, channel: str, chat_id: str, user_id: str, state: str) -> None:
        """Write the state (insert or replace)."""
        self.db.execute(
            "INSERT INTO sessions (channel, chat_id, user_id, state, updated_at)"
            " VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (channel, chat_id, user_id)"
            " DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at",
            (channel, chat_id, user_id, self.cipher.seal(state), utc_now_iso()),
        )
