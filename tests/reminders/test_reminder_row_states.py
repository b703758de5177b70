"""The reminder rows' states as users and operators meet them: which rows a claim takes, what
snoozing, skipping, retrying and a restart do, and what purging may never touch."""

from __future__ import annotations

import pytest

from bot.storage.base import NewReminder
from bot.storage.sqlite import SqliteStorage


def new(
    due_at: int,
    *,
    channel: str = "test",
    chat_id: str = "c1",
    series: str = "s",
    urgent: bool = False,
) -> NewReminder:
    return NewReminder(
        channel=channel,
        chat_id=chat_id,
        chat_kind="private",
        user_id="u1",
        user_name="alice",
        series=series,
        kind="sms_window",
        step="h12",
        payload='{"task": "x"}',
        due_at=due_at,
        urgent=urgent,
    )


def schedule(storage: SqliteStorage, *rows: NewReminder) -> list[int]:
    return storage.reminders.schedule(list(rows), channel="test", user_id="u1", now=0)


def test_a_claim_takes_at_most_its_limit_and_a_zero_limit_takes_nothing(
    storage: SqliteStorage,
) -> None:
    store = storage.reminders
    first, _ = schedule(storage, new(100), new(110))
    assert store.claim_due("w", 1000, 1100, 0, channels=["test"]) == []
    assert [r.id for r in store.claim_due("w", 1000, 1100, 1, channels=["test"])] == [first]
    assert store.claim_due("w", 1000, 1100, 5, channels=[]) == []


def test_a_claim_over_several_channels_takes_the_due_rows_of_each(
    storage: SqliteStorage,
) -> None:
    store = storage.reminders
    schedule(storage, new(100), new(110, channel="wecom"), new(120, channel="other"))
    taken = store.claim_due("w", 1000, 1100, 10, channels=["test", "wecom"])
    assert [r.channel for r in taken] == ["test", "wecom"]


def test_in_quiet_hours_only_urgent_reminders_are_taken(storage: SqliteStorage) -> None:
    store = storage.reminders
    _, urgent = schedule(storage, new(100), new(110, urgent=True))
    taken = store.claim_due("w", 1000, 1100, 10, channels=["test"], urgent_only=True)
    assert [r.id for r in taken] == [urgent] and taken[0].urgent
    assert len(store.claim_due("w", 1000, 1100, 10, channels=["test"])) == 1


def test_a_chat_claims_only_its_own_due_reminders(storage: SqliteStorage) -> None:
    store = storage.reminders
    mine, _, _ = schedule(storage, new(100), new(100, chat_id="c2"), new(5000))
    assert store.claim_due_for_chat("test", "c1", "w", 1000, 1100, 0) == []
    taken = store.claim_due_for_chat("test", "c1", "w", 1000, 1100, 1)
    assert [r.id for r in taken] == [mine] and taken[0].status == "claimed"
    assert taken[0].user_name == "alice" and taken[0].payload == '{"task": "x"}'
    assert store.claim_due_for_chat("test", "c1", "w", 1000, 1100, 5) == []


def test_skipped_rows_are_never_sent_and_only_the_claimer_can_skip(
    storage: SqliteStorage,
) -> None:
    store = storage.reminders
    ids = schedule(storage, new(100), new(100, series="t"))
    store.claim_due("w1", 1000, 1100, 10, channels=["test"])
    store.mark_skipped([ids[0]], "other")
    store.mark_skipped([], "w1")
    assert store.count("skipped") == 0
    store.mark_skipped([ids[0]], "w1")
    assert store.count("skipped") == 1
    assert not store.mark_sending(ids[0], "w1", 1200)
    assert store.mark_sending(ids[1], "w1", 1200)


def test_a_restarted_worker_gives_back_what_its_earlier_run_held(
    storage: SqliteStorage,
) -> None:
    store = storage.reminders
    schedule(storage, new(100), new(110), new(120))
    store.claim_due("w1", 1000, 9999, 2, channels=["test"])
    store.claim_due("w2", 1000, 9999, 1, channels=["test"])
    assert store.release_worker("w1") == 2
    assert store.count("pending") == 2 and store.count("claimed") == 1
    assert len(store.claim_due("w1", 1000, 9999, 10, channels=["test"])) == 2


def test_a_failure_keeps_the_first_500_characters_of_the_error(storage: SqliteStorage) -> None:
    store = storage.reminders
    retried, failed = schedule(storage, new(100), new(110))
    store.claim_due("w", 1000, 1100, 10, channels=["test"])
    store.mark_retry(retried, "w", 2000, "x" * 600)
    store.mark_failed(failed, "w", "y" * 600)
    assert (row := store.get(retried)) is not None and row.last_error == "x" * 500
    assert (row := store.get(failed)) is not None and row.last_error == "y" * 500


def test_an_unknown_reminder_id_finds_nothing(storage: SqliteStorage) -> None:
    assert storage.reminders.get(12345) is None


def test_a_users_reminders_can_be_listed_for_one_chat(storage: SqliteStorage) -> None:
    store = storage.reminders
    schedule(storage, new(300), new(200, chat_id="group"), new(100))
    assert [r.due_at for r in store.open_for_user("test", "u1")] == [100, 200, 300]
    assert [r.due_at for r in store.open_for_user("test", "u1", chat_id="c1")] == [100, 300]


@pytest.mark.parametrize("paused", [False, True])
def test_snoozing_a_waiting_reminder_moves_it_instead_of_copying_it(
    storage: SqliteStorage, paused: bool
) -> None:
    store = storage.reminders
    (row_id,) = schedule(storage, new(100))
    if paused:
        store.pause_chat("test", "c1")
    assert store.snooze(row_id, 4000, 50) == row_id
    (row,) = store.open_for_user("test", "u1")
    assert (row.id, row.due_at, row.status) == (row_id, 4000, "pending")


def test_purging_never_drops_a_reminder_that_is_being_sent(storage: SqliteStorage) -> None:
    store = storage.reminders
    sending, sent = schedule(storage, new(100), new(110))
    store.claim_due("w", 1000, 1100, 10, channels=["test"])
    store.mark_sending(sending, "w", 1200)
    store.mark_sending(sent, "w", 1200)
    store.mark_sent(sent, "w", 1000, late=False)
    assert store.purge_finished(before=10_000) == 1
    assert (row := store.get(sending)) is not None and row.status == "sending"


def test_a_new_clock_cancels_the_old_one_and_a_closed_clock_is_done(
    storage: SqliteStorage,
) -> None:
    store = storage.reminders
    schedule(storage, new(100, series="a"), new(110, series="b"))
    store.schedule(
        [new(200, series="a")], channel="test", user_id="u1", replace=["a"], close=["b"], now=1
    )
    assert store.count("cancelled") == 1 and store.count("done") == 1
    assert [r.due_at for r in store.open_for_user("test", "u1")] == [200]
