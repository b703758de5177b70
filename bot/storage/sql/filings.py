"""The filings a user collects (one row per website filing or change), data as JSON."""

from __future__ import annotations

import json
from typing import Any

from bot.storage.base import FilingRow, FilingStore
from bot.storage.crypto import DataCipher
from bot.storage.sql.connection import SqlConnection, utc_now_iso


class SqlFilings(FilingStore):
    """CRUD for filings, always scoped to (channel, user)."""

    def __init__(self, db: SqlConnection, cipher: DataCipher) -> None:
        self.db = db
        self.cipher = cipher

    def create(self, channel: str, user_id: str, form_id: str, label: str) -> int:
        """A new empty filing; returns its id."""
        now = utc_now_iso()
        new_id = self.db.insert_returning_id(
            "INSERT INTO filings (channel, user_id, form_id, label, status, data, created_at,"
            " updated_at) VALUES (?, ?, ?, ?, 'collecting', ?, ?, ?)",
            (channel, user_id, form_id, self.cipher.seal(label), self.cipher.seal("{}"), now, now),
        )
        assert new_id is not None  # a plain INSERT ... VALUES always inserts its row
        return new_id

    def save(
        self,
        channel: str,
        user_id: str,
        filing_id: int,
        *,
        data: dict[str, Any],
        label: str,
        status: str,
    ) -> None:
        """Write a filing's answers, label and status."""
        self.db.execute(
            "UPDATE filings SET data = ?, label = ?, status = ?, updated_at = ?"
            " WHERE id = ? AND channel = ? AND user_id = ?",
            (
                self.cipher.seal(json.dumps(data, ensure_ascii=False)),
                self.cipher.seal(label),
                status,
                utc_now_iso(),
                filing_id,
                channel,
                user_id,
            ),
        )

    def get(self, channel: str, user_id: str, filing_id: int) -> FilingRow | None:
        """One of the user's filings, or None."""
        rows = self._select(
            "id = ? AND channel = ? AND user_id = ?", (filing_id, channel, user_id)
        )
        return rows[0] if rows else None

    def of_user(self, channel: str, user_id: str, form_id: str | None = None) -> list[FilingRow]:
        """The user's filings, oldest first."""
        if form_id is None:
            return self._select("channel = ? AND user_id = ?", (channel, user_id))
        return self._select(
            "channel = ? AND user_id = ? AND form_id = ?", (channel, user_id, form_id)
        )

    def _select(self, where: str, params: tuple[Any, ...]) -> list[FilingRow]:
        rows = self.db.execute(
            f"SELECT id, form_id, label, status, data, updated_at FROM filings WHERE {where}"
            " ORDER BY id",
            params,
        ).fetchall()
        return [
            FilingRow(
                id=r[0],
                form_id=r[1],
                label=self.cipher.open(r[2]),
                status=r[3],
                data=json.loads(self.cipher.open(r[4])),
                updated_at=r[5],
            )
            for r in rows
        ]
