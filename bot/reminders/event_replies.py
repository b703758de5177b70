"""Replies to reported events: parse the time, record the event, word the reply from its plan."""

from __future__ import annotations

from datetime import date, datetime

from bot.dates import tense_of
from bot.messages import Choice, Outgoing
from bot.reminders import planner
from bot.reminders.approval_replies import approved_reply
from bot.reminders.asked_replies import asked_reply
from bot.reminders.clocks import Clocks, reply
from bot.reminders.events import Detected, EventKind
from bot.reminders.models import (
    Changed,
    ChangeWhat,
    Event,
    Expiry,
    ExpiryWhat,
    FirstReviewPassed,
    OrderReturned,
    Owner,
    PoliceApproved,
    ReminderKind,
    SiteLive,
    SmsReceived,
    SmsVerified,
    Submitted,
    local_day,
    show_time,
)
from bot.reminders.planner import Plan
from bot.reminders.texts import fill, payload_fields, reminder_body
from bot.reminders.timeparse import Direction, Need, TimeQuestion, parse_when
from bot.workdays import APPROXIMATE_NOTE

_SCHEDULE_SHOWN = 5


def on_event(clocks: Clocks, owner: Owner, det: Detected, now: datetime) -> list[Outgoing]:
    """Turn a detected event into a recorded one (asking when its time is unclear)."""
    kind = det.kind
    if kind is EventKind.APPROVED:
        return approved_reply(clocks, owner, det.number, det.text, now, None)
    if kind is EventKind.SMS_VERIFIED:
        return event_reply(clocks, owner, SmsVerified(at=now), now)
    if kind is EventKind.CHANGED:
        return _change_event(clocks, owner, det, now)
    if kind is EventKind.EXPIRY:
        return _expiry_event(clocks, owner, det, now)
    if kind is EventKind.REMIND_ME:
        return asked_reply(clocks, owner, det.text, now) or []
    need = Need.MOMENT if kind is EventKind.SMS_RECEIVED else Need.DAY
    direction = Direction.ANY if kind is EventKind.SITE_LIVE else Direction.PAST
    when = parse_when(det.text, now, need=need, direction=direction)
    if isinstance(when, TimeQuestion):
        return [_question(clocks, owner, when, kind.value)]
    at = now if when is None else when.at
    day = local_day(at)
    event: Event
    match kind:
        case EventKind.SMS_RECEIVED:
            event = SmsReceived(at=at)
        case EventKind.SUBMITTED:
            event = Submitted(at=at)
        case EventKind.FIRST_REVIEW_PASSED:
            event = FirstReviewPassed(at=at)
        case EventKind.SITE_LIVE:
            event = SiteLive(day=day)
        case EventKind.POLICE_APPROVED:
            event = PoliceApproved(day=day)
        case _:
            event = OrderReturned(at=at)
    return event_reply(clocks, owner, event, now)


def event_reply(clocks: Clocks, owner: Owner, event: Event, now: datetime) -> list[Outgoing]:
    """Record an event and word the reply from its plan."""
    replies = clocks.texts.replies
    if isinstance(event, SmsReceived):
        return _sms(clocks, owner, event, now)
    plan = clocks.record(owner, event, now)
    fields = payload_fields(clocks.texts, None, plan.facts, now)
    templates: dict[type, str] = {
        SmsVerified: replies.sms_verified,
        Submitted: replies.submitted,
        FirstReviewPassed: replies.first_review_passed,
        SiteLive: replies.site_live,
        PoliceApproved: replies.police_approved,
        OrderReturned: replies.order_returned,
    }
    template = templates[type(event)]
    if plan.missed_steps == ["due"]:  # a waiting clock reported after its deadline
        kind = (
            ReminderKind.FIRST_REVIEW_WAIT
            if isinstance(event, Submitted)
            else ReminderKind.BUREAU_WAIT
        )
        body = reminder_body(clocks.texts, kind, "due", plan.facts, now)
        return [reply(owner, f"{replies.wait_overdue}\n{body}")]
    parts = [fill(template, fields)]
    if plan.series is not None:
        parts.append(_schedule_line(clocks, plan))
    return [reply(owner, "\n".join(p for p in parts if p))]


def changed_reply(clocks: Clocks, owner: Owner, event: Changed, now: datetime) -> list[Outgoing]:
    """Record a change on a known day and say what it means for the filing."""
    replies = clocks.texts.replies
    if event.what is ChangeWhat.IP:
        return [reply(owner, replies.change_ip)]
    plan = clocks.record(owner, event, now)
    fields = payload_fields(clocks.texts, ReminderKind.CHANGE_HAPPENED, plan.facts, now)
    if event.day > local_day(now):
        template = (
            replies.change_too_late if plan.facts.get("too_late") else replies.change_planned
        )
    elif plan.reminders:
        template = replies.change_happened
    else:
        template = replies.change_overdue
    text = fill(template, fields) + "\n" + _schedule_line(clocks, plan)
    return [reply(owner, text)]


def _sms(clocks: Clocks, owner: Owner, event: SmsReceived, now: datetime) -> list[Outgoing]:
    replies = clocks.texts.replies
    open_series = {r.series for r in clocks.store.open_for_user(owner.chat.channel, owner.user_id)}
    plan = clocks.record(owner, event, now)
    if planner.BUREAU not in open_series:
        # The SMS means the order reached the bureau: keep the 20-working-day clock too.
        clocks.record(owner, FirstReviewPassed(at=event.at), now)
    fields = payload_fields(clocks.texts, ReminderKind.SMS_WINDOW, plan.facts, now)
    done = Choice(label=clocks.texts.clocks[ReminderKind.SMS_WINDOW].done_label, value="/sms done")
    if "expired" in plan.missed_steps:
        body = reminder_body(clocks.texts, ReminderKind.SMS_WINDOW, "expired", plan.facts, now)
        text = fill(replies.sms_expired_already, fields) + "\n" + body
        return [reply(owner, text, [done])]
    text = fill(replies.sms_started, fields) + "\n" + _schedule_line(clocks, plan)
    return [reply(owner, text, [done])]


def _change_event(clocks: Clocks, owner: Owner, det: Detected, now: datetime) -> list[Outgoing]:
    what = det.change or ChangeWhat.SUBJECT
    when = parse_when(det.text, now, need=Need.DAY, tense=tense_of(det.text))
    if isinstance(when, TimeQuestion):
        return [_question(clocks, owner, when, "changed")]
    if when is None:
        fields = {"what": clocks.texts.what[what], "example": clocks.texts.examples["changed"]}
        return [reply(owner, fill(clocks.texts.replies.change_need_date, fields))]
    return changed_reply(clocks, owner, Changed(what=what, day=when.day), now)


def _expiry_event(clocks: Clocks, owner: Owner, det: Detected, now: datetime) -> list[Outgoing]:
    replies = clocks.texts.replies
    what = det.expiry
    example = clocks.texts.examples["expiry"]
    if what is None:
        fields = {"what": "服务器或域名", "example": example}
        return [reply(owner, fill(replies.expiry_need_date, fields))]
    label = clocks.texts.expiry_what[what]
    when = parse_when(det.text, now, need=Need.DAY, tense=tense_of(det.text))
    if isinstance(when, TimeQuestion):
        return [_question(clocks, owner, when, "expiry")]
    bought: date | None = None
    if det.purchase_months is not None and what is ExpiryWhat.SERVER:
        bought = local_day(now) if when is None else when.day
        day = planner.add_months(bought, det.purchase_months)
    elif when is None or (det.purchase_months is None and "买" in det.text):
        return [reply(owner, fill(replies.expiry_need_date, {"what": label, "example": example}))]
    else:
        day = when.day
    plan = clocks.record(owner, Expiry(what=what, day=day), now)
    kind = ReminderKind.SERVER_EXPIRY if what is ExpiryWhat.SERVER else ReminderKind.DOMAIN_EXPIRY
    fields = payload_fields(clocks.texts, kind, plan.facts, now)
    if plan.facts.get("expired"):
        parts = [fill(replies.expiry_passed, fields)]
    elif not plan.reminders:
        parts = [fill(replies.expiry_soon, fields)]
    else:
        parts = [fill(replies.expiry, fields), _schedule_line(clocks, plan)]
    if bought is not None and det.purchase_months is not None:
        note = {
            "bought_day": f"{bought.year}年{bought.month}月{bought.day}日",
            "months": str(det.purchase_months),
            "expiry_day": fields.get("expiry_day", ""),
        }
        parts.append(fill(replies.expiry_purchase_note, note))
    return [reply(owner, "\n".join(parts))]


def _schedule_line(clocks: Clocks, plan: Plan) -> str:
    replies = clocks.texts.replies
    if not plan.reminders:
        return replies.schedule_none
    times = [show_time(clocks.effective_due(r.due_at, r.urgent)) for r in plan.reminders]
    shown = "、".join(times[:_SCHEDULE_SHOWN]) + ("……" if len(times) > _SCHEDULE_SHOWN else "")
    line = fill(replies.schedule, {"times": shown})
    for year in plan.approximate_years:
        line += "\n" + APPROXIMATE_NOTE.format(year=year)
    return line


def _question(clocks: Clocks, owner: Owner, question: TimeQuestion, example_key: str) -> Outgoing:
    template = clocks.texts.questions[question.problem]
    fields = {"phrase": question.phrase, "example": clocks.texts.examples[example_key]}
    return reply(owner, fill(template, fields))
