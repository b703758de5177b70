"""Fixtures for the channels: the Bot API emulator, the real app and a started Telegram bot,
and the local fake of WeCom's long-connection service.

The bot is the real composition (`bot.app.build_telegram_channel`) on python-telegram-bot or
aiogram, long-polling the emulator over HTTP on 127.0.0.1. Fixtures stop the framework
before the emulator (pytest tears fixtures down in reverse order).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from bot.app import App, build_app, build_telegram_channel
from bot.channels.delivery import RateLimitedOutbox, SendLimits
from bot.channels.telegram.channel import TelegramChannel
from bot.config import Settings, TelegramSettings
from bot.messages import Outbox
from tests.channels.wecom_fake import FakeWecom
from tests.emulator import BotApiEmulator, EmuChat, EmuUser, SentMessage

STACKS = ["ptb", "aiogram"]


def fast_limits(inner: Outbox) -> RateLimitedOutbox:
    """Telegram's limits scaled up, so a dialogue test does not wait a second per reply."""
    return RateLimitedOutbox(
        inner,
        SendLimits(
            per_chat_per_s=100, per_chat_burst=3, per_group_per_min=6000, global_per_s=1000
        ),
        backoff=0.05,
    )


@pytest.fixture
async def fake() -> AsyncIterator[FakeWecom]:
    """The fake WeCom service on a free port."""
    service = FakeWecom()
    await service.start()
    yield service
    await service.close()


@pytest.fixture
async def emu() -> AsyncIterator[BotApiEmulator]:
    """A Bot API emulator on a free port."""
    async with BotApiEmulator() as emulator:
        yield emulator


@pytest.fixture
def tg_settings(settings: Settings, emu: BotApiEmulator) -> Settings:
    """Settings pointing the Telegram channel at the emulator."""
    telegram = TelegramSettings(token=emu.token, api_base_url=emu.base_url)
    return settings.model_copy(update={"telegram": telegram})


@pytest.fixture
def tg_app(tg_settings: Settings) -> Iterator[App]:
    """The real app (engine, SQLite file) for the Telegram tests."""
    application = build_app(tg_settings)
    yield application
    application.storage.close()


@pytest.fixture(params=STACKS)
def stack(request: pytest.FixtureRequest) -> str:
    """Each behaviour test runs once per stack."""
    return str(request.param)


async def start_bot(app: App, stack: str, **options: Any) -> TelegramChannel:
    """A started, long-polling channel with test-friendly timings."""
    options.setdefault("limiter", fast_limits)
    options.setdefault("poll_timeout", 1)
    channel = build_telegram_channel(app, stack, **options)
    await channel.start()
    return channel


@pytest.fixture
async def bot(tg_app: App, stack: str, emu: BotApiEmulator) -> AsyncIterator[TelegramChannel]:
    """The bot on `stack`, polling the emulator; stopped before the emulator."""
    channel = await start_bot(tg_app, stack)
    yield channel
    await channel.stop()


async def settle(channel: TelegramChannel, timeout: float = 5.0) -> None:
    """Wait until the inbox has no update queued or in hand."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while channel.inbox.queues.pending:
        if loop.time() > deadline:
            raise TimeoutError("bot still busy")
        await asyncio.sleep(0.005)


@dataclass
class Talk:
    """One user in one chat, errbot-style: `await talk.say("/start")` -> the bot's replies."""

    emu: BotApiEmulator
    channel: TelegramChannel
    user: EmuUser
    chat: EmuChat

    async def say(self, text: str, reply_to: int | None = None) -> list[SentMessage]:
        """Send `text` and return every message the bot sent back."""
        before = len(self.emu.sent_messages(self.chat.id))
        self.emu.send_message(self.chat.id, self.user, text, reply_to)
        return await self.replies(before)

    async def press(self, message: SentMessage, label: str) -> list[SentMessage]:
        """Press the button labelled `label` under `message`."""
        data = dict(message.buttons)[label]
        assert data is not None, f"{label!r} is not a callback button"
        before = len(self.emu.sent_messages(self.chat.id))
        self.emu.press_button(self.chat.id, self.user, message.message_id, data)
        return await self.replies(before)

    async def replies(self, before: int, timeout: float = 5.0) -> list[SentMessage]:
        """Messages after the first `before`, once at least one arrived and the bot is idle."""
        await self.emu.wait_for_messages(self.chat.id, before + 1, timeout)
        await settle(self.channel)
        return self.emu.sent_messages(self.chat.id)[before:]


@pytest.fixture
def alice(emu: BotApiEmulator, bot: TelegramChannel) -> Talk:
    """Alice in her private chat with the bot."""
    user = emu.add_user("Alice", username="alice")
    return Talk(emu, bot, user, emu.chats[user.id])
