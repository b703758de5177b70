"""The PostgreSQL backend: psycopg 3 with a connection pool, for several workers on one database.

Chosen by BEIAN_DATABASE_URL=postgresql://... (bot.config.Settings.database_url).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.errors import ConfigError
from bot.storage.base import MigrationStatus
from bot.storage.crypto import DataCipher, load_cipher
from bot.storage.postgres import migrations
from bot.storage.postgres.connection import connect, safe_url
from bot.storage.postgres.storage import PostgresStorage

if TYPE_CHECKING:
    from bot.config import Settings

__all__ = ["PostgresStorage", "migrate", "migration_status", "open_storage"]


def _url(settings: Settings) -> str:
    if not settings.database_url:
        raise ConfigError("the postgres backend needs BEIAN_DATABASE_URL=postgresql://...")
    return settings.database_url


def cipher_of(settings: Settings) -> DataCipher:
    """The data key from BEIAN_DATA_KEY, which PostgreSQL requires.

    SQLite keeps a generated key file beside its database file; a PostgreSQL database has no
    "beside", and a key file made in each worker's data directory would give every machine
    its own key: the second machine's worker would stop on the key check (or, had it started
    first on an empty database, the first one would). One key given to every worker in the
    environment is the only arrangement that works for several workers, so it is required
    rather than generated."""
    key = settings.data_key.get_secret_value() if settings.data_key else None
    if not key or not key.strip():
        raise ConfigError(
            "the postgres backend needs BEIAN_DATA_KEY (the same key for every worker): "
            "python -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())'"
        )
    return load_cipher(":memory:", key)  # a key is set: no key file is looked for


def open_storage(settings: Settings) -> PostgresStorage:
    """The database BEIAN_DATABASE_URL names, migrated, sealed with BEIAN_DATA_KEY."""
    return PostgresStorage(_url(settings), cipher=cipher_of(settings))


def migration_status(settings: Settings) -> MigrationStatus:
    """Applied and pending migrations, read only."""
    url = _url(settings)
    with connect(url) as conn:
        return MigrationStatus(
            safe_url(url), applied=migrations.applied(conn), pending=migrations.pending(conn)
        )


def migrate(settings: Settings) -> list[str]:
    """Apply what is pending, under the advisory lock; returns the names applied."""
    with connect(_url(settings)) as conn:
        return migrations.apply(conn)
