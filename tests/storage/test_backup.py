"""`beian-bot backup` and `restore` as an operator runs them, on real SQLite files.

The bot (the `app` fixture) keeps its connection open and writes throughout: that is the
case the online backup API is for.
"""

from __future__ import annotations

import os
import random
import shutil
import sqlite3
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from cryptography.fernet import Fernet
from sqlite_utils import Database

from bot.app import App, build_app
from bot.cli import main
from bot.config import Settings
from bot.messages import ChatKind, ChatRef, Incoming
from bot.storage.crypto import key_file_of
from bot.storage.sqlite.migrations import migrations
from tests.conftest import CACHE_DIR

ROOT = Path(__file__).resolve().parents[2]
# A Wednesday morning in Beijing: /submitted schedules a reminder three working days on.
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai")).astimezone(UTC)
CHAT = ChatRef(channel="test", chat_id="u1", kind=ChatKind.PRIVATE)
SUBMITTED = "接入商初审进度"  # how /reminders names the /submitted clock
LIVE = "公安联网备案"  # and the /live one
VALID = "a valid backup is a file written by `beian-bot backup`"


@pytest.fixture
def cli(settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """`main` on the same database as the `app` fixture (and no .env in the directory)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BEIAN_DB_PATH", str(settings.db_path))
    monkeypatch.setenv("BEIAN_CACHE_DIR", str(CACHE_DIR))
    return settings


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of one `beian-bot` command."""
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def say(app: App, text: str) -> str:
    """One turn of user u1 through the real engine: the replies' text."""
    app.engine.clock = lambda: NOW
    replies = app.engine.handle(Incoming(chat=CHAT, user_id="u1", user_name="alice", text=text))
    return "\n".join(reply.text for reply in replies)


def start_dialogue(app: App) -> None:
    """A filing dialogue waiting for its second answer, and one reminder."""
    say(app, "/filing")
    assert "身份证件" in say(app, "个人")
    assert "记下了" in say(app, "/submitted")


def open_at(db_path: Path) -> App:
    """The bot started on `db_path`."""
    return build_app(Settings(_env_file=None, db_path=db_path, cache_dir=CACHE_DIR))


def files_of(db_path: Path) -> dict[str, bytes]:
    """The database's files and their bytes (the main file, -wal, -shm, the key file)."""
    return {p.name: p.read_bytes() for p in db_path.parent.glob(db_path.name + "*")}


def tree(directory: Path) -> set[Path]:
    return set(directory.rglob("*"))


@pytest.fixture
def backup(app: App, cli: Settings, tmp_path: Path) -> Path:
    """A backup of the running bot's database: a dialogue in progress, one reminder."""
    start_dialogue(app)
    target = tmp_path / "backups" / "beian.bak"
    target.parent.mkdir()
    assert main(["backup", str(target)]) == 0
    return target


@pytest.mark.parametrize("into", ["the running bot's database", "a fresh database"])
def test_a_backup_taken_while_the_bot_runs_restores_its_dialogue_and_reminder(
    app: App,
    cli: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    into: str,
) -> None:
    start_dialogue(app)
    target = tmp_path / "beian.bak"
    code, out, err = run(capsys, "backup", str(target))
    assert (code, err) == (0, "")
    assert out.strip() == f"wrote {target} from {cli.db_path}: 1 reminder(s), 1 filing(s)"
    # The bot goes on after the backup: two more answers and another clock.
    third_question = say(app, "中国大陆居民身份证")
    assert "省" in third_question
    say(app, "广东")
    assert "记下了" in say(app, "/live")
    db_path = cli.db_path
    if into == "a fresh database":
        db_path = tmp_path / "elsewhere" / "beian.db"
        db_path.parent.mkdir()
        # The backup holds sealed values and not the key: that is carried on its own.
        shutil.copy(key_file_of(cli.db_path), key_file_of(db_path))
        monkeypatch.setenv("BEIAN_DB_PATH", str(db_path))
    code, out, err = run(capsys, "restore", str(target))
    assert (code, err) == (0, "")
    assert out.strip() == f"restored {target} into {db_path}: 1 reminder(s), 1 filing(s)"
    bot = app if db_path == cli.db_path else open_at(db_path)
    try:
        # Back at the step of the backup: the same answer gets the same next question.
        assert say(bot, "中国大陆居民身份证") == third_question
        listed = say(bot, "/reminders")
        assert SUBMITTED in listed and LIVE not in listed
    finally:
        if bot is not app:
            bot.storage.close()


def write_batches(db: str, stop: Callable[[], bool]) -> int:
    """Commit batches of five rows until told to stop (another process of the bot writing)."""
    conn = sqlite3.connect(db, timeout=30, isolation_level=None)
    batches = 0
    while not stop():
        conn.execute("BEGIN IMMEDIATE")
        for i in range(5):
            conn.execute(
                "INSERT INTO seen_updates VALUES (?, ?, ?)", (f"batch{batches}", str(i), 0.0)
            )
        conn.execute("COMMIT")
        batches += 1
    conn.close()
    return batches


def batches_in(db: Path) -> dict[str, int]:
    conn = sqlite3.connect(db)
    rows = conn.execute(
        "SELECT channel, count(*) FROM seen_updates WHERE channel LIKE 'batch%' GROUP BY channel"
    ).fetchall()
    conn.close()
    return dict(rows)


@pytest.fixture(params=["thread", "process"])
def writer(
    request: pytest.FixtureRequest, app: App, settings: Settings, tmp_path: Path
) -> Iterator[Callable[[], int]]:
    """A second connection committing batches into the bot's database; call it to stop it."""
    db = str(settings.db_path)
    stop_file = tmp_path / "stop-writing"
    if request.param == "thread":
        result: list[int] = []
        thread = threading.Thread(
            target=lambda: result.append(write_batches(db, stop_file.exists)), daemon=True
        )
        thread.start()

        def stop() -> int:
            stop_file.touch()
            thread.join(timeout=60)
            return result[0]
    else:
        code = (
            "import sys; from pathlib import Path; from tests.storage.test_backup import "
            "write_batches; print(write_batches(sys.argv[1], Path(sys.argv[2]).exists))"
        )
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        process = subprocess.Popen(
            [sys.executable, "-c", code, db, str(stop_file)],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip

        def stop() -> int:
            stop_file.touch()
            out, _ = process.communicate(timeout=60)
            assert process.returncode == 0
            return int(out)

    yield stop
    stop_file.touch()


def test_a_backup_while_another_connection_writes_holds_whole_transactions_only(
    app: App,
    cli: Settings,
    writer: Callable[[], int],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    start_dialogue(app)
    # A few megabytes, so the copy takes a while with the writer going.
    with sqlite3.connect(cli.db_path) as conn:
        conn.executemany(
            "INSERT INTO seen_updates VALUES ('bulk', ?, 0.0)",
            ((f"{n:08d}" + "x" * 200,) for n in range(20_000)),
        )
    conn.close()
    deadline = time.monotonic() + 30
    while len(batches_in(cli.db_path)) < 20 and time.monotonic() < deadline:
        time.sleep(0.01)
    target = tmp_path / "beian.bak"
    code, out, err = run(capsys, "backup", str(target))
    say(app, "中国大陆居民身份证")  # the bot itself went on too
    written = writer()
    assert (code, err) == (0, "") and out.startswith(f"wrote {target}")
    copied = batches_in(target)
    # Every transaction is in the copy whole or not at all, and the ones in it came first.
    assert set(copied.values()) == {5}
    assert sorted(copied) == sorted(f"batch{n}" for n in range(len(copied)))
    assert 20 <= len(copied) < written == len(batches_in(cli.db_path))
    conn = sqlite3.connect(target)
    assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert conn.execute("SELECT count(*) FROM seen_updates WHERE channel = 'bulk'").fetchone() == (
        20_000,
    )
    conn.close()


@pytest.mark.parametrize("existing", [False, True], ids=["new file", "replacing a 0644 file"])
def test_the_backup_file_is_readable_by_its_owner_only_and_stands_alone(
    app: App, cli: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str], existing: bool
) -> None:
    start_dialogue(app)
    target = tmp_path / "backups" / "beian.bak"
    target.parent.mkdir()
    if existing:
        target.write_bytes(b"an older backup")
        target.chmod(0o644)
    old_umask = os.umask(0o022)
    try:
        assert run(capsys, "backup", str(target))[0] == 0
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    # One file: no temporary left, no -wal or -journal a copy to another machine would miss.
    assert [p.name for p in target.parent.iterdir()] == ["beian.bak"]
    assert target.read_bytes()[18:20] == b"\x01\x01"  # the rollback-journal format, not WAL


def another_apps_database(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
    conn.execute("INSERT INTO notes (body) VALUES ('hello')")
    conn.commit()
    conn.close()


def same_tables_without_migrations(path: Path) -> None:
    conn = sqlite3.connect(path)
    for table in ("sessions", "filings", "reminders"):
        conn.execute(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY)")
    conn.commit()
    conn.close()


def same_tables_other_migrations(path: Path) -> None:
    same_tables_without_migrations(path)
    db = Database(path)
    db.table("_sqlite_migrations").insert(
        {"migration_set": "other_app", "name": "m001", "applied_at": ""}
    )
    db.close()


def cut_in_half(path: Path, backup: Path) -> None:
    data = backup.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def null_where_the_schema_forbids_it(path: Path, backup: Path) -> None:
    """Readable, but `PRAGMA integrity_check` finds a row breaking a NOT NULL constraint."""
    shutil.copy(backup, path)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA writable_schema = ON")
    conn.execute(
        "UPDATE sqlite_master SET sql = replace(sql, 'claimed_by TEXT', "
        "'claimed_by TEXT NOT NULL') WHERE name = 'reminders'"
    )
    conn.commit()
    conn.close()


# Kind of file -> (how to make it from a good backup, what the refusal says).
BAD_FILES: dict[str, tuple[Callable[[Path, Path], object], str]] = {
    "random bytes": (
        lambda path, _: path.write_bytes(random.Random(7).randbytes(16_384)),
        "cannot be read as a SQLite database (file is not a database)",
    ),
    "an empty file": (lambda path, _: path.write_bytes(b""), "is empty"),
    "a text file": (
        lambda path, _: path.write_text("sessions filings reminders\n"),
        "cannot be read as a SQLite database",
    ),
    "another app's SQLite file": (
        lambda path, _: another_apps_database(path),
        "is not a beian-bot database (no table sessions, filings, reminders, _sqlite_migrations)",
    ),
    "the tables but no migrations": (
        lambda path, _: same_tables_without_migrations(path),
        "is not a beian-bot database (no table _sqlite_migrations)",
    ),
    "another app's migrations": (
        lambda path, _: same_tables_other_migrations(path),
        "holds another application's migrations",
    ),
    "a backup cut in half": (cut_in_half, "is damaged (database disk image is malformed)"),
    "a backup failing integrity_check": (
        null_where_the_schema_forbids_it,
        "is damaged (integrity_check: NULL value in reminders.claimed_by)",
    ),
}


@pytest.mark.parametrize("kind", BAD_FILES)
def test_restoring_a_file_that_is_not_a_backup_is_refused_and_changes_nothing(
    app: App, backup: Path, cli: Settings, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    capsys.readouterr()
    bad = backup.parent / "not-a-backup.db"
    make, refusal = BAD_FILES[kind]
    make(bad, backup)
    before = files_of(cli.db_path)
    code, out, err = run(capsys, "restore", str(bad))
    assert code == 2 and out == ""
    assert err.startswith(f"beian-bot: {bad} {refusal}") and VALID in err
    assert len(err.strip().splitlines()) == 1
    assert files_of(cli.db_path) == before
    assert SUBMITTED in say(app, "/reminders")  # and the bot goes on on it


@pytest.mark.parametrize("kind", ["missing", "a directory"])
def test_restoring_from_a_path_with_no_file_says_so(
    app: App, cli: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    source = tmp_path / "nowhere.bak"
    if kind == "a directory":
        source.mkdir()
    before = files_of(cli.db_path)
    code, out, err = run(capsys, "restore", str(source))
    assert code == 2 and out == ""
    expected = f"no backup file at {source}" if kind == "missing" else f"{source} is not a file"
    assert err.startswith(f"beian-bot: {expected}") and VALID in err
    assert files_of(cli.db_path) == before


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("in a missing directory", "does not exist"),
        ("a directory", "is a directory"),
        ("the live database", "is the live database"),
        ("the live database's WAL", "is the live database"),
        ("the live database's key file", "is the live database"),
    ],
)
def test_a_backup_target_that_cannot_be_written_is_refused(
    app: App,
    cli: Settings,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    kind: str,
    message: str,
) -> None:
    start_dialogue(app)
    targets = {
        "in a missing directory": tmp_path / "no-such-dir" / "beian.bak",
        "a directory": tmp_path,
        "the live database": cli.db_path,
        "the live database's WAL": Path(f"{cli.db_path}-wal"),
        "the live database's key file": key_file_of(cli.db_path),
    }
    before, listing = files_of(cli.db_path), tree(tmp_path)
    code, out, err = run(capsys, "backup", str(targets[kind]))
    assert code == 2 and out == ""
    assert err.startswith("beian-bot: ") and message in err and "Traceback" not in err
    assert files_of(cli.db_path) == before and tree(tmp_path) == listing


def test_a_backup_with_no_database_yet_says_so(
    cli: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "backup", str(tmp_path / "beian.bak"))
    assert (code, out) == (2, "")
    assert (
        err.strip()
        == f"beian-bot: no database at {cli.db_path} (BEIAN_DB_PATH): nothing to back up"
    )
    assert not (tmp_path / "beian.bak").exists() and not cli.db_path.exists()


@pytest.mark.parametrize("key", ["no key file", "another key", "the key in BEIAN_DATA_KEY"])
def test_restoring_elsewhere_needs_the_data_key_the_backup_was_sealed_with(
    app: App,
    backup: Path,
    cli: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    key: str,
) -> None:
    capsys.readouterr()
    db_path = tmp_path / "elsewhere" / "beian.db"
    monkeypatch.setenv("BEIAN_DB_PATH", str(db_path))
    if key == "another key":
        monkeypatch.setenv("BEIAN_DATA_KEY", Fernet.generate_key().decode())
    elif key == "the key in BEIAN_DATA_KEY":
        monkeypatch.setenv("BEIAN_DATA_KEY", key_file_of(cli.db_path).read_text().strip())
    code, out, err = run(capsys, "restore", str(backup))
    if key == "the key in BEIAN_DATA_KEY":
        assert (code, err) == (0, "") and "1 reminder(s)" in out
        return
    assert code == 2 and out == ""
    if key == "no key file":
        assert f"copy the key file of the database it came from to {key_file_of(db_path)}" in err
    else:
        assert "was sealed with another data key" in err and "BEIAN_DATA_KEY" in err
    assert not db_path.parent.exists() or not any(db_path.parent.iterdir())


def test_restoring_an_older_backup_brings_it_up_to_date(
    cli: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = tmp_path / "from-last-year.bak"
    db = Database(old)
    # A version before the inbox and the data key: its values are plaintext.
    migrations.apply(db, stop_before="m004_inbox")
    db.table("reminders").insert(
        {
            "channel": "test", "chat_id": "u1", "chat_kind": "private", "user_id": "u1",
            "user_name": "alice", "series": "first_review", "kind": "first_review_wait",
            "step": "due", "due_at": int(NOW.timestamp()) + 86_400, "created_at": 0,
        }
    )  # fmt: skip
    db.close()
    code, out, err = run(capsys, "restore", str(old))
    assert (code, err) == (0, "")
    assert out.strip() == f"restored {old} into {cli.db_path}: 1 reminder(s), 0 filing(s)"
    current = Database(tmp_path / "current.db")
    migrations.apply(current)
    names = "SELECT migration_set, name FROM _sqlite_migrations ORDER BY name"
    restored = Database(cli.db_path)
    assert restored.execute(names).fetchall() == current.execute(names).fetchall()
    assert {"inbox", "meta"} <= set(restored.table_names())
    restored.close()
    current.close()
    bot = open_at(cli.db_path)
    try:
        [reminder] = bot.storage.reminders.open_for_user("test", "u1")
        assert reminder.user_name == "alice"
        assert SUBMITTED in say(bot, "/reminders")
    finally:
        bot.storage.close()


@pytest.mark.parametrize(
    ("lang", "expected"),
    [("en_US.UTF-8", "replace the database's content"), ("zh_CN.UTF-8", "用备份替换数据库的内容")],
)
def test_the_help_lists_backup_and_restore_in_the_users_language(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], lang: str, expected: str
) -> None:
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LC_MESSAGES", raising=False)
    monkeypatch.setenv("LANG", lang)
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "backup" in out and "restore" in out and expected in out
