"""An Outbox that keeps to a platform's send limits and retries what can be retried.

Usage (any channel)::

    outbox = RateLimitedOutbox(channel_sender, TELEGRAM_LIMITS)   # the platform's numbers
    await outbox.send(Outgoing(...))                # waits for a slot, retries, or raises

What `send` does, in order:

1. waits for the chat's slot: on average `per_chat_per_s` messages a second to one chat, in
   bursts of at most `per_chat_burst` (Telegram tolerates short bursts), and for
   a group also at most `per_group_per_min` a minute; a chat that got a 429 waits out its
   `retry_after` here, while every other chat goes on;
2. waits for the global slot: at most `global_per_s` messages in any one second;
3. calls `inner.send`. On `SendError`:
   - `permanent=True` (blocked, chat deleted): re-raised at once, counted in `stats.failed`;
   - `retry_after > 0` (429): that chat alone is held for `retry_after`, then retried;
   - anything else (network): retried after `backoff * 2**n` seconds (n = 0, 1, ...);
   after `max_attempts` tries the last error is re-raised (the caller reschedules).
   `OSError` and `TimeoutError` from a sender count as transient network errors.

With several workers the limits are the bot's, not each worker's: `shared` (the database's
`SendBudget`) books every send under the chat's, the group's and the bot's limit across all
workers, after this worker's own gates (which keep its order and spare the database most
waiting). Booking rather than one elected sender: no hop between workers, no election to
lose, and a send still goes out from the worker that holds the turn. If the database cannot
book, this worker's own limits still hold.

Each platform states its limits as a `SendLimits` beside its adapter. Waiting is FIFO per chat
and overall, so messages leave in the order they were handed in. `clock` (monotonic seconds)
and `sleep` are injectable so tests run on a fake clock without sleeping.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from bot.messages import ChatKind, Outbox, Outgoing, SendError
from bot.storage.base import Pace, SendBudget

logger = logging.getLogger(__name__)

T = TypeVar("T")
Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]

# Idle per-chat limiters are dropped once there are this many, so memory stays bounded.
_PRUNE_AT = 2000


@dataclass(frozen=True)
class SendLimits:
    """A platform's send limits: per chat (average and burst), per group, overall."""

    per_chat_per_s: float
    per_chat_burst: int
    per_group_per_min: int
    global_per_s: int


@dataclass
class DeliveryStats:
    """Counters for operators and tests."""

    sent: int = 0
    retried: int = 0
    failed: int = 0


class _Window:
    """At most `limit` acquisitions in any `period` seconds (a sliding log)."""

    def __init__(self, limit: int, period: float) -> None:
        self.limit = limit
        self.period = period
        self.times: deque[float] = deque()

    def wait_time(self, now: float) -> float:
        """Seconds until one more acquisition fits (0 if it fits now)."""
        while self.times and self.times[0] <= now - self.period:
            self.times.popleft()
        if len(self.times) < self.limit:
            return 0.0
        return self.times[0] + self.period - now

    def take(self, now: float) -> None:
        """Record one acquisition at `now`."""
        self.times.append(now)


class _Bucket:
    """A token bucket: up to `burst` at once, then `rate` a second on average."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = float(burst)
        self.updated: float | None = None

    def _refill(self, now: float) -> None:
        if self.updated is not None:
            self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now

    def wait_time(self, now: float) -> float:
        """Seconds until one more token is there (0 if it is now)."""
        self._refill(now)
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate

    def take(self, now: float) -> None:
        """Spend one token at `now`."""
        self._refill(now)
        self.tokens -= 1


class _ChatGate:
    """The limits of one chat, plus the 429 hold the platform put on it."""

    def __init__(self, windows: list[_Window | _Bucket], paces: list[Pace]) -> None:
        self.windows = windows
        self.paces = paces  # the same limits, as the shared budget books them
        self.hold_until = 0.0
        # asyncio.Lock wakes waiters in FIFO order: one chat's messages keep their order.
        self.lock = asyncio.Lock()

    def wait_time(self, now: float) -> float:
        """Seconds until this chat may be sent to (its windows and any 429 hold)."""
        waits = [w.wait_time(now) for w in self.windows]
        return max([self.hold_until - now, *waits])

    def idle(self, now: float) -> bool:
        """Nothing waiting and nothing to remember: safe to drop."""
        return not self.lock.locked() and self.wait_time(now) <= 0 and self.hold_until <= now


class RateLimitedOutbox:
    """Outbox wrapper: per-chat, per-group and global rate limits, 429 holds, back-off."""

    def __init__(
        self,
        inner: Outbox,
        limits: SendLimits,
        *,
        max_attempts: int = 4,
        backoff: float = 1.0,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        shared: SendBudget | None = None,
    ) -> None:
        self.inner = inner
        self.limits = limits
        self.shared = shared
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.clock = clock
        self.sleep = sleep
        self.stats = DeliveryStats()
        self._global = _Window(limits.global_per_s, 1.0)
        self._global_lock = asyncio.Lock()
        self._chats: dict[tuple[str, str], _ChatGate] = {}

    async def send(self, message: Outgoing) -> None:
        """Deliver one message within the limits, or raise the final SendError."""
        gate = self._gate(message)
        attempt = 0
        while True:
            attempt += 1
            await self._acquire(gate)
            try:
                await self.inner.send(message)
            except SendError as exc:
                error = exc
            except (OSError, TimeoutError) as exc:
                error = SendError(f"network: {type(exc).__name__}")
            else:
                self.stats.sent += 1
                return
            if error.permanent or attempt >= self.max_attempts:
                self.stats.failed += 1
                raise error
            self.stats.retried += 1
            if error.retry_after > 0:
                # Only this chat is told to wait; the others keep their pace.
                gate.hold_until = max(gate.hold_until, self.clock() + error.retry_after)
                if self.shared is not None:
                    await self._off_loop(self.shared.hold, gate.paces[0], error.retry_after)
            else:
                await self.sleep(self.backoff * 2 ** (attempt - 1))

    def _gate(self, message: Outgoing) -> _ChatGate:
        key = (message.chat.channel, message.chat.chat_id)
        gate = self._chats.get(key)
        if gate is None:
            if len(self._chats) >= _PRUNE_AT:
                self._prune()
            # One engine turn often says two or three things (an answer, then the question):
            # Platforms tolerate short bursts, so a few may go at once within the average.
            limits, (channel, chat_id) = self.limits, key
            windows: list[_Window | _Bucket] = [
                _Bucket(limits.per_chat_per_s, limits.per_chat_burst)
            ]
            paces = [Pace(f"{channel}:chat:{chat_id}", limits.per_chat_per_s,
                          limits.per_chat_burst)]  # fmt: skip
            if message.chat.kind is ChatKind.GROUP:
                windows.append(_Window(limits.per_group_per_min, 60.0))
                # One send every 60/(N-1) s never puts more than N in any minute.
                paces.append(
                    Pace(f"{channel}:group:{chat_id}", (limits.per_group_per_min - 1) / 60)
                )
            paces.append(Pace(f"{channel}:all", limits.global_per_s - 1))
            gate = self._chats[key] = _ChatGate(windows, paces)
        return gate

    def _prune(self) -> None:
        now = self.clock()
        for key in [k for k, gate in self._chats.items() if gate.idle(now)]:
            del self._chats[key]

    async def _acquire(self, gate: _ChatGate) -> None:
        """Wait for the chat's slot, then the global one (never holding the global lock long)."""
        async with gate.lock:
            while (wait := gate.wait_time(self.clock())) > 0:
                await self.sleep(wait)
            async with self._global_lock:
                while (wait := self._global.wait_time(self.clock())) > 0:
                    await self.sleep(wait)
                now = self.clock()
                self._global.take(now)
                for window in gate.windows:
                    window.take(now)
            # Other workers' sends: still in the chat's lock, so its messages keep their order.
            if self.shared is not None:
                booked = await self._off_loop(self.shared.reserve, gate.paces)
                if booked:
                    await self.sleep(booked)

    async def _off_loop(self, call: Callable[..., T], *args: Any) -> T | None:
        """A call on the shared budget, in a thread; None (own limits only) if it fails."""
        try:
            return await asyncio.to_thread(call, *args)
        except Exception as exc:  # the database is down: this worker's own limits still hold
            logger.warning("shared send limits unavailable (%s): own limits only", exc)
            return None
