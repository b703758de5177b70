"""/forget against the schema itself: no table with a user column keeps a row of the user.

Two terminal users share one database (as two `beian-bot chat --json --user …` processes
do); each files, sets reminders, exports and talks. One of them forgets. The tables to check
are read from sqlite_master and PRAGMA table_info, so a table added by a later migration is
covered without touching this test; a table without a user column must be listed in
`NO_USER_COLUMN` with the reason it holds none of a user's data once an update is handled.
"""

from __future__ import annotations

import io
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.app import App, build_app
from bot.channels import terminal
from bot.config import Settings
from tests.conftest import sqlite_db
from tests.dialogue.test_dialogue import ENTERPRISE, PERSONAL

FORGOTTEN, KEPT = "alice", "bob"
# Tables with no user column, and why none of them holds a user's data after handling.
NO_USER_COLUMN = {
    # The channel and the platform's update id, and when: no text, no sender.
    "seen_updates": {"channel", "update_id", "seen_at"},
    # An accepted update's body (sender, text) and the replies to it, until those are out:
    # the turn takes the row and keeps its replies (Engine._turn -> inbox.done,
    # inbox.keep_replies), the inbox deletes it once they are sent (Inbox._turn -> inbox.sent).
    # The terminal has no update ids, so it never writes here; it must be empty after.
    "inbox": {
        "seq",
        "channel",
        "update_id",
        "queue_key",
        "body",
        "accepted_at",
        "handled_at",
        "taken_by",
        "replies",
        "replies_sent",
    },
    # Facts about the database (the data key's check value): nothing about a user.
    "meta": {"name", "value"},
    # A group's robot URL, bound by the operator (`beian-bot wecom bind-group`): a setting
    # of a group chat, not any member's data.
    "group_robots": {"channel", "chat_id", "url", "updated_at"},
    # sqlite-utils' record of the migrations applied.
    "_sqlite_migrations": {"id", "migration_set", "name", "applied_at"},
}
# Tables whose rows are user data even without a user column: empty once updates are handled.
EMPTY_AFTER_HANDLING = {"inbox"}
CONFIRMATIONS = ["确认删除", "确认", "是", "yes", "1"]


def _lines(answers: list[str]) -> list[str]:
    return [
        "/start",
        "/filing",
        *answers,
        "确认",
        "/export",
        "明天上午10点提醒我做人脸核验",
        "我刚收到管局的短信",
        "备案要多久",
        "/reminders",
    ]


@pytest.fixture
def shared(settings: Settings, tmp_path: Path) -> Iterator[tuple[App, Path]]:
    application = build_app(settings)
    yield application, tmp_path / "exports"
    application.storage.close()


def type_lines(app: App, user: str, lines: list[str], exports: Path) -> list[dict[str, object]]:
    """`beian-bot chat --json --user <user>` as its own process: its own on_forget hooks."""
    engine = app.engine
    hooks = list(engine.on_forget)
    out = io.StringIO()
    try:
        terminal.run_json(
            engine, user, io.StringIO("".join(f"{x}\n" for x in lines)), out, exports
        )
    finally:
        engine.on_forget[:] = hooks
    return [json.loads(line) for line in out.getvalue().splitlines()]


def _conn(app: App) -> sqlite3.Connection:
    sqlite_db(app.storage).conn.commit()
    return sqlite3.connect(app.settings.db_path)


def _tables(conn: sqlite3.Connection) -> dict[str, list[str]]:
    """Every table of the schema (no sqlite_* internals) -> its column names."""
    names = [
        row[0]
        for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
    ]
    return {
        name: [row[1] for row in conn.execute(f"PRAGMA table_info('{name}')")] for name in names
    }


def _user_columns(columns: list[str]) -> list[str]:
    return [c for c in columns if "user" in c.lower()]


def _rows_of(conn: sqlite3.Connection, user: str) -> dict[str, list[tuple[object, ...]]]:
    """For each table with a user column: every row any of its user columns names `user`."""
    out = {}
    for table, columns in _tables(conn).items():
        user_columns = _user_columns(columns)
        if not user_columns:
            continue
        where = " OR ".join(f'"{c}" = ?' for c in user_columns)
        sql = f'SELECT * FROM "{table}" WHERE {where} ORDER BY rowid'
        out[table] = conn.execute(sql, [user] * len(user_columns)).fetchall()
    return out


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_every_table_without_a_user_column_is_accounted_for(shared: tuple[App, Path]) -> None:
    app, _ = shared
    with _conn(app) as conn:
        tables = _tables(conn)
    without = {name: set(cols) for name, cols in tables.items() if not _user_columns(cols)}
    # A new table (or column) without a user column needs a reason here; one that is gone too.
    assert without == NO_USER_COLUMN
    assert {name for name, cols in tables.items() if _user_columns(cols)} >= {
        "sessions",
        "filings",
        "reminders",
    }


@pytest.mark.parametrize("confirmation", CONFIRMATIONS)
def test_forget_leaves_no_row_of_the_user_in_any_table_with_a_user_column(
    shared: tuple[App, Path], confirmation: str
) -> None:
    app, exports = shared
    for user, answers in ((FORGOTTEN, ENTERPRISE), (KEPT, PERSONAL)):
        replies = type_lines(app, user, _lines(answers), exports)
        assert "文件已保存" in json.dumps(replies, ensure_ascii=False)
    folders = {u: terminal.export_folder(exports, u) for u in (FORGOTTEN, KEPT)}
    kept_files = _files(folders[KEPT])
    with _conn(app) as conn:
        before = {u: _rows_of(conn, u) for u in (FORGOTTEN, KEPT)}
    # The set-up reached every user table, for both users: otherwise the test proves nothing.
    for user in (FORGOTTEN, KEPT):
        assert before[user] and all(before[user].values()), (user, before[user])
    assert _files(folders[FORGOTTEN]) and kept_files

    [asked, done] = type_lines(app, FORGOTTEN, ["/forget", confirmation], exports)
    assert "确认删除" in json.dumps(asked, ensure_ascii=False)
    assert "已删除" in json.dumps(done, ensure_ascii=False), done

    with _conn(app) as conn:
        after = {u: _rows_of(conn, u) for u in (FORGOTTEN, KEPT)}
        for table in EMPTY_AFTER_HANDLING:
            assert conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0] == 0, table
    assert after[FORGOTTEN] == {table: [] for table in before[FORGOTTEN]}
    assert after[KEPT] == before[KEPT]  # every row of the other user, unchanged
    assert not folders[FORGOTTEN].exists()
    assert _files(folders[KEPT]) == kept_files
