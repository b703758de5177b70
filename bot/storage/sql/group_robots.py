"""Group robots bound to group chats, their webhook URLs sealed (the URL holds the key)."""

from __future__ import annotations

from bot.storage.base import GroupRobotStore
from bot.storage.crypto import DataCipher
from bot.storage.sql.connection import SqlConnection, utc_now_iso


class SqlGroupRobots(GroupRobotStore):
    """One webhook URL per (channel, group chat)."""

    def __init__(self, db: SqlConnection, cipher: DataCipher) -> None:
        self.db = db
        self.cipher = cipher

    def bind(self, channel: str, chat_id: str, url: str) -> bool:
        """Bind the URL to the chat (replacing an earlier one); True when the chat had none."""
        with self.db.transaction("bind_group"):
            had = self.db.execute(
                "SELECT 1 FROM group_robots WHERE channel = ? AND chat_id = ?", (channel, chat_id)
            ).fetchone()
            self.db.execute(
                "INSERT INTO group_robots (channel, chat_id, url, updated_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (channel, chat_id)"
                " DO UPDATE SET url = excluded.url, updated_at = excluded.updated_at",
                (channel, chat_id, self.cipher.seal(url), utc_now_iso()),
            )
        return had is None

    def unbind(self, channel: str, chat_id: str) -> bool:
        """Remove the chat's robot; False when it had none."""
        removed = self.db.execute(
            "DELETE FROM group_robots WHERE channel = ? AND chat_id = ?", (channel, chat_id)
        ).rowcount
        return removed > 0

    def all(self, channel: str) -> dict[str, str]:
        """Every bound chat of the channel -> its webhook URL, in chat id order."""
        rows = self.db.execute(
            "SELECT chat_id, url FROM group_robots WHERE channel = ? ORDER BY chat_id", (channel,)
        ).fetchall()
        return {str(chat_id): self.cipher.open(str(url)) for chat_id, url in rows}
