"""A psycopg 3 connection pool, a transaction per thread, and the errors that mean "not now".

Outside a transaction each statement borrows a connection from the pool and commits on its
own (autocommit), as one statement does on SQLite. `transaction()` pins one connection to the
calling thread until it ends; statements the same thread runs meanwhile go through it, and a
nested block becomes a savepoint (psycopg's `Connection.transaction()` does that).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg_pool import ConnectionPool

from bot.storage.base import StorageUnavailable

# SQLSTATEs of a server that cannot take a write now: disk full, read-only (a standby, or
# default_transaction_read_only), out of memory, too many connections, shutting down or
# not accepting connections yet. Class 08 (connection exceptions) is matched as a class.
_CANNOT_WRITE = {"53100", "53200", "53300", "25006", "57P01", "57P02", "57P03"}


def cannot_write(exc: psycopg.Error) -> bool:
    """Whether the error says the database cannot take the write now (nothing was saved)."""
    state = exc.sqlstate
    if state is None:
        # No SQLSTATE: the client lost or could not get a connection (or the pool timed out).
        return isinstance(exc, psycopg.OperationalError)
    return state in _CANNOT_WRITE or state.startswith("08")


@contextmanager
def unavailable_on_cannot_write() -> Iterator[None]:
    """Turn psycopg's "cannot write now" errors into StorageUnavailable."""
    try:
        yield
    except psycopg.Error as exc:
        if cannot_write(exc):
            raise StorageUnavailable(f"{type(exc).__name__}: {exc}") from exc
        raise


def safe_url(url: str) -> str:
    """The URL for messages: the password left out."""
    try:
        params = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "postgresql://(unparsable URL)"
    params.pop("password", None)
    host, port, db = params.get("host", ""), params.get("port", ""), params.get("dbname", "")
    user = f"{params['user']}@" if params.get("user") else ""
    return f"postgresql://{user}{host}{':' + str(port) if port else ''}/{db}"


def connect(url: str, **options: Any) -> psycopg.Connection[Any]:
    """One autocommit connection outside the pool (migrations, status, tests)."""
    with unavailable_on_cannot_write():
        return psycopg.connect(make_conninfo(url, **options), autocommit=True)


@dataclass(frozen=True)
class Result:
    """A statement's rows (already fetched), their column names and the affected row count."""

    rows: list[tuple[Any, ...]]
    columns: list[str]
    rowcount: int

    def one(self) -> tuple[Any, ...] | None:
        return self.rows[0] if self.rows else None

    def fetchone(self) -> tuple[Any, ...] | None:
        """The first row, or None (the DB-API name the shared stores use)."""
        return self.one()

    def fetchall(self) -> list[tuple[Any, ...]]:
        """Every row (the DB-API name the shared stores use)."""
        return self.rows


class Database:
    """The pool, and the connection the current thread's open transaction holds."""

    def __init__(self, url: str, *, max_size: int = 4, timeout: float = 10.0) -> None:
        self.url = url
        self.pool: ConnectionPool[psycopg.Connection[Any]] = ConnectionPool(
            url,
            min_size=1,
            max_size=max_size,
            kwargs={"autocommit": True},
            timeout=timeout,
            open=False,
            name="beian-bot",
        )
        with unavailable_on_cannot_write():
            self.pool.open(wait=True, timeout=timeout)
        self._local = threading.local()

    @property
    def pinned(self) -> psycopg.Connection[Any] | None:
        """The connection of this thread's open transaction, if one is open."""
        conn: psycopg.Connection[Any] | None = getattr(self._local, "conn", None)
        return conn

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[Any]]:
        pinned = self.pinned
        if pinned is not None:
            yield pinned
            return
        with self.pool.connection() as conn:
            yield conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Result:
        """Run one statement (in this thread's transaction, if one is open)."""
        with unavailable_on_cannot_write(), self._connection() as conn:
            cursor = conn.execute(sql, tuple(params))
            rows = cursor.fetchall() if cursor.description is not None else []
            columns = [d.name for d in cursor.description or ()]
            return Result(rows, columns, cursor.rowcount)

    def executemany(self, sql: str, params: Sequence[Sequence[Any]]) -> None:
        """Run one statement once per parameter tuple."""
        with unavailable_on_cannot_write(), self._connection() as conn:
            conn.cursor().executemany(sql, [tuple(p) for p in params])

    @contextmanager
    def transaction(self, *, read_back: bool = False) -> Iterator[psycopg.Connection[Any]]:
        """Everything the thread runs inside commits together; nested: a savepoint.

        `read_back=True` rolls the outermost transaction back instead of committing."""
        pinned = self.pinned
        if pinned is not None:
            with unavailable_on_cannot_write(), pinned.transaction():
                yield pinned
            return
        with unavailable_on_cannot_write(), self.pool.connection() as conn:
            self._local.conn = conn
            try:
                with conn.transaction(force_rollback=read_back):
                    yield conn
            finally:
                self._local.conn = None

    def close(self) -> None:
        """Close every pooled connection."""
        self.pool.close()


def _psycopg(sql: str) -> str:
    # The shared SQL's `?` placeholders in psycopg's style. A plain replace is safe: no
    # statement in bot.storage.sql has a `?` (or a `%`) inside a literal or a name.
    return sql.replace("?", "%s")


class PostgresConnection:
    """The shared stores' `SqlConnection` (bot.storage.sql) on the pool."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Result:
        """Run one statement (in this thread's transaction, if one is open)."""
        return self.db.execute(_psycopg(sql), params)

    def insert_returning_id(self, sql: str, params: Sequence[Any] = ()) -> int | None:
        """Run an INSERT of at most one row; the new row's `id`, None if none was inserted."""
        row = self.db.execute(_psycopg(sql) + " RETURNING id", params).one()
        return int(row[0]) if row is not None else None

    @contextmanager
    def transaction(self, name: str) -> Iterator[None]:
        """This thread's transaction; nested, a savepoint (psycopg names it itself)."""
        with self.db.transaction():
            yield

    def write(self, name: str) -> AbstractContextManager[None]:
        """Nothing: one statement is atomic on its own, and a row lock it meets makes it wait."""
        return nullcontext()
