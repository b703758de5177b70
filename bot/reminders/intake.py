"""ReminderIntake: the one object the engine calls for events and reminder commands.

Synchronous, like the rest of the core. The engine:

* calls `intake.handle(msg, text, now)` for every message that is not a command (before the FAQ);
  `None` means "not an event", go on. It also resumes reminders paused because the chat had
  blocked the bot (the user is back).
* merges `intake.commands()` into its command table: name -> `handler(msg, args, now)`.
  Commands: /reminders, /remind done|cancel|snooze ID [30m|1h|1d], /sms [时间|done],
  /submitted [时间], /passed [时间], /approved 备案号 [省份], /change 类型 日期, /live [日期],
  /police_ok [日期], /expiry 服务器|域名 日期, /returned [时间].
* the filing dialogue, when its change form finishes, calls
  `intake.schedule_change(owner, what_from_form(change_type), day, now)` (skip it when that is
  None); with a number and the bureau's province it
  knows, `intake.record_approval(owner, number, now, bureau_province="广东")`. Both return the
  replies to send. `Owner.of(msg)` builds the owner from the message.

Nothing raises out of these methods: bad input gets a zh-CN reply with a valid example.

The work is done in helper modules that never import this one: commands.py (/reminders,
/remind), event_replies.py and approval_replies.py (recording an event and wording the
reply), all acting on one `Clocks` (clocks.py).
"""

from __future__ import annotations

import json
import logging
import traceback
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

from bot.messages import Choice, Incoming, Outgoing
from bot.reminders.approval_replies import approved_reply
from bot.reminders.asked_replies import asked_reply
from bot.reminders.clocks import Clocks, reply
from bot.reminders.commands import act_on_reminder, list_reminders
from bot.reminders.event_replies import changed_reply, event_reply, on_event
from bot.reminders.events import (
    Detected,
    EventKind,
    detect,
    duration_months,
    expiry_what_in,
    find_number,
    normalize,
    what_named,
)
from bot.reminders.models import (
    QUIET_HOURS,
    Changed,
    ChangeWhat,
    Owner,
    QuietHours,
    SmsVerified,
)
from bot.reminders.planner import SELF_CHECK
from bot.reminders.texts import ReminderTexts, fill, load_reminder_texts
from bot.storage.base import ReminderStore, StorageUnavailable

logger = logging.getLogger(__name__)

CommandHandler = Callable[[Incoming, str, datetime], list[Outgoing]]

# Steps before an approval: reported after it, they are a new filing or a change (asked).
_BEFORE_APPROVAL = {
    EventKind.SMS_RECEIVED: "sms",
    EventKind.SUBMITTED: "submitted",
    EventKind.FIRST_REVIEW_PASSED: "passed",
}
_DONE_WORDS = {"done", "ok", "完成", "已完成", "好了", "核验完成", "已核验"}


class ReminderIntake:
    """Turns reported events into durable reminders and answers the reminder commands."""

    def __init__(
        self,
        store: ReminderStore,
        *,
        texts: ReminderTexts | None = None,
        quiet: QuietHours = QUIET_HOURS,
        holidays: Path | None = None,
    ) -> None:
        self.clocks = Clocks(store, texts or load_reminder_texts(), quiet, holidays)
        self.store, self.texts = self.clocks.store, self.clocks.texts

    # ---- the engine's entry points -----------------------------------------------------

    def handle(self, msg: Incoming, text: str, now: datetime) -> list[Outgoing] | None:
        """Replies if `text` reports an event; None to let the engine go on to the FAQ."""
        owner = Owner.of(msg)
        try:
            self.store.resume_chat(msg.chat.channel, msg.chat.chat_id)
            detected = detect(text)
            if detected is None:
                return None
            if detected.kind is EventKind.REMIND_ME:
                return asked_reply(self.clocks, owner, detected.text, now)
            number = self._approved(owner) if detected.kind in _BEFORE_APPROVAL else None
            if number is not None:
                return [self._after_approval(owner, detected, number)]
            return on_event(self.clocks, owner, detected, now)
        except Exception as exc:
            return self._failed(owner, exc, "sms_received")

    def _approved(self, owner: Owner) -> str | None:
        """The number of the user's approved filing, if its self-check clock runs."""
        for row in self.store.open_for_user(owner.chat.channel, owner.user_id):
            if row.series == SELF_CHECK:
                return str(json.loads(row.payload).get("number", "")) or None
        return None

    def _after_approval(self, owner: Owner, detected: Detected, number: str) -> Outgoing:
        """「收到管局短信」 after the number arrived: a new filing or a change? Ask, not stack."""
        command = _BEFORE_APPROVAL[detected.kind]
        texts = self.texts.replies
        choices = [
            Choice(label=texts.after_approval_new, value=f"/{command} {detected.text}"[:200]),
            Choice(label=texts.after_approval_no, value="/reminders"),
        ]
        return reply(owner, fill(texts.after_approval, {"number": number}), choices)

    @staticmethod
    def reports_return(text: str) -> bool:
        """True if `text` reports a returned or rejected order: it needs the fix before a clock."""
        detected = detect(text)
        return detected is not None and detected.kind is EventKind.ORDER_RETURNED

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
            return changed_reply(self.clocks, owner, Changed(what=what, day=day), now)
        except Exception as exc:
            return self._failed(owner, exc, "changed")

    def record_approval(
        self, owner: Owner, number: str, now: datetime, *, bureau_province: str | None = None
    ) -> list[Outgoing]:
        """For the filing dialogue: check the number (and its province) and start the clocks."""
        try:
            return approved_reply(self.clocks, owner, number, "", now, bureau_province)
        except Exception as exc:
            return self._failed(owner, exc, "approved")

    # ---- commands ----------------------------------------------------------------------

    def cmd_reminders(self, msg: Incoming, args: str, now: datetime) -> list[Outgoing]:
        """/reminders: the user's clocks, each with its next due time."""
        return list_reminders(self.clocks, msg, args, now)

    def cmd_remind(self, msg: Incoming, args: str, now: datetime) -> list[Outgoing]:
        """/remind done|cancel|snooze ID [duration]: act on one reminder (and its clock)."""
        return act_on_reminder(self.clocks, msg, args, now)

    def cmd_sms(self, msg: Incoming, args: str, now: datetime) -> list[Outgoing]:
        """/sms [时间]: the SMS arrived (now unless a time is given); /sms done: verified."""
        owner = Owner.of(msg)
        if normalize(args).strip().lower() in _DONE_WORDS:
            return event_reply(self.clocks, owner, SmsVerified(at=now), now)
        return on_event(self.clocks, owner, Detected(EventKind.SMS_RECEIVED, normalize(args)), now)

    def cmd_change(self, msg: Incoming, args: str, now: datetime) -> list[Outgoing]:
        """/change 类型 日期: a planned or made change."""
        owner = Owner.of(msg)
        what = what_named(args)
        if what is None:
            return [reply(owner, self.texts.replies.change_need_what)]
        return on_event(
            self.clocks, owner, Detected(EventKind.CHANGED, normalize(args), change=what), now
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
        return on_event(self.clocks, owner, detected, now)

    def _event_command(self, kind: EventKind) -> CommandHandler:
        def handler(msg: Incoming, args: str, now: datetime) -> list[Outgoing]:
            """The event `kind`, with a time (or number) taken from the arguments."""
            text = normalize(args)
            # After /approved whatever looks like a number is one, so a slip gets its reason.
            number = find_number(text, min_digits=0) if kind is EventKind.APPROVED else None
            return on_event(self.clocks, Owner.of(msg), Detected(kind, text, number=number), now)

        return handler

    def _guard(self, handler: CommandHandler, example: str) -> CommandHandler:
        def guarded(msg: Incoming, args: str, now: datetime) -> list[Outgoing]:
            """The handler, with any failure turned into a reply."""
            try:
                return handler(msg, args, now)
            except Exception as exc:
                return self._failed(Owner.of(msg), exc, example)

        return guarded

    # ---- helpers -----------------------------------------------------------------------

    def _failed(self, owner: Owner, exc: Exception, example_key: str) -> list[Outgoing]:
        if isinstance(exc, StorageUnavailable):
            raise exc  # not the user's wording: the engine says nothing could be saved
        # The message may contain personal data, the traceback frames do not: log those only.
        frames = "".join(traceback.format_tb(exc.__traceback__))
        logger.error("reminder intake failed (%s):\n%s", type(exc).__name__, frames)
        example = self.texts.examples.get(example_key, "")
        return [reply(owner, fill(self.texts.replies.error, {"example": example}))]


def what_from_form(change_type: str) -> ChangeWhat | None:
    """The change form's `change_type` as a clock: removing a domain is a domain change;
    adding one is a new website (facts 49), not a change, so it keeps no clock (None)."""
    if change_type == "remove_domain":
        return ChangeWhat.DOMAIN
    try:
        return ChangeWhat(change_type)
    except ValueError:
        return None
