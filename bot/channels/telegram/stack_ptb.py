"""The Telegram channel on python-telegram-bot 22: one handler for messages, one for buttons.

Run it with `beian-bot telegram --stack ptb`. The Application only receives updates and
hands them, as Bot API JSON, to the shared inbox (bot/channels/inbox.py); no
ConversationHandler, no JobQueue, no persistence: the engine owns the dialogue.
"""

from __future__ import annotations

import datetime as dtm
import os
from collections.abc import Awaitable, Sequence
from typing import Any, TypeVar

from telegram import BotCommand, InlineKeyboardMarkup, InputFile, MessageEntity, Update
from telegram.constants import ChatAction
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    RetryAfter,
    TelegramError,
)
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.channels.telegram.channel import TelegramChannel
from bot.channels.telegram.codec import ALLOWED_UPDATES, BotIdentity
from bot.channels.telegram.outbox import BotCalls, bad_request
from bot.messages import Document, SendError

JSON = dict[str, Any]
T = TypeVar("T")


# Connections for Bot API calls. Telegram takes about 30 messages a second in all, so 32 is
# ample; PTB's default of 256 costs CPU because httpcore checks every pooled connection on
# each request (about 20 % more answers per second with 32 in benchmarks/bench_telegram.py).
CONNECTION_POOL_SIZE = 32
PtbApp = Application[Any, Any, Any, Any, Any, Any]


async def _call(call: Awaitable[T]) -> T:
    """Await a Bot API call, translating PTB's errors to SendError."""
    try:
        return await call
    except RetryAfter as exc:
        delay = exc.retry_after
        seconds = delay.total_seconds() if isinstance(delay, dtm.timedelta) else float(delay)
        raise SendError(str(exc), retry_after=seconds) from exc
    except (Forbidden, ChatMigrated) as exc:
        raise SendError(str(exc), permanent=True) from exc
    except BadRequest as exc:  # before TelegramError: BadRequest is a NetworkError in PTB
        raise bad_request(exc.message) from exc
    except TelegramError as exc:  # NetworkError, TimedOut, Conflict...: worth another try
        raise SendError(str(exc)) from exc


class PtbCalls(BotCalls):
    """BotCalls on a PTB Bot."""

    def __init__(self, application: PtbApp) -> None:
        self.bot = application.bot

    async def get_me(self) -> BotIdentity:
        me = await _call(self.bot.get_me())
        return BotIdentity(id=me.id, username=me.username or "")

    async def set_commands(self, commands: Sequence[tuple[str, str]]) -> None:
        await _call(self.bot.set_my_commands([BotCommand(c, d) for c, d in commands]))

    def _entities(self, entities: list[JSON]) -> list[MessageEntity] | None:
        return [MessageEntity.de_json(e, self.bot) for e in entities] or None

    def _markup(self, markup: JSON | None) -> InlineKeyboardMarkup | None:
        return InlineKeyboardMarkup.de_json(markup, self.bot) if markup else None

    async def send_text(
        self, chat_id: int, text: str, entities: list[JSON], markup: JSON | None
    ) -> None:
        await _call(
            self.bot.send_message(
                chat_id,
                text,
                entities=self._entities(entities),
                reply_markup=self._markup(markup),
            )
        )

    async def send_document(
        self,
        chat_id: int,
        document: Document,
        caption: str,
        entities: list[JSON],
        markup: JSON | None,
    ) -> None:
        upload = InputFile(document.content, filename=document.filename, attach=True)
        await _call(
            self.bot.send_document(
                chat_id,
                upload,
                caption=caption or None,
                caption_entities=self._entities(entities),
                reply_markup=self._markup(markup),
            )
        )

    async def delete_message(self, chat_id: int, message_id: int) -> None:
        await _call(self.bot.delete_message(chat_id, message_id))

    async def send_typing(self, chat_id: int) -> None:
        await _call(self.bot.send_chat_action(chat_id, ChatAction.TYPING))

    async def answer_callback(self, query_id: str, text: str | None) -> None:
        await _call(self.bot.answer_callback_query(query_id, text=text))


class PtbChannel(TelegramChannel):
    """The channel on a python-telegram-bot Application."""

    stack = "ptb"
    _application: PtbApp | None = None

    @property
    def application(self) -> PtbApp:
        """The PTB Application (after start)."""
        if self._application is None:
            raise RuntimeError("channel not started")
        return self._application

    async def _open(self) -> BotCalls:
        # Opt in to timedelta time periods (RetryAfter.retry_after): without it PTB 22 warns.
        os.environ.setdefault("PTB_TIMEDELTA", "1")
        application = (
            ApplicationBuilder()
            .token(self.token)
            .base_url(f"{self.api_root}/bot")
            .base_file_url(f"{self.api_root}/file/bot")
            .job_queue(None)
            .connection_pool_size(CONNECTION_POOL_SIZE)
            # Updates are handed over in order and at once; the inbox provides concurrency.
            .concurrent_updates(False)
            .build()
        )
        application.add_handler(MessageHandler(filters.UpdateType.MESSAGE, self._on_update))
        application.add_handler(CallbackQueryHandler(self._on_update))
        self._application = application
        await application.initialize()
        return PtbCalls(application)

    async def _on_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self.inbox.accept(update.to_dict())

    async def _start_updates(self, polling: bool) -> None:
        await self.application.start()
        if polling and self.application.updater is not None:
            await self.application.updater.start_polling(
                poll_interval=0,
                timeout=dtm.timedelta(seconds=self.poll_timeout),
                allowed_updates=ALLOWED_UPDATES,
                drop_pending_updates=False,  # the inbox drops only what is over a day old
            )

    async def _stop_updates(self) -> None:
        if self._application is None:
            return
        updater = self._application.updater
        if updater is not None and updater.running:
            await updater.stop()
        if self._application.running:
            await self._application.stop()

    async def _close(self) -> None:
        if self._application is not None:
            await self._application.shutdown()

    def is_polling(self) -> bool:
        updater = self._application.updater if self._application else None
        return updater is not None and updater.running

    def parse(self, update: JSON) -> None:
        try:
            Update.de_json(update, self.application.bot)
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a Telegram update: {exc}") from exc

    async def set_webhook(self, url: str, secret: str) -> None:
        await _call(
            self.application.bot.set_webhook(
                url, secret_token=secret, allowed_updates=ALLOWED_UPDATES
            )
        )
