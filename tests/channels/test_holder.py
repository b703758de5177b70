"""`run_as_holder`: what only one worker may run (WeCom's long connection) runs only while
this worker holds the election, on a real PostgreSQL server and a real SQLite file."""

from __future__ import annotations

import asyncio
from pathlib import Path

import psycopg

from bot.channels.holder import run_as_holder
from bot.storage.crypto import DataCipher
from bot.storage.postgres import PostgresStorage
from bot.storage.sqlite import SqliteStorage
from tests.conftest import until
from tests.storage.conftest import pg_server, pg_url  # noqa: F401  (fixtures)


class Runs:
    """Records each run: started, and whether its stop was set when it ended."""

    def __init__(self) -> None:
        self.started = 0
        self.stopped = 0

    async def __call__(self, stop: asyncio.Event) -> None:
        self.started += 1
        await stop.wait()
        self.stopped += 1


async def test_a_holder_that_loses_its_database_session_stops_and_stands_by_again(
    pg_url: str,  # noqa: F811
) -> None:
    storage = PostgresStorage(pg_url, cipher=DataCipher.generate())
    runs, stop = Runs(), asyncio.Event()
    task = asyncio.create_task(
        run_as_holder(storage.leadership("x"), stop, runs, what="x", poll=0.1)
    )
    try:
        await until(lambda: runs.started == 1)
        with psycopg.connect(pg_url, autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory'"
            )
        # Stopped before anything else could take over; held again once the lock was free.
        await until(lambda: runs.stopped == 1 and runs.started == 2)
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
        storage.close()
    assert runs.stopped == 2


async def test_a_standby_runs_only_once_the_holder_has_stopped(tmp_path: Path) -> None:
    db = tmp_path / "bot.db"
    first_db, second_db = SqliteStorage(db), SqliteStorage(db)
    first, second = Runs(), Runs()
    stop_first, stop_second = asyncio.Event(), asyncio.Event()
    one = asyncio.create_task(
        run_as_holder(first_db.leadership("x"), stop_first, first, what="x", poll=0.05)
    )
    await until(lambda: first.started == 1)
    two = asyncio.create_task(
        run_as_holder(second_db.leadership("x"), stop_second, second, what="x", poll=0.05)
    )
    await asyncio.sleep(0.5)
    assert second.started == 0  # standing by
    stop_first.set()
    await asyncio.wait_for(one, 10)
    await until(lambda: second.started == 1)
    stop_second.set()
    await asyncio.wait_for(two, 10)
    first_db.close()
    second_db.close()
