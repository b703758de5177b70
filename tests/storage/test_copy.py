"""`beian-bot db copy`: a SQLite installation moved to PostgreSQL (and back), as an operator
runs it. The source is filled by real engine turns (two users: a filing half answered, a
finished one, reminders, a kept update, a handled update id); after the copy the PostgreSQL
backend finds every dialogue, filing and reminder as they were, the next answer gets the
same reply on both, a new filing starts, and /forget works there. Bad input gets a sentence
and exit code 2, and leaves the target as it was."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from cryptography.fernet import Fernet

from bot.app import App, build_app
from bot.cli import main
from bot.config import Settings
from bot.storage.crypto import key_file_of
from tests.conftest import CACHE_DIR
from tests.dialogue.test_dialogue import ENTERPRISE, PERSONAL
from tests.drivers import EngineChat

CHANNEL = "telegram"
USERS = ("alice", "bob")
HALF = 8  # Alice stops after this many answers of the personal filing
KEPT_BODY = '{"update_id": 7002, "message": {"text": "备案要多久"}}'


def _settings(**values: Any) -> Settings:
    return Settings(_env_file=None, cache_dir=CACHE_DIR, **values)


def _chat(app: App, user: str) -> EngineChat:
    return EngineChat(app.engine, user_id=user, user_name=user.title(), channel=CHANNEL)


@pytest.fixture
def source(tmp_path: Path) -> Iterator[Path]:
    """A SQLite installation two users have talked to; closed, as a stopped bot leaves it."""
    path = tmp_path / "single" / "beian-bot.db"
    app = build_app(_settings(db_path=path))
    alice, bob = _chat(app, "alice"), _chat(app, "bob")
    alice.say("明天上午10点提醒我做人脸核验")
    alice.say("我刚收到管局的短信")
    alice.say("/filing")
    for answer in PERSONAL[:HALF]:
        alice.say(answer)
    bob.say("/filing")
    for answer in ENTERPRISE:
        bob.say(answer)
    bob.say("确认")
    bob.say("3天后提醒我去公安备案")
    # What a webhook leaves behind: a handled update's id, and one kept but not yet handled.
    assert app.storage.seen_updates.claim(CHANNEL, 7001)
    assert app.storage.inbox.accept(CHANNEL, "7002", f"{CHANNEL}:bob", KEPT_BODY)
    app.storage.close()
    yield path


def _key(path: Path) -> str:
    return ",".join(key_file_of(path).read_text().split())


def _view(app: App) -> dict[str, Any]:
    """Everything a user would find again: dialogue states, filings, reminders, kept updates."""
    storage = app.storage
    return {
        "sessions": {u: storage.sessions.load(CHANNEL, u, u) for u in USERS},
        "filings": {u: storage.filings.of_user(CHANNEL, u) for u in USERS},
        "reminders": {u: storage.reminders.open_for_user(CHANNEL, u) for u in USERS},
        "waiting": storage.inbox.waiting(CHANNEL),
    }


def _copy(source: str, target: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["db", "copy", "--from", source, "--to", target])
    out, err = capsys.readouterr()
    return code, out, err


def _counts(out: str) -> dict[str, int]:
    return {m[1]: int(m[2]) for m in re.finditer(r"^  (\w+)\s+(\d+) row\(s\)$", out, re.M)}


def test_a_sqlite_installation_moves_to_postgresql_whole(
    source: Path, pg_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    key = _key(source)
    code, out, err = _copy(f"sqlite:///{source}", pg_url, capsys)
    assert code == 0, err
    counts = _counts(out)
    # Every table of the schema, with its rows: none left out, the migration records aside.
    with sqlite3.connect(source) as conn:
        tables = {
            r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        }
    assert set(counts) == tables - {"_sqlite_migrations"}
    assert {"filings", "inbox", "meta", "reminders", "seen_updates", "sessions"} <= set(counts)
    assert counts["sessions"] == 2 and counts["filings"] == 2 and counts["inbox"] == 1
    assert counts["seen_updates"] == 2 and counts["meta"] >= 1
    assert counts["reminders"] >= 3
    # The key is never printed; the operator is told where it is and how to pass it on.
    assert key.split(",")[0] not in out + err
    assert str(key_file_of(source)) in out and "BEIAN_DATA_KEY" in out

    before = build_app(_settings(db_path=source))
    after = build_app(_settings(database_url=pg_url, data_key=key))
    try:
        assert after.storage.__class__.__name__ == "PostgresStorage"
        expected = _view(before)
        assert _view(after) == expected
        assert expected["reminders"]["alice"] and expected["reminders"]["bob"]
        assert [f.status for f in expected["filings"]["alice"]] == ["collecting"]
        # A redelivered update is still known as handled on the new database.
        assert not after.storage.seen_updates.claim(CHANNEL, 7001)
        # Alice's filing goes on where she left it, with the same reply on either database.
        assert _chat(after, "alice").say(PERSONAL[HALF]) == _chat(before, "alice").say(
            PERSONAL[HALF]
        )
        # New rows get new ids (the identity counters moved past the copied rows).
        bob = _chat(after, "bob")
        bob.say("/filing")
        bob.say(ENTERPRISE[0])
        assert len(after.storage.filings.of_user(CHANNEL, "bob")) == 2
        bob.say("/cancel")
        bob.say("明天上午9点提醒我看短信")
        assert len(after.storage.reminders.open_for_user(CHANNEL, "bob")) == (
            len(expected["reminders"]["bob"]) + 1
        )
        # /forget works on the copy: Alice is gone, Bob is not.
        bob_before = after.storage.filings.of_user(CHANNEL, "bob")
        alice = _chat(after, "alice")
        alice.say("/forget")
        assert any("已删除" in reply for reply in alice.say("确认删除"))
        assert after.storage.filings.of_user(CHANNEL, "alice") == []
        assert after.storage.reminders.open_for_user(CHANNEL, "alice") == []
        assert after.storage.filings.of_user(CHANNEL, "bob") == bob_before
    finally:
        before.storage.close()
        after.storage.close()


def test_the_ciphertext_is_copied_as_it_is(
    source: Path, pg_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _copy(f"sqlite:///{source}", pg_url, capsys)[0] == 0
    query = "SELECT id, data FROM filings ORDER BY id"
    with sqlite3.connect(source) as conn:
        sealed = conn.execute(query).fetchall()
    with psycopg.connect(pg_url) as conn:
        assert conn.execute(query).fetchall() == sealed
    assert all(data.startswith("fernet:") for _, data in sealed)


def test_a_target_that_holds_data_is_refused_and_left_alone(
    source: Path, pg_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _copy(f"sqlite:///{source}", pg_url, capsys)[0] == 0
    with psycopg.connect(pg_url) as conn:
        before = conn.execute("SELECT count(*) FROM reminders").fetchone()
    code, out, err = _copy(f"sqlite:///{source}", pg_url, capsys)
    assert code == 2 and out == ""
    assert (
        "already holds data" in err
        and "sessions (2 rows)" in err
        and "filings (2 rows)" in err
        and "createdb" in err
    )
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT count(*) FROM reminders").fetchone() == before


def test_tables_larger_than_a_page_are_copied_whole(
    source: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    # Pages of two rows and inserts of one: every page boundary, also inside the sessions'
    # three-column key, is crossed.
    monkeypatch.setattr("bot.storage.copy.PAGE_ROWS", 2)
    monkeypatch.setattr("bot.storage.copy.MAX_PARAMS", 1)
    assert _copy(f"sqlite:///{source}", pg_url, capsys)[0] == 0
    before = build_app(_settings(db_path=source))
    after = build_app(_settings(database_url=pg_url, data_key=_key(source)))
    try:
        assert _view(after) == _view(before)
    finally:
        before.storage.close()
        after.storage.close()


def test_a_table_the_target_does_not_have_stops_the_copy(
    source: Path, pg_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # A table only one side knows (a newer version's) is never skipped without a word.
    with sqlite3.connect(source) as conn:
        conn.execute("CREATE TABLE audit (id INTEGER PRIMARY KEY, what TEXT)")
        conn.execute("ALTER TABLE filings ADD COLUMN note TEXT")
    code, out, err = _copy(f"sqlite:///{source}", pg_url, capsys)
    assert code == 2 and out == "" and "table audit is in the source only" in err
    assert "column filings.note is in the source only" in err and "upgrade beian-bot" in err
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT count(*) FROM sessions").fetchone() == (0,)


def test_a_database_only_opened_with_the_same_key_counts_as_empty(
    source: Path, pg_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # A worker started on the new database before the copy (and got nothing) is harmless.
    build_app(_settings(database_url=pg_url, data_key=_key(source))).storage.close()
    assert _copy(f"sqlite:///{source}", pg_url, capsys)[0] == 0


def test_postgresql_moves_back_to_a_sqlite_file_with_its_key_file(
    source: Path,
    pg_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert _copy(f"sqlite:///{source}", pg_url, capsys)[0] == 0
    back = tmp_path / "back" / "beian-bot.db"
    monkeypatch.setenv("BEIAN_DATA_KEY", _key(source))
    code, out, err = _copy(pg_url, f"sqlite:///{back}", capsys)
    assert code == 0, err
    assert _counts(out)["reminders"] >= 3
    # PostgreSQL's own send pacing has no place on SQLite, and the operator is told so.
    assert re.search(r"^  send_budget\s+not copied: ", out, re.M), out
    key_file = key_file_of(back)
    assert key_file.read_text().split() == key_file_of(source).read_text().split()
    assert key_file.stat().st_mode & 0o777 == 0o600
    monkeypatch.delenv("BEIAN_DATA_KEY")
    # Opened like any installation (its key file beside it): the same as the original.
    original, returned = build_app(_settings(db_path=source)), build_app(_settings(db_path=back))
    try:
        assert _view(returned) == _view(original)
        bob = _chat(returned, "bob")
        bob.say("/filing")
        bob.say(ENTERPRISE[0])
        assert len(returned.storage.filings.of_user(CHANNEL, "bob")) == 2
    finally:
        original.storage.close()
        returned.storage.close()


def test_a_password_in_the_url_is_never_printed(
    source: Path, pg_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # The test server trusts local connections, so any password gets in.
    with_password = pg_url.replace("postgres@", "postgres:s3cret-pw@")
    code, out, err = _copy(f"sqlite:///{source}", with_password, capsys)
    assert code == 0, err
    assert "s3cret-pw" not in out + err
    code, out, err = _copy(f"sqlite:///{source}", with_password, capsys)
    assert code == 2 and "s3cret-pw" not in out + err


@pytest.mark.parametrize(
    ("source_url", "target_url", "said"),
    [
        ("mysql://bot@db/beian", "{pg}", "cannot read a mysql: database"),
        ("{file}", "{pg}", "needs a database URL, not a path (for this file: sqlite:///"),
        ("sqlite:/{file}", "{pg}", "sqlite:/// followed by the file's path"),
        ("sqlite:///{missing}", "{pg}", "there is no database file at"),
        ("sqlite:///{file}", "postgresql://postgres@127.0.0.1:1/none", "cannot reach"),
        ("sqlite:///{file}", "postgresql://postgres@127.0.0.1:port/x", "port is not a number"),
        ("sqlite:///{file}", "sqlite:///{file}", "the same database"),
        ("sqlite:///{file}", "", "needs a database URL"),
    ],
)
def test_bad_input_gets_a_sentence_and_exit_code_2(
    source: Path,
    pg_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    source_url: str,
    target_url: str,
    said: str,
) -> None:
    values = {"file": source, "missing": tmp_path / "nowhere" / "bot.db", "pg": pg_url}
    code, out, err = _copy(source_url.format(**values), target_url.format(**values), capsys)
    assert code == 2 and out == ""
    [line] = err.strip().splitlines()[-1:]
    assert line.startswith("beian-bot: ") and said in line, err
    assert not (tmp_path / "nowhere").exists()  # a missing source is not created
    with psycopg.connect(pg_url) as conn:  # and the target holds nothing
        tables = conn.execute("SELECT to_regclass('sessions')").fetchone()
        assert tables == (None,) or conn.execute("SELECT count(*) FROM sessions").fetchone() == (
            0,
        )


def test_a_key_that_does_not_open_the_source_is_named(
    source: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    monkeypatch.setenv("BEIAN_DATA_KEY", Fernet.generate_key().decode())
    code, out, err = _copy(f"sqlite:///{source}", pg_url, capsys)
    assert (
        code == 2
        and out == ""
        and "the data key does not open" in err
        and "nothing was copied" in err
    )


def test_a_missing_key_file_is_named_and_none_is_made(
    source: Path, pg_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    key_file_of(source).unlink()
    code, out, err = _copy(f"sqlite:///{source}", pg_url, capsys)
    assert code == 2 and out == "" and f"no key file at {key_file_of(source)}" in err
    assert not key_file_of(source).exists()


def test_a_target_set_up_with_another_key_is_refused(
    source: Path, pg_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    other = Fernet.generate_key().decode()
    build_app(_settings(database_url=pg_url, data_key=other)).storage.close()
    code, out, err = _copy(f"sqlite:///{source}", pg_url, capsys)
    assert code == 2 and out == "" and "already opened with another data key" in err


def test_a_postgresql_source_needs_the_key_in_the_environment(
    pg_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _copy(pg_url, f"sqlite:///{tmp_path}/x.db", capsys)
    assert code == 2 and out == "" and "BEIAN_DATA_KEY is not set" in err
    assert not (tmp_path / "x.db").exists()


def test_both_urls_are_required(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["db", "copy", "--from", "sqlite:///x.db"])
    assert stopped.value.code == 2 and "--to" in capsys.readouterr().err
