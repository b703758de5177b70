"""Versioned schema migrations; `migrations.apply(db)` is safe to run at every start."""

from __future__ import annotations

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

migrations = Migrations("beian_bot")


@migrations()
def m001_sessions_and_filings(db: Database) -> None:
    """Conversation state per chat and user; filings a user collects."""
    db.execute(
        """
        CREATE TABLE sessions (
            channel TEXT NOT NULL,
            chat_id TEXT NOT NULL,
            user_id TEXT NOT NULL,
            state TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (channel, chat_id, user_id)
        )
        """
    )
    db.execute(
        """
        CREATE TABLE filings (
            id INTEGER PRIMARY KEY,
            channel TEXT NOT NULL,
            user_id TEXT NOT NULL,
            form_id TEXT NOT NULL,
            label TEXT NOT NULL,
            status TEXT NOT NULL,
            data TEXT NOT NULL,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX filings_by_user ON filings (channel, user_id)")


@migrations()
def m002_seen_updates(db: Database) -> None:
    """Update ids already handled, so a redelivered update is handled once."""
    db.execute(
        """
        CREATE TABLE seen_updates (
            channel TEXT NOT NULL,
            update_id TEXT NOT NULL,
            seen_at REAL NOT NULL,
            PRIMARY KEY (channel, update_id)
        )
        """
    )
    db.execute("CREATE INDEX seen_updates_by_time ON seen_updates (seen_at)")
