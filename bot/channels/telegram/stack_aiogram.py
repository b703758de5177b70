"""The Telegram channel on aiogram 3: one router handler for messages, one for buttons.

Run it with `beian-bot telegram --stack aiogram`. The Dispatcher only receives updates and
hands them, as Bot API JSON, to the shared inbox (bot/channels/inbox.py); no FSM,
no filters: the engine owns the dialogue and the group etiquette.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Sequence
from typing import Any, TypeVar

from aiogram import Bot, Dispatcher, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ChatAction
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramRetryAfter,
)
from aiogram.types import (
    BotCommand,
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardMarkup,
    Message,
    MessageEntity,
    Update,
)
from pydantic import ValidationError

from bot.channels.telegram.channel import TelegramChannel
from bot.channels.telegram.codec import ALLOWED_UPDATES, BotIdentity
from bot.channels.telegram.outbox import BotCalls, bad_request
from bot.messages import Document, SendError

JSON = dict[str, Any]
T = TypeVar("T")


async def _call(call: Awaitable[T]) -> T:
    """Await a Bot API call, translating aiogram's errors to SendError."""
    try:
        return await call
    except TelegramRetryAfter as exc:
        raise SendError(exc.message, retry_after=float(exc.retry_after)) from exc
    except (TelegramForbiddenError, TelegramMigrateToChat) as exc:
        raise SendError(exc.message, permanent=True) from exc
    except TelegramBadRequest as exc:
        raise bad_request(exc.message) from exc
    except (TelegramAPIError, TelegramNetworkError) as exc:  # 5xx, network: another try helps
        raise SendError(str(exc)) from exc


def _as_json(update: Update) -> JSON:
    return update.model_dump(mode="json", by_alias=True, exclude_none=True)


class AiogramCalls(BotCalls):
    """BotCalls on an aiogram Bot."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def get_me(self) -> BotIdentity:
        me = await _call(self.bot.get_me())
        return BotIdentity(id=me.id, username=me.username or "")

    async def set_commands(self, commands: Sequence[tuple[str, str]]) -> None:
        menu = [BotCommand(command=c, description=d) for c, d in commands]
        await _call(self.bot.set_my_commands(menu))

    @staticmethod
    def _entities(entities: list[JSON]) -> list[MessageEntity] | None:
        return [MessageEntity.model_validate(e) for e in entities] or None

    @staticmethod
    def _markup(markup: JSON | None) -> InlineKeyboardMarkup | None:
        return InlineKeyboardMarkup.model_validate(markup) if markup else None

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
        upload = BufferedInputFile(document.content, filename=document.filename)
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


class AiogramChannel(TelegramChannel):
    """The channel on an aiogram Bot + Dispatcher."""

    stack = "aiogram"
    _bot: Bot | None = None
    _polling: asyncio.Task[None] | None = None

    @property
    def bot(self) -> Bot:
        """The aiogram Bot (after start)."""
        if self._bot is None:
            raise RuntimeError("channel not started")
        return self._bot

    async def _open(self) -> BotCalls:
        session = AiohttpSession(api=TelegramAPIServer.from_base(self.api_root))
        self._bot = Bot(self.token, session=session)
        router = Router(name="beian-bot")
        router.message()(self._on_message)
        router.callback_query()(self._on_button)
        self.dispatcher = Dispatcher()
        self.dispatcher.include_router(router)
        return AiogramCalls(self._bot)

    async def _on_message(self, message: Message, event_update: Update) -> None:
        await self.inbox.accept(_as_json(event_update))

    async def _on_button(self, query: CallbackQuery, event_update: Update) -> None:
        await self.inbox.accept(_as_json(event_update))

    async def _start_updates(self, polling: bool) -> None:
        if not polling:
            return
        # getUpdates and a webhook exclude each other (409): polling wins when asked for.
        await _call(self.bot.delete_webhook(drop_pending_updates=False))
        self._polling = asyncio.create_task(
            self.dispatcher.start_polling(
                self.bot,
                polling_timeout=self.poll_timeout,
                # One update at a time into the inbox, so a chat's order is kept.
                handle_as_tasks=False,
                allowed_updates=ALLOWED_UPDATES,
                handle_signals=False,
                close_bot_session=False,
            )
        )

    async def _stop_updates(self) -> None:
        if self._polling is None:
            return
        try:
            await self.dispatcher.stop_polling()
        except RuntimeError:  # polling has not begun yet (or already ended)
            self._polling.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._polling
        self._polling = None

    async def _close(self) -> None:
        if self._bot is not None:
            await self._bot.session.close()

    def is_polling(self) -> bool:
        return self._polling is not None and not self._polling.done()

    def parse(self, update: JSON) -> None:
        try:
            Update.model_validate(update, context={"bot": self.bot})
        except ValidationError as exc:
            problems = exc.error_count()
            raise ValueError(f"not a Telegram update: {problems} invalid field(s)") from exc

    async def set_webhook(self, url: str, secret: str) -> None:
        await _call(
            self.bot.set_webhook(url, secret_token=secret, allowed_updates=ALLOWED_UPDATES)
        )
