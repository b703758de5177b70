"""From a platform's update to the engine and back: keep, dedupe, order per chat, typing, send.

A platform's handler awaits `Inbox.accept(update)`, which returns once the update is kept in
the database (with its dedupe record, in one transaction): only then may a webhook answer
200. A chat's kept updates are handled one at a time, oldest first, whichever worker (process)
accepted them; different chats run concurrently. The turn that handles an update takes it in
the turn's own transaction, so it is handled once even across a crash or by several
workers; its replies are kept with it in that transaction, and it is dropped once they are
out, so the chat's next turn (on any worker) waits for them, and a worker that dies in
between leaves them for another worker (or its own restart) to send. What a shutdown could
not finish is handled at the next start (`resume`), and what a dead worker left, by a
periodic sweep. The engine is synchronous (SQLite, jieba), so it runs in one worker thread:
the event loop stays free for network I/O and typing indicators, and the storage connection
is never used by two threads at once. What is platform-specific (reading an update, showing
"typing…") is handed in as a `Platform`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from bot.channels.base import ReplyEngine
from bot.messages import ChatRef, Incoming, Outbox, Outgoing, SendError, load_replies
from bot.storage.base import InboxStore, StorageUnavailable, WaitingUpdate
from bot.storage.workers import gone_here

logger = logging.getLogger(__name__)
T = TypeVar("T")
U = TypeVar("U")
JSON = dict[str, Any]
# How often kept updates are looked for that no worker handles (a worker died with them),
# and how old they must be: older than any update a live worker still has in hand.
SWEEP_SECONDS = 10.0
STALE_SECONDS = 30.0
# A taken update whose replies are not out after this long lost its worker on the way.
SENDING_SECONDS = 20.0
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


@dataclass(frozen=True)
class Wake:
    """Handle chat `key` up to update `update_id` (None: whatever it has kept)."""

    key: str
    update_id: str | None


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
        ledger: InboxStore | None = None,
    ) -> None:
        self.channel, self.platform = channel, platform
        self.engine, self.store, self.outbox = engine, store, outbox
        self.error_text, self.busy_text = error_text, busy_text
        self.backlog_limit = backlog_limit
        # Chats told they are flooding; forgotten once their backlog has drained.
        self._flooded: set[str] = set()
        self._notices: set[asyncio.Task[None]] = set()
        self._busy: set[str] = set()  # chats being handled here now
        self.typing_delay, self.typing_repeat = typing_delay, typing_repeat
        # Called (in the core's thread) when the platform says a chat is gone for good.
        self.on_chat_gone = on_chat_gone
        self._own_executor = executor is None
        self.executor = executor or ThreadPoolExecutor(1, thread_name_prefix="beian-core")
        # A queued item wakes its chat up: the chat's oldest kept update is handled first,
        # whichever worker accepted it, so a chat's order holds across workers.
        self.queues: ChatQueues[Wake] = ChatQueues(self._handle)
        self._sweeper: asyncio.Task[None] | None = None
        # What was sent is written down on a connection and thread of its own when given:
        # queued behind the engine's turns, a reply already out and not yet noted is one a
        # crash would have sent twice, and under load that queue is long.
        self._ledger = ledger or store
        self._ledger_executor = self.executor
        if ledger is not None:
            ledger.worker = store.worker  # one worker, two connections
            self._ledger_executor = ThreadPoolExecutor(1, thread_name_prefix="beian-ledger")

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
            await self._core(self.store.drop, self.channel, str(update_id))
            return False
        self.queues.submit(key, Wake(key, str(update_id)))
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
        """Wake the chats with updates kept but not handled before; returns how many updates.

        Then, every `SWEEP_SECONDS`, chats whose kept updates are older than `STALE_SECONDS`
        are woken again: what a worker that died had accepted is handled by another."""
        waiting = await self._core(self.store.waiting, self.channel)
        # Every chat with a kept update, taken ones too: a predecessor's kept replies go out now.
        kept = await self._core(self.store.stale_keys, self.channel, time.time() + 1)
        self._wake(set(kept))
        if waiting:
            logger.info("%s: handling %d updates kept from before", self.channel, len(waiting))
        if self._sweeper is None:
            self._sweeper = asyncio.create_task(self._sweep())
        return len(waiting)

    def _wake(self, keys: set[str]) -> None:
        for key in sorted(keys):
            if not self.queues.backlog(key):
                self.queues.submit(key, Wake(key, None))

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_SECONDS)
            with contextlib.suppress(Exception):  # a database outage: the next sweep retries
                stale = await self._core(
                    self.store.stale_keys, self.channel, time.time() - STALE_SECONDS
                )
                self._wake(set(stale) - self._busy)

    async def close(self, timeout: float = 10.0) -> None:
        """Finish queued updates within `timeout`, then release the worker thread; the ones
        not started stay kept for the next start."""
        if self._sweeper is not None:
            self._sweeper.cancel()
        if left := await self.queues.close(timeout):
            logger.warning(
                "%s: stopping with %d updates not handled yet: they are kept and handled at "
                "the next start",
                self.channel,
                left,
            )
        if self._own_executor:
            self.executor.shutdown(wait=True)
        if self._ledger_executor is not self.executor:
            self._ledger_executor.shutdown(wait=True)

    async def _core(self, func: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.executor, func, *args)

    async def _note(self, func: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._ledger_executor, func, *args)

    async def _handle(self, wake: Wake) -> None:
        """Handle the chat's kept updates oldest first, until the woken one is handled."""
        self._busy.add(wake.key)
        try:
            while True:
                oldest = await self._core(self.store.oldest, self.channel, wake.key)
                if oldest is None:
                    return  # handled here or by another worker
                if oldest.handled_at is not None:
                    await self._after_other_worker(oldest)
                    continue
                await self._turn(oldest.update_id, json.loads(oldest.body))
                if oldest.update_id == wake.update_id:
                    return
        finally:
            self._busy.discard(wake.key)

    async def _after_other_worker(self, taken: WaitingUpdate) -> None:
        """Another worker took the chat's previous update and is sending its replies: wait,
        so the chat reads them in order. Silent for `SENDING_SECONDS`, or known gone, it
        died on the way: its replies were kept with the update, so they are sent from here."""
        assert taken.handled_at is not None
        silent = time.time() - taken.handled_at
        if silent < SENDING_SECONDS and not gone_here(taken.taken_by):
            await asyncio.sleep(0.02)
            return
        if not await self._core(self.store.take_over, self.channel, taken):
            return  # sent meanwhile, or another worker took it over first
        logger.warning("%s update %s: its worker died before replying; sending its replies",
                       self.channel, taken.update_id)  # fmt: skip
        try:
            if taken.replies is not None:
                replies = load_replies(taken.replies)
                await self._send(taken.update_id, replies, first=taken.replies_sent)
        finally:
            with contextlib.suppress(StorageUnavailable):
                await self._note(self._ledger.sent, self.channel, taken.update_id)

    async def _turn(self, update_id: str, update: JSON) -> None:
        incoming = await self.platform.translate(update)
        if incoming is None:
            await self._core(self.store.drop, self.channel, update_id)
            return
        # The engine takes the kept update in the turn's transaction (`Incoming.update_id`)
        # and answers nothing when another worker took it first.
        incoming = incoming.model_copy(update={"update_id": update_id})
        typing = asyncio.create_task(self._typing(incoming.chat))
        try:
            replies = await self._core(self.engine.handle, incoming)
        except Exception:
            logger.exception("engine failed on %s update %s", self.channel, update_id)
            replies = [Outgoing(chat=incoming.chat, text=self.error_text)]
        finally:
            typing.cancel()
        # Taken here too when the engine did not (it failed, or it keeps no inbox), so the
        # update is never handled again; after the engine's own take this is a no-op. With
        # the database taking no writes it stays kept, for a sweep once writes come back.
        with contextlib.suppress(StorageUnavailable):
            await self._core(self.store.done, self.channel, update_id)
        try:
            await self._send(update_id, replies)
        finally:
            with contextlib.suppress(StorageUnavailable):
                await self._note(self._ledger.sent, self.channel, update_id)

    async def _send(self, update_id: str, replies: list[Outgoing], first: int = 0) -> None:
        """Send `replies[first:]`, noting before each further one how many are out."""
        for n in range(first, len(replies)):
            reply = replies[n]
            if n > first:  # and a slow send (rate limits) is not taken for a dead worker
                with contextlib.suppress(StorageUnavailable):
                    await self._note(self._ledger.sending, self.channel, update_id, n)
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
