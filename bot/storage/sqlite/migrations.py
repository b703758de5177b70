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


@migrations()
def m003_reminders(db: Database) -> None:
    """Reminders: the table is the source of truth; the scheduler only wakes the sender."""
    # Times are INTEGER unix seconds in UTC, not ISO text: the claim compares and orders
    # `due_at` over up to a million rows, and integers compare exactly with no format or
    # offset spelling to get wrong ("+00:00" vs "Z"); they are also half the size in the index.
    db.execute(
        """
        CREATE TABLE reminders (
            id INTEGER PRIMARY KEY,
            channel TEXT NOT NULL,
            chat_id TEXT NOT NULL,
            chat_kind TEXT NOT NULL,
            user_id TEXT NOT NULL,
            user_name TEXT NOT NULL DEFAULT '',
            series TEXT NOT NULL,
            kind TEXT NOT NULL,
            step TEXT NOT NULL,
            payload TEXT NOT NULL DEFAULT '{}',
            due_at INTEGER NOT NULL,
            urgent INTEGER NOT NULL DEFAULT 0,
            status TEXT NOT NULL DEFAULT 'pending',
            claimed_by TEXT,
            claim_until INTEGER,
            attempts INTEGER NOT NULL DEFAULT 0,
            late INTEGER NOT NULL DEFAULT 0,
            sent_at INTEGER,
            last_error TEXT,
            created_at INTEGER NOT NULL
        )
        """
    )
    # The claim: status = 'pending' AND due_at <= now ORDER BY due_at (also leases by status).
    db.execute("CREATE INDEX reminders_due ON reminders (status, due_at)")
    # /reminders, done/cancel by clock, /forget.
    db.execute("CREATE INDEX reminders_by_user ON reminders (channel, user_id, series)")
    # The terminal's per-chat claim and pausing a chat that blocked the bot.
    db.execute("CREATE INDEX reminders_by_chat ON reminders (channel, chat_id, status)")


@migrations()
def m004_inbox(db: Database) -> None:
    """Accepted updates not yet handled, so an update acknowledged with 200 is never lost."""
    # `seq` keeps the order of acceptance, which is the order a chat's updates are handled in.
    db.execute(
        """
        CREATE TABLE inbox (
            seq INTEGER PRIMARY KEY,
            channel TEXT NOT NULL,
            update_id TEXT NOT NULL,
            queue_key TEXT NOT NULL,
            body TEXT NOT NULL,
            accepted_at REAL NOT NULL,
            UNIQUE (channel, update_id)
        )
        """
    )


@migrations()
def m005_meta(db: Database) -> None:
    """Facts about the database itself: the data key's check value, the sealing done."""
    db.execute("CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)")


@migrations()
def m006_inbox_by_chat(db: Database) -> None:
    """Each turn looks up its chat's oldest kept update, whichever worker accepted it; a
    handled update stays (with `handled_at`) until its replies are sent, so the chat's next
    turn, on any worker, waits for them and the chat reads its replies in order."""
    db.execute("ALTER TABLE inbox ADD COLUMN handled_at REAL")
    db.execute("ALTER TABLE inbox ADD COLUMN taken_by TEXT")
    db.execute("CREATE INDEX inbox_by_chat ON inbox (channel, queue_key, seq)")


@migrations()
def m007_inbox_replies(db: Database) -> None:
    """A turn keeps its replies with the update it took, in its own transaction: a worker
    that dies between the commit and the send leaves them for another worker to send."""
    db.execute("ALTER TABLE inbox ADD COLUMN replies TEXT")
    # How many of them are out: a worker taking over sends the rest, so a crash repeats at
    # most the one message that was on its way.
    db.execute("ALTER TABLE inbox ADD COLUMN replies_sent INTEGER NOT NULL DEFAULT 0")


@migrations()
def m009_group_robots(db: Database) -> None:
    """Group robots (WeCom 群机器人) bound to group chats by `beian-bot wecom bind-group`;
    `url` holds the robot's key, so it is sealed."""
    db.execute(
        """
        CREATE TABLE group_robots (
            channel TEXT NOT NULL,
            chat_id TEXT NOT NULL,
            url TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (channel, chat_id)
        )
        """
    )
