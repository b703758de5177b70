"""`beian-bot db copy`: move an installation's data from one database to another.

The usual move is a SQLite file to PostgreSQL, when one machine is outgrown; the way back
(PostgreSQL to a SQLite file) and file to file work the same. What an operator can rely on:

* The target is migrated to the current schema and must hold no data: a database the bot
  has only been opened on (its key check, nothing else) counts as empty; anything more is
  refused, so that a copy never mixes two installations or overwrites a live one.
* The tables are read from the schema, not from a list: every table but the migration
  records is copied, and a table or column one side has and the other lacks stops the copy
  with its name before anything is written (unless it is named in `BACKEND_ONLY` as a
  backend's own state that the other does not need; the report says it was left behind).
* Everything lands in one transaction on the target, read from one snapshot of the source;
  a failure leaves the target as it was.
* Sealed values are copied as they are, never opened and sealed again. The data key must
  open the source (its key check), and the target is opened with that key afterwards to
  prove it; the key itself is never printed, only where it came from (see `key_advice`).

Only bot.storage.base opens a backend (by name, through `open_storage`): this module never
imports a driver, so the CLI may import it. The little SQL that differs between the two
(listing tables and columns, the snapshot, identity sequences) is in `_DIALECTS`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import SecretStr

from bot.errors import BeianError
from bot.storage.base import StorageUnavailable, open_storage
from bot.storage.crypto import WrongKeyError, configured_keys, key_file_keys, key_file_of
from bot.storage.sql.storage import SqlStorage

if TYPE_CHECKING:
    from bot.config import Settings

Backend = Literal["sqlite", "postgres"]

# Rows read per page: a million reminders never sit in memory at once.
PAGE_ROWS = 1000
# Bound parameters per INSERT: below SQLite's oldest default limit (999), far below
# PostgreSQL's (65,535); several rows per statement save most of the round trips.
MAX_PARAMS = 900
# The one table a freshly opened database already has a row in: its data key check.
META_TABLE, KEY_CHECK = "meta", "key_check"
# Tables only one backend has, and why copying them would not carry any user's data or any
# state the other backend needs. A table one side lacks that is not named here stops the
# copy: whoever adds a backend's own table decides here whether it may be left behind.
BACKEND_ONLY = {
    # GCRA send slots of the PostgreSQL workers (per chat, group, bot): timestamps seconds
    # ahead of now; a single SQLite process paces its sends in memory.
    "send_budget": "the PostgreSQL workers' send pacing, seconds ahead; nothing to keep",
}

URL_EXAMPLES = (
    "sqlite:////srv/beian/beian-bot.db (four slashes for an absolute path) or "
    "postgresql://user:password@host:5432/dbname"
)


class CopyError(BeianError):
    """The copy cannot start or did not finish; the target is as it was before."""


@dataclass(frozen=True)
class _Dialect:
    tables: str
    # Each column as (name, declared type); `{table}` is the quoted table name.
    columns: str
    primary_key: str
    # The migration records: each database keeps its own, written by its migrations.
    bookkeeping: frozenset[str]
    # The first statement of the source's read transaction: one snapshot for every table.
    snapshot: str | None
    identities: str | None


_DIALECTS: dict[Backend, _Dialect] = {
    "sqlite": _Dialect(
        tables="SELECT name FROM sqlite_master WHERE type = 'table'"
        " AND name NOT LIKE 'sqlite_%' ORDER BY name",
        columns="SELECT name, type FROM pragma_table_info({table}) ORDER BY cid",
        primary_key="SELECT name FROM pragma_table_info({table}) WHERE pk > 0 ORDER BY pk",
        bookkeeping=frozenset({"_sqlite_migrations"}),
        # A deferred transaction in WAL mode reads one snapshot from its first read on.
        snapshot=None,
        # An INTEGER PRIMARY KEY continues after the largest id by itself.
        identities=None,
    ),
    "postgres": _Dialect(
        tables="SELECT table_name FROM information_schema.tables"
        " WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
        " ORDER BY table_name",
        columns="SELECT column_name, data_type FROM information_schema.columns"
        " WHERE table_schema = current_schema() AND table_name = {name}"
        " ORDER BY ordinal_position",
        primary_key="SELECT k.column_name FROM information_schema.table_constraints c"
        " JOIN information_schema.key_column_usage k ON k.constraint_name = c.constraint_name"
        " AND k.table_schema = c.table_schema AND k.table_name = c.table_name"
        " WHERE c.constraint_type = 'PRIMARY KEY' AND c.table_schema = current_schema()"
        " AND c.table_name = {name} ORDER BY k.ordinal_position",
        bookkeeping=frozenset({"beian_migrations"}),
        # READ COMMITTED would let each table's SELECT see a later moment than the last.
        snapshot="SET TRANSACTION ISOLATION LEVEL REPEATABLE READ",
        # Identity columns keep their own counter: rows inserted with their ids leave it
        # at 1, and the first new filing would collide with a copied one.
        identities="SELECT column_name FROM information_schema.columns"
        " WHERE table_schema = current_schema() AND table_name = {name}"
        " AND (is_identity = 'YES' OR position('nextval(' in column_default) = 1)",
    ),
}


@dataclass(frozen=True)
class Place:
    """One side of the copy, read from its URL."""

    url: str
    backend: Backend
    shown: str  # for messages: the password left out
    path: Path | None = None  # the SQLite file


@dataclass(frozen=True)
class CopyReport:
    """What was copied, and where the data key came from (never the key itself)."""

    source: Place
    target: Place
    counts: dict[str, int]
    # Tables of the source's backend only, left behind (BACKEND_ONLY): name -> why.
    left: dict[str, str]
    key_from_env: bool
    source_key_file: Path | None
    target_key_file: Path | None


def parse_place(url: str, option: str) -> Place:
    """The database a `--from`/`--to` URL names; CopyError saying what a valid one is."""
    url = url.strip()
    scheme = url.split(":", 1)[0].lower() if ":" in url else ""
    if scheme == "sqlite":
        if not url.startswith("sqlite:///") or not url.removeprefix("sqlite:///").strip():
            raise CopyError(
                f"{option} {url!r} is not a SQLite URL: it is sqlite:/// followed by the "
                f"file's path, e.g. {URL_EXAMPLES.split(' or ')[0]}"
            )
        path = Path(url.removeprefix("sqlite:///"))
        return Place(url, "sqlite", str(path), path)
    if scheme in ("postgresql", "postgres"):
        parts = urlsplit(url)
        if "," not in parts.netloc:  # several hosts: libpq's own syntax, checked on connect
            try:
                parts.port  # noqa: B018 - the property is the check (a number, 1-65535)
            except ValueError:
                raise CopyError(
                    f"{option} {_hidden(url)!r}: the port is not a number from 1 to 65535, "
                    f"e.g. {URL_EXAMPLES.split(' or ')[1]}"
                ) from None
        return Place(url, "postgres", _hidden(url))
    if not scheme or "/" in scheme or "\\" in scheme:
        hint = f" (for this file: sqlite:///{url})" if url else ""
        raise CopyError(f"{option} needs a database URL, not a path{hint}: {URL_EXAMPLES}")
    raise CopyError(f"{option}: beian-bot cannot read a {scheme}: database; use {URL_EXAMPLES}")


def _hidden(url: str) -> str:
    """A PostgreSQL URL without its password (in the authority or in the query)."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, hosts = netloc.rsplit("@", 1)
        netloc = f"{userinfo.split(':', 1)[0]}@{hosts}"
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query) if k != "password"])
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def _password(url: str) -> str | None:
    try:
        parts = urlsplit(url)
        return parts.password or dict(parse_qsl(parts.query)).get("password")
    except ValueError:
        return None


def copy_database(source_url: str, target_url: str, settings: Settings) -> CopyReport:
    """Copy every table of the source into the (empty) target, in one transaction.

    `settings` gives the data key (BEIAN_DATA_KEY); without one, a SQLite source's key file
    is used. The source is opened as the bot opens it: pending migrations are applied to it,
    as its next start would."""
    source = parse_place(source_url, "--from")
    target = parse_place(target_url, "--to")
    if _same(source, target):
        raise CopyError(
            f"--from and --to name the same database ({source.shown}): copy into another one"
        )
    configured = settings.data_key.get_secret_value().strip() if settings.data_key else ""
    if source.path is not None and not source.path.is_file():
        absolute = Path("/", source.path)
        hint = (
            f" (a relative path; for {absolute} write four slashes: sqlite:///{absolute})"
            if not source.path.is_absolute() and absolute.is_file()
            else ""
        )
        raise CopyError(
            f"--from: there is no database file at {source.path}"
            + (" (it is a directory)" if source.path.is_dir() else hint)
            + "; give the path of the bot's SQLite file (BEIAN_DB_PATH), e.g. "
            + URL_EXAMPLES.split(" or ")[0]
        )
    keys, source_key_file = _source_keys(source, configured)
    target_key_file = _prepare_target_key_file(target, keys)
    with ExitStack() as stack:
        source_db = stack.enter_context(_opened(source, keys, settings, "--from"))
        target_db = stack.enter_context(_opened(target, keys, settings, "--to"))
        try:
            counts, left = _copy_all(source_db, source.backend, target_db, target.backend, target)
        except StorageUnavailable as exc:
            raise CopyError(
                f"the copy stopped, so nothing was copied: a database took no more reads or "
                f"writes ({_clean(exc, target)}); free the disk or reach the server, then "
                "copy again"
            ) from None
    # Opened afresh, the target checks the copied key check: the key the workers will be
    # given opens what was copied (the rows themselves were never opened).
    with _opened(target, keys, settings, "--to"):
        pass
    if target_key_file is not None and not target_key_file.exists():
        _write_key_file(target_key_file, keys)
    return CopyReport(
        source, target, counts, left, bool(configured), source_key_file, target_key_file
    )


def _same(a: Place, b: Place) -> bool:
    if a.path is not None and b.path is not None:
        return a.path.resolve() == b.path.resolve()
    return a.backend == b.backend and a.shown == b.shown


def _source_keys(source: Place, configured: str) -> tuple[list[str], Path | None]:
    """The key list that opens the source, and the key file it came from (if one)."""
    if configured:
        return configured_keys(configured), None
    if source.path is None:
        raise CopyError(
            "BEIAN_DATA_KEY is not set: a PostgreSQL database has no key file, so give this "
            "copy the key its workers use (BEIAN_DATA_KEY=... in the environment or .env)"
        )
    key_file = key_file_of(source.path)
    if not key_file.is_file():
        raise CopyError(
            f"no data key for {source.path}: BEIAN_DATA_KEY is not set and there is no key "
            f"file at {key_file}. Put the key file back from the backup made with the "
            "database, or set BEIAN_DATA_KEY to the key the bot ran with"
        )
    keys = _read_keys(key_file)
    if not keys:
        raise CopyError(f"the data key file {key_file} is empty: restore it from your backup")
    return keys, key_file


def _read_keys(key_file: Path) -> list[str]:
    try:
        text = key_file.read_text()
    except OSError as exc:  # not readable by this user, most often: say which file
        raise CopyError(f"cannot read the data key file {key_file}: {exc.strerror}") from None
    return key_file_keys(text)


def _prepare_target_key_file(target: Place, keys: list[str]) -> Path | None:
    """A SQLite target gets the key file beside it (written after the copy), so that it
    starts like any installation; one already there must hold the same keys."""
    if target.path is None:
        return None
    key_file = key_file_of(target.path)
    if key_file.exists() and _read_keys(key_file) != keys:
        raise CopyError(
            f"--to: {key_file} already holds another data key; move it (and its "
            "database) away, or copy to another path"
        )
    return key_file


def _write_key_file(key_file: Path, keys: list[str]) -> None:
    key_file.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write("".join(f"{key}\n" for key in keys))


@contextmanager
def _opened(
    place: Place, keys: list[str], settings: Settings, option: str
) -> Iterator[SqlStorage]:
    """The place opened through its backend, with the errors an operator can act on."""
    update: dict[str, Any] = {
        "database_url": place.url,
        "storage": place.backend,
        "data_key": SecretStr(",".join(keys)),
    }
    if place.path is not None:
        update["db_path"] = place.path
    try:
        storage = open_storage(settings.model_copy(update=update))
    except WrongKeyError:
        if option == "--from":
            raise CopyError(
                f"--from: the data key does not open {place.shown}: it was written with "
                "another key. Set BEIAN_DATA_KEY to the key the bot ran with (or, for a "
                "SQLite file, put its own key file back beside it); nothing was copied"
            ) from None
        raise CopyError(
            f"--to: {place.shown} was already opened with another data key, so it is not a "
            "new database: copy into an empty one (dropdb and createdb for PostgreSQL); "
            "nothing was copied"
        ) from None
    except StorageUnavailable as exc:
        if place.backend == "postgres":
            raise CopyError(
                f"{option}: cannot reach {place.shown}: {_clean(exc, place)}. Check the host, "
                "port, user, password and database name (the database must exist: createdb)"
            ) from None
        raise CopyError(f"{option}: cannot write {place.shown}: {_clean(exc, place)}") from None
    except BeianError:
        raise
    except Exception as exc:  # a driver's refusal: a URL it cannot parse, not a database
        raise CopyError(
            f"{option}: cannot open {place.shown} as a beian-bot database: "
            f"{type(exc).__name__}: {_clean(exc, place)}"
        ) from None
    try:
        if not isinstance(storage, SqlStorage):  # every backend is one today
            raise CopyError(f"{option}: {place.backend} has no SQL tables to copy")
        yield storage
    finally:
        storage.close()


def _clean(exc: BaseException, place: Place) -> str:
    """The driver's message on one line, the URL's password (if it repeats it) hidden."""
    text = " ".join(str(exc).split())
    password = _password(place.url)
    return text.replace(password, "***") if password else text


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(name: str) -> str:
    return "'" + name.replace("'", "''") + "'"


def _query(template: str, table: str) -> str:
    return template.format(table=_literal(table), name=_literal(table))


def _schema(db: SqlStorage, dialect: _Dialect) -> dict[str, dict[str, str]]:
    """Every copied table -> its columns (name -> declared type, lower case), in order."""
    names = [str(r[0]) for r in db.sql.execute(dialect.tables).fetchall()]
    return {
        name: {
            str(r[0]): str(r[1]).lower()
            for r in db.sql.execute(_query(dialect.columns, name)).fetchall()
        }
        for name in names
        if name not in dialect.bookkeeping
    }


def _compare(source: dict[str, dict[str, str]], target: dict[str, dict[str, str]]) -> None:
    """Stop on any table or column one side lacks (a backend's own tables aside): copying
    around it could lose data, or start the target without state it needs."""
    problems = []
    for table in sorted(source.keys() - target.keys() - BACKEND_ONLY.keys()):
        problems.append(f"table {table} is in the source only")
    for table in sorted(target.keys() - source.keys() - BACKEND_ONLY.keys()):
        problems.append(f"table {table} is in the target only")
    for table in sorted(source.keys() & target.keys()):
        for column in source[table].keys() - target[table].keys():
            problems.append(f"column {table}.{column} is in the source only")
        for column in target[table].keys() - source[table].keys():
            problems.append(f"column {table}.{column} is in the target only")
    if problems:
        raise CopyError(
            "the two schemas differ after both were migrated ("
            + "; ".join(problems)
            + "): upgrade beian-bot so that one version knows both, then copy again"
        )


def _holding(db: SqlStorage, tables: Sequence[str]) -> dict[str, int]:
    """The target's tables that hold rows, beyond the key check its opening wrote."""
    held = {}
    for table in tables:
        sql = f"SELECT count(*) FROM {_quote(table)}"
        if table == META_TABLE:
            sql += f" WHERE name <> {_literal(KEY_CHECK)}"
        count = int(db.sql.execute(sql).fetchone()[0])
        if count:
            held[table] = count
    return held


def _pages(
    db: SqlStorage, table: str, columns: list[str], key: list[str]
) -> Iterator[list[tuple[Any, ...]]]:
    """The table's rows, a page at a time, in primary key order (keyset paging: each page
    starts after the last key read, so late pages cost no more than early ones)."""
    select = f"SELECT {', '.join(map(_quote, columns))} FROM {_quote(table)}"
    if not key:  # no key to page by: a table without one is small, read it whole
        yield [tuple(r) for r in db.sql.execute(select).fetchall()]
        return
    order = ", ".join(map(_quote, key))
    where = f"({order}) > ({', '.join('?' for _ in key)})"
    positions = [columns.index(k) for k in key]
    last: tuple[Any, ...] | None = None
    while True:
        if last is None:
            sql, params = f"{select} ORDER BY {order} LIMIT {PAGE_ROWS}", ()
        else:
            sql, params = f"{select} WHERE {where} ORDER BY {order} LIMIT {PAGE_ROWS}", last
        rows = [tuple(r) for r in db.sql.execute(sql, params).fetchall()]
        if not rows:
            return
        yield rows
        if len(rows) < PAGE_ROWS:
            return
        last = tuple(rows[-1][i] for i in positions)


def _converter(target_type: str) -> Callable[[Any], Any] | None:
    # SQLite keeps flags as 0/1 integers; PostgreSQL's BOOLEAN takes no integer.
    return bool if target_type == "boolean" else None


def _copy_all(
    source: SqlStorage, source_backend: Backend, target: SqlStorage, target_backend: Backend,
    place: Place,
) -> tuple[dict[str, int], dict[str, str]]:  # fmt: skip
    """Every table from one source snapshot into one target transaction: the row counts,
    and the source's own tables left behind (BACKEND_ONLY) with why."""
    source_dialect, target_dialect = _DIALECTS[source_backend], _DIALECTS[target_backend]
    counts: dict[str, int] = {}
    with source.reading():
        if source_dialect.snapshot:
            source.sql.execute(source_dialect.snapshot)
        every = _schema(source, source_dialect)
        with target.transaction():
            target_tables = _schema(target, target_dialect)
            _compare(every, target_tables)
            tables = {t: c for t, c in every.items() if t in target_tables}
            left = {t: BACKEND_ONLY[t] for t in every if t not in target_tables}
            held = _holding(target, sorted(target_tables))
            if held:
                listed = ", ".join(f"{t} ({n} row{'s' * (n != 1)})" for t, n in held.items())
                raise CopyError(
                    f"--to: {place.shown} already holds data: {listed}. A copy goes into an "
                    "empty database only, so that two installations are never mixed: create "
                    "a new one (createdb), or drop this one if it is a failed earlier try"
                )
            for table, columns in tables.items():
                try:
                    counts[table] = _copy_table(
                        source, source_dialect, target, target_dialect, table,
                        list(columns), target_tables[table],
                    )  # fmt: skip
                except (BeianError, StorageUnavailable):
                    raise
                except Exception as exc:
                    raise CopyError(
                        f"copying table {table} failed, so nothing was copied: "
                        f"{type(exc).__name__}: {' '.join(str(exc).split())}"
                    ) from None
    return counts, left


def _copy_table(
    source: SqlStorage, source_dialect: _Dialect, target: SqlStorage, target_dialect: _Dialect,
    table: str, columns: list[str], target_types: dict[str, str],
) -> int:  # fmt: skip
    """Replace the target table's rows (at most its own key check) with the source's."""
    target.sql.execute(f"DELETE FROM {_quote(table)}")
    key = [str(r[0]) for r in source.sql.execute(_query(source_dialect.primary_key, table))
           .fetchall()]  # fmt: skip
    converters = [_converter(target_types[c]) for c in columns]
    per_insert = max(1, MAX_PARAMS // len(columns))
    insert = f"INSERT INTO {_quote(table)} ({', '.join(map(_quote, columns))}) VALUES "
    one_row = "(" + ", ".join("?" for _ in columns) + ")"
    copied = 0
    for page in _pages(source, table, columns, key):
        for start in range(0, len(page), per_insert):
            chunk = page[start : start + per_insert]
            params = [
                value if convert is None or value is None else convert(value)
                for row in chunk
                for value, convert in zip(row, converters, strict=True)
            ]
            target.sql.execute(insert + ", ".join([one_row] * len(chunk)), params)
        copied += len(page)
    if target_dialect.identities:
        for row in target.sql.execute(_query(target_dialect.identities, table)).fetchall():
            column = str(row[0])
            target.sql.execute(
                f"SELECT setval(pg_get_serial_sequence(?, ?), "
                f"(SELECT max({_quote(column)}) FROM {_quote(table)}))",
                (_quote(table), column),
            )
    landed = int(target.sql.execute(f"SELECT count(*) FROM {_quote(table)}").fetchone()[0])
    if landed != copied:
        raise CopyError(f"table {table}: {copied} rows read but {landed} in the target")
    return copied


def key_advice(report: CopyReport) -> str:
    """How to give the target's workers the data key, without the key itself.

    The key is never printed: terminal scrollback, CI logs and `docker compose logs` keep
    what a command prints, and the key is what makes the sealed values readable."""
    if report.target.backend == "postgres":
        if report.key_from_env:
            return (
                "Start every worker on the new database with the same BEIAN_DATA_KEY this "
                "copy had (the whole value, all keys if it lists several)."
            )
        return (
            "The workers need the key that sealed this data, the same in every worker: "
            f"BEIAN_DATA_KEY is the content of {report.source_key_file}, lines joined "
            "with commas. To add it to docker/.env without showing it on the screen: "
            f"printf 'BEIAN_DATA_KEY=%s\\n' \"$(paste -sd, {report.source_key_file})\" "
            ">> docker/.env"
        )
    return (
        f"The data key is in {report.target_key_file} (mode 0600): back it up with the "
        "database; BEIAN_DATA_KEY, if set, must stay the same key."
    )
