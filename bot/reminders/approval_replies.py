"""Replies to a reported filing approval: check the number (and its province), start the clocks."""

from __future__ import annotations

from datetime import datetime

from bot.messages import Choice, Outgoing
from bot.reminders.clocks import Clocks, reply
from bot.reminders.events import NumberCheck, check_number, province_named_in
from bot.reminders.models import Approved, Owner, show_time
from bot.reminders.texts import fill
from bot.reminders.timeparse import Direction, Need, ParsedTime, parse_when


def approved_reply(
    clocks: Clocks,
    owner: Owner,
    number: str | None,
    text: str,
    now: datetime,
    bureau_province: str | None,
) -> list[Outgoing]:
    """Record an approval with a valid number; otherwise say what is wrong with the number."""
    replies = clocks.texts.replies
    example = clocks.texts.examples["approved"]
    if not number:
        return [reply(owner, fill(replies.approved_need_number, {"example": example}))]
    check = check_number(number)
    if check.reason == "licence":
        return [reply(owner, fill(replies.number_licence, {"number": check.raw}))]
    if check.number is None or check.province is None:
        return [_number_problem(clocks, owner, check)]
    rest = text.replace(check.raw, " ") if text else ""
    said = province_named_in(bureau_province or rest)
    if said is not None and said.abbreviation != check.province.abbreviation:
        fields = {
            "abbreviation": check.province.abbreviation,
            "number_province": check.province.name,
            "said_province": said.name,
            "example": f"{said.abbreviation}ICP备2026012345号-1",
        }
        return [reply(owner, fill(replies.number_province_mismatch, fields))]
    when = parse_when(rest, now, need=Need.DAY, direction=Direction.PAST) if rest else None
    at = when.at if isinstance(when, ParsedTime) else now
    plan = clocks.record(owner, Approved(at=at, number=check.number), now)
    next_check = show_time(plan.reminders[0].due_at) if plan.reminders else ""
    parts = [fill(replies.approved, {"number": check.number, "next_check": next_check})]
    if "-" not in check.number:
        parts.append(fill(replies.approved_subject_only, {"number": check.number}))
    return [reply(owner, "\n".join(parts))]


def _number_problem(clocks: Clocks, owner: Owner, check: NumberCheck) -> Outgoing:
    replies = clocks.texts.replies
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
    return reply(owner, text, choices)
