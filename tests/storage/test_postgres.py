"""What only the PostgreSQL backend has: migrations under an advisory lock, "cannot write now"
errors mapped to StorageUnavailable, the settings that choose it. The contract suite runs
over it too (the `postgres` parameter in conftest.py)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import psycopg
import pytest
from cryptography.fernet import Fernet
from sqlite_utils import Database

from bot.cli import main
from bot.config import Settings
from bot.errors import ConfigError
from bot.storage.base import StorageUnavailable, migration_status, open_storage
from bot.storage.crypto import DataCipher
from bot.storage.postgres import PostgresStorage, migrations
from bot.storage.postgres.connection import safe_url
from bot.storage.sqlite.migrations import migrations as sqlite_migrations


def test_two_workers_starting_together_apply_each_migration_once(pg_url: str) -> None:
    started = threading.Event()
    ran: dict[str, list[str]] = {}
    waited: dict[str, float] = {}

    def slow(name: str) -> None:
        started.set()
        time.sleep(0.05)  # the other starter is at the lock meanwhile

    def start(worker: str, before_each: object) -> None:
        with psycopg.connect(pg_url, autocommit=True) as conn:
            begin = time.monotonic()
            ran[worker] = migrations.apply(conn, before_each=before_each)  # type: ignore[arg-type]
            waited[worker] = time.monotonic() - begin

    first = threading.Thread(target=start, args=("first", slow))
    first.start()
    assert started.wait(10)
    second = threading.Thread(target=start, args=("second", None))
    second.start()
    first.join(30)
    second.join(30)
    assert ran == {"first": [name for name, _ in migrations.MIGRATIONS], "second": []}
    assert waited["second"] > 0.1  # it waited on the lock instead of racing
    with psycopg.connect(pg_url) as conn:
        assert migrations.applied(conn) == ran["first"] and migrations.pending(conn) == []


def test_several_storages_opening_an_empty_database_at_once_all_start(pg_url: str) -> None:
    cipher = DataCipher.generate()
    opened: list[PostgresStorage] = []
    errors: list[BaseException] = []

    def open_one() -> None:
        try:
            opened.append(PostgresStorage(pg_url, cipher=cipher))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == [] and len(opened) == 4
    opened[0].sessions.save("telegram", "c", "u", "{}")
    assert all(s.sessions.load("telegram", "c", "u") == "{}" for s in opened)
    for storage in opened:
        storage.close()


def _read_only(storage: PostgresStorage, pg_url: str) -> None:
    """The database takes no writes from now on (as a standby or a full disk would not)."""
    name = pg_url.rsplit("/", 1)[1]
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f"ALTER DATABASE {name} SET default_transaction_read_only = on")
    storage.db.pool.drain()  # the pooled connections are opened again, read only


def test_a_read_only_database_raises_storage_unavailable_and_still_reads(pg_url: str) -> None:
    storage = PostgresStorage(pg_url, cipher=DataCipher.generate())
    storage.sessions.save("telegram", "c1", "u1", '{"step": 1}')
    _read_only(storage, pg_url)
    with pytest.raises(StorageUnavailable):
        storage.sessions.save("telegram", "c1", "u1", '{"step": 2}')
    with pytest.raises(StorageUnavailable), storage.transaction():
        assert storage.sessions.load("telegram", "c1", "u1") == '{"step": 1}'
        storage.filings.create("telegram", "u1", "filing", "x")
    with storage.reading():  # the engine's answer-without-saving path
        assert storage.sessions.load("telegram", "c1", "u1") == '{"step": 1}'
    with pytest.raises(StorageUnavailable), storage.reading():
        storage.seen_updates.claim("telegram", 1)
    storage.close()


def test_reading_rolls_back_and_says_when_the_turn_wrote(pg_url: str) -> None:
    storage = PostgresStorage(pg_url, cipher=DataCipher.generate())
    with storage.reading():
        assert storage.sessions.load("telegram", "c1", "u1") is None
    with pytest.raises(StorageUnavailable), storage.reading():
        storage.sessions.save("telegram", "c1", "u1", "{}")
    assert storage.sessions.load("telegram", "c1", "u1") is None
    storage.close()


def test_a_lost_connection_or_no_server_is_storage_unavailable(pg_url: str) -> None:
    storage = PostgresStorage(pg_url, cipher=DataCipher.generate())
    with psycopg.connect(pg_url, autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    with pytest.raises(StorageUnavailable):
        storage.sessions.save("telegram", "c1", "u1", "{}")
    storage.sessions.save("telegram", "c1", "u1", "{}")  # the pool replaced the dead one
    storage.close()
    with pytest.raises(StorageUnavailable):
        PostgresStorage("postgresql://postgres@127.0.0.1:1/none", cipher=DataCipher.generate())


def test_the_database_url_chooses_the_backend(tmp_path: Path) -> None:
    url = "postgresql://bot:secret@db.internal:5432/beian"
    assert Settings(_env_file=None, database_url=url).storage == "postgres"
    settings = Settings(_env_file=None, database_url=f"sqlite:///{tmp_path}/x.db")
    assert (settings.storage, settings.db_path) == ("sqlite", tmp_path / "x.db")
    assert Settings(_env_file=None, db_path=tmp_path / "y.db").storage == "sqlite"
    with pytest.raises(ValueError, match="BEIAN_DATABASE_URL"):
        Settings(_env_file=None, database_url="mysql://x/y")
    with pytest.raises(ValueError, match="BEIAN_DATABASE_URL"):
        Settings(_env_file=None, storage="postgres")
    assert "secret" not in safe_url(url) and "db.internal:5432/beian" in safe_url(url)


def test_postgres_requires_the_data_key_and_opens_with_it(pg_url: str) -> None:
    with pytest.raises(ConfigError, match="BEIAN_DATA_KEY"):
        open_storage(Settings(_env_file=None, database_url=pg_url))
    key = Fernet.generate_key().decode()
    storage = open_storage(Settings(_env_file=None, database_url=pg_url, data_key=key))
    storage.sessions.save("telegram", "c1", "u1", "{}")
    storage.close()
    assert migration_status(Settings(_env_file=None, database_url=pg_url)).pending == []


def test_what_a_user_typed_is_sealed_in_the_tables(pg_url: str) -> None:
    storage = PostgresStorage(pg_url, cipher=DataCipher.generate())
    storage.sessions.save("telegram", "c1", "u1", '{"name": "王小明"}')
    filing = storage.filings.create("telegram", "u1", "filing", "wangxiaoming-blog.cn")
    storage.filings.save("telegram", "u1", filing, data={"ip": "203.0.113.77"}, label="l",
                         status="collecting")  # fmt: skip
    storage.inbox.accept("telegram", "9", "c1", "我叫王小明")
    storage.close()
    with psycopg.connect(pg_url) as conn:
        rows = conn.execute(
            "SELECT state FROM sessions UNION ALL SELECT label || data FROM filings"
            " UNION ALL SELECT body FROM inbox"
        ).fetchall()
    text = " ".join(r[0] for r in rows)
    assert "王小明" not in text and "203.0.113.77" not in text and text.count("fernet:") == 4


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_db_status_and_migrate_on_both_backends(
    backend: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    if backend == "postgres":
        monkeypatch.setenv("BEIAN_DATABASE_URL", request.getfixturevalue("pg_url"))
    else:
        monkeypatch.setenv("BEIAN_DB_PATH", str(tmp_path / "bot.db"))
    if backend == "postgres":
        names = [name for name, _ in migrations.MIGRATIONS]
    else:  # every migration sqlite-utils would apply to an empty database
        names = [m.name for m in sqlite_migrations.pending(Database(memory=True))]
    assert main(["db", "status"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(backend) and out[-1] == f"0 applied, {len(names)} pending"
    assert out[1:-1] == [f"pending {n}" for n in names]
    assert not (tmp_path / "bot.db").exists()  # status changes nothing
    assert main(["db", "migrate"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[:-1] == [f"applied {n}" for n in names]
    assert out[-1].endswith(f"{len(names)} applied now, 0 pending")
    assert main(["db", "migrate"]) == 0
    assert capsys.readouterr().out.splitlines()[-1].endswith("0 applied now, 0 pending")
    assert main(["db", "status"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1:-1] == [f"applied {n}" for n in names]
    assert out[-1] == f"{len(names)} applied, 0 pending"


def test_the_sqlite_url_spelling_works_for_db_status(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BEIAN_DATABASE_URL", f"sqlite:///{tmp_path}/via-url.db")
    assert main(["db", "migrate"]) == 0
    assert (tmp_path / "via-url.db").exists()
    capsys.readouterr()
    assert main(["db", "status"]) == 0
    assert capsys.readouterr().out.splitlines()[-1].endswith(", 0 pending")


def test_backup_says_it_is_for_sqlite_only_on_postgres(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BEIAN_DATABASE_URL", pg_url)
    assert main(["backup", str(tmp_path / "x.bak")]) == 2
    assert "pg_dump" in capsys.readouterr().err


def test_a_holder_whose_connection_dies_loses_the_hold_and_another_takes_it(pg_url: str) -> None:
    """The server ends a dead holder's session, and with it the advisory lock: no lease to
    wait out, and the old holder learns it lost the hold before it would act as one."""
    storage = PostgresStorage(pg_url, cipher=DataCipher.generate())
    holder, standby = storage.leadership("wecom:bot"), storage.leadership("wecom:bot")
    assert holder.try_acquire() is True and standby.try_acquire() is False
    with psycopg.connect(pg_url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory'")
    assert standby.try_acquire() is True
    assert holder.still_held() is False
    assert holder.try_acquire() is False
    standby.release()
    storage.close()
