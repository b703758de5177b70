"""From a Bot API update to the engine and back: order per chat, dedup, typing, sending.

A stack's catch-all handler only calls `TelegramBridge.submit(update_json)`, which returns at
once. Updates of one chat wait in that chat's queue and are handled one at a time; different
chats run concurrently. The engine is synchronous (SQLite, jieba), so it runs in one worker
thread: the event loop stays free for network I/O and typing indicators, and the one SQLite
connection is never used by two threads at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol, TypeVar

from bot.channels.telegram_common import (
    CHANNEL,
    EXPIRED_BUTTON,
    BotIdentity,
    CallbackKeys,
    callback_to_incoming,
    message_to_incoming,
    update_chat_id,
)
from bot.channels.telegram_outbox import BotCalls
from bot.messages import ChatRef, Incoming, Outbox, Outgoing, SendError
from bot.storage.base import SeenUpdates

logger = logging.getLogger(__name__)
JSON = dict[str, Any]
T = TypeVar("T")
# Telegram shows "typing…" for about five seconds per sendChatAction.
_TYPING_REPEAT = 4.5


class ReplyEngine(Protocol):
    """What the bridge needs of the engine."""

    def handle(self, msg: Incoming) -> list[Outgoing]:
        """Replies to one message."""
        ...


class ChatQueues:
    """Per-chat FIFO queues with one worker task per busy chat."""

    def __init__(self, handle: Callable[[JSON], Awaitable[None]]) -> None:
        self._handle = handle
        self._queues: dict[int, deque[JSON]] = {}
        self._workers: dict[int, asyncio.Task[None]] = {}

    def submit(self, chat_id: int, update: JSON) -> None:
        """Queue an update behind the earlier ones of the same chat."""
        self._queues.setdefault(chat_id, deque()).append(update)
        if chat_id not in self._workers:
            self._workers[chat_id] = asyncio.create_task(self._drain(chat_id))

    @property
    def pending(self) -> int:
        """Updates queued or being handled."""
        return sum(len(q) for q in self._queues.values()) + len(self._workers)

    async def _drain(self, chat_id: int) -> None:
        queue = self._queues[chat_id]
        try:
            while queue:
                update = queue.popleft()
                try:
                    await self._handle(update)
                except Exception:
                    logger.exception("update %s failed", update.get("update_id"))
        finally:
            del self._workers[chat_id]
            if not queue:
                del self._queues[chat_id]

    async def join(self, timeout: float) -> bool:
        """Wait until every queue is empty; False on timeout."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self._workers:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            await asyncio.wait(list(self._workers.values()), timeout=remaining)
        return True

    async def close(self, timeout: float = 10.0) -> None:
        """Finish what is queued (up to `timeout`), then cancel the rest, with a log line."""
        if not await self.join(timeout):
            logger.warning("shutting down with %d updates unhandled", self.pending)
            for task in list(self._workers.values()):
                task.cancel()
            await asyncio.gather(*self._workers.values(), return_exceptions=True)


class TelegramBridge:
    """Dedup -> Incoming -> engine (worker thread) -> Outbox, for one bot."""

    def __init__(
        self,
        *,
        engine: ReplyEngine,
        seen: SeenUpdates,
        calls: BotCalls,
        outbox: Outbox,
        me: BotIdentity,
        keys: CallbackKeys,
        error_text: str,
        typing_delay: float = 1.0,
        executor: ThreadPoolExecutor | None = None,
        on_chat_gone: Callable[[ChatRef], object] | None = None,
    ) -> None:
        self.engine, self.seen, self.calls, self.outbox = engine, seen, calls, outbox
        self.me, self.keys, self.error_text = me, keys, error_text
        self.typing_delay = typing_delay
        # Called (in the core's thread) when Telegram says a chat is gone for good.
        self.on_chat_gone = on_chat_gone
        self._own_executor = executor is None
        self.executor = executor or ThreadPoolExecutor(1, thread_name_prefix="beian-core")
        self.queues = ChatQueues(self._handle)

    def submit(self, update: JSON) -> None:
        """Called by a stack's handler for every update; returns at once."""
        self.queues.submit(update_chat_id(update) or 0, update)

    async def close(self, timeout: float = 10.0) -> None:
        """Finish queued updates, then release the worker thread."""
        await self.queues.close(timeout)
        if self._own_executor:
            self.executor.shutdown(wait=True)

    async def _core(self, func: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.executor, func, *args)

    async def _handle(self, update: JSON) -> None:
        update_id = update.get("update_id")
        if update_id is None or not await self._core(self.seen.claim, CHANNEL, update_id):
            logger.info("update %s already handled: skipped", update_id)
            return
        incoming = await self._translate(update)
        if incoming is None:
            return
        typing = asyncio.create_task(self._typing(int(incoming.chat.chat_id)))
        try:
            replies = await self._core(self.engine.handle, incoming)
        except Exception:
            logger.exception("engine failed on update %s", update_id)
            replies = [Outgoing(chat=incoming.chat, text=self.error_text)]
        finally:
            typing.cancel()
        for reply in replies:
            try:
                await self.outbox.send(reply)
            except SendError as exc:
                logger.warning("reply to chat %s not delivered: %s", reply.chat.chat_id, exc)
                if exc.permanent and self.on_chat_gone is not None:
                    await self._core(self.on_chat_gone, reply.chat)
                    return

    async def _translate(self, update: JSON) -> Incoming | None:
        update_id = update.get("update_id")
        if (query := update.get("callback_query")) is not None:
            incoming = callback_to_incoming(query, self.me, self.keys, update_id)
            # Answer at once, so the button stops spinning while the engine works.
            with contextlib.suppress(SendError):
                await self.calls.answer_callback(
                    str(query.get("id")), None if incoming else EXPIRED_BUTTON
                )
            return incoming
        if (message := update.get("message")) is not None:
            return message_to_incoming(message, self.me, update_id)
        return None

    async def _typing(self, chat_id: int) -> None:
        """After `typing_delay`, show "typing…" until cancelled."""
        await asyncio.sleep(self.typing_delay)
        while True:
            with contextlib.suppress(SendError):
                await self.calls.send_typing(chat_id)
            await asyncio.sleep(_TYPING_REPEAT)
