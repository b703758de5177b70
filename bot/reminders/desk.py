"""ReminderDesk: the one object the engine calls for events and reminder commands.

Synchronous, like the rest of the core. The engine:

* calls `desk.handle(msg, text, now)` for every message that is not a command (before the FAQ);
  `None` means "not an event", go on. It also resumes reminders paused because the chat had
  blocked the bot (the user is back).
* merges `desk.commands()` into its command table: name -> `handler(msg, args, now)`.
  Commands: /reminders, /remind done|cancel|snooze ID [30m|1h|1d], /sms [时间|done],
  /submitted [时间], /passed [时间], /approved 备案号 [省份], /change 类型 日期, /live [日期],
  /police_ok [日期], /expiry 服务器|域名 日期, /returned [时间].
* the filing dialogue, when its change form finishes, calls
  `desk.schedule_change(owner, what_from_form(change_type), day, now)` (skip it when that is
  None); with a number and the bureau's province it
  knows, `desk.record_approval(owner, number, now, bureau_province="广东")`. Both return the
  replies to send. `Owner.of(msg)` builds the owner from the message.

Nothing raises out of these methods: bad input gets a zh-CN reply with a valid example.
"""

from __future__ import annotations

import logging
import re
import traceback
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlite_utils import Database

from bot.messages import Choice, Incoming, Outgoing
from bot.reminders import planner
from bot.reminders.events import (
    Detected,
    EventKind,
    NumberCheck,
    check_number,
    detect,
    duration_months,
    expiry_what_in,
    find_number,
    normalize,
    province_named_in,
    what_named,
)
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
    QuietHours,
    ReminderKind,
    ReminderRow,
    SiteLive,
    SmsReceived,
    SmsVerified,
    Submitted,
    local_day,
    show_time,
)
from bot.reminders.planner import Plan
from bot.reminders.records import from_stored, to_new
from bot.reminders.texts import (
    ReminderTexts,
    clock_label,
    fill,
    load_reminder_texts,
    payload_fields,
    reminder_body,
)
from bot.reminders.timeparse import Direction, Need, ParsedTime, TimeQuestion, parse_when
from bot.storage.reminders import ReminderStore
from bot.workdays import APPROXIMATE_NOTE

logger = logging.getLogger(__name__)

CommandHandler = Callable[[Incoming, str, datetime], list[Outgoing]]

_SNOOZE_RE = re.compile(r"^(\d{1,3})\s*(m|min|分钟|分|h|小时|d|天)?$", re.IGNORECASE)
_MAX_SNOOZE = timedelta(days=30)
# A snoozed SMS-window reminder must still leave time to act before the window closes.
_SMS_SNOOZE_MARGIN = timedelta(minutes=15)
_DONE_WORDS = {"done", "ok", "完成", "已完成", "好了", "核验完成", "已核验"}
_SCHEDULE_SHOWN = 5
_CLOSED = {"done", "cancelled", "failed"}


class ReminderDesk:
    """Turns reported events into durable reminders and answers the reminder commands."""

    def __init__(
        self,
        db: Database,
        *,
        texts: ReminderTexts | None = None,
        quiet: QuietHours = QUIET_HOURS,
        holidays: Path | None = None,
    ) -> None:
        self.store = ReminderStore(db)
        self.texts = texts or load_reminder_texts()
        self.quiet = quiet
        self.holidays = holidays

    # ---- the engine's entry points -----------------------------------------------------

    def handle(self, msg: Incoming, text: str, now: datetime) -> list[Outgoing] | None:
        """Replies if `text` reports an event; None to let the engine go on to the FAQ."""
        owner = Owner.of(msg)
        try:
            self.store.resume_chat(msg.chat.channel, msg.chat.chat_id)
            detected = detect(text)
            if detected is None:
                return None
            return self._on_event(owner, detected, now)
        except Exception as exc:
            return self._failed(owner, exc, "sms_received")

    def commands(self) -> dict[str, CommandHandler]:
        """Command name (without /) -> handler(msg, args, now)."""
        return {
            "reminders": self._guard(self.cmd_reminders, "sms_received"),
            "remind": self._guard(self.cmd_remind, "sms_received"),
            "sms": self._guard(self.cmd_sms, "sms_received"),
            "submitted": self._guard(self._event_command(EventKind.SUBMITTED), "submitted"),
            "passed": self._guard(
                self._event_command(EventKind.FIRST_REVIEW_PASSED), "first_review_passed"
            ),
            "approved": self._guard(self._event_command(EventKind.APPROVED), "approved"),
            "change": self._guard(self.cmd_change, "changed"),
            "live": self._guard(self._event_command(EventKind.SITE_LIVE), "site_live"),
            "police_ok": self._guard(
                self._event_command(EventKind.POLICE_APPROVED), "police_approved"
            ),
            "expiry": self._guard(self.cmd_expiry, "expiry"),
            "returned": self._guard(
                self._event_command(EventKind.ORDER_RETURNED), "order_returned"
            ),
        }

    def schedule_change(
        self, owner: Owner, what: ChangeWhat, day: date, now: datetime
    ) -> list[Outgoing]:
        """For the filing dialogue: a change (planned or made) on `day` starts its clock."""
        try:
            return self._changed(owner, Changed(what=what, day=day), now)
        except Exception as exc:
            return self._failed(owner, exc, "changed")

    def record_approval(
        self, owner: Owner, number: str, now: datetime, *, bureau_province: str | None = None
    ) -> list[Outgoing]:
        """For the filing dialogue: check the number (and its province) and start the clocks."""
        try:
            return self._approved(owner, number, "", now, bureau_province)
        except Exception as exc:
            return self._failed(owner, exc, "approved")

    def record(self, owner: Owner, event: Event, now: datetime) -> Plan:
        """Store what an event does to the owner's clocks (atomically) and return the plan."""
        plan = planner.plan(event, now, quiet=self.quiet, holidays=self.holidays)
        series = plan.series
        rows = [to_new(owner, series, r) for r in plan.reminders] if series else []
        ids = self.store.schedule(
            rows,
            channel=owner.chat.channel,
            user_id=owner.user_id,
            replace=[series] if series else [],
            close=plan.closes,
            now=int(now.timestamp()),
        )
        logger.info("clock %s: %d reminders set", series or "-", len(ids))
        return plan

    # ---- commands ----------------------------------------------------------------------

    def cmd_reminders(self, msg: Incoming, args: str, now: datetime) -> list[Outgoing]:
        """/reminders: the user's clocks, each with its next due time."""
        owner = Owner.of(msg)
        replies = self.texts.replies
        chat_id = msg.chat.chat_id if owner.in_group else None
        rows = [
            from_stored(r)
            for r in self.store.open_for_user(msg.chat.channel, msg.user_id, chat_id)
        ]
        if not rows:
            return [self._reply(owner, replies.list_empty)]
        # One line per clock: its next reminder (rows come in due order) and how many follow.
        by_series: dict[str, list[ReminderRow]] = {}
        for row in rows:
            by_series.setdefault(row.series, []).append(row)
        lines = [replies.list_header]
        for series_rows in by_series.values():
            row, more = series_rows[0], len(series_rows) - 1
            fields = {
                "id": str(row.id),
                "label": clock_label(self.texts, row.kind, row.payload, now),
                "due": show_time(self._effective_due(row.due_at, row.urgent)),
                "more": fill(replies.list_more, {"count": str(more)}) if more else "",
                "paused": replies.list_paused if row.status == "paused" else "",
            }
            lines.append(fill(replies.list_line, fields))
        lines.append(replies.list_footer)
        return [self._reply(owner, "\n".join(lines))]

    def cmd_remind(self, msg: Incoming, args: str, now: datetime) -> list[Outgoing]:
        """/remind done|cancel|snooze ID [duration]: act on one reminder (and its clock)."""
        owner = Owner.of(msg)
        replies = self.texts.replies
        parts = normalize(args).split()
        if (
            len(parts) < 2
            or parts[0] not in ("done", "cancel", "snooze")
            or not parts[1].isdigit()
        ):
            return [self._reply(owner, replies.remind_usage)]
        action, reminder_id = parts[0], int(parts[1])
        stored = self.store.get(reminder_id)
        # A finished or replaced row cannot be acted on: that would close the newer clock.
        if stored is None or stored.channel != msg.chat.channel or stored.status in _CLOSED:
            return [self._reply(owner, fill(replies.remind_not_found, {"id": str(reminder_id)}))]
        if stored.user_id != msg.user_id:
            return [self._reply(owner, replies.remind_not_yours)]
        row = from_stored(stored)
        clock = self.texts.clocks[row.kind]
        label = clock_label(self.texts, row.kind, row.payload, now)
        if action == "done":
            # A self-check is done for this quarter only; the next one stays.
            if row.kind is not ReminderKind.SELF_CHECK:
                self.store.close_series(
                    row.owner.chat.channel, row.owner.user_id, row.series, "done"
                )
            return [self._reply(owner, clock.done_reply)]
        if action == "cancel":
            self.store.close_series(
                row.owner.chat.channel, row.owner.user_id, row.series, "cancelled"
            )
            return [self._reply(owner, fill(replies.remind_cancelled, {"label": label}))]
        return self._snooze(owner, row.id, row.due_at, row.payload, label, parts[2:], now)

    def cmd_sms(self, msg: Incoming, args: str, now: datetime) -> list[Outgoing]:
        """/sms [时间]: the SMS arrived (now unless a time is given); /sms done: verified."""
        owner = Owner.of(msg)
        if normalize(args).strip().lower() in _DONE_WORDS:
            return self._event(owner, SmsVerified(at=now), now)
        return self._on_event(owner, Detected(EventKind.SMS_RECEIVED, normalize(args)), now)

    def cmd_change(self, msg: Incoming, args: str, now: datetime) -> list[Outgoing]:
        """/change 类型 日期: a planned or made change."""
        owner = Owner.of(msg)
        what = what_named(args)
        if what is None:
            return [self._reply(owner, self.texts.replies.change_need_what)]
        return self._on_event(
            owner, Detected(EventKind.CHANGED, normalize(args), change=what), now
        )

    def cmd_expiry(self, msg: Incoming, args: str, now: datetime) -> list[Outgoing]:
        """/expiry 服务器|域名 日期."""
        owner = Owner.of(msg)
        text = normalize(args)
        detected = Detected(
            EventKind.EXPIRY,
            text,
            expiry=expiry_what_in(text),
            purchase_months=duration_months(text) if "买" in text else None,
        )
        return self._on_event(owner, detected, now)

    def _event_command(self, kind: EventKind) -> CommandHandler:
        def handler(msg: Incoming, args: str, now: datetime) -> list[Outgoing]:
            """The event `kind`, with a time (or number) taken from the arguments."""
            text = normalize(args)
            number = find_number(text) if kind is EventKind.APPROVED else None
            return self._on_event(Owner.of(msg), Detected(kind, text, number=number), now)

        return handler

    def _guard(self, handler: CommandHandler, example: str) -> CommandHandler:
        def guarded(msg: Incoming, args: str, now: datetime) -> list[Outgoing]:
            """The handler, with any failure turned into a reply."""
            try:
                return handler(msg, args, now)
            except Exception as exc:
                return self._failed(Owner.of(msg), exc, example)

        return guarded

    # ---- events ------------------------------------------------------------------------

    def _on_event(self, owner: Owner, det: Detected, now: datetime) -> list[Outgoing]:
        kind = det.kind
        if kind is EventKind.APPROVED:
            return self._approved(owner, det.number, det.text, now, None)
        if kind is EventKind.SMS_VERIFIED:
            return self._event(owner, SmsVerified(at=now), now)
        if kind is EventKind.CHANGED:
            return self._change_event(owner, det, now)
        if kind is EventKind.EXPIRY:
            return self._expiry_event(owner, det, now)
        need = Need.MOMENT if kind is EventKind.SMS_RECEIVED else Need.DAY
        direction = Direction.ANY if kind is EventKind.SITE_LIVE else Direction.PAST
        when = parse_when(det.text, now, need=need, direction=direction)
        if isinstance(when, TimeQuestion):
            return [self._question(owner, when, kind.value)]
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
        return self._event(owner, event, now)

    def _event(self, owner: Owner, event: Event, now: datetime) -> list[Outgoing]:
        """Record an event and word the reply from its plan."""
        replies = self.texts.replies
        if isinstance(event, SmsReceived):
            return self._sms(owner, event, now)
        plan = self.record(owner, event, now)
        fields = payload_fields(self.texts, None, plan.facts, now)
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
            body = reminder_body(self.texts, kind, "due", plan.facts, now)
            return [self._reply(owner, f"{replies.wait_overdue}\n{body}")]
        parts = [fill(template, fields)]
        if plan.series is not None:
            parts.append(self._schedule_line(plan))
        return [self._reply(owner, "\n".join(p for p in parts if p))]

    def _sms(self, owner: Owner, event: SmsReceived, now: datetime) -> list[Outgoing]:
        replies = self.texts.replies
        open_series = {
            r.series for r in self.store.open_for_user(owner.chat.channel, owner.user_id)
        }
        plan = self.record(owner, event, now)
        if planner.BUREAU not in open_series:
            # The SMS means the order reached the bureau: keep the 20-working-day clock too.
            self.record(owner, FirstReviewPassed(at=event.at), now)
        fields = payload_fields(self.texts, ReminderKind.SMS_WINDOW, plan.facts, now)
        done = Choice(
            label=self.texts.clocks[ReminderKind.SMS_WINDOW].done_label, value="/sms done"
        )
        if "expired" in plan.missed_steps:
            body = reminder_body(self.texts, ReminderKind.SMS_WINDOW, "expired", plan.facts, now)
            text = fill(replies.sms_expired_already, fields) + "\n" + body
            return [self._reply(owner, text, [done])]
        text = fill(replies.sms_started, fields) + "\n" + self._schedule_line(plan)
        return [self._reply(owner, text, [done])]

    def _approved(
        self,
        owner: Owner,
        number: str | None,
        text: str,
        now: datetime,
        bureau_province: str | None,
    ) -> list[Outgoing]:
        replies = self.texts.replies
        example = self.texts.examples["approved"]
        if not number:
            return [self._reply(owner, fill(replies.approved_need_number, {"example": example}))]
        check = check_number(number)
        if check.reason == "licence":
            return [self._reply(owner, fill(replies.number_licence, {"number": check.raw}))]
        if check.number is None or check.province is None:
            return [self._number_problem(owner, check)]
        rest = text.replace(check.raw, " ") if text else ""
        said = province_named_in(bureau_province or rest)
        if said is not None and said.abbreviation != check.province.abbreviation:
            fields = {
                "abbreviation": check.province.abbreviation,
                "number_province": check.province.name,
                "said_province": said.name,
                "example": f"{said.abbreviation}ICP备2026012345号-1",
            }
            return [self._reply(owner, fill(replies.number_province_mismatch, fields))]
        when = parse_when(rest, now, need=Need.DAY, direction=Direction.PAST) if rest else None
        at = when.at if isinstance(when, ParsedTime) else now
        plan = self.record(owner, Approved(at=at, number=check.number), now)
        next_check = show_time(plan.reminders[0].due_at) if plan.reminders else ""
        parts = [fill(replies.approved, {"number": check.number, "next_check": next_check})]
        if "-" not in check.number:
            parts.append(fill(replies.approved_subject_only, {"number": check.number}))
        return [self._reply(owner, "\n".join(parts))]

    def _number_problem(self, owner: Owner, check: NumberCheck) -> Outgoing:
        replies = self.texts.replies
        raw, reason, head = check.raw, check.reason, check.head
        fixed, province = check.fixed, check.province
        reasons = {
            "province": fill(replies.number_reason_province, {"head": head or "（空）"}),
            "province_name": fill(
                replies.number_reason_province_name,
                {"head": head, "abbreviation": province.abbreviation if province else "?"},
            ),
            "hao": replies.number_reason_hao,
            "digits": replies.number_reason_digits,
            "suffix": replies.number_reason_suffix,
        }
        text = fill(
            replies.number_format,
            {"number": raw, "reason": reasons.get(reason or "", replies.number_reason_shape)},
        )
        choices: list[Choice] = []
        if fixed:
            text += "\n" + fill(replies.number_fix, {"fixed": fixed})
            choices = [Choice(label=fixed, value=f"/approved {fixed}")]
        return self._reply(owner, text, choices)

    def _change_event(self, owner: Owner, det: Detected, now: datetime) -> list[Outgoing]:
        what = det.change or ChangeWhat.SUBJECT
        when = parse_when(det.text, now, need=Need.DAY, direction=Direction.ANY)
        if isinstance(when, TimeQuestion):
            return [self._question(owner, when, "changed")]
        if when is None:
            fields = {"what": self.texts.what[what], "example": self.texts.examples["changed"]}
            return [self._reply(owner, fill(self.texts.replies.change_need_date, fields))]
        return self._changed(owner, Changed(what=what, day=when.day), now)

    def _changed(self, owner: Owner, event: Changed, now: datetime) -> list[Outgoing]:
        replies = self.texts.replies
        if event.what is ChangeWhat.IP:
            return [self._reply(owner, replies.change_ip)]
        plan = self.record(owner, event, now)
        fields = payload_fields(self.texts, ReminderKind.CHANGE_HAPPENED, plan.facts, now)
        if event.day > local_day(now):
            template = (
                replies.change_too_late if plan.facts.get("too_late") else replies.change_planned
            )
        elif plan.reminders:
            template = replies.change_happened
        else:
            template = replies.change_overdue
        text = fill(template, fields) + "\n" + self._schedule_line(plan)
        return [self._reply(owner, text)]

    def _expiry_event(self, owner: Owner, det: Detected, now: datetime) -> list[Outgoing]:
        replies = self.texts.replies
        what = det.expiry
        example = self.texts.examples["expiry"]
        if what is None:
            fields = {"what": "服务器或域名", "example": example}
            return [self._reply(owner, fill(replies.expiry_need_date, fields))]
        label = self.texts.expiry_what[what]
        when = parse_when(det.text, now, need=Need.DAY, direction=Direction.ANY)
        if isinstance(when, TimeQuestion):
            return [self._question(owner, when, "expiry")]
        bought: date | None = None
        if det.purchase_months is not None and what is ExpiryWhat.SERVER:
            bought = local_day(now) if when is None else when.day
            day = planner.add_months(bought, det.purchase_months)
        elif when is None or (det.purchase_months is None and "买" in det.text):
            return [
                self._reply(
                    owner, fill(replies.expiry_need_date, {"what": label, "example": example})
                )
            ]
        else:
            day = when.day
        plan = self.record(owner, Expiry(what=what, day=day), now)
        kind = (
            ReminderKind.SERVER_EXPIRY if what is ExpiryWhat.SERVER else ReminderKind.DOMAIN_EXPIRY
        )
        fields = payload_fields(self.texts, kind, plan.facts, now)
        if plan.facts.get("expired"):
            parts = [fill(replies.expiry_passed, fields)]
        elif not plan.reminders:
            parts = [fill(replies.expiry_soon, fields)]
        else:
            parts = [fill(replies.expiry, fields), self._schedule_line(plan)]
        if bought is not None and det.purchase_months is not None:
            note = {
                "bought_day": f"{bought.year}年{bought.month}月{bought.day}日",
                "months": str(det.purchase_months),
                "expiry_day": fields.get("expiry_day", ""),
            }
            parts.append(fill(replies.expiry_purchase_note, note))
        return [self._reply(owner, "\n".join(parts))]

    # ---- helpers -----------------------------------------------------------------------

    def _snooze(
        self,
        owner: Owner,
        reminder_id: int,
        due_at: datetime,
        payload: dict[str, str | int],
        label: str,
        args: list[str],
        now: datetime,
    ) -> list[Outgoing]:
        replies = self.texts.replies
        delta = _snooze_delta(args[0] if args else "1h")
        if delta is None:
            return [self._reply(owner, replies.remind_usage)]
        due = max(due_at, now) + delta
        deadline = payload.get("deadline_at")
        if isinstance(deadline, int):
            latest = datetime.fromtimestamp(deadline, now.tzinfo) - _SMS_SNOOZE_MARGIN
            if latest <= now:
                fields = {"label": label, "deadline": show_time(latest + _SMS_SNOOZE_MARGIN)}
                return [self._reply(owner, fill(replies.remind_snooze_too_late, fields))]
            due = min(due, latest)
        result = self.store.snooze(reminder_id, int(due.timestamp()), int(now.timestamp()))
        if result is None:
            return [self._reply(owner, fill(replies.remind_not_found, {"id": str(reminder_id)}))]
        fields = {"label": label, "due": show_time(due)}
        return [self._reply(owner, fill(replies.remind_snoozed, fields))]

    def _effective_due(self, due: datetime, urgent: bool) -> datetime:
        """When a reminder really goes out: quiet hours hold the non-urgent ones."""
        return due if urgent else self.quiet.release(due)

    def _schedule_line(self, plan: Plan) -> str:
        replies = self.texts.replies
        if not plan.reminders:
            return replies.schedule_none
        times = [show_time(self._effective_due(r.due_at, r.urgent)) for r in plan.reminders]
        shown = "、".join(times[:_SCHEDULE_SHOWN]) + ("……" if len(times) > _SCHEDULE_SHOWN else "")
        line = fill(replies.schedule, {"times": shown})
        for year in plan.approximate_years:
            line += "\n" + APPROXIMATE_NOTE.format(year=year)
        return line

    def _question(self, owner: Owner, question: TimeQuestion, example_key: str) -> Outgoing:
        template = self.texts.questions[question.problem]
        fields = {"phrase": question.phrase, "example": self.texts.examples[example_key]}
        return self._reply(owner, fill(template, fields))

    def _failed(self, owner: Owner, exc: Exception, example_key: str) -> list[Outgoing]:
        # The message may contain personal data, the traceback frames do not: log those only.
        frames = "".join(traceback.format_tb(exc.__traceback__))
        logger.error("reminder desk failed (%s):\n%s", type(exc).__name__, frames)
        example = self.texts.examples.get(example_key, "")
        return [self._reply(owner, fill(self.texts.replies.error, {"example": example}))]

    @staticmethod
    def _reply(owner: Owner, text: str, choices: list[Choice] | None = None) -> Outgoing:
        return Outgoing(chat=owner.chat, text=text, choices=list(choices or []))


def what_from_form(change_type: str) -> ChangeWhat | None:
    """The change form's `change_type` as a clock: removing a domain is a domain change;
    adding one is a new website (facts 49), not a change, so it keeps no clock (None)."""
    if change_type == "remove_domain":
        return ChangeWhat.DOMAIN
    try:
        return ChangeWhat(change_type)
    except ValueError:
        return None


def _snooze_delta(token: str) -> timedelta | None:
    match = _SNOOZE_RE.match(token.strip())
    if match is None:
        return None
    amount, unit = int(match.group(1)), (match.group(2) or "h").lower()
    if unit in ("m", "min", "分钟", "分"):
        delta = timedelta(minutes=amount)
    elif unit in ("d", "天"):
        delta = timedelta(days=amount)
    else:
        delta = timedelta(hours=amount)
    if delta <= timedelta(0) or delta > _MAX_SNOOZE:
        return None
    return delta
