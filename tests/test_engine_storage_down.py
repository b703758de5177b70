"""A database that takes no writes: the user is told nothing was saved, and it goes on after."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from bot.app import App
from bot.storage.sqlite.connection import cannot_write
from tests.conftest import sqlite_db
from tests.drivers import EngineChat


@contextmanager
def read_only(conn: sqlite3.Connection) -> Iterator[None]:
    """As after the file system was remounted read-only."""
    conn.execute("PRAGMA query_only = ON")
    yield
    conn.execute("PRAGMA query_only = OFF")


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("SQLITE_FULL", True),  # the disk is full
        ("SQLITE_IOERR_WRITE", True),  # a write the file system refused (EFBIG, EIO)
        ("SQLITE_READONLY", True),
        ("SQLITE_READONLY_DBMOVED", True),  # the file was moved or deleted under the bot
        ("SQLITE_CANTOPEN", True),  # the -wal file cannot be created
        ("SQLITE_BUSY", False),  # another writer: the busy timeout's business, not an outage
        ("SQLITE_ERROR", False),  # a bug in our SQL must not be reported as a full disk
    ],
)
def test_which_sqlite_errors_mean_the_database_cannot_take_writes(
    code: str, expected: bool
) -> None:
    error = sqlite3.OperationalError("x")
    error.sqlite_errorname = code
    assert cannot_write(error) is expected


@pytest.mark.parametrize(
    ("before", "during", "after_check"),
    [
        ([], "/filing", "主体是个人"),  # starting the filing dialogue
        (["/filing"], "个人", "证件"),  # an answer in the middle of it
        (["/filing", "个人"], "中国大陆居民身份证", "省"),  # the next one
        ([], "明天上午10点提醒我做人脸核验", "提醒"),  # a reminder
    ],
)
def test_a_turn_that_cannot_be_saved_says_so_and_the_same_message_works_later(
    app: App, before: list[str], during: str, after_check: str
) -> None:
    chat = EngineChat(app.engine)
    for text in before:
        chat.say(text)
    state_before = app.storage.sessions.load("test", "u1", "u1")
    reminders_before = app.storage.reminders.open_for_user("test", "u1")
    with read_only(sqlite_db(app.storage).conn):
        reply = "\n".join(chat.say(during))
        assert "没有记下" in reply and "I cannot save right now" in reply
        assert "抱歉，处理这条消息时出了问题" not in reply
    # Nothing half-written: the state and the reminders are as before the message.
    assert app.storage.sessions.load("test", "u1", "u1") == state_before
    assert app.storage.reminders.open_for_user("test", "u1") == reminders_before
    again = "\n".join(chat.say(during))  # the disk is back: the same message is taken
    assert after_check in again and "没有记下" not in again


def test_questions_are_still_answered_while_nothing_can_be_saved(app: App) -> None:
    chat = EngineChat(app.engine)
    with read_only(sqlite_db(app.storage).conn):
        reply = "\n".join(chat.say("个人备案要准备什么材料"))
    assert "身份证" in reply
