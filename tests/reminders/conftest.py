"""Reminder fixtures: a real SQLite file, a controllable clock, a recording outbox, a intake."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.messages import ChatKind, ChatRef, Incoming, Outgoing, SendError
from bot.reminders import ReminderIntake, ReminderSender
from bot.reminders.models import SHANGHAI
from bot.storage.sqlite import SqliteStorage


def shanghai(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    """A Shanghai wall-clock time as an aware datetime (what a user means)."""
    return datetime(year, month, day, hour, minute, second, tzinfo=SHANGHAI)


@dataclass
class FakeClock:
    """A clock tests move by hand: `clock()` is now, `clock.set(...)`, `clock.advance(...)`."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def set(self, moment: datetime) -> None:
        self.now = moment

    def advance(self, **kwargs: float) -> datetime:
        self.now += timedelta(**kwargs)
        return self.now


@dataclass
class RecordingOutbox:
    """An Outbox that keeps what it sent, or fails as told."""

    sent: list[Outgoing] = field(default_factory=list)
    fail_with: SendError | None = None
    calls: int = 0

    async def send(self, message: Outgoing) -> None:
        self.calls += 1
        if self.fail_with is not None:
            raise self.fail_with
        self.sent.append(message)

    def ids(self) -> list[int]:
        """Reminder ids of the sent messages (from their done button)."""
        return [reminder_id(m) for m in self.sent]


def reminder_id(message: Outgoing) -> int:
    """The row id a reminder message carries in its buttons."""
    return int(message.choices[-1].value.split()[-1])


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "reminders.db"


@pytest.fixture
def storage(db_path: Path) -> Iterator[SqliteStorage]:
    database = SqliteStorage(db_path)
    yield database
    database.close()


@pytest.fixture
def clock() -> FakeClock:
    # Wednesday 2026-11-25 10:00 in Shanghai: a working day, outside quiet hours.
    return FakeClock(shanghai(2026, 11, 25, 10, 0).astimezone(UTC))


@pytest.fixture
def intake(storage: SqliteStorage) -> ReminderIntake:
    return ReminderIntake(storage.reminders)


@pytest.fixture
def outbox() -> RecordingOutbox:
    return RecordingOutbox()


@pytest.fixture
def service(storage: SqliteStorage, outbox: RecordingOutbox, clock: FakeClock) -> ReminderSender:
    return ReminderSender(storage.reminders, {"test": outbox}, clock=clock, worker_id="w1")


def incoming(
    text: str = "",
    *,
    user_id: str = "u1",
    user_name: str = "alice",
    chat_id: str | None = None,
    group: bool = False,
) -> Incoming:
    """A message from a user in a private chat (or a group)."""
    kind = ChatKind.GROUP if group else ChatKind.PRIVATE
    chat = ChatRef(channel="test", chat_id=chat_id or user_id, kind=kind)
    return Incoming(chat=chat, user_id=user_id, user_name=user_name, text=text)


def say(
    intake: ReminderIntake, text: str, now: datetime, **kwargs: str | bool
) -> list[Outgoing] | None:
    """Send one message to the intake the way the engine would: commands or plain words."""
    msg = incoming(text, **kwargs)  # type: ignore[arg-type]
    if text.startswith("/"):
        name, _, args = text[1:].partition(" ")
        return intake.commands()[name](msg, args, now)
    return intake.handle(msg, text, now)


def text_of(replies: list[Outgoing] | None) -> str:
    """All reply texts joined (for `in` assertions)."""
    assert replies is not None, "expected a reply, the intake passed the message on"
    return "\n".join(r.text for r in replies)
