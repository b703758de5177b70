"""Reminders in the user's words: 「明天上午10点提醒我做人脸核验」, "remind me at 9 to ...".

The time is read by timeparse.parse_due (Asia/Shanghai); the rest of the message, less the
words that ask for a reminder, is the task. Nothing is set without a future moment: a part of
the day, a past time or no time at all gets a question.
"""

from __future__ import annotations

import re
from datetime import datetime

from bot.asking import is_question_form
from bot.messages import Outgoing
from bot.privacy import redact
from bot.reminders.clocks import Clocks, reply
from bot.reminders.models import SHANGHAI, Owner, ReminderAsked, show_time
from bot.reminders.texts import fill
from bot.reminders.timeparse import Due, parse_due

_TASK_LIMIT = 120
_ASKING_ZH = re.compile(
    r"^(请|麻烦|帮我|你|能不能|可以|记得|到时候?|在|于)+|提醒(一下)?我|叫我|告诉我"
)
_ASKING_EN = re.compile(r"\b(please|can you|could you|remind me|to)\b", re.IGNORECASE)
_EDGES = " ，,。.！!？?；;：:、~"


def asked_reply(clocks: Clocks, owner: Owner, text: str, now: datetime) -> list[Outgoing] | None:
    """Set the reminder, or ask for a usable time; None for a question about reminders."""
    english = not re.search(r"[\u4e00-\u9fff]", text)
    texts = clocks.texts.asked_en if english else clocks.texts.asked
    show = _show_time_en if english else show_time
    due = parse_due(text, now, english=english)
    if due is None:
        # 「你会提醒我吗」 asks about the bot: the FAQ answers it. A request gets the question.
        if is_question_form(text):
            return None
        return [reply(owner, texts.when)]
    if not isinstance(due, Due):
        template = {"need_hour": texts.need_hour, "past": texts.past}.get(due.problem)
        fields = {"phrase": due.phrase, "now": show(now)}
        return [reply(owner, fill(template or texts.unclear, fields))]
    task = _task(due.rest, english) or texts.no_task
    clocks.record(owner, ReminderAsked(due=due.at, task=task, english=english), now)
    return [reply(owner, fill(texts.set, {"due": show(due.at), "task": task}))]


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _show_time_en(moment: datetime) -> str:
    """Dec 4, 2026 09:00 in Beijing time (strftime's %b would follow the machine's locale)."""
    local = moment.astimezone(SHANGHAI)
    return f"{_MONTHS[local.month - 1]} {local.day}, {local.year} {local:%H:%M}"


def _task(rest: str, english: bool) -> str:
    """What to be reminded of: the message without the time and the asking words, masked."""
    pattern = _ASKING_EN if english else _ASKING_ZH
    task = re.sub(r"\s+", " ", pattern.sub(" ", rest)).strip(_EDGES)
    # A phone or ID number typed into the task is masked before it is stored or shown.
    return redact(task)[:_TASK_LIMIT]
