"""From a platform's update to the engine and back: keep, dedupe, order per chat, typing, send.

A platform's handler awaits `Inbox.accept(update)`, which returns once the update is kept in
the database (with its dedupe record, in one transaction): only then may a webhook answer
200. Updates of one chat wait in that chat's queue and are handled one at a time; different
chats run concurrently. The turn that handles an update drops it from the kept ones in the
turn's own transaction, so an update is handled once even across a crash; what a shutdown
could not finish is handled at the next start (`resume`). The engine is synchronous
(SQLite, jieba), so it runs in one worker thread: the event loop stays free for network I/O
and typing indicators, and the storage connection is never used by two threads at once.
What is platform-specific (reading an update, showing "typing…") is handed in as a
`Platform`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Generic, Protocol, TypeVar

from bot.channels.base import ReplyEngine
from bot.messages import ChatRef, Incoming, Outbox, Outgoing, SendError
from bot.storage.base import InboxStore

logger = logging.getLogger(__name__)
T = TypeVar("T")
U = TypeVar("U")
JSON = dict[str, Any]
# A chat with this many updates waiting gets one notice and its further updates are dropped
# until it has caught up: 2,000 messages in ten seconds must not mean 2,000 answers over half
# an hour, nor slow down everyone else.
BACKLOG_LIMIT = 20


class Platform(Protocol):
    """What the inbox needs from a platform about its updates (JSON, as the platform sent it)."""

    def update_id(self, update: JSON) -> str | int | None:
        """The id redeliveries share (None: cannot be deduplicated, so it is dropped)."""
        ...

    def queue_key(self, update: JSON) -> str:
        """Which chat's queue the update waits in."""
        ...

    async def translate(self, update: JSON) -> Incoming | None:
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
        # Set when the grace period is over: workers finish the update in hand, start no other.
        self._closing = False

    def submit(self, chat_id: str, update: U) -> None:
        """Queue an update behind the earlier ones of the same chat."""
        self._queues.setdefault(chat_id, deque()).append(update)
        if chat_id not in self._workers:
            self._workers[chat_id] = asyncio.create_task(self._drain(chat_id))

    def backlog(self, chat_id: str) -> int:
        """Updates of one chat waiting behind the one in hand."""
        queue = self._queues.get(chat_id)
        return len(queue) if queue is not None else 0

    @property
    def pending(self) -> int:
        """Updates queued or being handled."""
        return sum(len(q) for q in self._queues.values()) + len(self._workers)

    async def _drain(self, chat_id: str) -> None:
        queue = self._queues[chat_id]
        try:
            while queue and not self._closing:
                update = queue.popleft()
                try:
                    await self._handle(update)
                except Exception:
                    logger.exception("an update failed")
        finally:
            del self._workers[chat_id]
            if not queue or self._closing:
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

    async def close(self, timeout: float = 10.0, in_hand: float = 10.0) -> int:
        """Finish what is queued within `timeout`; then finish only the updates in hand
        (within `in_hand` more seconds, then cancel them). Returns how many were not started."""
        if await self.join(timeout):
            return 0
        self._closing = True
        not_started = sum(len(q) for q in self._queues.values())
        if not await self.join(in_hand):
            for task in list(self._workers.values()):
                task.cancel()
            await asyncio.gather(*self._workers.values(), return_exceptions=True)
        return not_started


class Inbox:
    """Keep and dedupe -> one queue per chat -> engine (worker thread) -> outbox, for a channel."""

    def __init__(
        self,
        *,
        channel: str,
        platform: Platform,
        engine: ReplyEngine,
        store: InboxStore,
        outbox: Outbox,
        error_text: str,
        busy_text: str,
        backlog_limit: int = BACKLOG_LIMIT,
        typing_delay: float = 1.0,
        typing_repeat: float = 4.5,
        executor: ThreadPoolExecutor | None = None,
        on_chat_gone: Callable[[ChatRef], object] | None = None,
    ) -> None:
        self.channel, self.platform = channel, platform
        self.engine, self.store, self.outbox = engine, store, outbox
        self.error_text, self.busy_text = error_text, busy_text
        self.backlog_limit = backlog_limit
        # Chats told they are flooding; forgotten once their backlog has drained.
        self._flooded: set[str] = set()
        self._notices: set[asyncio.Task[None]] = set()
        self.typing_delay, self.typing_repeat = typing_delay, typing_repeat
        # Called (in the core's thread) when the platform says a chat is gone for good.
        self.on_chat_gone = on_chat_gone
        self._own_executor = executor is None
        self.executor = executor or ThreadPoolExecutor(1, thread_name_prefix="beian-core")
        self.queues: ChatQueues[tuple[str, JSON]] = ChatQueues(self._handle)

    async def accept(self, update: JSON) -> bool:
        """Keep the update and queue it; False for a duplicate (or an update without an id).

        It returns once the update is committed: a webhook's 200 must mean "kept"."""
        update_id = self.platform.update_id(update)
        if update_id is None:
            logger.info("%s update without an id: dropped", self.channel)
            return False
        key = self.platform.queue_key(update)
        body = json.dumps(update, ensure_ascii=False)
        if not await self._core(self.store.accept, self.channel, str(update_id), key, body):
            logger.info("%s update %s already handled: skipped", self.channel, update_id)
            return False
        backlog = self.queues.backlog(key)
        if backlog == 0:
            self._flooded.discard(key)
        elif backlog >= self.backlog_limit or key in self._flooded:
            self._tell_flooded(key, update)  # before the await: the next accept must see it
            # Claimed, so a resend stays dropped too; not kept, so a restart does not revive it.
            await self._core(self.store.done, self.channel, str(update_id))
            return False
        self.queues.submit(key, (str(update_id), update))
        return True

    def _tell_flooded(self, key: str, update: JSON) -> None:
        if key in self._flooded:
            return
        self._flooded.add(key)
        logger.warning("%s chat is flooding: updates dropped until it catches up", self.channel)
        task = asyncio.create_task(self._notice(update))
        self._notices.add(task)
        task.add_done_callback(self._notices.discard)

    async def _notice(self, update: JSON) -> None:
        incoming = await self.platform.translate(update)
        if incoming is None:
            return
        with contextlib.suppress(SendError):
            await self.outbox.send(Outgoing(chat=incoming.chat, text=self.busy_text))

    async def resume(self) -> int:
        """Queue the updates kept but not handled before the last stop; returns how many."""
        waiting = await self._core(self.store.waiting, self.channel)
        for kept in waiting:
            self.queues.submit(kept.queue_key, (kept.update_id, json.loads(kept.body)))
        if waiting:
            logger.info("%s: handling %d updates kept from before", self.channel, len(waiting))
        return len(waiting)

    async def close(self, timeout: float = 10.0) -> None:
        """Finish queued updates within `timeout`, then release the worker thread; the ones
        not started stay kept for the next start."""
        if left := await self.queues.close(timeout):
            logger.warning(
                "%s: stopping with %d updates not handled yet: they are kept and handled at "
                "the next start",
                self.channel,
                left,
            )
        if self._own_executor:
            self.executor.shutdown(wait=True)

    async def _core(self, func: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.executor, func, *args)

    async def _handle(self, kept: tuple[str, JSON]) -> None:
        update_id, update = kept
        incoming = await self.platform.translate(update)
        if incoming is None:
            await self._core(self.store.done, self.channel, update_id)
            return
        # The engine drops the kept update in the turn's transaction (`Incoming.update_id`).
        incoming = incoming.model_copy(update={"update_id": update_id})
        typing = asyncio.create_task(self._typing(incoming.chat))
        try:
            replies = await self._core(self.engine.handle, incoming)
        except Exception:
            logger.exception("engine failed on %s update %s", self.channel, update_id)
            replies = [Outgoing(chat=incoming.chat, text=self.error_text)]
        finally:
            typing.cancel()
        # Turns that change nothing (a group message not for the bot) have no transaction.
        await self._core(self.store.done, self.channel, update_id)
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
