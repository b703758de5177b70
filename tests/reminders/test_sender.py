"""The sender on a controllable clock: on time, never twice, late after downtime, quiet hours."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from bot.content_check import internal_references
from bot.messages import ChatRef, Outgoing, SendError
from bot.reminders import Owner, ReminderIntake, ReminderSender
from bot.reminders.models import QUIET_HOURS, PlannedReminder, ReminderKind
from bot.reminders.records import to_new
from bot.storage.base import StoredReminder
from bot.storage.crypto import DataCipher
from bot.storage.postgres import PostgresStorage
from bot.storage.sql.storage import SqlStorage
from bot.storage.sqlite import SqliteStorage
from bot.workdays import APPROXIMATE_NOTE
from tests.reminders.conftest import (
    FakeClock,
    RecordingOutbox,
    incoming,
    reminder_id,
    say,
    shanghai,
)
from tests.storage.conftest import pg_server, pg_url  # noqa: F401  (fixtures)

ROOT = Path(__file__).resolve().parents[2]


def open_rows(storage: SqlStorage) -> list[StoredReminder]:
    return [
        r
        for r in storage.reminders._select("SELECT * FROM reminders ORDER BY due_at, id", ())
        if r.status in ("pending", "paused")
    ]


def expected_at(row: StoredReminder) -> datetime:
    due = datetime.fromtimestamp(row.due_at, UTC)
    return due if row.urgent else QUIET_HOURS.release(due)


@pytest.mark.parametrize(
    ("start", "text"),
    [
        (shanghai(2026, 11, 25, 10, 0), "/sms"),
        (shanghai(2026, 11, 25, 14, 0), "我刚收到管局的短信"),  # h12 at 02:00 waits for 08:00
        (shanghai(2026, 11, 25, 10, 0), "/submitted"),
        (shanghai(2026, 11, 25, 10, 0), "初审通过了"),
        (shanghai(2026, 11, 25, 10, 0), "备案下来了，号是 粤ICP备2026012345号-1"),
        (shanghai(2026, 11, 25, 10, 0), "公司昨天改名了"),
        (shanghai(2026, 11, 25, 10, 0), "/change 域名 2027年3月1日"),
        (shanghai(2026, 11, 25, 10, 0), "/change 网站名称 2026年12月10日"),
        (shanghai(2026, 11, 25, 10, 0), "/change 接入商 昨天"),
        (shanghai(2026, 11, 25, 10, 0), "网站今天上线了"),
        (shanghai(2026, 11, 25, 10, 0), "公安备案今天通过了"),
        (shanghai(2026, 11, 25, 10, 0), "订单今天被退回了"),
        (shanghai(2026, 11, 25, 10, 0), "服务器2027年3月1日到期"),
        (shanghai(2026, 11, 25, 10, 0), "域名2027年6月1日到期"),
    ],
)
async def test_every_reminder_fires_at_its_time_and_not_before(
    storage: SqliteStorage, start: datetime, text: str
) -> None:
    clock = FakeClock(start.astimezone(UTC))
    intake, outbox = ReminderIntake(storage.reminders), RecordingOutbox()
    service = ReminderSender(storage.reminders, {"test": outbox}, clock=clock, worker_id="w1")
    assert say(intake, text, clock())
    rows = open_rows(storage)
    assert rows, "the event set no reminder"
    for row in sorted(rows, key=expected_at):
        at = expected_at(row)
        clock.set(at - timedelta(seconds=1))
        await service.run_until_idle()
        assert row.id not in outbox.ids(), f"{row.kind}/{row.step} went out early"
        clock.set(at)
        await service.run_until_idle()
        assert outbox.ids().count(row.id) == 1, f"{row.kind}/{row.step} did not go out"
    sent = {reminder_id(m): m for m in outbox.sent}
    for row in rows:
        message = sent[row.id]
        assert "依据：" in message.text and "来源：" in message.text
        # The source is something the user can open, not one of our file names.
        assert "https://" in message.text or "《" in message.text
        assert internal_references(message.text) == []
        assert not message.text.startswith("（补发")


async def test_the_last_sms_hour_is_urgent_in_tone_and_goes_out_at_night(
    storage: SqliteStorage, intake: ReminderIntake, outbox: RecordingOutbox
) -> None:
    clock = FakeClock(shanghai(2026, 11, 25, 0, 30).astimezone(UTC))
    service = ReminderSender(storage.reminders, {"test": outbox}, clock=clock, worker_id="w1")
    say(intake, "/sms", clock())
    clock.set(shanghai(2026, 11, 25, 23, 30).astimezone(UTC))  # h23, in quiet hours
    await service.run_until_idle()
    last = outbox.sent[-1]
    assert "紧急" in last.text and "最后 1 小时" in last.text
    assert {c.value.split()[1] for c in last.choices} == {"done", "cancel"}  # no snoozing now


async def test_done_cancel_and_snooze_stop_or_move_reminders(
    storage: SqliteStorage, intake: ReminderIntake, outbox: RecordingOutbox, clock: FakeClock
) -> None:
    service = ReminderSender(storage.reminders, {"test": outbox}, clock=clock, worker_id="w1")
    say(intake, "/sms", clock())
    say(intake, "/sms done", clock())
    say(intake, "公司昨天改名了", clock())
    rows = open_rows(storage)
    first = rows[0]  # the change's day-7 reminder (the SMS ones are done)
    assert first.kind == ReminderKind.CHANGE_HAPPENED
    say(intake, f"/remind snooze {first.id} 2h", clock())
    clock.set(datetime.fromtimestamp(first.due_at, UTC) + timedelta(minutes=119))
    await service.run_until_idle()
    assert outbox.sent == []
    clock.advance(minutes=1)
    await service.run_until_idle()
    assert outbox.ids() == [first.id]
    say(intake, f"/remind cancel {first.id}", clock())
    clock.advance(days=60)
    await service.run_until_idle()
    # Only the bureau clock (started by the SMS) is left; the SMS and change clocks are not.
    kinds = [m.text for m in outbox.sent[1:]]
    assert len(kinds) == 1 and "管局" in kinds[0]


async def test_downtime_across_a_due_time_gives_one_late_reminder(
    storage: SqliteStorage, intake: ReminderIntake, clock: FakeClock
) -> None:
    say(intake, "公司昨天改名了", clock())
    first = open_rows(storage)[0]
    due = datetime.fromtimestamp(first.due_at, UTC)
    before = RecordingOutbox()
    clock.set(due - timedelta(hours=1))
    await ReminderSender(
        storage.reminders, {"test": before}, clock=clock, worker_id="w1"
    ).run_until_idle()
    assert before.sent == []
    # The bot is down from here until 3 hours after the due time, then starts again.
    clock.set(due + timedelta(hours=3))
    after = RecordingOutbox()
    restarted = ReminderSender(
        SqliteStorage(db_path_of(storage)).reminders, {"test": after}, clock=clock
    )
    await restarted.run_until_idle()
    await restarted.run_until_idle()
    assert after.ids() == [first.id]
    assert after.sent[0].text.startswith("（补发：这条提醒原定 2026年12月1日 10:00")
    stored = storage.reminders.get(first.id)
    assert stored is not None and stored.late and stored.status == "sent"


def db_path_of(storage: SqliteStorage) -> str:
    return str(storage.path)


async def test_quiet_hours_hold_a_non_urgent_reminder_but_not_an_urgent_one(
    storage: SqliteStorage, outbox: RecordingOutbox
) -> None:
    owner = Owner.of(incoming())
    store = storage.reminders
    at_night = shanghai(2026, 11, 25, 23, 30)
    calm = PlannedReminder(
        kind=ReminderKind.SELF_CHECK,
        step="quarter",
        due_at=at_night,
        payload={"number": "粤ICP备2026012345号-1", "n": 1},
    )
    urgent = PlannedReminder(
        kind=ReminderKind.SMS_WINDOW,
        step="h23",
        due_at=at_night,
        urgent=True,
        payload={
            "received_at": int(at_night.timestamp()) - 23 * 3600,
            "deadline_at": int(at_night.timestamp()) + 3600,
        },
    )
    calm_id, urgent_id = store.schedule(
        [to_new(owner, "a", calm), to_new(owner, "b", urgent)],
        channel="test",
        user_id="u1",
        now=0,
    )
    clock = FakeClock(shanghai(2026, 11, 25, 22, 0).astimezone(UTC))
    service = ReminderSender(storage.reminders, {"test": outbox}, clock=clock, worker_id="w1")
    clock.set(shanghai(2026, 11, 25, 23, 31).astimezone(UTC))
    await service.run_until_idle()
    assert outbox.ids() == [urgent_id]
    clock.set(shanghai(2026, 11, 26, 7, 59).astimezone(UTC))
    await service.run_until_idle()
    assert outbox.ids() == [urgent_id]
    clock.set(shanghai(2026, 11, 26, 8, 0).astimezone(UTC))
    await service.run_until_idle()
    assert outbox.ids() == [urgent_id, calm_id]
    assert not outbox.sent[1].text.startswith("（补发")  # held, not late


async def test_a_group_reminder_mentions_the_user_who_set_it(
    storage: SqliteStorage, intake: ReminderIntake, outbox: RecordingOutbox, clock: FakeClock
) -> None:
    service = ReminderSender(storage.reminders, {"test": outbox}, clock=clock, worker_id="w1")
    say(intake, "公司昨天改名了", clock(), chat_id="g1", group=True, user_name="张三")
    clock.advance(days=7)
    await service.run_until_idle()
    (message,) = outbox.sent
    assert message.chat.chat_id == "g1" and message.chat.kind == "group"
    assert message.text.startswith("@张三 ") and message.mention_user_id == "u1"


async def test_a_blocked_chat_pauses_until_the_user_writes_again(
    storage: SqliteStorage, intake: ReminderIntake, clock: FakeClock
) -> None:
    say(intake, "公司昨天改名了", clock())
    blocked = RecordingOutbox(fail_with=SendError("bot was blocked", permanent=True))
    service = ReminderSender(storage.reminders, {"test": blocked}, clock=clock, worker_id="w1")
    clock.advance(days=7)
    await service.run_until_idle()
    clock.advance(days=30)
    await service.run_until_idle()
    assert blocked.calls == 1  # never retried, the rest of the chat held
    store = storage.reminders
    assert store.count("failed") == 1 and store.count("paused") == 6
    assert intake.handle(incoming("你好"), "你好", clock()) is None  # any message resumes
    assert store.count("paused") == 0
    blocked.fail_with = None
    await service.run_until_idle()
    # d20 ... o38 all fell due while paused: one message, the latest step (o38).
    (message,) = blocked.sent
    assert "仍未办理" in message.text
    assert store.count("skipped") == 4


async def test_a_transient_failure_is_retried_later_then_given_up(
    storage: SqliteStorage, intake: ReminderIntake, clock: FakeClock
) -> None:
    say(intake, "公司昨天改名了", clock())
    flaky = RecordingOutbox(fail_with=SendError("timeout"))
    service = ReminderSender(
        storage.reminders,
        {"test": flaky},
        clock=clock,
        worker_id="w1",
        max_attempts=3,
        retry_seconds=60,
    )
    clock.advance(days=7)
    await service.run_until_idle()
    assert flaky.calls == 1
    await service.run_until_idle()
    assert flaky.calls == 1  # not before the back-off
    clock.advance(seconds=60)
    await service.run_until_idle()
    assert flaky.calls == 2
    clock.advance(seconds=120)
    await service.run_until_idle()
    assert flaky.calls == 3 and storage.reminders.count("failed") == 1


async def test_the_quarterly_self_check_repeats_and_done_keeps_the_next(
    storage: SqliteStorage, intake: ReminderIntake, outbox: RecordingOutbox, clock: FakeClock
) -> None:
    service = ReminderSender(storage.reminders, {"test": outbox}, clock=clock, worker_id="w1")
    say(intake, "/approved 粤ICP备2026012345号-1", clock())
    clock.set(shanghai(2027, 2, 25, 10, 0).astimezone(UTC))
    await service.run_until_idle()
    (first,) = outbox.sent
    assert "第 1 次季度自查" in first.text and "不是法规要求" in first.text
    say(intake, f"/remind done {reminder_id(first)}", clock())
    clock.set(shanghai(2027, 5, 25, 10, 0).astimezone(UTC))
    await service.run_until_idle()
    assert "第 2 次季度自查" in outbox.sent[-1].text


async def test_terminal_collects_its_own_due_reminders(
    storage: SqliteStorage, intake: ReminderIntake, clock: FakeClock
) -> None:
    say(intake, "公司昨天改名了", clock())
    say(intake, "公司昨天改名了", clock(), user_id="u2")
    service = ReminderSender(storage.reminders, {}, clock=clock, worker_id="terminal")
    hook = service.due_hook(ChatRef(channel="test", chat_id="u1"))
    assert hook() == []
    clock.set(shanghai(2026, 12, 1, 23, 30).astimezone(UTC))  # quiet hours: user is typing
    (message,) = hook()
    assert message.chat.chat_id == "u1" and "变更" in message.text
    assert not message.text.startswith("（补发")
    assert hook() == []  # never twice
    clock.advance(days=30)  # the chat is closed for a month, then opened again
    later = ReminderSender(storage.reminders, {}, clock=clock, worker_id="terminal-2")
    (late,) = later.collect_due(ChatRef(channel="test", chat_id="u1"), clock())
    assert late.text.startswith("（补发")  # d20, d27 and d29 fell due: the latest is sent


async def test_start_sends_what_is_overdue_then_stop(
    storage: SqliteStorage, intake: ReminderIntake, outbox: RecordingOutbox, clock: FakeClock
) -> None:
    say(intake, "公司昨天改名了", clock())
    clock.advance(days=8)
    service = ReminderSender(storage.reminders, {"test": outbox}, clock=clock, worker_id="w1")
    await service.start()
    await service.wait_idle()
    await service.stop()
    assert len(outbox.sent) == 1 and outbox.sent[0].text.startswith("（补发")


async def test_a_timeline_across_the_year_boundary_does_not_crash(
    storage: SqliteStorage, tmp_path: Path
) -> None:
    clock = FakeClock(shanghai(2026, 12, 20, 10, 0).astimezone(UTC))
    intake = ReminderIntake(storage.reminders, holidays=tmp_path)
    outbox = RecordingOutbox()
    service = ReminderSender(storage.reminders, {"test": outbox}, clock=clock, worker_id="w1")
    script = {
        shanghai(2026, 12, 21, 9, 0): "/submitted",
        shanghai(2026, 12, 28, 9, 0): "初审今天通过了",
        shanghai(2026, 12, 31, 20, 0): "我刚收到管局的短信",
        shanghai(2027, 1, 2, 12, 0): "/change 域名 2027年2月20日",
        shanghai(2027, 2, 5, 9, 0): "备案下来了，号是 京ICP备27000001号-1",
        shanghai(2027, 2, 6, 9, 0): "网站今天上线了",
    }
    replies: list[str] = []
    end = shanghai(2027, 6, 1, 0, 0).astimezone(UTC)
    while clock() < end:
        for moment, text in script.items():
            if moment.astimezone(UTC) == clock():
                answer = say(intake, text, clock())
                assert answer is not None
                replies.extend(m.text for m in answer)
        await service.run_until_idle()
        clock.advance(hours=1)
    note = APPROXIMATE_NOTE.format(year=2027)
    assert any(note in r for r in replies)  # the reply says the date is an estimate
    texts = [m.text for m in outbox.sent]
    assert any("管局" in t and note in t for t in texts)  # and so does the reminder
    assert any("短信核验" in t for t in texts) and any("季度自查" in t for t in texts)
    assert len(set(outbox.ids())) == len(outbox.ids())


# ---- separate processes -----------------------------------------------------------------


def run_worker(storage: Path, out: Path, now: datetime, worker: str, *extra: str) -> int:
    command = [sys.executable, "-m", "tests.reminders.worker_script"]
    command += [str(storage), str(out), now.isoformat(), worker, *extra]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode in (0, 9), done.stderr
    return done.returncode


def delivered(out: Path) -> list[tuple[int, bool]]:
    if not out.exists():
        return []
    lines = out.read_text(encoding="utf-8").split()
    return [(int(a), b == "1") for a, b in zip(lines[::2], lines[1::2], strict=True)]


def twenty_due(storage: SqliteStorage, clock: FakeClock) -> tuple[list[int], datetime]:
    intake = ReminderIntake(storage.reminders)
    for n in range(20):
        say(intake, "公司昨天改名了", clock(), user_id=f"u{n}")
    first = [r for r in open_rows(storage) if r.step == "d7"]
    return [r.id for r in first], datetime.fromtimestamp(first[0].due_at, UTC)


@pytest.mark.parametrize("same_worker", [False, True])
def test_kill_and_restart_in_a_new_process_loses_and_repeats_nothing(
    storage: SqliteStorage, db_path: Path, tmp_path: Path, clock: FakeClock, same_worker: bool
) -> None:
    ids, due = twenty_due(storage, clock)
    out = tmp_path / "sent.txt"
    # First process: killed abruptly as it starts the 6th send (rows claimed, one `sending`).
    assert run_worker(db_path, out, due, "w1", "--kill-after", "5") == 9
    assert len(delivered(out)) == 5
    store = storage.reminders
    assert store.count("sending") == 1 and store.count("claimed") >= 1
    if same_worker:  # restarted at once with its stable id: it takes its rows back now
        run_worker(db_path, out, due + timedelta(seconds=1), "w1", "--start")
    else:  # another worker, after the dead one's lease ran out
        run_worker(db_path, out, due + timedelta(minutes=10), "w2")
    run_worker(db_path, out, due + timedelta(minutes=20), "w3")  # a third run finds nothing
    sent = [reminder for reminder, _ in delivered(out)]
    assert sorted(sent) == sorted(ids)  # every reminder, each exactly once
    assert store.count("sent") == 20 and store.count("claimed") == store.count("sending") == 0


def test_two_processes_on_one_database_send_each_reminder_once(
    storage: SqliteStorage, db_path: Path, tmp_path: Path, clock: FakeClock
) -> None:
    intake = ReminderIntake(storage.reminders)
    for n in range(60):
        say(intake, "公司昨天改名了", clock(), user_id=f"u{n}")
    ids = [r.id for r in open_rows(storage)]
    end = clock() + timedelta(days=60)
    command = [sys.executable, "-m", "tests.reminders.worker_script"]
    procs = [
        subprocess.Popen(
            [*command, str(db_path), str(tmp_path / f"{w}.txt"), end.isoformat(), w],
            cwd=ROOT,
            stderr=subprocess.PIPE,
        )
        for w in ("p1", "p2")
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    sent = [r for w in ("p1", "p2") for r, _ in delivered(tmp_path / f"{w}.txt")]
    assert len(sent) == len(ids) == 420 and sorted(sent) == sorted(ids)


def test_three_processes_on_postgresql_send_each_reminder_once_and_a_killed_ones_later(
    pg_url: str,  # noqa: F811
    tmp_path: Path,
    clock: FakeClock,
) -> None:
    """Claimed with FOR UPDATE SKIP LOCKED by three processes at once; the one killed as it
    begins a send leaves its claimed rows to the next run after their lease."""
    key = Fernet.generate_key()
    storage = PostgresStorage(pg_url, cipher=DataCipher([key]))
    intake = ReminderIntake(storage.reminders)
    for n in range(60):
        say(intake, "公司昨天改名了", clock(), user_id=f"u{n}")
    ids = [r.id for r in open_rows(storage)]
    end = clock() + timedelta(days=60)
    env = {**os.environ, "BEIAN_DATA_KEY": key.decode()}
    command = [sys.executable, "-m", "tests.reminders.worker_script", pg_url]
    procs = [
        subprocess.Popen(
            [*command, str(tmp_path / f"{w}.txt"), end.isoformat(), w, *extra],
            cwd=ROOT, env=env, stderr=subprocess.PIPE,
        )
        for w, extra in (("p1", []), ("p2", []), ("p3", ["--kill-after", "10"]))
    ]  # fmt: skip
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode in (0, 9), err
    assert procs[2].returncode == 9  # it died with rows claimed
    later = subprocess.run(
        [*command, str(tmp_path / "p4.txt"), (end + timedelta(minutes=10)).isoformat(), "p4"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert later.returncode == 0, later.stderr
    sent = [r for w in ("p1", "p2", "p3", "p4") for r, _ in delivered(tmp_path / f"{w}.txt")]
    assert len(sent) == len(ids) and sorted(sent) == sorted(ids)  # each exactly once
    assert storage.reminders.count("claimed") == storage.reminders.count("sending") == 0
    storage.close()


def test_two_workers_in_threads_send_each_reminder_once(
    storage: SqliteStorage, db_path: Path, clock: FakeClock
) -> None:
    intake = ReminderIntake(storage.reminders)
    for n in range(100):
        say(intake, "公司昨天改名了", clock(), user_id=f"u{n}")
    ids = [r.id for r in open_rows(storage)]
    clock.advance(days=60)
    sent: list[int] = []
    lock = threading.Lock()

    class SharedOutbox:
        async def send(self, message: Outgoing) -> None:
            with lock:
                sent.append(reminder_id(message))

    def worker(name: str) -> None:
        own = SqliteStorage(db_path)
        service = ReminderSender(
            own.reminders, {"test": SharedOutbox()}, clock=clock, worker_id=name, batch=10
        )
        asyncio.run(service.run_until_idle())
        own.close()

    threads = [threading.Thread(target=worker, args=(f"t{i}",)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(sent) == len(ids) == 700 and sorted(sent) == sorted(ids)
