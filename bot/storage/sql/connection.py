"""What the shared stores need from a backend's connection, and how timestamps are stored.

The SQL is written with `?` placeholders; an adapter whose driver wants another style
translates them (no statement in bot.storage.sql has a `?` or `%` inside a literal).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any, Protocol


class Rows(Protocol):
    """A statement's outcome: its rows and how many rows it changed."""

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class SqlConnection(Protocol):
    """A backend's connection as the shared stores use it."""

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Rows:
        """Run one statement (in the open transaction, if any)."""
        ...

    def insert_returning_id(self, sql: str, params: Sequence[Any] = ()) -> int | None:
        """Run an INSERT of at most one row; the new row's `id`, None if none was inserted."""
        ...

    def transaction(self, name: str) -> AbstractContextManager[None]:
        """Statements inside commit together; nested, a savepoint called `name`."""
        ...

    def write(self, name: str) -> AbstractContextManager[None]:
        """Wrap one write that must wait its turn behind other connections' writes."""
        ...


def utc_now_iso() -> str:
    """Now in UTC as ISO 8601 text: how every timestamp is stored."""
    return datetime.now(UTC).isoformat(timespec="seconds")
