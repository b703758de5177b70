"""conversations/reminders.yaml: its schema, loader, and the rendering of a reminder message."""

from __future__ import annotations

import logging
from datetime import date, datetime
from functools import cache

from pydantic import BaseModel, ConfigDict, model_validator

from bot.content import conversations_dir, load_yaml
from bot.messages import Choice, Outgoing
from bot.reminders.models import (
    ChangeWhat,
    ExpiryWhat,
    Owner,
    Payload,
    ReminderKind,
    ReminderRow,
    from_unix,
    local_day,
    show_day,
    show_time,
)
from bot.reminders.planner import STEPS
from bot.workdays import APPROXIMATE_NOTE

logger = logging.getLogger(__name__)

QUESTION_CODES = frozenset(
    {"need_hour", "need_day", "several", "future", "not_a_moment", "unreadable", "which_year"}
)
EXAMPLE_KEYS = frozenset(
    {
        "sms_received",
        "submitted",
        "first_review_passed",
        "approved",
        "changed",
        "site_live",
        "police_approved",
        "expiry",
        "order_returned",
    }
)
_EXPIRY_KINDS = {ReminderKind.SERVER_EXPIRY, ReminderKind.DOMAIN_EXPIRY}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ClockTexts(_Strict):
    """The texts of one reminder kind: list label, rule, source, buttons and each step."""

    label: str
    rule: str
    source: str
    done_label: str
    done_reply: str
    steps: dict[str, str]


class EventReplies(_Strict):
    """Replies to events and to /reminders, /remind."""

    schedule: str
    schedule_none: str
    late_prefix: str
    rule_line: str
    source_line: str
    mention: str
    sms_started: str
    sms_expired_already: str
    sms_verified: str
    submitted: str
    first_review_passed: str
    wait_overdue: str
    approved: str
    approved_subject_only: str
    approved_need_number: str
    number_licence: str
    number_format: str
    number_reason_province: str
    number_reason_province_name: str
    number_reason_hao: str
    number_reason_digits: str
    number_reason_suffix: str
    number_reason_shape: str
    number_fix: str
    number_province_mismatch: str
    change_planned: str
    change_too_late: str
    change_happened: str
    change_overdue: str
    change_ip: str
    change_need_date: str
    change_need_what: str
    site_live: str
    police_approved: str
    expiry: str
    expiry_passed: str
    expiry_soon: str
    expiry_need_date: str
    expiry_purchase_note: str
    order_returned: str
    list_header: str
    list_line: str
    list_more: str
    list_paused: str
    list_footer: str
    list_empty: str
    remind_usage: str
    remind_not_found: str
    remind_not_yours: str
    remind_cancelled: str
    remind_snoozed: str
    remind_snooze_too_late: str
    remind_snooze_capped: str
    after_approval: str
    after_approval_new: str
    after_approval_no: str
    button_snooze_hour: str
    button_snooze_day: str
    button_cancel: str
    error: str


class AskedTexts(_Strict):
    """Replies to a reminder asked for in the user's words (asked_replies)."""

    set: str
    when: str
    need_hour: str
    past: str
    unclear: str
    no_task: str


class ReminderTexts(_Strict):
    """Everything the reminder code says; a missing step or key fails at start-up."""

    clocks: dict[ReminderKind, ClockTexts]
    what: dict[ChangeWhat, str]
    what_notes: dict[ChangeWhat, str]
    expiry_what: dict[ExpiryWhat, str]
    examples: dict[str, str]
    questions: dict[str, str]
    replies: EventReplies
    asked: AskedTexts
    asked_en: AskedTexts

    @model_validator(mode="after")
    def _complete(self) -> ReminderTexts:
        """Every kind and step the planner uses has a text; every lookup table is full."""
        for kind, steps in STEPS.items():
            clock = self.clocks.get(kind)
            if clock is None:
                raise ValueError(f"clocks: no texts for {kind.value}")
            if set(clock.steps) != set(steps):
                raise ValueError(
                    f"clocks.{kind.value}.steps: need exactly {sorted(steps)},"
                    f" found {sorted(clock.steps)}"
                )
        for name, table, keys in (
            ("what", self.what, set(ChangeWhat)),
            ("what_notes", self.what_notes, set(ChangeWhat)),
            ("expiry_what", self.expiry_what, set(ExpiryWhat)),
            ("examples", self.examples, EXAMPLE_KEYS),
            ("questions", self.questions, QUESTION_CODES),
        ):
            if set(table) != set(keys):
                raise ValueError(f"{name}: need exactly {sorted(str(k) for k in keys)}")
        return self


@cache
def load_reminder_texts() -> ReminderTexts:
    """Load conversations/reminders.yaml once."""
    return load_yaml(conversations_dir() / "reminders.yaml", ReminderTexts)


class _Fields(dict[str, str]):
    """Template fields; a missing one shows as … (and is logged) instead of failing a send."""

    def __missing__(self, key: str) -> str:
        logger.warning("reminder text asks for a missing field %s", key)
        return "…"


def fill(template: str, fields: dict[str, str]) -> str:
    """Fill a template's {fields}, tolerating a missing one."""
    return template.format_map(_Fields(fields))


def left_text(seconds: float) -> str:
    """约 3 小时 20 分钟 / 40 分钟 (for the SMS window)."""
    minutes = max(0, int(seconds // 60))
    hours, minutes = divmod(minutes, 60)
    if hours and minutes:
        return f"{hours} 小时 {minutes} 分钟"
    if hours:
        return f"{hours} 小时"
    return f"{minutes} 分钟"


def payload_fields(
    texts: ReminderTexts, kind: ReminderKind | None, payload: Payload, now: datetime
) -> dict[str, str]:
    """Display values for a payload: times and days in Beijing time, counts, labels."""
    fields = {key: str(value) for key, value in payload.items()}
    today = local_day(now)
    for key, value in payload.items():
        if key.endswith("_at") and isinstance(value, int):
            fields[key.removesuffix("_at")] = show_time(from_unix(value))
        elif key.endswith("_day") and isinstance(value, str):
            fields[key] = show_day(date.fromisoformat(value))
    if isinstance(payload.get("deadline_at"), int):
        fields["left"] = left_text(
            from_unix(int(payload["deadline_at"])).timestamp() - now.timestamp()
        )
    target = payload.get("expiry_day") or payload.get("deadline_day")
    if isinstance(target, str):
        delta = (date.fromisoformat(target) - today).days
        fields["days_left"] = str(max(delta, 0))
        fields["days_over"] = str(max(-delta, 0))
    what = payload.get("what")
    if isinstance(what, str):
        if kind in _EXPIRY_KINDS or "expiry_day" in payload:
            fields["what"] = texts.expiry_what[ExpiryWhat(what)]
            fields["what_note"] = ""
        else:
            fields["what"] = texts.what[ChangeWhat(what)]
            fields["what_note"] = texts.what_notes[ChangeWhat(what)]
    return fields


def clock_label(texts: ReminderTexts, kind: ReminderKind, payload: Payload, now: datetime) -> str:
    """The short name of a clock, e.g. 域名变更备案（变更后 30 日内）."""
    fields = payload_fields(texts, kind, payload, now)
    return fill(texts.clocks[kind].label, fields)


def mention_prefix(texts: ReminderTexts, owner: Owner) -> str:
    """@name in a group (so the user who set the reminder is notified), else nothing."""
    if owner.in_group and owner.user_name:
        return fill(texts.replies.mention, {"name": owner.user_name})
    return ""


def approximate_note(payload: Payload) -> str:
    """The weekends-only warning when a working-day count went past the holiday data."""
    target = payload.get("deadline_day")
    if payload.get("approximate") == 1 and isinstance(target, str):
        return APPROXIMATE_NOTE.format(year=date.fromisoformat(target).year)
    return ""


def reminder_body(
    texts: ReminderTexts, kind: ReminderKind, step: str, payload: Payload, now: datetime
) -> str:
    """A step's text, then the rule it follows and its source (and any estimate note)."""
    clock = texts.clocks[kind]
    fields = payload_fields(texts, kind, payload, now)
    lines = [fill(clock.steps[step], fields).strip()]
    note = approximate_note(payload)
    if note:
        lines.append(note)
    # A reminder the user set follows no rule of ours: no rule or source line.
    if clock.rule:
        lines.append(fill(texts.replies.rule_line, {"rule": clock.rule}))
    if clock.source:
        lines.append(fill(texts.replies.source_line, {"source": clock.source}))
    return "\n".join(lines)


def reminder_choices(texts: ReminderTexts, row: ReminderRow, now: datetime) -> list[Choice]:
    """Buttons under a reminder: done, snooze (where it still makes sense), cancel."""
    clock = texts.clocks[row.kind]
    choices = [Choice(label=clock.done_label, value=f"/remind done {row.id}")]
    deadline = row.payload.get("deadline_at")
    hours_left = (int(deadline) - now.timestamp()) / 3600 if isinstance(deadline, int) else 1e9
    if row.step != "expired" and hours_left > 1.5:
        label = texts.replies.button_snooze_hour
        choices.append(Choice(label=label, value=f"/remind snooze {row.id} 1h"))
    if hours_left > 25:
        label = texts.replies.button_snooze_day
        choices.append(Choice(label=label, value=f"/remind snooze {row.id} 1d"))
    choices.append(Choice(label=texts.replies.button_cancel, value=f"/remind cancel {row.id}"))
    return choices


def render_reminder(
    texts: ReminderTexts, row: ReminderRow, now: datetime, *, late: bool
) -> Outgoing:
    """The message a due reminder becomes: to its chat, mentioning its owner in a group."""
    text = mention_prefix(texts, row.owner) + reminder_body(
        texts, row.kind, row.step, row.payload, now
    )
    if late:
        prefix = fill(texts.replies.late_prefix, {"due": show_time(row.due_at)})
        text = f"{prefix}\n{text}"
    in_group = row.owner.in_group
    return Outgoing(
        chat=row.owner.chat,
        text=text,
        choices=reminder_choices(texts, row, now),
        mention_user_id=row.owner.user_id if in_group else None,
        mention_user_name=(row.owner.user_name or None) if in_group else None,
        for_user_id=row.owner.user_id,
    )
