"""Pure planning: an event + now -> the reminders of its clock, with due times and text fields.

No I/O and no clock of its own: the same event and `now` always give the same plan, so every
due time is tested directly. Steps already in the past are left out (an event reported late);
the caller tells the user about those in its reply.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path

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
    Payload,
    PlannedReminder,
    PoliceApproved,
    QuietHours,
    ReminderAsked,
    ReminderKind,
    SiteLive,
    SmsReceived,
    SmsVerified,
    Submitted,
    at_local,
    local_day,
    to_unix,
)
from bot.workdays import add_workdays

K = ReminderKind

# Every step of every clock: the texts file must have one text per step (checked at load).
STEPS: dict[ReminderKind, tuple[str, ...]] = {
    K.SMS_WINDOW: ("h12", "h20", "h23", "expired"),
    K.FIRST_REVIEW_WAIT: ("due",),
    K.BUREAU_WAIT: ("due",),
    K.CHANGE_PLANNED: ("d14", "d7", "d1", "d0", "asap", "eve"),
    K.CHANGE_HAPPENED: ("d7", "d20", "d27", "d29", "o31", "o38", "o45"),
    K.POLICE_FILING: ("d7", "d20", "d27", "d29", "o31"),
    K.POLICE_DISPLAY: ("d7", "d20", "d27", "d29"),
    K.IDLE_ORDER: ("d7", "d30", "d40", "d44"),
    K.SELF_CHECK: ("quarter",),
    K.SERVER_EXPIRY: ("d30", "d7"),
    K.DOMAIN_EXPIRY: ("d30", "d7"),
    K.PERSONAL: ("at", "at_en"),
}

# The clocks (series) a user can have; a new event replaces the user's open clock of its name.
SMS = "sms"
FIRST_REVIEW = "first_review"
BUREAU = "bureau"
POLICE_FILING = "police_filing"
POLICE_DISPLAY = "police_display"
IDLE_ORDER = "idle_order"
SELF_CHECK = "self_check"

SMS_WINDOW = timedelta(hours=24)  # facts 11
SMS_STEPS = ((12, "h12"), (20, "h20"), (23, "h23"))
# Held by quiet hours, a window reminder must still leave this much of the window.
SMS_MIN_LEFT = timedelta(hours=3)
FIRST_REVIEW_WORKDAYS = 3  # the article's 1-3 working days; facts 16
BUREAU_WORKDAYS = 20  # 33号令; Zhejiang up to 30 (facts 17)
CHANGE_AHEAD_DAYS = 30  # the regulation: file 30 days before the change (facts 67)
PLANNED_STEPS = ((14, "d14"), (7, "d7"), (1, "d1"), (0, "d0"))  # days before that deadline
HAPPENED_STEPS: Steps = ((7, "d7"), (20, "d20"), (27, "d27"), (29, "d29"))
OVERDUE_STEPS: Steps = ((31, "o31"), (38, "o38"), (45, "o45"))
POLICE_STEPS: Steps = ((7, "d7"), (20, "d20"), (27, "d27"), (29, "d29"))  # facts 54, 56
IDLE_STEPS = ((7, "d7"), (30, "d30"), (40, "d40"), (44, "d44"))  # Aliyun: 45 days (facts 69)
EXPIRY_STEPS = ((30, "d30"), (7, "d7"))
Steps = tuple[tuple[int, str], ...]
SELF_CHECK_MONTHS = 3  # good practice, not a rule (facts 70)


def change_series(what: ChangeWhat) -> str:
    """The clock name of one kind of change."""
    return f"change:{what.value}"


def expiry_series(what: ExpiryWhat) -> str:
    """The clock name of one expiry date."""
    return f"expiry:{what.value}"


@dataclass(frozen=True)
class Plan:
    """What an event does to the user's clocks."""

    # The clock the new reminders belong to; it replaces the user's open clock of that name.
    series: str | None = None
    reminders: list[PlannedReminder] = field(default_factory=list)
    # Clocks the event ends (marked done): an approval ends the waiting clocks.
    closes: list[str] = field(default_factory=list)
    # Years whose holidays were only guessed (weekends only) for a working-day count.
    approximate_years: list[int] = field(default_factory=list)
    # Values for the reply text (deadline, what, ...), same conventions as payloads.
    facts: Payload = field(default_factory=dict)
    # Steps already due when reported: the reply says them at once instead.
    missed_steps: list[str] = field(default_factory=list)


def plan(
    event: Event,
    now: datetime,
    *,
    quiet: QuietHours = QUIET_HOURS,
    holidays: Path | None = None,
) -> Plan:
    """The reminders an event sets up (never in the past) and the clocks it ends."""
    match event:
        case SmsReceived():
            return _sms(event, now, quiet)
        case SmsVerified():
            return Plan(closes=[SMS])
        case Submitted():
            return _workday_wait(
                K.FIRST_REVIEW_WAIT, FIRST_REVIEW, event.at, FIRST_REVIEW_WORKDAYS, now, holidays
            )
        case FirstReviewPassed():
            result = _workday_wait(K.BUREAU_WAIT, BUREAU, event.at, BUREAU_WORKDAYS, now, holidays)
            return _with_closes(result, [FIRST_REVIEW])
        case Approved():
            return _approved(event, now)
        case Changed():
            return _changed(event, now)
        case SiteLive():
            payload: Payload = {"live_day": event.day.isoformat()}
            payload["deadline_day"] = (event.day + timedelta(days=30)).isoformat()
            steps = (*POLICE_STEPS, (31, "o31"))
            return _day_clock(K.POLICE_FILING, POLICE_FILING, event.day, steps, now, payload)
        case PoliceApproved():
            payload = {"approved_day": event.day.isoformat()}
            payload["deadline_day"] = (event.day + timedelta(days=30)).isoformat()
            result = _day_clock(
                K.POLICE_DISPLAY, POLICE_DISPLAY, event.day, POLICE_STEPS, now, payload
            )
            return _with_closes(result, [POLICE_FILING])
        case Expiry():
            return _expiry(event, now)
        case OrderReturned():
            day = local_day(event.at)
            payload = {"since_day": day.isoformat()}
            payload["deadline_day"] = (day + timedelta(days=45)).isoformat()
            result = _day_clock(K.IDLE_ORDER, IDLE_ORDER, day, IDLE_STEPS, now, payload)
            return _with_closes(result, [SMS, FIRST_REVIEW, BUREAU])
        case ReminderAsked():
            return _asked(event, now)
    raise TypeError(f"not an event: {type(event).__name__}")  # pragma: no cover


def follow_up(kind: ReminderKind, payload: Payload, due_at: datetime) -> PlannedReminder | None:
    """The next occurrence of a recurring reminder once this one is sent (self-check only)."""
    if kind is not K.SELF_CHECK:
        return None
    count = int(payload.get("n", 1)) + 1
    due = at_local(add_months(local_day(due_at), SELF_CHECK_MONTHS))
    return PlannedReminder(kind=kind, step="quarter", due_at=due, payload={**payload, "n": count})


def add_months(day: date, months: int) -> date:
    """The same day `months` later, clamped to the month's end (Nov 30 + 3 -> Feb 28)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


# ---- one function per clock ---------------------------------------------------------------


def _sms(event: SmsReceived, now: datetime, quiet: QuietHours) -> Plan:
    deadline = event.at + SMS_WINDOW
    payload: Payload = {"received_at": to_unix(event.at), "deadline_at": to_unix(deadline)}
    reminders, missed = [], []
    for hours, step in SMS_STEPS:
        due = event.at + timedelta(hours=hours)
        if due <= now:
            missed.append(step)
            continue
        # Holding it until morning must not eat the window: then it goes out at night too.
        urgent = step == "h23" or quiet.release(due) > deadline - SMS_MIN_LEFT
        reminders.append(PlannedReminder(kind=K.SMS_WINDOW, step=step, due_at=due, urgent=urgent))
    if deadline > now:
        reminders.append(PlannedReminder(kind=K.SMS_WINDOW, step="expired", due_at=deadline))
    else:
        missed.append("expired")
    reminders = [r.model_copy(update={"payload": payload}) for r in reminders]
    return Plan(
        series=SMS,
        reminders=reminders,
        closes=[FIRST_REVIEW],
        facts=payload,
        missed_steps=missed,
    )


def _workday_wait(
    kind: ReminderKind,
    series: str,
    since: datetime,
    workdays: int,
    now: datetime,
    holidays: Path | None,
) -> Plan:
    start = local_day(since)
    reached = add_workdays(start, workdays, holidays)
    payload: Payload = {
        "since_day": start.isoformat(),
        "deadline_day": reached.day.isoformat(),
        "approximate": int(reached.approximate),
    }
    due = at_local(reached.day)
    years = [reached.day.year] if reached.approximate else []
    if due <= now:
        return Plan(series=series, approximate_years=years, facts=payload, missed_steps=["due"])
    reminder = PlannedReminder(kind=kind, step="due", due_at=due, payload=payload)
    return Plan(series=series, reminders=[reminder], approximate_years=years, facts=payload)


def _approved(event: Approved, now: datetime) -> Plan:
    day = local_day(event.at)
    payload: Payload = {"number": event.number, "approved_day": day.isoformat(), "n": 1}
    due = at_local(add_months(day, SELF_CHECK_MONTHS))
    while due <= now:  # approval reported long after the fact: the next quarter to come
        due = at_local(add_months(local_day(due), SELF_CHECK_MONTHS))
    reminder = PlannedReminder(kind=K.SELF_CHECK, step="quarter", due_at=due, payload=payload)
    return Plan(
        series=SELF_CHECK,
        reminders=[reminder],
        closes=[SMS, FIRST_REVIEW, BUREAU, IDLE_ORDER],
        facts=payload,
    )


def _changed(event: Changed, now: datetime) -> Plan:
    today = local_day(now)
    series = change_series(event.what)
    payload: Payload = {"what": event.what.value, "change_day": event.day.isoformat()}
    if event.what is ChangeWhat.IP:
        # Same provider: no refiling (facts 47); the reply explains, no clock is kept.
        return Plan(facts=payload)
    if event.day <= today:
        payload["deadline_day"] = (event.day + timedelta(days=30)).isoformat()
        return _day_clock(
            K.CHANGE_HAPPENED, series, event.day, HAPPENED_STEPS + OVERDUE_STEPS, now, payload
        )
    file_by = event.day - timedelta(days=CHANGE_AHEAD_DAYS)
    payload["deadline_day"] = file_by.isoformat()
    if file_by > today:
        ahead = tuple((-before, step) for before, step in PLANNED_STEPS)
        return _day_clock(K.CHANGE_PLANNED, series, file_by, ahead, now, payload)
    # Fewer than 30 days left: already too late for the regulation; file now, and a reminder
    # in three days and on the eve of the change.
    payload["too_late"] = 1
    reminders = [
        PlannedReminder(
            kind=K.CHANGE_PLANNED,
            step="asap",
            due_at=at_local(today + timedelta(days=3)),
            payload=payload,
        )
    ]
    eve = at_local(event.day - timedelta(days=1))
    if eve > reminders[0].due_at:
        reminders.append(
            PlannedReminder(kind=K.CHANGE_PLANNED, step="eve", due_at=eve, payload=payload)
        )
    return Plan(series=series, reminders=reminders, facts=payload)


def _expiry(event: Expiry, now: datetime) -> Plan:
    kind = K.SERVER_EXPIRY if event.what is ExpiryWhat.SERVER else K.DOMAIN_EXPIRY
    payload: Payload = {"what": event.what.value, "expiry_day": event.day.isoformat()}
    if event.day <= local_day(now):
        payload["expired"] = 1
    before = tuple((-days, step) for days, step in EXPIRY_STEPS)
    return _day_clock(kind, expiry_series(event.what), event.day, before, now, payload)


def _day_clock(
    kind: ReminderKind,
    series: str,
    start: date,
    steps: Steps,
    now: datetime,
    payload: Payload,
) -> Plan:
    """Reminders at 10:00 Shanghai time `days` after `start` (negative: before)."""
    reminders, missed = [], []
    for days, step in steps:
        due = at_local(start + timedelta(days=days))
        if due <= now:
            missed.append(step)
        else:
            reminders.append(PlannedReminder(kind=kind, step=step, due_at=due, payload=payload))
    return Plan(series=series, reminders=reminders, facts=payload, missed_steps=missed)


def _asked(event: ReminderAsked, now: datetime) -> Plan:
    # Each request is its own clock: a second reminder must not replace the first.
    series = f"personal:{to_unix(now)}:{to_unix(event.due)}"
    payload: Payload = {"task": event.task, "due_at": to_unix(event.due), "set_at": to_unix(now)}
    # The user chose the hour: it is kept even inside quiet hours.
    step = "at_en" if event.english else "at"
    reminder = PlannedReminder(
        kind=K.PERSONAL, step=step, due_at=event.due, urgent=True, payload=payload
    )
    return Plan(series=series, reminders=[reminder], facts=payload)


def _with_closes(result: Plan, closes: list[str]) -> Plan:
    return replace(result, closes=[*result.closes, *closes])
