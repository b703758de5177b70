"""One `ChatDriver` per channel: the platform-neutral contract suite talks to the bot through it.

A driver is a user of the real composition (`bot.app`) on one platform: the terminal's
`chat --json` loop in process, or a Telegram stack polling the Bot API emulator over HTTP.
A new channel adds one driver here and one parameter in `tests/channels/test_contract.py`.
"""

from __future__ import annotations

import asyncio
import io
import re
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.app import App
from bot.channels import terminal
from bot.channels.telegram.channel import TelegramChannel
from bot.channels.telegram.codec import CHANNEL as TELEGRAM
from bot.channels.wecom.channel import WecomChannel
from bot.channels.wecom.frames import CHANNEL as WECOM
from bot.messages import Outbox
from bot.reminders import QuietHours, ReminderSender
from bot.storage.base import open_storage
from tests.channels.conftest import Talk
from tests.channels.wecom_fake import FakeWecom, text_frame
from tests.emulator import BotApiEmulator, EmuChat, SentMessage

NEVER_QUIET = QuietHours(start=0, end=0)


@dataclass
class Reply:
    """One message the user sees: its text and the labels of its choices."""

    text: str
    choices: list[str] = field(default_factory=list)
    raw: Any = None


async def run_sender(app: App, outboxes: dict[str, Outbox], at: datetime) -> None:
    """Send what is due at `at`; the sender has its own connection, as the commands wire it."""
    storage = open_storage(app.settings)
    sender = ReminderSender(storage.reminders, outboxes, clock=lambda: at, quiet=NEVER_QUIET)
    try:
        await sender.run_until_idle()
    finally:
        storage.close()


class ChatDriver(ABC):
    """A user of the bot on one platform, in a private chat (and a group where there are any)."""

    name: str
    #: The platform has group chats.
    has_groups: bool = False
    #: The platform may deliver one update twice.
    redelivers: bool = False
    #: In a group the bot receives messages not addressed to it (WeCom delivers @mentions only).
    sees_unaddressed: bool = True
    #: The longest text one message may carry (None: no limit).
    max_length: int | None = None
    #: Ways a group message meant for another member reaches the bot (`say_for_another`).
    for_another: tuple[str, ...] = ()

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

    async def say_for_another(self, text: str, how: str) -> tuple[list[Reply], str]:
        """A group member who never talked to the bot writes `text` to another member, `how`
        being one of `for_another`; every reply and the writer's user id."""
        raise NotImplementedError(f"{self.name} has no groups")

    async def say_to_bot_and_another(self, text: str, *, bot_first: bool) -> list[Reply]:
        """`text` in a group, @mentioning the bot and another member; every reply."""
        raise NotImplementedError(f"{self.name} has no groups")

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
    for_another = ("text_mention", "reply", "mention")

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

    async def say_for_another(self, text: str, how: str) -> tuple[list[Reply], str]:
        writer = self.emu.add_user("Carol", username="carol_member")
        other = self.emu.add_user("Dave", username="dave_member")
        before = len(self.emu.sent_messages(self.group.id))
        if how == "mention":
            self.emu.send_message(self.group, writer, f"@dave_member {text}")
        elif how == "reply":
            said = self.emu.send_message(self.group, other, "我的域名今天实名了")
            assert said is not None
            self.emu.send_message(self.group, writer, text, said["message"]["message_id"])
        elif how == "text_mention":  # a member without a username, picked from the list
            ids = [mid for cid, mid in self.emu.messages if cid == self.group.id]
            mention = {"type": "text_mention", "offset": 0, "length": 4, "user": other.to_dict()}
            message = {
                "message_id": max(ids, default=0) + 1,
                "from": writer.to_dict(),
                "chat": self.group.to_dict(),
                "date": int(time.time()),
                "text": f"Dave {text}",
                "entities": [mention],
            }
            self.emu.inject_update({"message": message})
        else:
            raise ValueError(how)
        await self.in_group.say("/help@beian_test_bot")  # answered: the message was handled
        replies = self._replies(self.emu.sent_messages(self.group.id)[before:])[:-1]
        return replies, str(writer.id)

    async def say_to_bot_and_another(self, text: str, *, bot_first: bool) -> list[Reply]:
        self.emu.add_user("Dave", username="dave_member")
        mentions = ["@beian_test_bot", "@dave_member"]
        return self._replies(
            await self.in_group.say(" ".join([*mentions[:: 1 if bot_first else -1], text]))
        )

    async def say_twice(self, text: str) -> list[Reply]:
        chat = self.private.chat.id
        before = len(self.emu.sent_messages(chat))
        update = self.emu.send_message(chat, self.private.user, text)
        assert update is not None  # a private chat sees every message
        await self.private.replies(before)
        self.emu.inject_update(update)  # the same update_id again
        await self.private.say("/help")  # once this is answered, the duplicate was handled
        return self._replies(self.emu.sent_messages(chat)[before:])[:-1]

    async def reminders_due(self, at: datetime, in_group: bool = False) -> list[Reply]:
        chat = (self.group if in_group else self.private.chat).id
        before = len(self.emu.sent_messages(chat))
        await run_sender(self.app, {TELEGRAM: self.bot.outbox}, at)
        return self._replies(self.emu.sent_messages(chat)[before:])


class WecomDriver(ChatDriver):
    """A WeCom user talking to the AI bot through the local fake of the long connection."""

    name = "wecom"
    has_groups = True
    redelivers = True
    sees_unaddressed = False
    max_length = 20_480  # bytes per markdown message, so at most as many characters
    group_id = "wrkgrp-test"

    def __init__(self, app: App, fake: FakeWecom, bot: WecomChannel) -> None:
        super().__init__(app)
        self.fake, self.bot = fake, bot

    @staticmethod
    def _reply(content: str) -> Reply:
        """The stream text, its trailing `1. label` lines read back as the choices."""
        lines = content.split("\n")
        numbered = [re.match(r"^(\d+)\. (.+)$", line) for line in lines]
        tail = len(lines)
        while tail > 0 and numbered[tail - 1] is not None:
            tail -= 1
        labels = [m.group(2) for m in numbered[tail:] if m is not None]
        if labels and [int(m.group(1)) for m in numbered[tail:] if m] == list(
            range(1, len(labels) + 1)
        ):
            return Reply("\n".join(lines[:tail]), labels, content)
        return Reply(content, [], content)

    @classmethod
    def _reply_of(cls, body: dict[str, Any]) -> Reply:
        """A stream or markdown (choices read back from its numbered lines), or a button
        card: its title and text, its buttons as the choices (`raw` is the card)."""
        if body.get("msgtype") == "template_card":
            card = body["template_card"]
            parts = [card["main_title"].get("title"), card.get("sub_title_text")]
            text = "\n".join(p for p in parts if p)
            return Reply(text, [b["text"] for b in card["button_list"]], card)
        if body.get("msgtype") == "markdown":
            return cls._reply(re.sub(r"^<@[^>]+> ", "", body["markdown"]["content"]))
        return cls._reply(body["stream"]["content"])

    def _sent(self, chat: str) -> list[dict[str, Any]]:
        return [
            f["body"]
            for f in self.fake.received
            if f.get("cmd") == "aibot_send_msg" and f["body"]["chatid"] == chat
        ]

    async def _exchange(self, frame: dict[str, Any]) -> list[Reply]:
        req_id = frame["headers"]["req_id"]
        await self.fake.push(frame)
        for _ in range(400):  # the channel has taken it and nothing is left in hand
            if self._answered(req_id) and self.bot.inbox.queues.pending == 0:
                break
            await asyncio.sleep(0.025)
        await asyncio.sleep(0.05)
        return [self._reply_of(body) for body in self._streams(req_id)]

    def _streams(self, req_id: str) -> list[dict[str, Any]]:
        return [
            f["body"]
            for f in self.fake.received
            if f.get("cmd") == "aibot_respond_msg" and f["headers"]["req_id"] == req_id
        ]

    def _answered(self, req_id: str) -> bool:
        return bool(self._streams(req_id))

    async def say(self, text: str) -> list[Reply]:
        return await self._exchange(text_frame(text, user="alice"))

    async def pick(self, reply: Reply, label: str) -> list[Reply]:
        if not isinstance(reply.raw, dict):  # numbered choices: the number is typed
            return await self.say(str(reply.choices.index(label) + 1))
        before = len(self._sent("alice"))
        await self.fake.press(reply.raw, reply.choices.index(label), user="alice")
        for _ in range(400):  # the press was queued, handled, and its answer sent
            if len(self._sent("alice")) > before and self.bot.inbox.queues.pending == 0:
                break
            await asyncio.sleep(0.025)
        await asyncio.sleep(0.05)
        return [self._reply_of(body) for body in self._sent("alice")[before:]]

    async def say_in_group(self, text: str, *, addressed: bool) -> list[Reply]:
        if not addressed:
            return []  # WeCom delivers a group message to the bot only when it is @mentioned
        return await self._exchange(
            text_frame(f"@备案助手 {text}", user="alice", group=self.group_id)
        )

    async def say_to_bot_and_another(self, text: str, *, bot_first: bool) -> list[Reply]:
        # WeCom delivers it because the bot is @mentioned, wherever in the text that is.
        mentions = ["@备案助手", "@张三"]
        content = " ".join([*mentions[:: 1 if bot_first else -1], text])
        return await self._exchange(text_frame(content, user="alice", group=self.group_id))

    async def say_twice(self, text: str) -> list[Reply]:
        first = text_frame(text, user="alice")
        replies = await self._exchange(first)
        again = text_frame(text, user="alice", msgid=first["body"]["msgid"])
        await self.fake.push(again)
        await self.say("/help")  # once this is answered, the duplicate was handled
        return replies + [self._reply_of(b) for b in self._streams(again["headers"]["req_id"])]

    async def reminders_due(self, at: datetime, in_group: bool = False) -> list[Reply]:
        chat = self.group_id if in_group else "alice"
        before = len(self._sent(chat))
        await run_sender(self.app, {WECOM: self.bot.outbox}, at)
        return [self._reply_of(body) for body in self._sent(chat)[before:]]
