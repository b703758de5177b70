"""The reminder SQL: atomic claims across connections, leases, outcomes, pausing."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from bot.storage.base import NewReminder, ReminderStore
from bot.storage.sqlite import SqliteStorage


def new(
    due_at: int, *, chat_id: str = "c1", user_id: str = "u1", series: str = "s"
) -> NewReminder:
    return NewReminder(
        channel="test",
        chat_id=chat_id,
        chat_kind="private",
        user_id=user_id,
        user_name="",
        series=series,
        kind="sms_window",
        step="h12",
        payload="{}",
        due_at=due_at,
    )


def fill(store: ReminderStore, count: int, due_at: int = 100) -> list[int]:
    rows = [new(due_at + i % 7, chat_id=f"c{i}") for i in range(count)]
    return store.schedule(rows, channel="test", user_id="u1", now=0)


def test_the_migration_indexes_the_claim(storage: SqliteStorage) -> None:
    plan = storage.db.execute(
        "EXPLAIN QUERY PLAN SELECT id FROM reminders WHERE status = 'pending' AND due_at <= 5"
        " ORDER BY due_at LIMIT 10"
    ).fetchall()
    assert "reminders_due" in str(plan)


def test_claim_takes_due_rows_oldest_first_and_only_once(storage: SqliteStorage) -> None:
    store = storage.reminders
    ids = store.schedule(
        [new(300), new(100), new(200), new(900)], channel="test", user_id="u1", now=0
    )
    claimed = store.claim_due("w1", 500, 600, 10, channels=["test"])
    assert [r.due_at for r in claimed] == [100, 200, 300]
    assert store.claim_due("w2", 500, 600, 10, channels=["test"]) == []
    assert ids[3] not in {r.id for r in claimed}
    assert store.claim_due("w2", 500, 600, 10, channels=["other"]) == []


def test_two_connections_claiming_at_once_never_share_a_row(db_path: Path) -> None:
    store = SqliteStorage(db_path).reminders
    ids = fill(store, 2000)
    results: dict[str, list[int]] = {"a": [], "b": []}
    connections = {name: SqliteStorage(db_path) for name in results}
    ready = threading.Barrier(len(results))

    def worker(name: str) -> None:
        own = connections[name].reminders
        ready.wait()  # both start claiming at the same moment
        while batch := own.claim_due(name, 1000, 2000, 5, channels=["test"]):
            results[name].extend(r.id for r in batch)

    threads = [threading.Thread(target=worker, args=(n,)) for n in results]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for connection in connections.values():
        connection.close()
    together = results["a"] + results["b"]
    assert len(together) == len(set(together))  # no row claimed twice
    assert sorted(together) == sorted(ids)  # and every row claimed


def test_a_dead_workers_lease_runs_out_and_a_live_one_renews(storage: SqliteStorage) -> None:
    store = storage.reminders
    fill(store, 3)
    store.claim_due("dead", 200, 260, 10, channels=["test"])
    assert store.release_expired(259) == 0
    assert store.renew_claims("dead", 400) == 3  # a live worker would keep it
    assert store.release_expired(300) == 0
    assert store.release_expired(400) == 3
    assert len(store.claim_due("w2", 400, 500, 10, channels=["test"])) == 3


def test_sending_is_conditional_on_still_holding_the_claim(storage: SqliteStorage) -> None:
    store = storage.reminders
    (row_id,) = store.schedule([new(100)], channel="test", user_id="u1", now=0)
    store.claim_due("w1", 100, 200, 10, channels=["test"])
    store.close_series("test", "u1", "s", "cancelled")  # the user cancelled meanwhile
    assert not store.mark_sending(row_id, "w1", 300)
    assert not store.mark_sent(row_id, "w1", 150, late=False)
    stored = store.get(row_id)
    assert stored is not None and stored.status == "cancelled"


def test_sent_failed_retry_and_follow_up(storage: SqliteStorage) -> None:
    store = storage.reminders
    a, b, c = store.schedule([new(100), new(100), new(100)], channel="test", user_id="u1", now=0)
    store.claim_due("w1", 100, 200, 10, channels=["test"])
    for row_id in (a, b, c):
        assert store.mark_sending(row_id, "w1", 300)
    assert store.mark_sent(a, "w1", 150, late=True, follow_up=new(5000, series="s2"))
    store.mark_retry(b, "w1", 700, "timeout")
    store.mark_failed(c, "w1", "blocked")
    got_a, got_b, got_c = (store.get(row_id) for row_id in (a, b, c))
    assert got_a is not None and got_a.status == "sent" and got_a.late
    assert got_b is not None and (got_b.status, got_b.due_at, got_b.attempts) == (
        "pending",
        700,
        1,
    )
    assert got_c is not None and got_c.status == "failed"
    assert [r.due_at for r in store.open_for_user("test", "u1")] == [700, 5000]


def test_pausing_and_resuming_a_chat(storage: SqliteStorage) -> None:
    store = storage.reminders
    store.schedule(
        [new(100), new(200), new(300, chat_id="c2")], channel="test", user_id="u1", now=0
    )
    assert store.pause_chat("test", "c1") == 2
    assert [r.chat_id for r in store.claim_due("w", 1000, 1100, 10, channels=["test"])] == ["c2"]
    assert store.resume_chat("test", "c1") == 2
    assert store.resume_chat("test", "c1") == 0
    assert len(store.claim_due("w", 1000, 1100, 10, channels=["test"])) == 2


def test_snoozing_a_sent_reminder_re_arms_a_copy(storage: SqliteStorage) -> None:
    store = storage.reminders
    (row_id,) = store.schedule([new(100)], channel="test", user_id="u1", now=0)
    store.claim_due("w1", 100, 200, 10, channels=["test"])
    store.mark_sent(row_id, "w1", 100, late=False)
    copy = store.snooze(row_id, 4000, 150)
    assert copy is not None and copy != row_id
    assert [r.due_at for r in store.open_for_user("test", "u1")] == [4000]
    assert store.snooze(99999, 4000, 150) is None


def test_a_failed_write_rolls_back_everything(storage: SqliteStorage) -> None:
    store = storage.reminders
    bad = NewReminder(**{**new(100).__dict__, "channel": None})
    with pytest.raises(sqlite3.IntegrityError):
        store.schedule([new(100), bad], channel="test", user_id="u1", now=0)
    assert store.open_for_user("test", "u1") == []
    assert not storage.db.conn.in_transaction


def test_purge_drops_old_finished_rows_and_keeps_open_ones(storage: SqliteStorage) -> None:
    store = storage.reminders
    ids = store.schedule(
        [new(100, series="a"), new(200, series="b"), new(5000, series="c")],
        channel="test",
        user_id="u1",
        now=0,
    )
    store.close_series("test", "u1", "a", "done")
    assert store.purge_finished(before=1000) == 1  # only the finished row due before 1000
    left = {row[0]: row[1] for row in storage.db.execute("SELECT id, status FROM reminders")}
    assert left == {ids[1]: "pending", ids[2]: "pending"}
