"""What both Telegram stacks share around their framework: start, stop, outbox, webhook feed.

A stack subclass (`telegram_ptb.PtbChannel`, `telegram_aiogram.AiogramChannel`) supplies the
framework objects, its `BotCalls` and the two ways updates come in (polling or `feed`).
Everything it receives goes to `self.bridge.submit(update_json)`.
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar, Protocol

from bot.channels.telegram_bridge import ReplyEngine, TelegramBridge
from bot.channels.telegram_common import BOT_COMMANDS, BotIdentity, CallbackKeys
from bot.channels.telegram_outbox import BotCalls, SplittingOutbox, TelegramOutbox
from bot.messages import ChatRef, Outbox, Outgoing, SendError
from bot.storage.base import SeenUpdates

logger = logging.getLogger(__name__)
JSON = dict[str, Any]
OutboxLayer = Callable[[Outbox], Outbox]


def _no_layer(outbox: Outbox) -> Outbox:
    return outbox


class Service(Protocol):
    """Something that runs beside the channel (the reminder sender)."""

    async def start(self) -> None:
        """Begin; called once the channel can send."""
        ...

    async def stop(self) -> None:
        """End; called before the channel stops sending."""
        ...


class _WhenStarted:
    """The raw Telegram sender once the channel has started; before that a transient error.

    It lets `channel.outbox` exist from construction, so a service can be wired to it first.
    """

    def __init__(self) -> None:
        self.target: Outbox | None = None

    async def send(self, message: Outgoing) -> None:
        if self.target is None:
            raise SendError("telegram channel not running")
        await self.target.send(message)


class TelegramChannel(ABC):
    """One bot on one stack: `await start()`, then updates flow until `await stop()`."""

    stack: ClassVar[str]

    def __init__(
        self,
        *,
        token: str,
        api_root: str,
        engine: ReplyEngine,
        seen: SeenUpdates,
        error_text: str,
        limiter: OutboxLayer = _no_layer,
        typing_delay: float = 1.0,
        poll_timeout: int = 10,
        on_chat_gone: Callable[[ChatRef], object] | None = None,
    ) -> None:
        self.token = token
        # The Bot API server's root without `/bot` (the emulator in tests).
        self.api_root = api_root.rstrip("/")
        self.engine, self.seen, self.error_text = engine, seen, error_text
        self.limiter, self.typing_delay, self.poll_timeout = limiter, typing_delay, poll_timeout
        self.on_chat_gone = on_chat_gone
        self.keys = CallbackKeys()
        self.polling = False
        self._raw = _WhenStarted()
        #: Where replies and reminders go: split, rate-limited, then Telegram.
        self.outbox: Outbox = SplittingOutbox(limiter(self._raw))
        self._bridge: TelegramBridge | None = None
        self._me: BotIdentity | None = None

    # ---- what a stack provides --------------------------------------------------------------

    @abstractmethod
    async def _open(self) -> BotCalls:
        """Build the framework objects and the HTTP session; getMe works afterwards."""

    @abstractmethod
    async def _start_updates(self, polling: bool) -> None:
        """Start the framework's update processing (and long polling when `polling`)."""

    @abstractmethod
    async def _stop_updates(self) -> None:
        """Stop polling and update processing; no new update reaches the bridge after it."""

    @abstractmethod
    async def _close(self) -> None:
        """Close the HTTP session."""

    @abstractmethod
    async def feed(self, update: JSON) -> None:
        """Webhook mode: hand one raw update to the framework (ValueError if it is not one)."""

    @abstractmethod
    async def set_webhook(self, url: str, secret: str) -> None:
        """setWebhook with Telegram's secret-token header."""

    @abstractmethod
    def is_polling(self) -> bool:
        """Whether the long-polling loop is alive."""

    # ---- shared -------------------------------------------------------------------------------

    @property
    def bridge(self) -> TelegramBridge:
        """The bridge every update goes through (after start)."""
        if self._bridge is None:
            raise RuntimeError("channel not started")
        return self._bridge

    @property
    def me(self) -> BotIdentity:
        """The bot's id and username (after start)."""
        if self._me is None:
            raise RuntimeError("channel not started")
        return self._me

    async def start(self, *, polling: bool = True) -> None:
        """Connect, set the command menu, then take updates (polling, or `feed` for webhooks)."""
        calls = await self._open()
        self._me = await calls.get_me()
        await calls.set_commands(BOT_COMMANDS)
        self._raw.target = TelegramOutbox(calls, self._me, self.keys)
        self._bridge = TelegramBridge(
            engine=self.engine,
            seen=self.seen,
            calls=calls,
            outbox=self.outbox,
            me=self._me,
            keys=self.keys,
            error_text=self.error_text,
            typing_delay=self.typing_delay,
            on_chat_gone=self.on_chat_gone,
        )
        self.polling = polling
        await self._start_updates(polling)
        logger.info("telegram (%s) started as @%s", self.stack, self._me.username)

    async def stop(self) -> None:
        """Stop taking updates, finish the queued ones, close the session."""
        await self._stop_updates()
        if self._bridge is not None:
            await self._bridge.close()
        self._raw.target = None
        await self._close()

    def health(self) -> JSON:
        """What /healthz reports."""
        return {
            "status": "ok",
            "stack": self.stack,
            "bot": self._me.username if self._me else None,
            "queued_updates": self._bridge.queues.pending if self._bridge else 0,
        }

    async def run_polling(
        self,
        stop: asyncio.Event,
        heartbeat: Path | None = None,
        services: Sequence[Service] = (),
    ) -> None:
        """Poll until `stop` is set, touching `heartbeat` every 30 s while the poller is alive.

        `services` start after the channel and stop before it, so they can always send.
        """
        await self.start(polling=True)
        beat = asyncio.create_task(self._beat(heartbeat, self.is_polling))
        try:
            for service in services:
                await service.start()
            await stop.wait()
        finally:
            beat.cancel()
            for service in reversed(services):
                await service.stop()
            await self.stop()

    async def run_webhook(
        self,
        url: str,
        secret: str,
        host: str,
        port: int,
        heartbeat: Path | None = None,
        services: Sequence[Service] = (),
    ) -> None:
        """Register `url` with Telegram and serve the webhook until SIGINT/SIGTERM."""
        from bot.channels.telegram_webhook import webhook_server

        await self.start(polling=False)
        server = webhook_server(self, url, secret, host, port)
        beat = asyncio.create_task(self._beat(heartbeat, lambda: server.started))
        try:
            for service in services:
                await service.start()
            await self.set_webhook(url, secret)
            await server.serve()
        finally:
            beat.cancel()
            for service in reversed(services):
                await service.stop()
            await self.stop()

    @staticmethod
    async def _beat(path: Path | None, alive: Callable[[], bool]) -> None:
        """Touch `path` every 30 s while `alive()`: what the Docker healthcheck reads."""
        while path is not None:
            if alive():
                path.touch()
            await asyncio.sleep(30)
