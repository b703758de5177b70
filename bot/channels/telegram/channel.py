"""What both Telegram stacks share around their framework: start, stop, outbox, webhook feed.

A stack subclass (`stack_ptb.PtbChannel`, `stack_aiogram.AiogramChannel`) supplies the
framework objects, its `BotCalls`, polling, and `parse` (the framework's check that a
webhook body is an update). Every update goes to `await self.inbox.accept(update_json)`; the
channel itself is the inbox's `Platform`: it reads Bot API updates and shows "typing…".
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from abc import abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from bot.channels.base import Channel, ReplyEngine
from bot.channels.inbox import Inbox
from bot.channels.telegram.codec import (
    BOT_COMMANDS,
    CHANNEL,
    BotIdentity,
    CallbackKeys,
    callback_to_incoming,
    message_to_incoming,
    update_chat_id,
)
from bot.channels.telegram.outbox import BotCalls, SplittingOutbox, TelegramOutbox
from bot.messages import ChatRef, Incoming, Outbox, Outgoing, SendError
from bot.storage.base import InboxStore

logger = logging.getLogger(__name__)
JSON = dict[str, Any]
OutboxLayer = Callable[[Outbox], Outbox]


def _no_layer(outbox: Outbox) -> Outbox:
    return outbox


@dataclass(frozen=True)
class Webhook:
    """Where Telegram posts updates in webhook mode, and where we listen for them."""

    url: str
    secret: str
    host: str = "0.0.0.0"
    port: int = 8080


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


class TelegramChannel(Channel):
    """One bot on one stack: `await start()`, then updates flow until `await stop()`."""

    name: ClassVar[str] = CHANNEL
    stack: ClassVar[str]

    def __init__(
        self,
        *,
        token: str,
        api_root: str,
        engine: ReplyEngine,
        store: InboxStore,
        error_text: str,
        busy_text: str,
        limiter: OutboxLayer = _no_layer,
        typing_delay: float = 1.0,
        poll_timeout: int = 10,
        on_chat_gone: Callable[[ChatRef], object] | None = None,
        webhook: Webhook | None = None,
        grace: float = 10.0,
        ledger: InboxStore | None = None,
    ) -> None:
        self.token = token
        # The Bot API server's root without `/bot` (the emulator in tests).
        self.api_root = api_root.rstrip("/")
        self.engine, self.store, self.error_text = engine, store, error_text
        self.busy_text = busy_text
        self.limiter, self.typing_delay, self.poll_timeout = limiter, typing_delay, poll_timeout
        self.on_chat_gone = on_chat_gone
        self.webhook, self.grace = webhook, grace
        self.ledger = ledger  # see Inbox: where sent replies are written down
        self.keys = CallbackKeys()
        self.polling = False
        self._raw = _WhenStarted()
        #: Where replies and reminders go: split, rate-limited, then Telegram.
        self.outbox: Outbox = SplittingOutbox(limiter(self._raw))
        self._inbox: Inbox | None = None
        self._me: BotIdentity | None = None
        self._calls: BotCalls | None = None
        self._server: Any = None

    # ---- what a stack provides --------------------------------------------------------------

    @abstractmethod
    async def _open(self) -> BotCalls:
        """Build the framework objects and the HTTP session; getMe works afterwards."""

    @abstractmethod
    async def _start_updates(self, polling: bool) -> None:
        """Start the framework's update processing (and long polling when `polling`)."""

    @abstractmethod
    async def _stop_updates(self) -> None:
        """Stop polling and update processing; no new update reaches the inbox after it."""

    @abstractmethod
    async def _close(self) -> None:
        """Close the HTTP session."""

    @abstractmethod
    def parse(self, update: JSON) -> None:
        """The framework's check that a webhook body is an update (ValueError if not)."""

    @abstractmethod
    async def set_webhook(self, url: str, secret: str) -> None:
        """setWebhook with Telegram's secret-token header."""

    @abstractmethod
    def is_polling(self) -> bool:
        """Whether the long-polling loop is alive."""

    # ---- shared -------------------------------------------------------------------------------

    @property
    def inbox(self) -> Inbox:
        """The inbox every update goes through (after start)."""
        if self._inbox is None:
            raise RuntimeError("channel not started")
        return self._inbox

    @property
    def me(self) -> BotIdentity:
        """The bot's id and username (after start)."""
        if self._me is None:
            raise RuntimeError("channel not started")
        return self._me

    async def start(self, *, polling: bool | None = None) -> None:
        """Connect, set the command menu, then take updates (polling, or `feed` for webhooks).

        Without `polling`, a channel with a `webhook` waits for `feed`; otherwise it polls.
        """
        polling = self.webhook is None if polling is None else polling
        calls = self._calls = await self._open()
        self._me = await calls.get_me()
        await calls.set_commands(BOT_COMMANDS)
        self._raw.target = TelegramOutbox(calls, self._me, self.keys)
        self._inbox = Inbox(
            channel=CHANNEL,
            platform=self,
            engine=self.engine,
            store=self.store,
            outbox=self.outbox,
            error_text=self.error_text,
            busy_text=self.busy_text,
            typing_delay=self.typing_delay,
            # Telegram shows "typing…" for about five seconds per sendChatAction.
            typing_repeat=4.5,
            on_chat_gone=self.on_chat_gone,
            ledger=self.ledger,
        )
        self.polling = polling
        # What the last run accepted and could not finish goes first, ahead of new updates.
        await self._inbox.resume()
        await self._start_updates(polling)
        logger.info("telegram (%s) started as @%s", self.stack, self._me.username)

    async def stop(self) -> None:
        """Stop taking updates, finish the queued ones, close the session."""
        await self._stop_updates()
        if self._inbox is not None:
            await self._inbox.close(self.grace)
        self._raw.target = None
        await self._close()

    async def feed(self, update: JSON) -> None:
        """Webhook mode: check and keep one update; returns once it is committed.

        It goes to the inbox without the framework's dispatcher: the dispatcher would queue
        it in memory and the webhook would answer 200 before it is kept."""
        self.parse(update)
        await self.inbox.accept(update)

    def health(self) -> JSON:
        """What /healthz reports."""
        return {
            "status": "ok",
            "stack": self.stack,
            "bot": self._me.username if self._me else None,
            "queued_updates": self._inbox.queues.pending if self._inbox else 0,
        }

    def is_alive(self) -> bool:
        """Polling: the poller runs. Webhook: the server has started."""
        if self.webhook is not None:
            return bool(self._server is not None and self._server.started)
        return self.is_polling()

    async def serve(self, stop: asyncio.Event) -> None:
        """Polling: wait for `stop`. Webhook: register it and serve until `stop`."""
        if self.webhook is None:
            await stop.wait()
            return
        from bot.channels.telegram.webhook import webhook_server

        hook = self.webhook
        server = self._server = webhook_server(self, hook.url, hook.secret, hook.host, hook.port)
        await self.set_webhook(hook.url, hook.secret)
        serving = asyncio.create_task(server.serve())
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait({serving, stopping}, return_when=asyncio.FIRST_COMPLETED)
        server.should_exit = True
        stopping.cancel()
        await serving

    # ---- the inbox's Platform ----------------------------------------------------------

    def update_id(self, update: JSON) -> int | None:
        """Telegram's update_id."""
        value = update.get("update_id")
        return value if isinstance(value, int) else None

    def queue_key(self, update: JSON) -> str:
        """The chat the update belongs to."""
        return str(update_chat_id(update) or 0)

    async def translate(self, update: JSON) -> Incoming | None:
        """A message or a button press as an `Incoming`; a pressed button is answered now."""
        update_id = update.get("update_id")
        if (query := update.get("callback_query")) is not None:
            incoming, refusal = callback_to_incoming(query, self.me, self.keys, update_id)
            # Answer at once, so the button stops spinning while the engine works; a press of
            # someone else's (or an expired) button is only told so, and changes nothing.
            with contextlib.suppress(SendError):
                await self._bot_calls.answer_callback(str(query.get("id")), refusal)
            return incoming
        if (message := update.get("message")) is not None:
            return message_to_incoming(message, self.me, update_id)
        return None

    async def typing(self, chat: ChatRef) -> None:
        """sendChatAction typing."""
        await self._bot_calls.send_typing(int(chat.chat_id))

    @property
    def _bot_calls(self) -> BotCalls:
        if self._calls is None:
            raise RuntimeError("channel not started")
        return self._calls
