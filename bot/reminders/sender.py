"""ReminderSender: wakes on a timer, claims due rows atomically, sends them, records the outcome.

The `reminders` table is the truth; APScheduler only wakes the sender every `tick_seconds`.

Wiring (app.py)::

    sender = ReminderSender(open_storage(settings).reminders, {"telegram": outbox})
    await sender.start()     # overdue rows go out at once, marked late; then every tick
    ...
    await sender.stop()

and for the terminal, which cannot be woken, due reminders ride on the next reply (the
interactive chat also polls `due_hook(chat)` while the user is idle)::

    sender = ReminderSender(app.storage.reminders, {})
    engine.inline_due = sender.collect_due

Store calls are made on the event loop: SQLite answers them in microseconds. A network
backend's calls (PostgreSQL) belong in a thread: wrap the `self.store.*` calls made from
`start`, `run_once` and `_send_one` in `asyncio.to_thread` (the store is synchronous by
contract).

Guarantees and their limits:

* A claim is one `UPDATE ... RETURNING` under `BEGIN IMMEDIATE`: two workers on one database
  never hold the same row. Each worker renews a lease on its rows every tick; rows of a worker
  that died are released when the lease runs out (`lease_seconds`), or at once when it restarts
  with the same `worker_id`.
* A row is marked `sending` (committed) just before the channel is called and `sent` just
  after. A crash in between (a few milliseconds around one send) leaves it `sending`; it is
  sent again after the lease. That is the one window where a message can repeat: we prefer a
  repeat to losing a 24-hour deadline. Anywhere else a crash loses nothing and repeats nothing.
* A reminder whose due time passed before this service started is sent marked late; when
  several steps of one clock fell due meanwhile, only the latest is sent (the others are
  marked `skipped`), so a restart after downtime gives one late reminder per clock.
* Quiet hours (23:00-08:00 Shanghai) hold non-urgent rows; urgent ones (the SMS window) go out.
* Failures: permanent (`SendError.permanent`, the chat blocked the bot) -> `failed`, and the
  chat's other reminders pause until the user writes again; transient -> retried later with
  back-off, `failed` after `max_attempts`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.messages import ChatRef, Outbox, Outgoing, SendError
from bot.privacy import redact
from bot.reminders import planner
from bot.reminders.models import QUIET_HOURS, SHANGHAI, QuietHours, ReminderRow, to_unix
from bot.reminders.records import from_stored, to_new
from bot.reminders.texts import ReminderTexts, load_reminder_texts, render_reminder
from bot.storage.base import ReminderStore, StoredReminder

logger = logging.getLogger(__name__)

Clock = Callable[[], datetime]


KEEP_FINISHED = timedelta(days=90)


def utc_now() -> datetime:
    """The real clock; tests pass their own."""
    return datetime.now(UTC)


def default_worker_id() -> str:
    """host:pid:random, unique per process (pass a stable id to reclaim rows on restart)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class ReminderSender:
    """The asynchronous sender; every decision about time is taken on the injected clock."""

    def __init__(
        self,
        store: ReminderStore,
        outboxes: Mapping[str, Outbox],
        *,
        texts: ReminderTexts | None = None,
        clock: Clock = utc_now,
        worker_id: str | None = None,
        quiet: QuietHours = QUIET_HOURS,
        tick_seconds: float = 5.0,
        lease_seconds: int = 120,
        batch: int = 100,
        concurrency: int = 16,
        max_attempts: int = 5,
        retry_seconds: int = 60,
    ) -> None:
        self.store = store
        self.outboxes = dict(outboxes)
        self.texts = texts or load_reminder_texts()
        self.clock = clock
        self.worker_id = worker_id or default_worker_id()
        self.quiet = quiet
        self.tick_seconds = tick_seconds
        self.lease = timedelta(seconds=lease_seconds)
        self.batch = batch
        self.max_attempts = max_attempts
        self.retry_seconds = retry_seconds
        # Anything due before this moment fell due while no sender was running: "late".
        self.started_at = clock()
        # A reminder is late only if it waited longer than a couple of ticks.
        self._grace = timedelta(seconds=max(30.0, 2 * tick_seconds))
        self._limit = asyncio.Semaphore(concurrency)
        self._scheduler: Any = None
        self._drain: asyncio.Task[int] | None = None

    # ---- life cycle ----------------------------------------------------------------------

    async def start(self) -> None:
        """Reclaim this worker's old rows, send what is overdue (late), then tick on a timer."""
        from apscheduler.schedulers.asyncio import AsyncIOScheduler

        self.started_at = self.clock()
        self.store.release_worker(self.worker_id)
        self.store.release_expired(to_unix(self.started_at))
        # The first wake is ours, so start-up sends what is overdue without waiting a tick.
        await self.wake()
        self._scheduler = AsyncIOScheduler(timezone=SHANGHAI)
        self._scheduler.add_job(
            self.wake,
            "interval",
            seconds=self.tick_seconds,
            id="reminders-wake",
            max_instances=1,
            coalesce=True,
        )
        # Finished rows are history only: keep a quarter of them, so the table stays the size of
        # what is still to come.
        self._scheduler.add_job(self.purge, "interval", hours=24, id="reminders-purge")
        self._scheduler.start()

    def purge(self) -> int:
        """Delete finished reminders due more than KEEP_FINISHED ago; returns how many."""
        return self.store.purge_finished(to_unix(self.clock() - KEEP_FINISHED))

    async def stop(self, timeout: float = 10.0) -> None:
        """Stop ticking, let in-flight sends finish (up to `timeout`), give back unsent claims."""
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None
        if self._drain is not None and not self._drain.done():
            try:
                await asyncio.wait_for(asyncio.shield(self._drain), timeout)
            except TimeoutError:
                self._drain.cancel()
        self.store.release_worker(self.worker_id)

    async def wake(self) -> None:
        """One timer tick: renew leases, release dead workers' rows, start draining if idle."""
        now = self.clock()
        self.store.renew_claims(self.worker_id, to_unix(now + self.lease))
        self.store.release_expired(to_unix(now))
        if self._drain is None or self._drain.done():
            # Draining runs beside the timer, so a long backlog never makes ticks overlap.
            self._drain = asyncio.create_task(self.run_until_idle())

    async def wait_idle(self) -> None:
        """Wait until the current drain (if any) has finished: for tests and clean shutdowns."""
        if self._drain is not None:
            await asyncio.shield(self._drain)

    # ---- sending -------------------------------------------------------------------------

    async def run_until_idle(self) -> int:
        """Claim and send batches until nothing is due; returns how many were claimed."""
        # Rows of a worker that died (lease run out) are due again, for whoever runs next.
        self.store.release_expired(to_unix(self.clock()))
        total = 0
        while True:
            claimed = await self.run_once()
            total += claimed
            if claimed < self.batch:
                return total

    async def run_once(self) -> int:
        """Claim one batch of due rows (oldest first) and send them; returns the batch size."""
        now = self.clock()
        rows = self.store.claim_due(
            self.worker_id,
            to_unix(now),
            to_unix(now + self.lease),
            self.batch,
            channels=sorted(self.outboxes),
            urgent_only=self.quiet.is_quiet(now),
        )
        # Tasks start in due order; the rate limiter keeps that order per chat and overall.
        await asyncio.gather(*(self._send_one(from_stored(row)) for row in self._latest(rows)))
        return len(rows)

    def _latest(self, rows: list[StoredReminder]) -> list[StoredReminder]:
        """Of several due steps of one clock (downtime), keep the latest; skip the rest.

        After a day offline the SMS window's 12 h, 20 h and 23 h reminders and its close are all
        due: only "the window has closed, do this now" is worth sending.
        """
        latest: dict[tuple[str, str, str], StoredReminder] = {}
        for row in rows:  # in due order: later steps overwrite earlier ones
            latest[(row.channel, row.user_id, row.series)] = row
        keep = {row.id for row in latest.values()}
        skipped = [row.id for row in rows if row.id not in keep]
        if skipped:
            self.store.mark_skipped(skipped, self.worker_id)
        return [row for row in rows if row.id in keep]

    async def _send_one(self, row: ReminderRow) -> None:
        async with self._limit:
            now = self.clock()
            if not self.store.mark_sending(row.id, self.worker_id, to_unix(now + self.lease)):
                return  # cancelled or done while waiting
            late = self._is_late(row)
            try:
                message = render_reminder(self.texts, row, now, late=late)
                await self.outboxes[row.owner.chat.channel].send(message)
            except SendError as exc:
                self._record_failure(row, exc)
                return
            except Exception as exc:  # a bug must not stop the other sends
                logger.error("reminder %d: unexpected %s", row.id, type(exc).__name__)
                self._record_failure(row, SendError(type(exc).__name__))
                return
            self._mark_sent(row, late)

    def _mark_sent(self, row: ReminderRow, late: bool) -> None:
        follow = planner.follow_up(row.kind, row.payload, row.due_at)
        new = to_new(row.owner, row.series, follow) if follow else None
        self.store.mark_sent(
            row.id, self.worker_id, to_unix(self.clock()), late=late, follow_up=new
        )

    def _record_failure(self, row: ReminderRow, exc: SendError) -> None:
        error = redact(str(exc))
        chat = row.owner.chat
        if exc.permanent:
            logger.warning("reminder %d: permanent failure, chat paused", row.id)
            self.store.mark_failed(row.id, self.worker_id, error)
            self.store.pause_chat(chat.channel, chat.chat_id)
            return
        attempts = row.attempts + 1
        if attempts >= self.max_attempts:
            logger.warning("reminder %d: giving up after %d attempts", row.id, attempts)
            self.store.mark_failed(row.id, self.worker_id, error)
            return
        wait = max(exc.retry_after, self.retry_seconds * 2 ** (attempts - 1))
        due = self.clock() + timedelta(seconds=min(wait, 3600))
        self.store.mark_retry(row.id, self.worker_id, to_unix(due), error)

    def _is_late(self, row: ReminderRow) -> bool:
        if row.attempts:
            return False  # a retry is late because of the channel, not because we were down
        effective = row.due_at if row.urgent else self.quiet.release(row.due_at)
        return effective < self.started_at - self._grace

    # ---- the terminal --------------------------------------------------------------------

    def collect_due(self, chat: ChatRef, now: datetime) -> list[Outgoing]:
        """Claim and return one chat's due reminders (the terminal shows them at once).

        Quiet hours do not apply: the user is at the keyboard, so nothing is woken.
        """
        lease = to_unix(now + self.lease)
        claimed = self.store.claim_due_for_chat(
            chat.channel, chat.chat_id, self.worker_id, to_unix(now), lease, self.batch
        )
        messages = []
        for stored in self._latest(claimed):
            row = self._sendable(stored, lease)
            if row is None:
                continue
            late = self._is_late(row)
            messages.append(render_reminder(self.texts, row, now, late=late))
            self._mark_sent(row, late)
        return messages

    def due_hook(self, chat: ChatRef) -> Callable[[], list[Outgoing]]:
        """The terminal's `extra` callback: due reminders for `chat`, on the service's clock."""
        return lambda: self.collect_due(chat, self.clock())

    def _sendable(self, stored: StoredReminder, lease: int) -> ReminderRow | None:
        if not self.store.mark_sending(stored.id, self.worker_id, lease):
            return None
        return from_stored(stored)
