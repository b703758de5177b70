"""Every storage backend, by name: the contract suite runs over each (add one parameter here)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bot.storage.base import Storage
from bot.storage.sqlite import SqliteStorage

Clock = Callable[[], float]
# A backend's factory: (a clock for seen updates) -> a new connection to one shared database.
Opener = Callable[[Clock], Storage]

BACKENDS = ["sqlite_memory", "sqlite_file"]


@pytest.fixture(params=BACKENDS)
def opener(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    """Opens connections to one fresh database of the parametrised backend."""
    opened: list[Storage] = []
    memory: list[SqliteStorage] = []

    def open_one(clock: Clock) -> Storage:
        if request.param == "sqlite_memory":
            # A :memory: database lives in its connection, so "another connection" is it.
            if not memory:
                memory.append(SqliteStorage(":memory:", clock=clock))
            return memory[0]
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
