"""`Clocks`: a user's reminder clocks in the store, and the texts and quiet hours they use.

The intake (what the engine calls), the event replies and the reminder commands all act on
one `Clocks`; it is built once by `ReminderIntake` and handed to them.
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path

from bot.messages import Choice, Outgoing
from bot.reminders import planner
from bot.reminders.models import Event, Owner, QuietHours
from bot.reminders.planner import Plan
from bot.reminders.records import to_new
from bot.reminders.texts import ReminderTexts
from bot.storage.base import ReminderStore

logger = logging.getLogger(__name__)


class Clocks:
    """Starts, replaces and closes clocks (series of reminders) in the store."""

    def __init__(
        self,
        store: ReminderStore,
        texts: ReminderTexts,
        quiet: QuietHours,
        holidays: Path | None = None,
    ) -> None:
        self.store = store
        self.texts = texts
        self.quiet = quiet
        self.holidays = holidays

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

    def effective_due(self, due: datetime, urgent: bool) -> datetime:
        """When a reminder really goes out: quiet hours hold the non-urgent ones."""
        return due if urgent else self.quiet.release(due)


def reply(owner: Owner, text: str, choices: list[Choice] | None = None) -> Outgoing:
    """A reply to the owner's chat."""
    return Outgoing(
        chat=owner.chat, text=text, choices=list(choices or []), for_user_id=owner.user_id
    )
