"""Personal values at rest: sealed in the file, 0600 files, a wrong key stops the bot."""

from __future__ import annotations

import io
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from bot.cli import main
from bot.errors import ConfigError
from bot.storage.base import NewReminder, Storage
from bot.storage.crypto import WrongKeyError, key_file_of, load_cipher
from bot.storage.sqlite import SqliteStorage

NAME, DOMAIN, IP = "王小明", "wangxiaoming-blog.cn", "203.0.113.77"


def fill(storage: Storage) -> None:
    """One value a user typed in every sealed column."""
    state = f'{{"form": "filing", "answers": {{"name": "{NAME}", "domain": "{DOMAIN}"}}}}'
    storage.sessions.save("telegram", "c1", "u1", state)
    filing = storage.filings.create("telegram", "u1", "filing", DOMAIN)
    storage.filings.save(
        "telegram", "u1", filing, data={"server_ip": IP, "name": NAME}, label=DOMAIN,
        status="collecting",
    )  # fmt: skip
    reminder = NewReminder(
        channel="telegram", chat_id="c1", chat_kind="private", user_id="u1", user_name=NAME,
        series="sms", kind="sms_window", step="h12", payload=f'{{"domain": "{DOMAIN}"}}',
        due_at=100,
    )  # fmt: skip
    storage.reminders.schedule([reminder], channel="telegram", user_id="u1", now=1)
    storage.inbox.accept("telegram", "9", "c1", f'{{"text": "我叫{NAME}"}}')


def on_disk(db: Path) -> bytes:
    return b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*") if p.is_file())


def test_what_a_user_typed_is_never_plaintext_in_the_files_and_reads_back(
    tmp_path: Path,
) -> None:
    db = tmp_path / "bot.db"
    storage = SqliteStorage(db)
    fill(storage)
    for value in (NAME, DOMAIN, IP):
        assert value.encode() not in on_disk(db), value
    storage.close()
    again = SqliteStorage(db)  # a restart: the key file beside the database opens it
    assert DOMAIN in (again.sessions.load("telegram", "c1", "u1") or "")
    [row] = again.filings.of_user("telegram", "u1")
    assert (row.label, row.data["server_ip"]) == (DOMAIN, IP)
    [reminder] = again.reminders.open_for_user("telegram", "u1")
    assert (reminder.user_name, reminder.payload) == (NAME, f'{{"domain": "{DOMAIN}"}}')
    assert NAME in again.inbox.waiting("telegram")[0].body
    again.close()


def test_the_database_its_wal_and_the_key_file_are_readable_by_the_owner_only(
    tmp_path: Path,
) -> None:
    db = tmp_path / "data" / "bot.db"
    storage = SqliteStorage(db)
    fill(storage)
    files = [db, db.with_name("bot.db-wal"), key_file_of(db)]
    assert all(f.exists() for f in files)
    modes = {f.name: stat.S_IMODE(f.stat().st_mode) for f in files}
    storage.close()
    assert modes == {f.name: 0o600 for f in files}


def test_an_existing_database_file_is_narrowed_to_0600(tmp_path: Path) -> None:
    db = tmp_path / "bot.db"
    db.touch(mode=0o644)
    db.chmod(0o644)
    SqliteStorage(db).close()
    assert stat.S_IMODE(db.stat().st_mode) == 0o600


@pytest.mark.parametrize("wrong", ["another", "a removed key file"])
def test_a_key_that_does_not_open_the_data_stops_with_a_sentence_and_writes_nothing(
    tmp_path: Path, wrong: str
) -> None:
    db = tmp_path / "bot.db"
    storage = SqliteStorage(db)
    fill(storage)
    storage.close()
    before = db.read_bytes()
    if wrong == "another":
        cipher = load_cipher(db, Fernet.generate_key().decode())
    else:
        key = key_file_of(db)
        key.rename(tmp_path / "elsewhere.key")
        cipher = load_cipher(db)  # a fresh key file is made: it is not the data's key
    with pytest.raises(WrongKeyError) as raised:
        SqliteStorage(db, cipher=cipher)
    assert "BEIAN_DATA_KEY" in str(raised.value) and "plaintext" in str(raised.value)
    assert db.read_bytes() == before


def test_the_cli_refuses_to_start_on_the_wrong_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "bot.db"
    SqliteStorage(db).close()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BEIAN_DB_PATH", str(db))
    monkeypatch.setenv("BEIAN_DATA_KEY", Fernet.generate_key().decode())
    monkeypatch.setattr("sys.stdin", io.StringIO("你好\n"))
    assert main(["chat", "--json"]) == 2
    err = capsys.readouterr().err
    assert "data key does not open" in err and "Traceback" not in err


@pytest.mark.parametrize("key", ["not-a-key", "abc,def", "x" * 44])
def test_a_malformed_data_key_is_refused_with_what_a_key_looks_like(key: str) -> None:
    with pytest.raises(ConfigError, match="44 characters"):
        load_cipher(":memory:", key)


def test_rotation_reseals_with_the_new_key_so_the_old_one_can_go(tmp_path: Path) -> None:
    db = tmp_path / "bot.db"
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    storage = SqliteStorage(db, cipher=load_cipher(db, old))
    fill(storage)
    storage.close()
    SqliteStorage(db, cipher=load_cipher(db, f"{new},{old}")).close()  # new first: resealed
    only_new = SqliteStorage(db, cipher=load_cipher(db, new))
    [row] = only_new.filings.of_user("telegram", "u1")
    assert row.data["server_ip"] == IP
    assert NAME in only_new.inbox.waiting("telegram")[0].body
    only_new.close()
    with pytest.raises(WrongKeyError):
        SqliteStorage(db, cipher=load_cipher(db, old))


def test_a_database_from_before_encryption_is_sealed_at_the_first_start(tmp_path: Path) -> None:
    db = tmp_path / "bot.db"
    storage = SqliteStorage(db)
    storage.db.execute("DELETE FROM meta")
    state = f'{{"name": "{NAME}"}}'
    storage.db.execute(
        "INSERT INTO sessions (channel, chat_id, user_id, state, updated_at)"
        " VALUES ('telegram', 'c1', 'u1', ?, '2026-01-01')",
        (state,),
    )
    storage.close()
    assert NAME.encode() in on_disk(db)  # as an older version left it
    upgraded = SqliteStorage(db)
    assert upgraded.sessions.load("telegram", "c1", "u1") == state
    upgraded.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    upgraded.db.execute("VACUUM")
    upgraded.close()
    assert NAME.encode() not in on_disk(db)


# ---- over every backend with a database that outlives its connection ----------------------

Reopen = Callable[[str], Storage]


@pytest.fixture(params=["sqlite_file", "postgres"])
def reopen(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Reopen]:
    """Opens the same database again with the given BEIAN_DATA_KEY value."""
    opened: list[Storage] = []
    pg_url = request.getfixturevalue("pg_url") if request.param == "postgres" else ""

    def open_with(key: str) -> Storage:
        storage: Storage
        if request.param == "postgres":
            from bot.storage.postgres import PostgresStorage

            storage = PostgresStorage(pg_url, cipher=load_cipher(":memory:", key))
        else:
            db = tmp_path / "bot.db"
            storage = SqliteStorage(db, cipher=load_cipher(db, key))
        opened.append(storage)
        return storage

    yield open_with
    for storage in opened:
        storage.close()


def test_on_every_backend_a_wrong_key_stops_with_a_sentence(reopen: Reopen) -> None:
    first = reopen(Fernet.generate_key().decode())
    fill(first)
    first.close()
    with pytest.raises(WrongKeyError) as raised:
        reopen(Fernet.generate_key().decode())
    assert "BEIAN_DATA_KEY" in str(raised.value) and "plaintext" in str(raised.value)


def test_on_every_backend_rotation_reseals_so_the_old_key_can_go(reopen: Reopen) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    fill(reopen(old))
    reopen(f"{new},{old}").close()  # new first: everything sealed again with it
    only_new = reopen(new)
    [row] = only_new.filings.of_user("telegram", "u1")
    assert row.data["server_ip"] == IP
    assert NAME in only_new.inbox.waiting("telegram")[0].body
    [reminder] = only_new.reminders.open_for_user("telegram", "u1")
    assert reminder.user_name == NAME
    assert DOMAIN in (only_new.sessions.load("telegram", "c1", "u1") or "")
    only_new.close()
    with pytest.raises(WrongKeyError):
        reopen(old)
