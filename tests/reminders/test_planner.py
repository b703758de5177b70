"""The planner: every clock's due times, past steps left out, urgency, and the year boundary."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from bot.reminders.models import (
    Approved,
    Changed,
    ChangeWhat,
    Event,
    Expiry,
    ExpiryWhat,
    FirstReviewPassed,
    OrderReturned,
    PoliceApproved,
    ReminderAsked,
    ReminderKind,
    SiteLive,
    SmsReceived,
    SmsVerified,
    Submitted,
    local_day,
)
from bot.reminders.planner import STEPS, add_months, follow_up, plan
from tests.reminders.conftest import shanghai

NOW = shanghai(2026, 11, 25, 10, 0)


def local(moment: datetime) -> datetime:
    return moment.astimezone(shanghai(2026, 1, 1).tzinfo)


def test_sms_window_reminds_at_12_20_23_hours_and_at_the_close() -> None:
    received = shanghai(2026, 11, 25, 9, 0)
    result = plan(SmsReceived(at=received), NOW)
    due = {r.step: local(r.due_at) for r in result.reminders}
    assert due == {
        "h12": shanghai(2026, 11, 25, 21, 0),
        "h20": shanghai(2026, 11, 26, 5, 0),
        "h23": shanghai(2026, 11, 26, 8, 0),
        "expired": shanghai(2026, 11, 26, 9, 0),
    }
    urgent = {r.step for r in result.reminders if r.urgent}
    # h20 falls at 05:00: held until 08:00 it would leave one hour, so it goes out at night.
    assert urgent == {"h20", "h23"}
    assert result.series == "sms" and "first_review" in result.closes


def test_sms_reminder_held_by_quiet_hours_only_if_the_window_allows() -> None:
    # Received 14:00: h12 at 02:00 can wait until 08:00 (6 hours still left) -> not urgent.
    result = plan(SmsReceived(at=shanghai(2026, 11, 25, 14, 0)), NOW)
    h12 = next(r for r in result.reminders if r.step == "h12")
    assert local(h12.due_at) == shanghai(2026, 11, 26, 2, 0) and not h12.urgent


def test_sms_reported_late_leaves_out_the_past_steps() -> None:
    result = plan(SmsReceived(at=shanghai(2026, 11, 24, 20, 0)), NOW)  # 14 hours ago
    assert [r.step for r in result.reminders] == ["h20", "h23", "expired"]
    assert result.missed_steps == ["h12"]
    expired = plan(SmsReceived(at=shanghai(2026, 11, 24, 9, 0)), NOW)
    assert expired.reminders == [] and "expired" in expired.missed_steps


def test_sms_verified_ends_the_window() -> None:
    result = plan(SmsVerified(at=NOW), NOW)
    assert result.closes == ["sms"] and result.reminders == []


def test_first_review_wait_is_three_working_days(tmp_path: Path) -> None:
    # Friday 2026-09-25 + 3 working days: Mon 28, Tue 29, Wed 30 (the National Day break
    # starts Oct 1).
    result = plan(Submitted(at=shanghai(2026, 9, 25, 16, 0)), shanghai(2026, 9, 25, 16, 0))
    (reminder,) = result.reminders
    assert local(reminder.due_at) == shanghai(2026, 9, 30, 10, 0)
    assert reminder.kind is ReminderKind.FIRST_REVIEW_WAIT


def test_bureau_wait_skips_the_national_day_holiday() -> None:
    at = shanghai(2026, 9, 28, 10, 0)
    (reminder,) = plan(FirstReviewPassed(at=at), at).reminders
    # 20 working days with 2026-10-01..07 off and the adjusted working weekends counted.
    assert local(reminder.due_at).date() > date(2026, 10, 24)
    assert reminder.payload["approximate"] == 0
    assert "first_review" in plan(FirstReviewPassed(at=at), at).closes


def test_waiting_clock_past_its_deadline_has_no_reminder_but_says_so() -> None:
    result = plan(Submitted(at=shanghai(2026, 11, 1, 10, 0)), NOW)
    assert result.reminders == [] and result.missed_steps == ["due"]


def test_change_already_made_counts_7_20_27_29_days_then_overdue() -> None:
    result = plan(Changed(what=ChangeWhat.DOMAIN, day=date(2026, 11, 24)), NOW)
    days = {r.step: (local_day(r.due_at) - date(2026, 11, 24)).days for r in result.reminders}
    assert days == {"d7": 7, "d20": 20, "d27": 27, "d29": 29, "o31": 31, "o38": 38, "o45": 45}
    assert all(r.kind is ReminderKind.CHANGE_HAPPENED for r in result.reminders)
    assert result.facts["deadline_day"] == "2026-12-24"


def test_planned_change_counts_down_to_30_days_before_it() -> None:
    result = plan(Changed(what=ChangeWhat.SUBJECT, day=date(2027, 3, 1)), NOW)
    file_by = date(2027, 3, 1) - timedelta(days=30)
    days = {r.step: (file_by - local_day(r.due_at)).days for r in result.reminders}
    assert days == {"d14": 14, "d7": 7, "d1": 1, "d0": 0}
    assert result.facts["deadline_day"] == file_by.isoformat()


def test_planned_change_less_than_30_days_ahead_says_file_now() -> None:
    result = plan(Changed(what=ChangeWhat.SITE_NAME, day=date(2026, 12, 10)), NOW)
    assert [r.step for r in result.reminders] == ["asap", "eve"]
    assert result.facts["too_late"] == 1


def test_ip_change_keeps_no_clock() -> None:
    result = plan(Changed(what=ChangeWhat.IP, day=date(2026, 11, 24)), NOW)
    assert result.series is None and result.reminders == []


def test_police_clocks_start_at_go_live_and_at_police_approval() -> None:
    live = plan(SiteLive(day=date(2026, 11, 25)), NOW)
    assert [(local_day(r.due_at) - date(2026, 11, 25)).days for r in live.reminders] == [
        7,
        20,
        27,
        29,
        31,
    ]
    approved = plan(PoliceApproved(day=date(2026, 11, 25)), NOW)
    assert [r.kind for r in approved.reminders] == [ReminderKind.POLICE_DISPLAY] * 4
    assert "police_filing" in approved.closes


def test_idle_order_counts_to_45_days() -> None:
    result = plan(OrderReturned(at=NOW), NOW)
    days = [(local_day(r.due_at) - local_day(NOW)).days for r in result.reminders]
    assert days == [7, 30, 40, 44]
    assert result.facts["deadline_day"] == "2027-01-09"


def test_expiry_reminds_30_and_7_days_before() -> None:
    result = plan(Expiry(what=ExpiryWhat.DOMAIN, day=date(2027, 3, 1)), NOW)
    assert [local_day(r.due_at) for r in result.reminders] == [
        date(2027, 1, 30),
        date(2027, 2, 22),
    ]
    assert result.series == "expiry:domain"
    gone = plan(Expiry(what=ExpiryWhat.SERVER, day=date(2026, 11, 1)), NOW)
    assert gone.reminders == [] and gone.facts["expired"] == 1


def test_approval_starts_a_quarterly_self_check_that_repeats() -> None:
    result = plan(Approved(at=NOW, number="粤ICP备2026012345号-1"), NOW)
    (first,) = result.reminders
    assert local_day(first.due_at) == date(2027, 2, 25)
    assert {"sms", "first_review", "bureau", "idle_order"} <= set(result.closes)
    second = follow_up(first.kind, first.payload, first.due_at)
    assert second is not None and local_day(second.due_at) == date(2027, 5, 25)
    assert second.payload["n"] == 2
    assert follow_up(ReminderKind.SMS_WINDOW, {}, NOW) is None


def test_add_months_clamps_to_the_end_of_the_month() -> None:
    assert add_months(date(2026, 11, 30), 3) == date(2027, 2, 28)
    assert add_months(date(2026, 12, 15), 1) == date(2027, 1, 15)


def test_a_timeline_across_the_year_boundary_past_the_holiday_data_is_estimated(
    tmp_path: Path,
) -> None:
    # chinese-calendar has no 2027 data: working days past 2026 are counted weekends-only.
    at = shanghai(2026, 12, 30, 10, 0)
    first = plan(Submitted(at=at), at, holidays=tmp_path)
    bureau = plan(FirstReviewPassed(at=at), at, holidays=tmp_path)
    assert first.approximate_years == [2027] and bureau.approximate_years == [2027]
    assert bureau.reminders[0].payload["approximate"] == 1
    assert local_day(first.reminders[0].due_at) == date(2027, 1, 4)  # Thu 31, Fri 1, Mon 4


def test_every_step_of_every_kind_is_reachable() -> None:
    """Each step in STEPS is produced by some event (so every text is used)."""
    produced: set[tuple[ReminderKind, str]] = set()
    now = shanghai(2026, 11, 25, 10, 0)
    events: list[Event] = [
        SmsReceived(at=now),
        Submitted(at=now),
        FirstReviewPassed(at=now),
        Approved(at=now, number="京ICP备16020626号-8"),
        Changed(what=ChangeWhat.DOMAIN, day=date(2026, 11, 24)),
        Changed(what=ChangeWhat.DOMAIN, day=date(2027, 6, 1)),
        Changed(what=ChangeWhat.DOMAIN, day=date(2026, 12, 10)),
        SiteLive(day=date(2026, 11, 25)),
        PoliceApproved(day=date(2026, 11, 25)),
        OrderReturned(at=now),
        Expiry(what=ExpiryWhat.SERVER, day=date(2027, 6, 1)),
        Expiry(what=ExpiryWhat.DOMAIN, day=date(2027, 6, 1)),
        ReminderAsked(due=now + timedelta(days=1), task="做人脸核验"),
        ReminderAsked(due=now + timedelta(days=1), task="check the SMS", english=True),
    ]
    for event in events:
        produced |= {(r.kind, r.step) for r in plan(event, now).reminders}
    expected = {(kind, step) for kind, steps in STEPS.items() for step in steps}
    assert produced == expected


@pytest.mark.parametrize("zone", ["Asia/Shanghai", "UTC", "America/Los_Angeles"])
def test_plans_do_not_depend_on_the_process_time_zone(
    zone: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    monkeypatch.setenv("TZ", zone)
    time.tzset()
    try:
        result = plan(Changed(what=ChangeWhat.DOMAIN, day=date(2026, 11, 24)), NOW)
        assert result.reminders[0].due_at == datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
    finally:
        monkeypatch.undo()
        time.tzset()
