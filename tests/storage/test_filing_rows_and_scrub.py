"""A user's filings as stored (form, status, answers), and the scrub that follows /forget."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest

from bot.storage.crypto import DataCipher, WrongKeyError
from bot.storage.sqlite import SqliteStorage


def test_a_new_filing_is_collecting_and_is_found_by_its_form(tmp_path: Path) -> None:
    storage = SqliteStorage(tmp_path / "bot.db")
    try:
        filing_id = storage.filings.create("test", "u1", "icp_new", "example.cn")
        storage.filings.create("test", "u1", "icp_change", "other.cn")
        (row,) = storage.filings.of_user("test", "u1", form_id="icp_new")
        assert (row.id, row.form_id, row.label, row.status) == (
            filing_id,
            "icp_new",
            "example.cn",
            "collecting",
        )
        assert row.data == {}
    finally:
        storage.close()


def test_scrub_refuses_to_run_before_the_delete_is_committed(tmp_path: Path) -> None:
    storage = SqliteStorage(tmp_path / "bot.db")
    try:
        with (
            storage.transaction(),
            pytest.raises(RuntimeError, match=r"^scrub\(\) runs after the delete has committed$"),
        ):
            storage.scrub()
    finally:
        storage.close()


def test_scrub_on_an_idle_database_truncates_the_wal_without_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "bot.db"
    storage = SqliteStorage(path)
    try:
        storage.sessions.save("test", "u1", "u1", '{"name": "张三"}')
        storage.forget_user("test", "u1")
        with caplog.at_level(logging.WARNING):
            storage.scrub()
        assert caplog.records == []
        assert Path(f"{path}-wal").stat().st_size == 0
    finally:
        storage.close()


def test_scrub_blocked_by_a_reader_says_a_later_checkpoint_ends_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "bot.db"
    storage = SqliteStorage(path)
    reader = sqlite3.connect(path)
    try:
        storage.sessions.save("test", "u1", "u1", '{"name": "张三"}')
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM sessions").fetchone()
        storage.forget_user("test", "u1")
        # Each attempt would wait the busy timeout for the reader; it never finishes here.
        storage.db.conn.execute("PRAGMA busy_timeout = 10")
        with caplog.at_level(logging.WARNING):
            storage.scrub()
        messages = [r.getMessage() for r in caplog.records]
        assert len(messages) == 1 and messages[0].startswith("WAL checkpoint after a delete")
    finally:
        reader.close()
        storage.close()


def test_a_key_that_does_not_open_the_file_says_nothing_falls_back_to_plaintext(
    tmp_path: Path,
) -> None:
    path = tmp_path / "bot.db"
    SqliteStorage(path).close()
    with pytest.raises(WrongKeyError) as stopped:
        SqliteStorage(path, cipher=DataCipher.generate())
    message = str(stopped.value)
    assert message.startswith(f"the data key does not open {path}")
    assert message.endswith("nothing is read or written in plaintext instead.")
