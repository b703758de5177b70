"""Composition root: Settings -> Storage -> Engine (-> reminders -> channel)."""

from __future__ import annotations

import asyncio
import secrets
import signal
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from bot.config import Settings
from bot.dialogue.forms import Forms, load_forms
from bot.dialogue.texts import load_dialogue_texts
from bot.engine import Engine
from bot.engine.texts import load_replies
from bot.errors import ConfigError
from bot.faq.retriever import Retriever, load_retriever
from bot.messages import ChatRef
from bot.reminders import ReminderIntake, ReminderSender
from bot.storage.base import Storage, open_storage

if TYPE_CHECKING:
    from bot.channels.telegram_channel import TelegramChannel


@dataclass
class App:
    """The wired-up core a channel runs on."""

    settings: Settings
    storage: Storage
    engine: Engine


def build_retriever(settings: Settings) -> Retriever:
    """Load the knowledge base and build the FAQ index."""
    return load_retriever(settings.cache_dir)


def build_app(settings: Settings) -> App:
    """Open the database and build the engine on it."""
    storage = open_storage(settings)
    forms = Forms(
        forms=load_forms(),
        texts=load_dialogue_texts(),
        filings=storage.filings,
        today=lambda: datetime.now(ZoneInfo(settings.timezone)).date(),
    )
    engine = Engine(
        retriever=build_retriever(settings),
        storage=storage,
        replies=load_replies(),
        forms=forms,
        reminders=ReminderIntake(storage.reminders),
        bot_name=settings.bot_name,
    )
    return App(settings=settings, storage=storage, engine=engine)


# ---- Telegram ------------------------------------------------------------------------------
# The chat libraries are imported inside these functions: `beian-bot ask` must not pay for them.

TELEGRAM_STACKS = ("ptb", "aiogram")


def build_telegram_channel(app: App, stack: str = "ptb", **options: Any) -> TelegramChannel:
    """The Telegram channel on `stack` ("ptb" or "aiogram"), sending through the rate limiter.

    A chat that turns out blocked or deleted while the bot replies gets its reminders paused.
    """
    from bot.delivery import RateLimitedOutbox

    channel_class: type[TelegramChannel]
    if stack == "ptb":
        from bot.channels.telegram_ptb import PtbChannel as channel_class
    elif stack == "aiogram":
        from bot.channels.telegram_aiogram import AiogramChannel as channel_class
    else:
        raise ConfigError(f"unknown Telegram stack {stack!r}: use one of {TELEGRAM_STACKS}")
    token = app.settings.telegram.token

    def pause_reminders(chat: ChatRef) -> None:
        app.storage.reminders.pause_chat(chat.channel, chat.chat_id)

    options.setdefault("limiter", RateLimitedOutbox)
    options.setdefault("on_chat_gone", pause_reminders)
    return channel_class(
        token=token.get_secret_value() if token else "",
        api_root=app.settings.telegram.api_base_url,
        engine=app.engine,
        seen=app.storage.seen_updates,
        error_text=app.engine.replies.error,
        **options,
    )


def run_telegram(
    settings: Settings,
    stack: str = "ptb",
    webhook: str | None = None,
    host: str = "0.0.0.0",
    port: int = 8080,
) -> int:
    """Run the Telegram channel until SIGINT/SIGTERM: long polling, or a webhook at `webhook`."""
    token = settings.telegram.token
    if token is None or not token.get_secret_value().strip():
        raise ConfigError(
            "BEIAN_TELEGRAM__TOKEN is not set: put the bot token from @BotFather in the "
            "environment or in .env"
        )
    app = build_app(settings)
    try:
        asyncio.run(_serve_telegram(app, stack, webhook, host, port))
    finally:
        app.storage.close()
    return 0


async def _serve_telegram(app: App, stack: str, webhook: str | None, host: str, port: int) -> None:
    from bot.channels.telegram_common import CHANNEL

    channel = build_telegram_channel(app, stack)
    heartbeat = telegram_heartbeat(app.settings)
    # The sender has its own connection: it runs on the event loop, the engine in a thread.
    sender_storage = open_storage(app.settings)
    reminders = ReminderSender(sender_storage.reminders, {CHANNEL: channel.outbox})
    try:
        if webhook:
            configured = app.settings.telegram.webhook_secret
            # Telegram echoes the secret we register; a random one does when none is set.
            secret = configured.get_secret_value() if configured else secrets.token_urlsafe(32)
            await channel.run_webhook(webhook, secret, host, port, heartbeat, [reminders])
            return
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await channel.run_polling(stop, heartbeat, [reminders])
    finally:
        sender_storage.close()


def telegram_heartbeat(settings: Settings) -> Path:
    """The file the channel touches every 30 s while it runs (the Docker healthcheck reads it)."""
    return settings.db_path.parent / "telegram.heartbeat"
