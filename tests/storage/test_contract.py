"""The storage contract: what the core relies on, checked over every backend in conftest.py."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from bot.storage.base import REMEMBER_SECONDS, NewReminder, Storage, StoredReminder
from tests.storage.conftest import Opener


def reminder(user_id: str = "u1", due_at: int = 100, series: str = "sms") -> NewReminder:
    return NewReminder(
        channel="telegram",
        chat_id=f"chat-{user_id}",
        chat_kind="private",
        user_id=user_id,
        user_name="王小明",
        series=series,
        kind="sms_window",
        step="h12",
        payload="{}",
        due_at=due_at,
    )


def fill_user(storage: Storage, user_id: str) -> None:
    """One row of every kind the user owns."""
    storage.sessions.save("telegram", f"chat-{user_id}", user_id, '{"form": "filing"}')
    filing = storage.filings.create("telegram", user_id, "filing", "深圳市某某科技有限公司")
    storage.filings.save(
        "telegram", user_id, filing, data={"org_name": "深圳市某某科技有限公司"}, label="x",
        status="collecting",
    )  # fmt: skip
    storage.reminders.schedule([reminder(user_id)], channel="telegram", user_id=user_id, now=1)


def test_a_session_round_trips_and_is_overwritten(storage: Storage) -> None:
    assert storage.sessions.load("telegram", "c1", "u1") is None
    storage.sessions.save("telegram", "c1", "u1", '{"step": 1}')
    storage.sessions.save("telegram", "c1", "u1", '{"step": 2}')
    assert storage.sessions.load("telegram", "c1", "u1") == '{"step": 2}'
    assert storage.sessions.load("telegram", "c1", "u2") is None
    assert storage.sessions.load("wecom", "c1", "u1") is None


def test_filings_round_trip_and_stay_with_their_user(storage: Storage) -> None:
    first = storage.filings.create("telegram", "u1", "filing", "我的博客")
    storage.filings.save(
        "telegram", "u1", first, data={"domain": "example.cn", "名称": "读书笔记"},
        label="example.cn", status="confirmed",
    )  # fmt: skip
    second = storage.filings.create("telegram", "u1", "change", "变更")
    row = storage.filings.get("telegram", "u1", first)
    assert row is not None
    assert (row.label, row.status, row.data) == (
        "example.cn",
        "confirmed",
        {"domain": "example.cn", "名称": "读书笔记"},
    )
    assert [r.id for r in storage.filings.of_user("telegram", "u1")] == [first, second]
    assert [r.id for r in storage.filings.of_user("telegram", "u1", "change")] == [second]
    # Another user can neither read nor write it.
    assert storage.filings.get("telegram", "u2", first) is None
    storage.filings.save("telegram", "u2", first, data={}, label="hijack", status="x")
    assert storage.filings.get("telegram", "u1", first).label == "example.cn"  # type: ignore[union-attr]


def test_reminders_round_trip_and_close_by_series(storage: Storage) -> None:
    [rid] = storage.reminders.schedule(
        [reminder(due_at=500)], channel="telegram", user_id="u1", now=10
    )
    stored = storage.reminders.get(rid)
    assert isinstance(stored, StoredReminder)
    assert (stored.status, stored.due_at, stored.user_name, stored.created_at) == (
        "pending",
        500,
        "王小明",
        10,
    )
    assert [r.id for r in storage.reminders.open_for_user("telegram", "u1")] == [rid]
    assert storage.reminders.close_series("telegram", "u1", "sms", "done") == 1
    assert storage.reminders.open_for_user("telegram", "u1") == []
    assert storage.reminders.count("done") == 1


def test_an_update_is_claimed_once_a_day_per_channel(storage: Storage, now: list[float]) -> None:
    seen = storage.seen_updates
    assert seen.claim("telegram", 1) is True
    assert seen.claim("telegram", "1") is False
    assert seen.claim("wecom", 1) is True
    now[0] += REMEMBER_SECONDS + 1
    assert seen.claim("telegram", 1) is True
    assert seen.prune() == 1  # wecom's id is now over a day old


def test_a_redelivery_inside_the_day_is_still_refused(storage: Storage, now: list[float]) -> None:
    seen, inbox = storage.seen_updates, storage.inbox
    assert seen.claim("telegram", 42) is True
    assert inbox.accept("telegram", "43", "chat-a", '{"update_id": 43}') is True
    inbox.done("telegram", "43")  # handled
    assert inbox.accept("telegram", "44", "chat-a", '{"update_id": 44}') is True  # kept
    now[0] += 23 * 3600  # the platform redelivers 23 hours later: still inside the day
    assert REMEMBER_SECONDS > 23 * 3600
    seen.prune()  # nothing of these is old enough to be forgotten yet
    assert seen.claim("telegram", 42) is False
    assert seen.claim("telegram", "42") is False
    assert inbox.accept("telegram", "43", "chat-a", '{"update_id": 43}') is False
    assert inbox.accept("telegram", "44", "chat-a", '{"update_id": 44}') is False
    assert [w.update_id for w in inbox.waiting("telegram")] == ["44"]  # kept once, not twice


def test_an_accepted_update_is_kept_in_order_until_done_and_never_accepted_twice(
    storage: Storage,
) -> None:
    inbox = storage.inbox
    assert inbox.accept("telegram", "7", "chat-a", '{"update_id": 7}') is True
    assert inbox.accept("telegram", "5", "chat-b", '{"update_id": 5}') is True
    assert inbox.accept("telegram", "7", "chat-a", '{"update_id": 7}') is False  # a resend
    assert inbox.accept("wecom", "7", "room", '{"msgid": "7"}') is True
    assert [(w.update_id, w.queue_key) for w in inbox.waiting("telegram")] == [
        ("7", "chat-a"),
        ("5", "chat-b"),
    ]
    inbox.done("telegram", "7")
    inbox.done("telegram", "7")  # a second done is harmless
    assert [w.body for w in inbox.waiting("telegram")] == ['{"update_id": 5}']
    # Handled and dropped, the id is still remembered: a late resend is not handled again.
    assert inbox.accept("telegram", "7", "chat-a", '{"update_id": 7}') is False
    assert [w.update_id for w in inbox.waiting("wecom")] == ["7"]


def test_an_update_dropped_inside_a_rolled_back_turn_stays_kept(storage: Storage) -> None:
    storage.inbox.accept("telegram", "1", "chat-a", "{}")
    with pytest.raises(RuntimeError), storage.transaction():
        storage.inbox.done("telegram", "1")
        raise RuntimeError("the turn failed")
    assert [w.update_id for w in storage.inbox.waiting("telegram")] == ["1"]
    with storage.transaction():
        storage.inbox.done("telegram", "1")
    assert storage.inbox.waiting("telegram") == []


def test_forget_user_leaves_nothing_of_that_user_and_all_of_the_others(storage: Storage) -> None:
    fill_user(storage, "u1")
    fill_user(storage, "u2")
    assert storage.forget_user("telegram", "u1") == 3
    assert storage.sessions.load("telegram", "chat-u1", "u1") is None
    assert storage.filings.of_user("telegram", "u1") == []
    assert storage.reminders.open_for_user("telegram", "u1") == []
    assert storage.sessions.load("telegram", "chat-u2", "u2") is not None
    assert len(storage.filings.of_user("telegram", "u2")) == 1
    assert len(storage.reminders.open_for_user("telegram", "u2")) == 1
    assert storage.forget_user("telegram", "u1") == 0


def test_forget_then_scrub_leaves_no_value_in_the_files(storage: Storage, tmp_path: Path) -> None:
    fill_user(storage, "u1")
    fill_user(storage, "u2")
    storage.forget_user("telegram", "u1")
    storage.scrub()
    assert len(storage.filings.of_user("telegram", "u2")) == 1  # the others' rows stay
    # A file backend: u1's chat id (in their session and reminder rows) is gone from the bytes.
    files = b"".join(p.read_bytes() for p in tmp_path.glob("contract.db*"))
    assert b"chat-u1" not in files and (not files or b"chat-u2" in files)


def test_a_turn_that_reads_then_writes_waits_for_another_connection_instead_of_failing(
    opener: Opener, now: list[float]
) -> None:
    """A turn reads, another connection commits, the turn writes: with a deferred BEGIN the
    write fails at once with "database is locked" (one turn in eight, with two processes)."""
    first, second = opener(lambda: now[0]), opener(lambda: now[0])
    if first is second:
        pytest.skip("one connection: nothing to race")
    done = threading.Event()
    errors: list[BaseException] = []

    def other_process() -> None:
        try:
            second.sessions.save("telegram", "chat-b", "b", '{"x": 1}')
        except BaseException as exc:
            errors.append(exc)
        done.set()

    with first.transaction():
        first.sessions.load("telegram", "chat-a", "a")  # the turn reads its state
        writer = threading.Thread(target=other_process)
        writer.start()
        done.wait(0.5)  # the other connection commits now, or waits for this turn
        first.sessions.save("telegram", "chat-a", "a", '{"y": 2}')  # ... and the turn writes
    writer.join(15)
    assert errors == []
    assert first.sessions.load("telegram", "chat-a", "a") is not None
    assert first.sessions.load("telegram", "chat-b", "b") is not None


def test_scrub_refuses_to_run_inside_a_transaction(storage: Storage) -> None:
    with pytest.raises(RuntimeError), storage.transaction():
        storage.forget_user("telegram", "u1")
        storage.scrub()


def test_a_raising_transaction_leaves_nothing(storage: Storage) -> None:
    with pytest.raises(RuntimeError), storage.transaction():
        fill_user(storage, "u1")
        raise RuntimeError("the engine failed half-way through a turn")
    assert storage.sessions.load("telegram", "chat-u1", "u1") is None
    assert storage.filings.of_user("telegram", "u1") == []
    assert storage.reminders.open_for_user("telegram", "u1") == []


def test_a_nested_block_joins_the_outer_transaction(storage: Storage) -> None:
    with pytest.raises(RuntimeError), storage.transaction():
        with storage.transaction():
            storage.sessions.save("telegram", "c1", "u1", "{}")
        raise RuntimeError("outer fails after the inner block finished")
    assert storage.sessions.load("telegram", "c1", "u1") is None


def test_claims_in_turn_are_disjoint_and_cover_every_due_row(storage: Storage) -> None:
    ids = storage.reminders.schedule(
        [reminder(due_at=i) for i in range(50)], channel="telegram", user_id="u1", now=0
    )
    storage.reminders.schedule([reminder(due_at=5000)], channel="telegram", user_id="u1", now=0)
    taken: list[int] = []
    for turn in range(20):
        batch = storage.reminders.claim_due(f"w{turn % 2}", 1000, 2000, 3, channels=["telegram"])
        assert [r.due_at for r in batch] == sorted(r.due_at for r in batch)  # oldest first
        taken += [r.id for r in batch]
    assert sorted(taken) == sorted(ids)  # every due row once; the future one not at all


def test_two_claimers_at_once_get_disjoint_reminders(opener: Opener, now: list[float]) -> None:
    first, second = opener(lambda: now[0]), opener(lambda: now[0])
    if first is second:
        pytest.skip("this backend has a single connection: nothing claims concurrently")
    rows = [reminder(f"u{i % 7}", due_at=i) for i in range(300)]
    ids = first.reminders.schedule(rows, channel="telegram", user_id="u0", now=0)
    claimed: dict[str, list[int]] = {"a": [], "b": []}
    lock = threading.Lock()

    def claim(worker: str, storage: Storage) -> None:
        while batch := storage.reminders.claim_due(
            worker, now=1000, lease_until=2000, limit=7, channels=["telegram"]
        ):
            with lock:
                claimed[worker].extend(r.id for r in batch)

    threads = [
        threading.Thread(target=claim, args=("a", first)),
        threading.Thread(target=claim, args=("b", second)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not set(claimed["a"]) & set(claimed["b"])
    assert sorted(claimed["a"] + claimed["b"]) == sorted(ids)


def test_a_lapsed_lease_gives_the_row_back(storage: Storage) -> None:
    [rid] = storage.reminders.schedule([reminder()], channel="telegram", user_id="u1", now=0)
    [row] = storage.reminders.claim_due("a", 200, 300, 10, channels=["telegram"])
    assert (
        row.id == rid
        and storage.reminders.claim_due("b", 200, 300, 10, channels=["telegram"]) == []
    )
    assert storage.reminders.release_expired(now=301) == 1
    assert [
        r.id for r in storage.reminders.claim_due("b", 302, 400, 10, channels=["telegram"])
    ] == [rid]
    assert storage.reminders.mark_sent(rid, "a", 303, late=False) is False  # no longer a's
    assert storage.reminders.mark_sent(rid, "b", 303, late=False) is True


def test_a_taken_update_waits_for_its_taker(opener: Opener, now: list[float]) -> None:
    """Two workers: the one that took an update drops it once its replies are out; the
    other sees it taken (and waits, so the chat reads its replies in order)."""
    first, second = opener(lambda: now[0]), opener(lambda: now[0])
    if first is second:
        pytest.skip("one connection: one worker")
    for update_id in ("1", "2"):
        first.inbox.accept("telegram", update_id, "chat-a", "{}")
    assert first.inbox.done("telegram", "1") is True
    assert second.inbox.done("telegram", "1") is False  # taken once
    second.inbox.sent("telegram", "1")  # not its to drop
    oldest = second.inbox.oldest("telegram", "chat-a")
    assert oldest is not None and oldest.update_id == "1" and oldest.handled_at is not None
    assert [w.update_id for w in second.inbox.waiting("telegram")] == ["2"]
    assert second.inbox.stale_keys("telegram", now[0] + 1) == ["chat-a"]
    first.inbox.sent("telegram", "1")
    assert (second.inbox.oldest("telegram", "chat-a") or oldest).update_id == "2"
    second.inbox.done("telegram", "2")
    first.inbox.drop("telegram", "2")  # it needs no reply
    assert second.inbox.oldest("telegram", "chat-a") is None


def test_a_dead_takers_kept_replies_are_taken_over_once_from_the_first_unsent(
    opener: Opener, now: list[float]
) -> None:
    """A turn keeps its replies with the update it took; the taker notes how many are out;
    a worker that finds it dead takes it over, once, and gets the rest to send."""
    first, second, third = (opener(lambda: now[0]) for _ in range(3))
    if first is second:
        pytest.skip("one connection: one worker")
    first.inbox.accept("telegram", "1", "chat-a", "{}")
    second.inbox.keep_replies("telegram", "1", "not taken: not kept")
    assert first.inbox.done("telegram", "1")
    first.inbox.keep_replies("telegram", "1", '["one", "two", "three"]')
    second.inbox.keep_replies("telegram", "1", "not its: not kept")
    now[0] += 5
    first.inbox.sending("telegram", "1", 1)
    taken = second.inbox.oldest("telegram", "chat-a")
    assert taken is not None and taken.taken_by == first.inbox.worker
    assert (taken.replies, taken.replies_sent, taken.handled_at) == (
        '["one", "two", "three"]', 1, now[0]
    )  # fmt: skip
    assert second.inbox.take_over("telegram", taken) is True
    assert third.inbox.take_over("telegram", taken) is False  # once
    first.inbox.sent("telegram", "1")  # back from the dead: no longer its to drop
    first.inbox.sending("telegram", "1", 2)  # nor to note
    again = third.inbox.oldest("telegram", "chat-a")
    assert again is not None and again.taken_by == second.inbox.worker
    assert again.replies_sent == 1
    second.inbox.sent("telegram", "1")
    assert third.inbox.oldest("telegram", "chat-a") is None


def test_one_worker_at_a_time_holds_a_leadership_and_another_takes_it_when_let_go(
    opener: Opener, now: list[float]
) -> None:
    first, second = opener(lambda: now[0]), opener(lambda: now[0])
    if first is second:
        pytest.skip("one connection: one worker")
    one, other = first.leadership("wecom:bot"), second.leadership("wecom:bot")
    assert one.try_acquire() is True
    assert one.try_acquire() is True  # holding it already
    assert other.try_acquire() is False
    apart = second.leadership("wecom:another-bot")
    assert apart.try_acquire() is True  # names are apart
    apart.release()
    assert one.still_held() is True and other.still_held() is False
    one.release()
    assert one.still_held() is False
    assert other.try_acquire() is True
    assert one.try_acquire() is False
    other.release()


def test_a_group_robot_is_bound_replaced_listed_and_removed_with_its_url_sealed(
    storage: Storage,
) -> None:
    from bot.storage.sql.storage import SqlStorage

    url = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=robot-secret-key"
    robots = storage.group_robots
    assert robots.all("wecom") == {}
    assert robots.bind("wecom", "wrkB", url) is True
    assert robots.bind("wecom", "wrkA", url + "-a") is True
    assert robots.bind("wecom", "wrkB", url + "-new") is False  # replaced, not added
    assert robots.all("wecom") == {"wrkA": url + "-a", "wrkB": url + "-new"}
    assert robots.all("telegram") == {}
    assert isinstance(storage, SqlStorage)
    stored = [str(r[0]) for r in storage.sql.execute("SELECT url FROM group_robots").fetchall()]
    assert stored and all(s.startswith("fernet:") and "robot-secret-key" not in s for s in stored)
    assert robots.unbind("wecom", "wrkA") is True
    assert robots.unbind("wecom", "wrkA") is False
    assert robots.all("wecom") == {"wrkB": url + "-new"}
