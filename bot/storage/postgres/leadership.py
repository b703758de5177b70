"""One holder per name across workers: a session-level advisory lock on its own connection.

The lock lives as long as the connection: a holder that dies (or whose machine does) loses
it when the server notices the connection is gone. A killed process's socket is closed by
its kernel at once; for a machine that vanished, TCP keepalives on both ends notice within
about 15 s. The connection is not from the pool, since a pooled one would carry the lock to
whichever turn borrowed it next.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

import psycopg
from psycopg.conninfo import make_conninfo

from bot.storage.base import Leadership

logger = logging.getLogger(__name__)
# Dead-peer detection, client side (libpq) and server side (per-session settings).
_KEEPALIVES = {"keepalives": 1, "keepalives_idle": 5, "keepalives_interval": 2,
               "keepalives_count": 3, "connect_timeout": 5}  # fmt: skip
_SERVER_KEEPALIVES = (
    "SET tcp_keepalives_idle = 5; SET tcp_keepalives_interval = 2; SET tcp_keepalives_count = 3"
)


def lock_key(name: str) -> int:
    """The advisory lock's 64-bit key for a name (stable across processes and versions)."""
    return int.from_bytes(hashlib.sha256(f"beian-bot:{name}".encode()).digest()[:8], "big",
                          signed=True)  # fmt: skip


class AdvisoryLeadership(Leadership):
    """`pg_try_advisory_lock` held by a connection of its own."""

    def __init__(self, url: str, name: str) -> None:
        self.url, self.key = url, lock_key(name)
        self._conn: psycopg.Connection[Any] | None = None

    def try_acquire(self) -> bool:
        """Take the lock if no other session holds it; an unreachable server means no."""
        if self._conn is not None:
            return self.still_held()
        try:
            conn = psycopg.connect(make_conninfo(self.url, **_KEEPALIVES), autocommit=True)
        except psycopg.OperationalError as exc:
            logger.warning("cannot reach the database for the election: %s", exc)
            return False
        try:
            conn.execute(_SERVER_KEEPALIVES)
            row = conn.execute("SELECT pg_try_advisory_lock(%s)", (self.key,)).fetchone()
        except psycopg.Error:
            conn.close()
            return False
        if row is None or not row[0]:
            conn.close()
            return False
        self._conn = conn
        return True

    def still_held(self) -> bool:
        """The session is alive, so its lock is too; a broken one has lost it."""
        if self._conn is None:
            return False
        try:
            self._conn.execute("SELECT 1")
        except psycopg.Error:
            self._drop()
            return False
        return True

    def release(self) -> None:
        """Unlock by closing the session."""
        self._drop()

    def _drop(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
