"""What a user reads after reporting an event: the reply, and each reminder it leaves behind.

Each reported event is recorded through the real clocks on a SQLite file; the reply and the
stored reminders (rendered at their due time, as the sender would) must show the event's own
dates and deadline, never a placeholder for a value the plan forgot.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from bot.messages import ChatKind, ChatRef
from bot.reminders import ReminderIntake
from bot.reminders.clocks import Clocks
from bot.reminders.event_replies import changed_reply, event_reply
from bot.reminders.models import (
    QUIET_HOURS,
    Approved,
    Changed,
    ChangeWhat,
    Event,
    Expiry,
    ExpiryWhat,
    FirstReviewPassed,
    OrderReturned,
    Owner,
    PoliceApproved,
    ReminderAsked,
    SiteLive,
    SmsReceived,
    Submitted,
    show_day,
    show_time,
)
from bot.reminders.planner import follow_up, plan
from bot.reminders.records import from_stored
from bot.reminders.texts import load_reminder_texts, render_reminder
from bot.storage.sqlite import SqliteStorage
from tests.reminders.conftest import say, shanghai, text_of

NOW = shanghai(2026, 11, 25, 10, 0)
TODAY = date(2026, 11, 25)
OWNER = Owner(chat=ChatRef(channel="test", chat_id="u1", kind=ChatKind.PRIVATE), user_id="u1")


@pytest.fixture(autouse=True)
def no_missing_field(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """A text that asks for a field the plan did not fill shows … and logs it: never here."""
    with caplog.at_level(logging.WARNING, logger="bot.reminders.texts"):
        yield
    missing = [r.getMessage() for r in caplog.records if "missing field" in r.getMessage()]
    assert missing == []


def _clocks(storage: SqliteStorage) -> Clocks:
    return Clocks(storage.reminders, load_reminder_texts(), QUIET_HOURS)


def _report(storage: SqliteStorage, event: Event, now: datetime = NOW) -> str:
    clocks = _clocks(storage)
    if isinstance(event, Changed):
        replies = changed_reply(clocks, OWNER, event, now)
    else:
        replies = event_reply(clocks, OWNER, event, now)
    return "\n".join(r.text for r in replies)


def _stored_texts(storage: SqliteStorage) -> dict[str, str]:
    """step -> the text of the user's stored reminder, rendered when it falls due."""
    texts = load_reminder_texts()
    rows = [from_stored(s) for s in storage.reminders.open_for_user("test", "u1")]
    return {row.step: render_reminder(texts, row, row.due_at, late=False).text for row in rows}


# event, the day its deadline falls on, the steps it leaves, a date its texts must show
CLOCKS = [
    pytest.param(
        Submitted(at=shanghai(2026, 11, 24, 16, 0)),
        date(2026, 11, 27),
        {"due"},
        date(2026, 11, 24),
        id="submitted",
    ),
    pytest.param(
        SiteLive(day=date(2026, 11, 20)),
        date(2026, 12, 20),
        {"d7", "d20", "d27", "d29", "o31"},
        date(2026, 11, 20),
        id="site-live",
    ),
    pytest.param(
        PoliceApproved(day=date(2026, 11, 20)),
        date(2026, 12, 20),
        {"d7", "d20", "d27", "d29"},
        date(2026, 11, 20),
        id="police-approved",
    ),
    pytest.param(
        OrderReturned(at=shanghai(2026, 11, 24, 9, 0)),
        date(2027, 1, 8),
        {"d7", "d30", "d40", "d44"},
        date(2026, 11, 24),
        id="order-returned",
    ),
]


@pytest.mark.parametrize(("event", "deadline", "steps", "since"), CLOCKS)
def test_a_reported_event_leaves_its_reminders_and_every_text_shows_its_dates(
    storage: SqliteStorage, event: Event, deadline: date, steps: set[str], since: date
) -> None:
    reply = _report(storage, event)
    assert show_day(since) in reply and show_day(deadline) in reply
    reminders = _stored_texts(storage)
    assert set(reminders) == steps
    for step, text in reminders.items():
        assert show_day(deadline) in text or show_day(since) in text, step


@pytest.mark.parametrize(("event", "deadline", "steps", "since"), CLOCKS)
def test_reporting_the_same_event_again_replaces_its_reminders(
    storage: SqliteStorage, event: Event, deadline: date, steps: set[str], since: date
) -> None:
    _report(storage, event)
    _report(storage, event, NOW + timedelta(minutes=5))
    assert sorted(_stored_texts(storage)) == sorted(steps)


def test_the_sms_reply_and_reminders_show_when_it_came_and_when_the_window_closes(
    storage: SqliteStorage,
) -> None:
    received = shanghai(2026, 11, 25, 9, 0)
    reply = _report(storage, SmsReceived(at=received))
    closes = show_time(received + timedelta(hours=24))
    assert show_time(received) in reply and closes in reply
    reminders = _stored_texts(storage)
    assert {"h12", "h20", "h23", "expired"} <= set(reminders)
    assert closes in reminders["h12"] and "还剩约 12 小时" in reminders["h12"]


def test_a_change_already_made_shows_its_day_and_the_30_day_deadline(
    storage: SqliteStorage,
) -> None:
    reply = _report(storage, Changed(what=ChangeWhat.DOMAIN, day=date(2026, 11, 20)))
    assert show_day(date(2026, 11, 20)) in reply and show_day(date(2026, 12, 20)) in reply
    for step, text in _stored_texts(storage).items():
        assert "域名" in text, step


def test_a_change_planned_soon_says_file_now_and_reminds_in_three_days_and_on_the_eve(
    storage: SqliteStorage,
) -> None:
    change_day = date(2026, 12, 10)  # 15 days ahead: the 30 days' notice is already missed
    _report(storage, Changed(what=ChangeWhat.DOMAIN, day=change_day))
    rows = {r.step: r for r in storage.reminders.open_for_user("test", "u1")}
    assert set(rows) == {"asap", "eve"}
    due = {step: from_stored(row).due_at for step, row in rows.items()}
    assert due["asap"] == shanghai(2026, 11, 28, 10, 0)
    assert due["eve"] == shanghai(2026, 12, 9, 10, 0)
    assert all(show_day(change_day) in text for text in _stored_texts(storage).values())


def test_a_change_the_day_after_tomorrow_gets_no_eve_reminder_before_the_asap_one() -> None:
    # The eve (tomorrow 10:00) is before the reminder in three days: only one is kept.
    result = plan(Changed(what=ChangeWhat.DOMAIN, day=TODAY + timedelta(days=2)), NOW)
    assert [r.step for r in result.reminders] == ["asap"]
    # Four days ahead, the eve and the three-day reminder fall on the same morning: one is kept.
    same = plan(Changed(what=ChangeWhat.DOMAIN, day=TODAY + timedelta(days=4)), NOW)
    assert [r.step for r in same.reminders] == ["asap"]


@pytest.mark.parametrize(
    ("what", "word"), [(ExpiryWhat.SERVER, "服务器"), (ExpiryWhat.DOMAIN, "域名")]
)
def test_an_expiry_reminder_names_what_expires_and_its_day(
    storage: SqliteStorage, what: ExpiryWhat, word: str
) -> None:
    expiry = date(2027, 2, 1)
    _clocks(storage).record(OWNER, Expiry(what=what, day=expiry), NOW)
    reminders = _stored_texts(storage)
    assert set(reminders) == {"d30", "d7"}
    for step, text in reminders.items():
        assert word in text and show_day(expiry) in text, step


def test_the_quarterly_self_check_counts_and_shows_the_filing_number(
    storage: SqliteStorage,
) -> None:
    number = "粤ICP备2026012345号-1"
    _clocks(storage).record(OWNER, Approved(at=NOW, number=number), NOW)
    (row,) = [from_stored(s) for s in storage.reminders.open_for_user("test", "u1")]
    texts = load_reminder_texts()
    first = render_reminder(texts, row, row.due_at, late=False).text
    assert "第 1 次季度自查" in first and number in first
    following = follow_up(row.kind, row.payload, row.due_at)
    assert following is not None and following.step == "quarter"
    assert following.due_at == shanghai(2027, 5, 25, 10, 0)
    assert following.payload["n"] == 2 and following.payload["number"] == number


def test_an_approval_reported_months_late_sets_the_next_quarter_to_come() -> None:
    approved = shanghai(2026, 2, 25, 15, 0)
    (reminder,) = plan(Approved(at=approved, number="粤ICP备2026012345号-1"), NOW).reminders
    # 05-25 and 08-25 are past, 11-25 10:00 is this very moment: the next one is in February.
    assert reminder.due_at == shanghai(2027, 2, 25, 10, 0)


def test_a_self_check_without_a_count_is_followed_by_the_second() -> None:
    following = follow_up(plan(Approved(at=NOW, number="x"), NOW).reminders[0].kind, {}, NOW)
    assert following is not None and following.payload["n"] == 2


def test_a_reminder_the_user_asked_for_shows_the_task_and_when_it_was_set(
    storage: SqliteStorage,
) -> None:
    due = shanghai(2026, 11, 25, 23, 30)  # inside quiet hours: the user chose the hour
    _clocks(storage).record(OWNER, ReminderAsked(due=due, task="做人脸核验"), NOW)
    (row,) = [from_stored(s) for s in storage.reminders.open_for_user("test", "u1")]
    assert row.urgent and row.due_at == due
    text = render_reminder(load_reminder_texts(), row, due, late=False).text
    assert "做人脸核验" in text and show_time(NOW) in text


def test_two_reminders_asked_for_are_both_kept(storage: SqliteStorage) -> None:
    clocks = _clocks(storage)
    clocks.record(OWNER, ReminderAsked(due=NOW + timedelta(days=1), task="a"), NOW)
    clocks.record(OWNER, ReminderAsked(due=NOW + timedelta(days=2), task="b"), NOW)
    assert len(storage.reminders.open_for_user("test", "u1")) == 2


def test_a_step_due_at_the_moment_of_the_report_is_told_at_once_not_scheduled() -> None:
    # SiteLive 7 days ago at 10:00 Shanghai time: its d7 step is due right now.
    result = plan(SiteLive(day=TODAY - timedelta(days=7)), NOW)
    assert "d7" in result.missed_steps
    assert "d7" not in {r.step for r in result.reminders}
    sms = plan(SmsReceived(at=NOW - timedelta(hours=12)), NOW)
    assert sms.missed_steps == ["h12"]
    closed = plan(SmsReceived(at=NOW - timedelta(hours=24)), NOW)
    assert closed.reminders == [] and "expired" in closed.missed_steps
    due_now = plan(Submitted(at=shanghai(2026, 11, 20, 9, 0)), NOW)  # Fri + 3 working days
    assert due_now.reminders == [] and due_now.missed_steps == ["due"]


def test_a_change_made_today_counts_as_made_and_one_30_days_ahead_as_planned() -> None:
    today = plan(Changed(what=ChangeWhat.DOMAIN, day=TODAY), NOW)
    assert today.facts["deadline_day"] == "2026-12-25"
    assert {r.kind.value for r in today.reminders} == {"change_happened"}
    ahead = plan(Changed(what=ChangeWhat.DOMAIN, day=TODAY + timedelta(days=30)), NOW)
    # Filing is due today: too late for the 30 days' notice, so file now.
    assert ahead.facts.get("too_late") == 1
    expiring = plan(Expiry(what=ExpiryWhat.DOMAIN, day=TODAY), NOW)
    assert expiring.facts.get("expired") == 1


def test_the_self_check_keeps_counting_quarter_after_quarter() -> None:
    (first,) = plan(Approved(at=NOW, number="粤ICP备2026012345号-1"), NOW).reminders
    second = follow_up(first.kind, first.payload, first.due_at)
    assert second is not None
    third = follow_up(second.kind, second.payload, second.due_at)
    assert third is not None and third.payload["n"] == 3
    assert third.due_at == shanghai(2027, 8, 25, 10, 0)


def test_an_sms_step_held_to_morning_with_exactly_three_hours_left_waits_for_morning() -> None:
    # Received 11:00: h20 falls at 07:00; held until 08:00 it still leaves 3 hours.
    received = shanghai(2026, 11, 25, 11, 0)
    result = plan(SmsReceived(at=received), received)
    h20 = next(r for r in result.reminders if r.step == "h20")
    assert not h20.urgent


HOLIDAYS_2027 = """\
source: 国务院办公厅关于2027年部分节假日安排的通知
holidays: [2027-01-01, 2027-01-04]
workdays: []
"""


def test_an_operators_holiday_schedule_moves_the_waiting_clocks(tmp_path: Path) -> None:
    (tmp_path / "2027.yaml").write_text(HOLIDAYS_2027, encoding="utf-8")
    at = shanghai(2026, 12, 30, 10, 0)
    first = plan(Submitted(at=at), at, holidays=tmp_path)
    # Thu 31, (Fri 1 and Mon 4 are holidays), Tue 5, Wed 6: known, so not an estimate.
    assert first.reminders[0].due_at == shanghai(2027, 1, 6, 10, 0)
    assert first.approximate_years == [] and first.facts["approximate"] == 0
    bureau = plan(FirstReviewPassed(at=at), at, holidays=tmp_path)
    assert bureau.approximate_years == []


def test_a_wait_inside_the_holiday_data_says_nothing_about_an_estimate(
    storage: SqliteStorage,
) -> None:
    reply = _report(storage, FirstReviewPassed(at=NOW))
    assert "只按周末估算" not in reply


def test_a_review_reported_after_its_wait_is_over_says_so_and_replaces_the_old_clock(
    storage: SqliteStorage,
) -> None:
    _report(storage, Submitted(at=NOW))
    assert len(storage.reminders.open_for_user("test", "u1")) == 1
    reply = _report(storage, Submitted(at=shanghai(2026, 11, 16, 9, 0)))  # Mon, 3 days: Thu
    assert show_day(date(2026, 11, 16)) in reply and show_day(date(2026, 11, 19)) in reply
    assert storage.reminders.open_for_user("test", "u1") == []


@pytest.mark.parametrize(
    ("said", "word"), [("服务器2027年3月1日到期", "服务器"), ("域名 2027-03-01 到期", "域名")]
)
def test_an_expiry_the_user_reports_is_confirmed_naming_what_expires(
    intake: ReminderIntake, said: str, word: str
) -> None:
    text = text_of(say(intake, said, NOW))
    assert f"{word} {show_day(date(2027, 3, 1))} 到期" in text
