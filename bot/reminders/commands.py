"""/reminders and /remind: list the user's clocks; mark one done, cancel or snooze it."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

from bot.messages import Incoming, Outgoing
from bot.reminders.clocks import Clocks, reply
from bot.reminders.events import normalize
from bot.reminders.models import Owner, ReminderKind, ReminderRow, at_local, show_time
from bot.reminders.records import from_stored
from bot.reminders.texts import clock_label, fill

_SNOOZE_RE = re.compile(r"^(\d{1,3})\s*(m|min|分钟|分|h|小时|d|天)?$", re.IGNORECASE)
_MAX_SNOOZE = timedelta(days=30)
# A snoozed SMS-window reminder must still leave time to act before the window closes.
_SMS_SNOOZE_MARGIN = timedelta(minutes=15)
_CLOSED = {"done", "cancelled", "failed"}


def list_reminders(clocks: Clocks, msg: Incoming, args: str, now: datetime) -> list[Outgoing]:
    """/reminders: the user's clocks, each with its next due time."""
    owner = Owner.of(msg)
    replies = clocks.texts.replies
    chat_id = msg.chat.chat_id if owner.in_group else None
    rows = [
        from_stored(r) for r in clocks.store.open_for_user(msg.chat.channel, msg.user_id, chat_id)
    ]
    if not rows:
        return [reply(owner, replies.list_empty)]
    # One line per clock: its next reminder (rows come in due order) and how many follow.
    by_series: dict[str, list[ReminderRow]] = {}
    for row in rows:
        by_series.setdefault(row.series, []).append(row)
    lines = [replies.list_header]
    for series_rows in by_series.values():
        row, more = series_rows[0], len(series_rows) - 1
        fields = {
            "id": str(row.id),
            "label": clock_label(clocks.texts, row.kind, row.payload, now),
            "due": show_time(clocks.effective_due(row.due_at, row.urgent)),
            "more": fill(replies.list_more, {"count": str(more)}) if more else "",
            "paused": replies.list_paused if row.status == "paused" else "",
        }
        lines.append(fill(replies.list_line, fields))
    lines.append(replies.list_footer)
    return [reply(owner, "\n".join(lines))]


def act_on_reminder(clocks: Clocks, msg: Incoming, args: str, now: datetime) -> list[Outgoing]:
    """/remind done|cancel|snooze ID [duration]: act on one reminder (and its clock)."""
    owner = Owner.of(msg)
    replies = clocks.texts.replies
    parts = normalize(args).split()
    if len(parts) < 2 or parts[0] not in ("done", "cancel", "snooze") or not parts[1].isdecimal():
        return [reply(owner, replies.remind_usage)]
    action, reminder_id = parts[0], int(parts[1])
    if reminder_id >= 2**63:  # no row has such an id (SQLite integers are 64-bit)
        return [reply(owner, fill(replies.remind_not_found, {"id": parts[1]}))]
    stored = clocks.store.get(reminder_id)
    # A finished or replaced row cannot be acted on: that would close the newer clock.
    if stored is None or stored.channel != msg.chat.channel or stored.status in _CLOSED:
        return [reply(owner, fill(replies.remind_not_found, {"id": str(reminder_id)}))]
    if stored.user_id != msg.user_id:
        return [reply(owner, replies.remind_not_yours)]
    row = from_stored(stored)
    clock = clocks.texts.clocks[row.kind]
    label = clock_label(clocks.texts, row.kind, row.payload, now)
    if action == "done":
        # A self-check is done for this quarter only; the next one stays.
        if row.kind is not ReminderKind.SELF_CHECK:
            clocks.store.close_series(
                row.owner.chat.channel, row.owner.user_id, row.series, "done"
            )
        return [reply(owner, clock.done_reply)]
    if action == "cancel":
        clocks.store.close_series(
            row.owner.chat.channel, row.owner.user_id, row.series, "cancelled"
        )
        return [reply(owner, fill(replies.remind_cancelled, {"label": label}))]
    return _snooze(clocks, owner, row.id, row.due_at, row.payload, label, parts[2:], now)


def _snooze(
    clocks: Clocks,
    owner: Owner,
    reminder_id: int,
    due_at: datetime,
    payload: dict[str, str | int],
    label: str,
    args: list[str],
    now: datetime,
) -> list[Outgoing]:
    replies = clocks.texts.replies
    delta = _snooze_delta(args[0] if args else "1h")
    if delta is None:
        return [reply(owner, replies.remind_usage)]
    wanted = max(due_at, now) + delta
    limit = _snooze_limit(payload, now)
    due = wanted
    if limit is not None:
        deadline, latest = limit
        if latest <= now:
            fields = {"label": label, "deadline": show_time(deadline)}
            return [reply(owner, fill(replies.remind_snooze_too_late, fields))]
        due = min(wanted, latest)
    result = clocks.store.snooze(reminder_id, int(due.timestamp()), int(now.timestamp()))
    if result is None:
        return [reply(owner, fill(replies.remind_not_found, {"id": str(reminder_id)}))]
    fields = {"label": label, "due": show_time(due)}
    if limit is not None and due < wanted:  # capped: say so, and why
        fields["deadline"] = show_time(limit[0])
        return [reply(owner, fill(replies.remind_snooze_capped, fields))]
    return [reply(owner, fill(replies.remind_snoozed, fields))]


def _snooze_limit(
    payload: dict[str, str | int], now: datetime
) -> tuple[datetime, datetime] | None:
    """(deadline, the latest a snoozed reminder may come) while a deadline is still ahead.

    The SMS window leaves 15 minutes to act; a day deadline (30 days after a change) keeps the
    reminder on the morning of that day. Past the deadline (the overdue steps) nothing caps."""
    deadline_at = payload.get("deadline_at")
    if isinstance(deadline_at, int):
        deadline = datetime.fromtimestamp(deadline_at, now.tzinfo)
        return deadline, deadline - _SMS_SNOOZE_MARGIN
    deadline_day = payload.get("deadline_day")
    if isinstance(deadline_day, str):
        day = date.fromisoformat(deadline_day)
        end = at_local(day, time(23, 59))
        return (end, at_local(day)) if end > now else None
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
