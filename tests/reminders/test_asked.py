"""Reminders in the user's words: the time read in Asia/Shanghai, confirmed, listed, delivered."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from bot.reminders import ReminderIntake, ReminderSender
from bot.reminders.models import ReminderKind, from_unix
from bot.storage.sqlite import SqliteStorage
from tests.reminders.conftest import FakeClock, RecordingOutbox, say, shanghai, text_of

# Thursday 2026-12-03 20:00 in Shanghai.
NOW = shanghai(2026, 12, 3, 20, 0)


def _personal(storage: SqliteStorage) -> list[tuple[datetime, str]]:
    rows = storage.reminders.open_for_user("test", "u1")
    return [
        (from_unix(r.due_at).astimezone(NOW.tzinfo), str(json.loads(r.payload)["task"]))
        for r in rows
        if r.kind == ReminderKind.PERSONAL
    ]


@pytest.mark.parametrize(
    ("text", "due", "task", "shown"),
    [
        (
            "明天上午10点提醒我做人脸核验",
            shanghai(2026, 12, 4, 10, 0),
            "做人脸核验",
            "2026年12月4日 10:00",
        ),
        (
            "3天后提醒我去公安备案",
            shanghai(2026, 12, 6, 10, 0),
            "去公安备案",
            "2026年12月6日 10:00",
        ),
        (
            "下周一提醒我续费服务器",
            shanghai(2026, 12, 7, 10, 0),
            "续费服务器",
            "2026年12月7日 10:00",
        ),
        (
            "请在今晚9点半提醒我看一下核验短信",
            shanghai(2026, 12, 3, 21, 30),
            "看一下核验短信",
            "21:30",
        ),
        ("两小时后提醒我回复接入商", shanghai(2026, 12, 3, 22, 0), "回复接入商", "22:00"),
        # A date without a year is the next one: January is next year, not last.
        ("1月5日提醒我续费域名", shanghai(2027, 1, 5, 10, 0), "续费域名", "2027年1月5日"),
        (
            "remind me tomorrow at 9 to check the SMS",
            shanghai(2026, 12, 4, 9, 0),
            "check the SMS",
            "Dec 4, 2026 09:00",
        ),
        (
            "Remind me in 3 days to do the police filing",
            shanghai(2026, 12, 6, 10, 0),
            "do the police filing",
            "Dec 6, 2026 10:00",
        ),
        (
            "remind me next Monday at 3pm to renew the server",
            shanghai(2026, 12, 7, 15, 0),
            "renew the server",
            "15:00",
        ),
    ],
)
def test_a_request_sets_a_reminder_and_confirms_the_time(
    intake: ReminderIntake,
    storage: SqliteStorage,
    text: str,
    due: datetime,
    task: str,
    shown: str,
) -> None:
    reply = text_of(say(intake, text, NOW.astimezone(UTC)))
    assert shown in reply and task in reply
    assert _personal(storage) == [(due, task)]
    listing = text_of(say(intake, "/reminders", NOW.astimezone(UTC)))
    assert task in listing


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("提醒我昨天下午3点交材料", "已经过去了"),
        ("今天上午9点提醒我打电话", "已经过去了"),
        ("明天上午提醒我做人脸核验", "是几点"),
        ("提醒我改天弄一下备案", "什么时候提醒你"),
        ("收到短信后提醒我", "什么时候提醒你"),
        ("每周一提醒我检查网站", "具体的日期或钟点"),
        ("remind me yesterday at 3pm to call", "has already passed"),
        ("remind me tomorrow morning to call", "needs an hour"),
        ("remind me to check the SMS", "When should I remind you"),
    ],
)
def test_no_usable_time_gets_a_question_and_sets_nothing(
    intake: ReminderIntake, storage: SqliteStorage, text: str, says: str
) -> None:
    reply = text_of(say(intake, text, NOW.astimezone(UTC)))
    assert says in reply
    assert _personal(storage) == []


@pytest.mark.parametrize("text", ["你会提醒我短信核验吗", "能提醒我续费吗？"])
def test_a_question_about_reminders_goes_to_the_faq(intake: ReminderIntake, text: str) -> None:
    assert say(intake, text, NOW.astimezone(UTC)) is None


def test_a_phone_number_in_the_task_is_masked(
    intake: ReminderIntake, storage: SqliteStorage
) -> None:
    reply = text_of(say(intake, "明天上午10点提醒我给13812345678回电话", NOW.astimezone(UTC)))
    assert "13812345678" not in reply
    [(_, task)] = _personal(storage)
    assert "13812345678" not in task and "138****5678" in task


async def test_the_reminder_arrives_at_its_time_with_its_task(storage: SqliteStorage) -> None:
    clock = FakeClock(NOW.astimezone(UTC))
    intake, outbox = ReminderIntake(storage.reminders), RecordingOutbox()
    sender = ReminderSender(storage.reminders, {"test": outbox}, clock=clock, worker_id="w1")
    say(intake, "明天早上7点提醒我做人脸核验", clock())
    clock.set(shanghai(2026, 12, 4, 6, 59).astimezone(UTC))
    await sender.run_until_idle()
    assert outbox.sent == []
    # 07:00 is inside the quiet hours, but the user chose it: it is not held until 08:00.
    clock.set(shanghai(2026, 12, 4, 7, 0).astimezone(UTC))
    await sender.run_until_idle()
    [message] = outbox.sent
    assert "做人脸核验" in message.text and "依据" not in message.text
