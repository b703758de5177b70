"""What the desk's command and event modules share: the desk they act for, and its replies.

They take the desk as a `DeskContext` instead of importing `ReminderDesk`, so desk.py can
import them without a cycle, and they read its store, texts and quiet hours at call time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from bot.messages import Choice, Outgoing
from bot.reminders.models import Event, Owner, QuietHours
from bot.reminders.planner import Plan
from bot.reminders.texts import ReminderTexts
from bot.storage.base import ReminderStore


class DeskContext(Protocol):
    """The parts of `ReminderDesk` the command and event modules use."""

    store: ReminderStore
    texts: ReminderTexts
    quiet: QuietHours

    def record(self, owner: Owner, event: Event, now: datetime) -> Plan:
        """Store what an event does to the owner's clocks (atomically) and return the plan."""
        ...


def reply(owner: Owner, text: str, choices: list[Choice] | None = None) -> Outgoing:
    """A reply to the owner's chat."""
    return Outgoing(chat=owner.chat, text=text, choices=list(choices or []))


def effective_due(quiet: QuietHours, due: datetime, urgent: bool) -> datetime:
    """When a reminder really goes out: quiet hours hold the non-urgent ones."""
    return due if urgent else quiet.release(due)
