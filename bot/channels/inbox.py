"""From a platform's update to the engine and back: dedupe, order per chat, typing, sending.

A platform's handler only calls `Inbox.submit(update)`, which returns at once. Updates of one
chat wait in that chat's queue and are handled one at a time; different chats run
concurrently. The engine is synchronous (SQLite, jieba), so it runs in one worker thread: the
event loop stays free for network I/O and typing indicators, and the storage connection is
never used by two threads at once. What is platform-specific (reading an update, showing
"typing…") is handed in as a `Platform`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Generic, Protocol, TypeVar

from bot.channels.base import ReplyEngine
from bot.messages import ChatRef, Incoming, Outbox, Outgoing, SendError
from bot.storage.base import SeenUpdates

logger = logging.getLogger(__name__)
T = TypeVar("T")
U = TypeVar("U")
U_contra = TypeVar("U_contra", contravariant=True)


class Platform(Protocol[U_contra]):
    """What the inbox needs from a platform about its updates."""

    def update_id(self, update: U_contra) -> str | int | None:
        """The id redeliveries share (None: cannot be deduplicated, so it is dropped)."""
        ...

    def queue_key(self, update: U_contra) -> str:
        """Which chat's queue the update waits in."""
        ...

    async def translate(self, update: U_contra) -> Incoming | None:
        """The update as an `Incoming` (None: nothing for the engine, e.g. a join event)."""
        ...

    async def typing(self, chat: ChatRef) -> None:
        """Show "typing…" once in the chat (raise SendError or nothing)."""
        ...


class ChatQueues(Generic[U]):
    """Per-chat FIFO queues with one worker task per busy chat."""

    def __init__(self, handle: Callable[[U], Awaitable[None]]) -> None:
        self._handle = handle
        self._queues: dict[str, deque[U]] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}

    def submit(self, chat_id: str, update: U) -> None:
        """Queue an update behind the earlier ones of the same chat."""
        self._queues.setdefault(chat_id, deque()).append(update)
        if chat_id not in self._workers:
            self._workers[chat_id] = asyncio.create_task(self._drain(chat_id))

    @property
    def pending(self) -> int:
        """Updates queued or being handled."""
        return sum(len(q) for q in self._queues.values()) + len(self._workers)

    async def _drain(self, chat_id: str) -> None:
        queue = self._queues[chat_id]
        try:
            while queue:
                update = queue.popleft()
                try:
                    await self._handle(update)
                except Exception:
                    logger.exception("an update failed")
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


class Inbox(Generic[U]):
    """Dedupe -> one queue per chat -> engine (worker thread) -> outbox, for one channel."""

    def __init__(
        self,
        *,
        channel: str,
        platform: Platform[U],
        engine: ReplyEngine,
        seen: SeenUpdates,
        outbox: Outbox,
        error_text: str,
        typing_delay: float = 1.0,
        typing_repeat: float = 4.5,
        executor: ThreadPoolExecutor | None = None,
        on_chat_gone: Callable[[ChatRef], object] | None = None,
    ) -> None:
        self.channel, self.platform = channel, platform
        self.engine, self.seen, self.outbox = engine, seen, outbox
        self.error_text = error_text
        self.typing_delay, self.typing_repeat = typing_delay, typing_repeat
        # Called (in the core's thread) when the platform says a chat is gone for good.
        self.on_chat_gone = on_chat_gone
        self._own_executor = executor is None
        self.executor = executor or ThreadPoolExecutor(1, thread_name_prefix="beian-core")
        self.queues: ChatQueues[U] = ChatQueues(self._handle)

    def submit(self, update: U) -> None:
        """Called by the platform's handler for every update; returns at once."""
        self.queues.submit(self.platform.queue_key(update), update)

    async def close(self, timeout: float = 10.0) -> None:
        """Finish queued updates, then release the worker thread."""
        await self.queues.close(timeout)
        if self._own_executor:
            self.executor.shutdown(wait=True)

    async def _core(self, func: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.executor, func, *args)

    async def _handle(self, update: U) -> None:
        update_id = self.platform.update_id(update)
        if update_id is None or not await self._core(self.seen.claim, self.channel, update_id):
            logger.info("%s update %s already handled: skipped", self.channel, update_id)
            return
        incoming = await self.platform.translate(update)
        if incoming is None:
            return
        typing = asyncio.create_task(self._typing(incoming.chat))
        try:
            replies = await self._core(self.engine.handle, incoming)
        except Exception:
            logger.exception("engine failed on %s update %s", self.channel, update_id)
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

    async def _typing(self, chat: ChatRef) -> None:
        """After `typing_delay`, show "typing…" until cancelled."""
        await asyncio.sleep(self.typing_delay)
        while True:
            with contextlib.suppress(SendError):
                await self.platform.typing(chat)
            await asyncio.sleep(self.typing_repeat)
