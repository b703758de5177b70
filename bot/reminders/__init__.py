"""Deadline reminders: events -> due times, the durable store, the sender woken on a timer.

Public API (the engine and app.py need nothing else):

* `ReminderDesk(store)`: `handle(msg, text, now)`, `commands()`, `schedule_change(...)`,
  `record_approval(...)` - synchronous, called by the engine (see bot/reminders/desk.py).
* `ReminderService(store, outboxes)`: `start()`, `stop()`, `collect_due(chat, now)`,
  `due_hook(chat)` - the sender, wired in app.py (see bot/reminders/service.py).
"""

from bot.reminders.desk import CommandHandler, ReminderDesk, what_from_form
from bot.reminders.models import ChangeWhat, ExpiryWhat, Owner, QuietHours, ReminderKind
from bot.reminders.service import ReminderService

__all__ = [
    "ChangeWhat",
    "CommandHandler",
    "ExpiryWhat",
    "Owner",
    "QuietHours",
    "ReminderDesk",
    "ReminderKind",
    "ReminderService",
    "what_from_form",
]
