"""One `ChatDriver` per channel: the platform-neutral contract suite talks to the bot through it.

A driver is a user of the real composition (`bot.app`) on one platform: the terminal's
`chat --json` loop in process, or a Telegram stack polling the Bot API emulator over HTTP.
A new channel adds one driver here and one parameter in `tests/channels/test_contract.py`.
"""

from __future__ import annotations

import io
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.app import App
from bot.channels import terminal
from bot.channels.telegram.channel import TelegramChannel
from bot.channels.telegram.codec import CHANNEL as TELEGRAM
from bot.reminders import QuietHours, ReminderSender
from bot.storage.base import open_storage
from tests.channels.conftest import Talk
from tests.emulator import BotApiEmulator, EmuChat, SentMessage

NEVER_QUIET = QuietHours(start=0, end=0)


@dataclass
class Reply:
    """One message the user sees: its text and the labels of its choices."""

    text: str
    choices: list[str] = field(default_factory=list)
    raw: Any = None


class ChatDriver(ABC):
    """A user of the bot on one platform, in a private chat (and a group where there are any)."""

    name: str
    #: The platform has group chats.
    has_groups: bool = False
    #: The platform may deliver one update twice.
    redelivers: bool = False
    #: The longest text one message may carry (None: no limit).
    max_length: int | None = None

    def __init__(self, app: App) -> None:
        self.app = app

    @abstractmethod
    async def say(self, text: str) -> list[Reply]:
        """Send `text` in the private chat; every reply."""

    @abstractmethod
    async def pick(self, reply: Reply, label: str) -> list[Reply]:
        """Choose the choice `label` of `reply` the way the platform does (button or number)."""

    async def say_in_group(self, text: str, *, addressed: bool) -> list[Reply]:
        """Send `text` in a group, addressed to the bot (mention) or not."""
        raise NotImplementedError(f"{self.name} has no groups")

    async def say_twice(self, text: str) -> list[Reply]:
        """The platform delivers one message twice; every reply."""
        raise NotImplementedError(f"{self.name} never redelivers")

    @abstractmethod
    async def reminders_due(self, at: datetime, in_group: bool = False) -> list[Reply]:
        """Run the reminder sender as at `at`; what reached the chat."""


class TerminalDriver(ChatDriver):
    """`beian-bot chat --json` in process: one JSON line per line typed."""

    name = "terminal"

    def __init__(self, app: App, exports: Path) -> None:
        super().__init__(app)
        self.exports = exports
        self.user = "alice"

    async def say(self, text: str) -> list[Reply]:
        import json

        out = io.StringIO()
        terminal.run_json(self.app.engine, self.user, io.StringIO(text + "\n"), out, self.exports)
        line = json.loads(out.getvalue())
        return [Reply(m["text"], m["choices"]) for m in line["messages"]]

    async def pick(self, reply: Reply, label: str) -> list[Reply]:
        return await self.say(str(reply.choices.index(label) + 1))

    async def reminders_due(self, at: datetime, in_group: bool = False) -> list[Reply]:
        # The terminal cannot be woken: due reminders ride on the reply to the next line, and
        # the sender shares the engine's connection (as `beian-bot chat` wires it).
        reminders = self.app.storage.reminders
        sender = ReminderSender(reminders, {}, clock=lambda: at, quiet=NEVER_QUIET)
        engine = self.app.engine
        clock, engine.clock, engine.inline_due = engine.clock, lambda: at, sender.collect_due
        try:
            replies = await self.say("/help")
        finally:
            engine.clock, engine.inline_due = clock, None
        return replies[:-1]  # the last one answers /help


class TelegramDriver(ChatDriver):
    """A Telegram user talking to the bot on one stack through the Bot API emulator."""

    has_groups = True
    redelivers = True
    max_length = 4096

    def __init__(self, app: App, stack: str, emu: BotApiEmulator, bot: TelegramChannel) -> None:
        super().__init__(app)
        self.name = f"telegram-{stack}"
        self.emu, self.bot = emu, bot
        user = emu.add_user("Alice", username="alice")
        self.private = Talk(emu, bot, user, emu.chats[user.id])
        # As an admin the bot sees every group message (privacy mode lets admins read all).
        self.group: EmuChat = emu.add_group("备案交流群", supergroup=True, bot_admin=True)
        self.in_group = Talk(emu, bot, user, self.group)

    @staticmethod
    def _replies(messages: list[SentMessage]) -> list[Reply]:
        return [
            Reply(m.text or m.caption or "", [label for label, _ in m.buttons], m)
            for m in messages
        ]

    async def say(self, text: str) -> list[Reply]:
        return self._replies(await self.private.say(text))

    async def pick(self, reply: Reply, label: str) -> list[Reply]:
        return self._replies(await self.private.press(reply.raw, label))

    async def say_in_group(self, text: str, *, addressed: bool) -> list[Reply]:
        if addressed:
            return self._replies(await self.in_group.say(f"@beian_test_bot {text}"))
        before = len(self.emu.sent_messages(self.group.id))
        self.emu.send_message(self.group.id, self.in_group.user, text)
        # A chat's messages are handled in order: once /help is answered, `text` was handled.
        await self.in_group.say("/help@beian_test_bot")
        return self._replies(self.emu.sent_messages(self.group.id)[before:])[:-1]

    async def say_twice(self, text: str) -> list[Reply]:
        chat = self.private.chat.id
        before = len(self.emu.sent_messages(chat))
        update = self.emu.send_message(chat, self.private.user, text)
        await self.private.replies(before)
        self.emu.inject_update(update)  # the same update_id again
        await self.private.say("/help")  # once this is answered, the duplicate was handled
        return self._replies(self.emu.sent_messages(chat)[before:])[:-1]

    async def reminders_due(self, at: datetime, in_group: bool = False) -> list[Reply]:
        chat = (self.group if in_group else self.private.chat).id
        before = len(self.emu.sent_messages(chat))
        # The sender has its own connection, as `beian-bot telegram` wires it.
        storage = open_storage(self.app.settings)
        sender = ReminderSender(
            storage.reminders, {TELEGRAM: self.bot.outbox}, clock=lambda: at, quiet=NEVER_QUIET
        )
        try:
            await sender.run_until_idle()
        finally:
            storage.close()
        return self._replies(self.emu.sent_messages(chat)[before:])
