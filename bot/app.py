"""Composition root: Settings -> Storage -> Engine (-> reminders -> channel). Wiring only."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from bot.config import Settings
from bot.dialogue.forms import Forms, load_forms
from bot.dialogue.texts import load_dialogue_texts
from bot.engine.core import Engine
from bot.engine.texts import load_replies
from bot.faq.retriever import Retriever, load_retriever
from bot.messages import ChatRef
from bot.reminders import ReminderIntake, ReminderSender
from bot.storage.base import Storage, open_storage

if TYPE_CHECKING:
    from bot.channels.telegram.channel import TelegramChannel


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


def build_telegram_channel(app: App, stack: str = "ptb", **options: Any) -> TelegramChannel:
    """The Telegram channel on the app; a chat found blocked has its reminders paused."""
    # Imported here: `beian-bot ask` and the terminal must not pay for the chat libraries.
    from bot.channels.telegram.serve import build_channel

    def pause_reminders(chat: ChatRef) -> None:
        app.storage.reminders.pause_chat(chat.channel, chat.chat_id)

    options.setdefault("on_chat_gone", pause_reminders)
    return build_channel(
        engine=app.engine,
        settings=app.settings.telegram,
        seen=app.storage.seen_updates,
        error_text=app.engine.replies.error,
        stack=stack,
        **options,
    )


def run_telegram(
    settings: Settings, stack: str = "ptb", webhook: str | None = None, host: str = "0.0.0.0",
    port: int = 8080,
) -> int:  # fmt: skip
    """Run the Telegram channel until SIGINT/SIGTERM: long polling, or a webhook at `webhook`."""
    from bot.channels.telegram.serve import require_token, serve, webhook_of

    require_token(settings.telegram)
    app = build_app(settings)
    hook = webhook_of(settings.telegram, webhook, host, port) if webhook else None
    channel = build_telegram_channel(app, stack, webhook=hook)
    # The sender has its own connection: it runs on the event loop, the engine in a thread.
    sender_storage = open_storage(settings)
    sender = ReminderSender(sender_storage.reminders, {channel.name: channel.outbox})
    heartbeat = settings.db_path.parent / "telegram.heartbeat"
    try:
        asyncio.run(serve(channel, [sender], heartbeat))
    finally:
        sender_storage.close()
        app.storage.close()
    return 0
