"""Online backup and restore of the SQLite file through SQLite's backup API.

Both are safe while the bot runs on the file: the backup API takes SQLite's own locks, so a
backup is one consistent snapshot and a restore appears to other connections as one commit.
A backup holds personal values sealed with the data key (bot.storage.crypto) and not the key.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bot.errors import BeianError
from bot.storage.crypto import WrongKeyError, key_file_of, load_cipher
from bot.storage.sqlite.connection import open_database
from bot.storage.sqlite.migrations import migrations

# The tables every migrated beian-bot database has; `_sqlite_migrations` is sqlite-utils'.
REQUIRED_TABLES = ("sessions", "filings", "reminders", "_sqlite_migrations")
_VALID = (
    "a valid backup is a file written by `beian-bot backup`: a SQLite database with the "
    "tables sessions, filings, reminders and _sqlite_migrations"
)
# Seconds to wait for a lock the running bot holds (it holds one for a single turn).
_BUSY_TIMEOUT = 30.0
# Files SQLite keeps beside a database; overwriting one of the live database's corrupts it.
_SIDE_FILES = ("", "-wal", "-shm", "-journal")


class BackupError(BeianError):
    """A backup or restore was refused or failed; the message says why and what to do."""


@dataclass(frozen=True)
class Summary:
    """What a backup wrote or a restore left in place, and how much it holds."""

    path: Path
    filings: int
    reminders: int


def backup_to(db_path: Path | str, target: Path | str) -> Summary:
    """Copy the live database into `target` (mode 0600, replaced atomically)."""
    db_path, target = Path(db_path), Path(target)
    if not db_path.is_file():
        raise BackupError(f"no database at {db_path} (BEIAN_DB_PATH): nothing to back up")
    if target.is_dir():
        raise BackupError(
            f"{target} is a directory: give the backup file's name, "
            f"e.g. {target / 'beian-bot-backup.db'}"
        )
    if not target.parent.is_dir():
        raise BackupError(
            f"cannot write {target}: the directory {target.parent} does not exist; "
            "create it first or choose another path"
        )
    live_files = [Path(f"{db_path}{side}") for side in _SIDE_FILES] + [key_file_of(db_path)]
    if any(_same_file(target, live) for live in live_files):
        raise BackupError(
            f"{target} is the live database (or one of its files) itself: "
            "choose another path for the backup"
        )
    try:
        # mkstemp creates the file 0600 whatever the umask: a backup holds personal data,
        # and SQLite gives its journal the same mode. Beside the target, so the rename
        # below stays on one file system and is atomic.
        fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as exc:
        raise BackupError(f"cannot write in {target.parent}: {exc.strerror}") from None
    os.close(fd)
    temp = Path(name)
    try:
        summary = _copy_into(db_path, temp, target)
        os.replace(temp, target)
    except OSError as exc:
        raise BackupError(f"cannot write {target}: {exc.strerror}") from None
    finally:
        for side in _SIDE_FILES:
            Path(f"{temp}{side}").unlink(missing_ok=True)
    _sync_directory(target.parent)
    return summary


def restore_from(source: Path | str, db_path: Path | str, data_key: str | None = None) -> Summary:
    """Replace the live database's content with the backup `source`, then migrate it.

    `data_key` is BEIAN_DATA_KEY; unset, the key file beside `db_path` must open the backup."""
    source, db_path = Path(source), Path(db_path)
    if not source.exists():
        raise BackupError(f"no backup file at {source}; {_VALID}")
    if not source.is_file():
        raise BackupError(f"{source} is not a file; {_VALID}")
    if source.stat().st_size == 0:
        raise BackupError(f"{source} is empty; {_VALID}")
    if _same_file(source, db_path):
        raise BackupError(f"{source} is the live database itself: nothing to restore")
    try:
        src = _connect_read_only(source)
        try:
            _require_app_database(src, source)
            _require_key_opens(src, source, db_path, data_key)
            db_path.parent.mkdir(parents=True, exist_ok=True)
            dest = sqlite3.connect(db_path, timeout=_BUSY_TIMEOUT)
            try:
                # One step: the write lock is held for the whole copy, so the running bot
                # sees either the old content or the restored one, never a mix.
                src.backup(dest)
                # Old frames in the WAL still hold the replaced rows: fold and truncate it.
                dest.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                dest.close()
        finally:
            src.close()
        # An older backup lacks later migrations; opening applies them.
        db = open_database(db_path)
        try:
            return _summary(db.conn, db_path)
        finally:
            db.close()
    except sqlite3.Error as exc:
        raise BackupError(f"restoring {source} into {db_path} failed: {exc}") from None


def _copy_into(db_path: Path, temp: Path, target: Path) -> Summary:
    try:
        src = _connect_read_only(db_path)
        try:
            dest = sqlite3.connect(temp)
            try:
                # One step (pages=-1): one read transaction, so the copy is a single snapshot;
                # in WAL mode the bot keeps writing meanwhile.
                src.backup(dest)
                # The copied header says WAL; a backup should be one self-contained file.
                dest.execute("PRAGMA journal_mode = DELETE")
                _require_app_database(dest, db_path)
                return _summary(dest, target)
            finally:
                dest.close()
        finally:
            src.close()
    except sqlite3.Error as exc:
        raise BackupError(f"backing up {db_path} failed: {exc}") from None


def _connect_read_only(path: Path) -> sqlite3.Connection:
    # A URI so the backup can never write to the file it reads; as_uri escapes ? and #.
    uri = f"{path.resolve().as_uri()}?mode=ro"
    return sqlite3.connect(uri, uri=True, timeout=_BUSY_TIMEOUT)


def _require_app_database(conn: sqlite3.Connection, path: Path) -> None:
    try:
        check = conn.execute("PRAGMA integrity_check").fetchall()
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    except sqlite3.DatabaseError as exc:
        # A truncated or overwritten copy is a database gone bad, not some other file.
        damaged = exc.sqlite_errorname == "SQLITE_CORRUPT"
        what = "is damaged" if damaged else "cannot be read as a SQLite database"
        raise BackupError(f"{path} {what} ({exc}); {_VALID}") from None
    if check != [("ok",)]:
        raise BackupError(f"{path} is damaged (integrity_check: {check[0][0]}); {_VALID}")
    missing = [table for table in REQUIRED_TABLES if table not in tables]
    if missing:
        raise BackupError(
            f"{path} is not a beian-bot database (no table {', '.join(missing)}); {_VALID}"
        )
    ours = conn.execute(
        "SELECT count(*) FROM _sqlite_migrations WHERE migration_set = ?", (migrations.name,)
    ).fetchone()[0]
    if not ours:
        raise BackupError(f"{path} holds another application's migrations; {_VALID}")


def _require_key_opens(
    conn: sqlite3.Connection, source: Path, db_path: Path, data_key: str | None
) -> None:
    # Restored values the live key cannot open would stop the bot at its next start (and the
    # running one at its next read): refuse before the live database is touched.
    try:
        row = conn.execute("SELECT value FROM meta WHERE name = 'key_check'").fetchone()
    except sqlite3.OperationalError:  # no meta table: a backup from before encryption
        return
    if row is None:  # plaintext values: the bot seals them at its next start
        return
    key_file = key_file_of(db_path)
    if not (data_key and data_key.strip()) and not key_file.exists():
        # load_cipher would make a new key here, one that cannot open this backup.
        raise BackupError(
            f"{source} is sealed with a data key, and there is none for {db_path}: copy the "
            f"key file of the database it came from to {key_file}, or set BEIAN_DATA_KEY"
        )
    try:
        load_cipher(db_path, data_key).check(row[0])
    except WrongKeyError:
        raise BackupError(
            f"{source} was sealed with another data key than {db_path}'s "
            f"({'BEIAN_DATA_KEY' if data_key else key_file}): restore with that key; "
            "the live database is unchanged"
        ) from None


def _summary(conn: sqlite3.Connection, path: Path) -> Summary:
    filings = conn.execute("SELECT count(*) FROM filings").fetchone()[0]
    reminders = conn.execute("SELECT count(*) FROM reminders").fetchone()[0]
    return Summary(path=path, filings=filings, reminders=reminders)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet): compare the names
        return a.resolve() == b.resolve()


def _sync_directory(directory: Path) -> None:
    # The rename is durable only once the directory entry is on disk.
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
