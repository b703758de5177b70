"""Outgoing -> Bot API calls, the same for both stacks; only `BotCalls` differs between them.

The send path is three Outbox layers, outermost first:

    SplittingOutbox        one Outgoing -> one Outgoing per Telegram message (4096 limit)
    RateLimitedOutbox      bot/channels/delivery.py: TELEGRAM_LIMITS per chat, group, overall
    TelegramOutbox         one Outgoing -> sendMessage / sendDocument (+ deleteMessage)

Splitting comes first so that the limiter counts real messages and a retried part never
repeats one that already went out.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Protocol

from bot.channels.delivery import RateLimitedOutbox, SendLimits
from bot.channels.telegram.codec import (
    BotIdentity,
    CallbackKeys,
    reply_markup,
    split_outgoing,
    with_mention,
)
from bot.messages import Document, Outbox, Outgoing, SendError
from bot.storage.base import SendBudget

logger = logging.getLogger(__name__)
JSON = dict[str, Any]

# Telegram's published limits: about 1 message a second to one chat (short bursts tolerated),
# 20 a minute to one group, about 30 a second in all.
TELEGRAM_LIMITS = SendLimits(
    per_chat_per_s=1, per_chat_burst=3, per_group_per_min=20, global_per_s=30
)


def telegram_limiter(inner: Outbox, shared: SendBudget | None = None) -> RateLimitedOutbox:
    """The send path's rate-limit layer at Telegram's limits (shared by the workers when
    `shared` is given)."""
    return RateLimitedOutbox(inner, TELEGRAM_LIMITS, shared=shared)


class BotCalls(Protocol):
    """The few Bot API calls the bot makes; each stack implements them.

    Every method raises `SendError` for a failed call, translated at the edge from the
    stack's own exceptions: `retry_after` for a 429, `permanent` for a chat that blocked the
    bot, was deleted or does not exist.
    """

    async def get_me(self) -> BotIdentity:
        """getMe."""
        ...

    async def set_commands(self, commands: Sequence[tuple[str, str]]) -> None:
        """setMyCommands for the default scope."""
        ...

    async def send_text(
        self, chat_id: int, text: str, entities: list[JSON], markup: JSON | None
    ) -> None:
        """sendMessage as plain text (no parse_mode)."""
        ...

    async def send_document(
        self,
        chat_id: int,
        document: Document,
        caption: str,
        entities: list[JSON],
        markup: JSON | None,
    ) -> None:
        """sendDocument with an uploaded file."""
        ...

    async def delete_message(self, chat_id: int, message_id: int) -> None:
        """deleteMessage."""
        ...

    async def send_typing(self, chat_id: int) -> None:
        """sendChatAction typing."""
        ...

    async def answer_callback(self, query_id: str, text: str | None) -> None:
        """answerCallbackQuery."""
        ...


class TelegramOutbox:
    """The raw sender: one Outgoing -> one Telegram message (plus a deletion)."""

    def __init__(self, calls: BotCalls, me: BotIdentity, keys: CallbackKeys) -> None:
        self.calls, self.me, self.keys = calls, me, keys

    async def send(self, message: Outgoing) -> None:
        """Deliver; longer texts are split here too (normally SplittingOutbox did it)."""
        for part in split_outgoing(message):
            await self._send_one(part)

    async def _send_one(self, message: Outgoing) -> None:
        chat_id = int(message.chat.chat_id)
        text, entities = with_mention(message)
        markup = reply_markup(message, self.me, self.keys)
        if message.document is not None:
            await self.calls.send_document(chat_id, message.document, text, entities, markup)
        elif text.strip():
            await self.calls.send_text(chat_id, text, entities, markup)
        else:
            logger.warning("empty reply to chat %s not sent (engine returned no text)", chat_id)
        if message.delete_message_id:
            await self._delete(chat_id, message.delete_message_id)

    async def _delete(self, chat_id: int, message_id: str) -> None:
        # Without admin rights Telegram refuses; the warning already went out, so say so
        # in the log and carry on.
        try:
            await self.calls.delete_message(chat_id, int(message_id))
        except (SendError, ValueError) as exc:
            logger.info("could not delete message %s in chat %s: %s", message_id, chat_id, exc)


class SplittingOutbox:
    """Hands the inner Outbox one Telegram-sized part at a time, in order."""

    def __init__(self, inner: Outbox) -> None:
        self.inner = inner

    async def send(self, message: Outgoing) -> None:
        """Send every part; a SendError stops the rest (they would fail the same way)."""
        for part in split_outgoing(message):
            await self.inner.send(part)


# Bad Request descriptions that mean the chat itself is gone for this bot.
_CHAT_GONE = (
    "chat not found",
    "user is deactivated",
    "bot was kicked",
    "group chat was deactivated",
    "peer_id_invalid",
    "have no rights to send",
    "not enough rights to send",
)


def bad_request(description: str) -> SendError:
    """A 400 as SendError: permanent when the chat is gone, else a one-off failure."""
    gone = any(marker in description.lower() for marker in _CHAT_GONE)
    return SendError(description, permanent=gone)
