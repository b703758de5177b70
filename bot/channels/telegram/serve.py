"""Build the Telegram channel on a stack and serve it until SIGINT/SIGTERM.

It takes what it needs from the composition root (the engine, the Telegram settings, the
inbox store, callbacks), never the `App` itself: that would close a circle.
The chat libraries are imported inside `build_channel`: `beian-bot ask` must not pay for them.
"""

from __future__ import annotations

import asyncio
import secrets
import signal
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any

from bot.channels.base import ReplyEngine, Service
from bot.channels.telegram.channel import TelegramChannel, Webhook
from bot.channels.telegram.outbox import telegram_limiter
from bot.config import TelegramSettings
from bot.errors import ConfigError
from bot.storage.base import InboxStore, SendBudget

STACKS = ("ptb", "aiogram")


def require_token(settings: TelegramSettings) -> str:
    """The bot token, or a ConfigError saying where to put it."""
    token = settings.token
    if token is None or not token.get_secret_value().strip():
        raise ConfigError(
            "BEIAN_TELEGRAM__TOKEN is not set: put the bot token from @BotFather in the "
            "environment or in .env"
        )
    return token.get_secret_value()


def webhook_of(settings: TelegramSettings, url: str, host: str, port: int) -> Webhook:
    """Webhook mode at `url`, with the configured secret or a fresh random one."""
    configured = settings.webhook_secret
    # Telegram echoes the secret we register; a random one does when none is set.
    secret = configured.get_secret_value() if configured else secrets.token_urlsafe(32)
    return Webhook(url=url, secret=secret, host=host, port=port)


def build_channel(
    *,
    engine: ReplyEngine,
    settings: TelegramSettings,
    store: InboxStore,
    error_text: str,
    busy_text: str,
    stack: str = "ptb",
    budget: SendBudget | None = None,
    **options: Any,
) -> TelegramChannel:
    """The Telegram channel on `stack` ("ptb" or "aiogram")."""
    channel_class: type[TelegramChannel]
    if stack == "ptb":
        from bot.channels.telegram.stack_ptb import PtbChannel as channel_class
    elif stack == "aiogram":
        from bot.channels.telegram.stack_aiogram import AiogramChannel as channel_class
    else:
        raise ConfigError(f"unknown Telegram stack {stack!r}: use one of {STACKS}")
    token = settings.token
    options.setdefault("limiter", partial(telegram_limiter, shared=budget))
    options.setdefault("grace", settings.shutdown_grace)
    return channel_class(
        token=token.get_secret_value() if token else "",
        api_root=settings.api_base_url,
        engine=engine,
        store=store,
        error_text=error_text,
        busy_text=busy_text,
        **options,
    )


async def serve(
    channel: TelegramChannel, services: Sequence[Service], heartbeat: Path | None
) -> None:
    """Run the channel and its services until SIGINT/SIGTERM, then stop them in order."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await channel.run(stop, heartbeat, services)
