"""Deadline reminders: events -> due times, the durable store, the sender woken on a timer.

Public API (the engine and app.py need nothing else):

* `ReminderIntake(store)`: `handle(msg, text, now)`, `commands()`, `schedule_change(...)`,
  `record_approval(...)` - synchronous, called by the engine (see bot/reminders/intake.py).
* `ReminderSender(store, outboxes)`: `start()`, `stop()`, `collect_due(chat, now)`,
  `due_hook(chat)` - the sender, wired in app.py (see bot/reminders/sender.py).
"""

from bot.reminders.intake import CommandHandler, ReminderIntake, what_from_form
from bot.reminders.models import ChangeWhat, ExpiryWhat, Owner, QuietHours, ReminderKind
from bot.reminders.sender import ReminderSender

__all__ = [
    "ChangeWhat",
    "CommandHandler",
    "ExpiryWhat",
    "Owner",
    "QuietHours",
    "ReminderIntake",
    "ReminderKind",
    "ReminderSender",
    "what_from_form",
]
