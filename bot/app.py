"""Composition root: Settings -> Storage -> Engine (-> reminders -> channel). Wiring only."""

from __future__ import annotations

import asyncio
import signal
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from bot.channels.holder import run_as_holder
from bot.config import Settings
from bot.dialogue.forms import Forms, load_forms
from bot.dialogue.texts import load_dialogue_texts
from bot.engine.core import Engine
from bot.engine.texts import load_replies
from bot.errors import ConfigError
from bot.faq.retriever import Retriever, load_retriever
from bot.messages import ChatRef
from bot.reminders import ReminderIntake, ReminderSender
from bot.storage.base import Storage, open_storage

if TYPE_CHECKING:
    from bot.channels.telegram.channel import TelegramChannel
    from bot.channels.wecom.channel import WecomChannel


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
        store=app.storage.inbox,
        error_text=app.engine.replies.error,
        busy_text=app.engine.replies.flooded,
        stack=stack,
        budget=app.storage.send_budget(),
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
    # The sender has its own connection: it runs on the event loop, the engine in a thread;
    # so has the inbox's note of what was sent (bot/channels/inbox.py).
    sender_storage, ledger_storage = open_storage(settings), open_storage(settings)
    channel = build_telegram_channel(app, stack, webhook=hook, ledger=ledger_storage.inbox)
    sender = ReminderSender(sender_storage.reminders, {channel.name: channel.outbox})
    heartbeat = settings.db_path.parent / "telegram.heartbeat"
    try:
        asyncio.run(serve(channel, [sender], heartbeat))
    finally:
        sender_storage.close()
        ledger_storage.close()
        app.storage.close()
    return 0


def build_wecom_channel(app: App, **options: Any) -> WecomChannel:
    """The WeCom AI-bot channel on the app (BEIAN_WECOM__BOT_ID / SECRET / WS_URL).

    Group robots come from BEIAN_WECOM__WEBHOOK_* and from `beian-bot wecom bind-group`
    (read here, so a binding takes effect when the channel is next built); for one group,
    the stored binding wins."""
    from bot.channels.wecom.channel import WecomChannel
    from bot.channels.wecom.frames import CHANNEL
    from bot.channels.wecom.group_robot import GroupRobot

    wecom = app.settings.wecom
    if not wecom.bot_id or wecom.secret is None:
        raise ConfigError(
            "缺少企业微信机器人的凭据：请设置 BEIAN_WECOM__BOT_ID 和 BEIAN_WECOM__SECRET"
            "（管理后台 → 智能机器人 → API 模式 → 长连接）。"
        )
    robots = {}
    if wecom.webhook_url and wecom.webhook_chat:
        url = wecom.webhook_url
        if wecom.webhook_key is not None:
            url += ("&" if "?" in url else "?") + f"key={wecom.webhook_key.get_secret_value()}"
        robots[wecom.webhook_chat] = GroupRobot(url)
    for chat_id, bound in app.storage.group_robots.all(CHANNEL).items():
        robots[chat_id] = GroupRobot(bound)
    replies = app.engine.replies
    return WecomChannel(
        engine=app.engine,
        store=app.storage.inbox,
        url=wecom.ws_url,
        bot_id=wecom.bot_id,
        secret=wecom.secret.get_secret_value(),
        bot_name=app.settings.bot_name,
        welcome=replies.start.format(bot_name=app.settings.bot_name).strip(),
        error_text=replies.error,
        busy_text=replies.flooded,
        unreadable_text=replies.media_unreadable,
        robots=robots,
        budget=app.storage.send_budget(),
        **options,
    )


def run_wecom(settings: Settings) -> int:
    """Run the WeCom channel until SIGINT/SIGTERM, reminders beside it, while this worker
    holds the bot's one long connection (bot/channels/holder.py); others stand by.

    Refused credentials and a kick (a process outside the election took the bot) end it
    with a message."""
    app = build_app(settings)
    sender_storage, ledger_storage = open_storage(settings), open_storage(settings)
    ledger = ledger_storage.inbox
    # Built first: missing credentials stop here.
    channels = [build_wecom_channel(app, ledger=ledger)]
    leadership = app.storage.leadership(f"wecom:{settings.wecom.bot_id}")

    async def hold(stop: asyncio.Event) -> None:
        # A channel runs once; a worker that lost the hold and won it back needs a new one.
        channel = channels.pop() if channels else build_wecom_channel(app, ledger=ledger)
        sender = ReminderSender(sender_storage.reminders, {channel.name: channel.outbox})
        await channel.run(stop, settings.db_path.parent / "wecom.heartbeat", [sender])

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await run_as_holder(leadership, stop, hold, what="the WeCom long connection")

    try:
        asyncio.run(main())
    finally:
        leadership.release()
        sender_storage.close()
        ledger_storage.close()
        app.storage.close()
    return 0
