"""Send limits hold for the bot as a whole: three workers' outboxes, each on its own
connection to one real PostgreSQL database, book their sends in the shared budget."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest

from bot.channels.delivery import RateLimitedOutbox, SendLimits
from bot.messages import ChatRef, Outgoing
from bot.storage.base import Pace
from bot.storage.crypto import DataCipher
from bot.storage.postgres import PostgresStorage
from tests.storage.conftest import pg_server, pg_url  # noqa: F401  (fixtures)

# Fast limits, so a few seconds show whether they hold.
LIMITS = SendLimits(per_chat_per_s=10, per_chat_burst=2, per_group_per_min=600, global_per_s=25)


class Recorder:
    """The platform: when each message arrived, per chat."""

    def __init__(self) -> None:
        self.times: list[tuple[float, str]] = []

    async def send(self, message: Outgoing) -> None:
        self.times.append((time.monotonic(), message.chat.chat_id))


def _most_in_any(times: list[float], seconds: float) -> int:
    times = sorted(times)
    return max(sum(1 for u in times[i:] if u - t < seconds) for i, t in enumerate(times))


@pytest.fixture
def workers(pg_url: str) -> Iterator[list[PostgresStorage]]:  # noqa: F811
    cipher = DataCipher.generate()  # one bot: one data key
    storages = [PostgresStorage(pg_url, cipher=cipher) for _ in range(3)]
    yield storages
    for storage in storages:
        storage.close()


async def _load(
    workers: list[PostgresStorage], chats: list[str], per_worker: int, *, shared: bool
) -> Recorder:
    platform = Recorder()
    outboxes = [
        RateLimitedOutbox(platform, LIMITS, shared=w.send_budget() if shared else None)
        for w in workers
    ]

    async def worker(outbox: RateLimitedOutbox, n: int) -> None:
        for k in range(per_worker):
            chat = ChatRef(channel="telegram", chat_id=chats[(n + k) % len(chats)])
            await outbox.send(Outgoing(chat=chat, text=f"{n}-{k}"))

    await asyncio.gather(*(worker(o, n) for n, o in enumerate(outboxes)))
    return platform


async def test_one_chat_gets_its_pace_from_all_workers_together(
    workers: list[PostgresStorage],
) -> None:
    sent = await _load(workers, ["one"], 10, shared=True)
    times = [t for t, _ in sent.times]
    assert len(times) == 30
    # Two at once, then ten a second: at most 2 + 10 in any second (one for timer jitter).
    assert _most_in_any(times, 1.0) <= 12 + 1
    assert max(times) - min(times) >= (30 - 2) / 10 - 0.2
    # Each worker on its own would let three times the chat's pace through.
    alone = await _load(workers, ["two"], 10, shared=False)
    assert _most_in_any([t for t, _ in alone.times], 1.0) > 12 + 5


async def test_the_bots_global_limit_holds_over_many_chats_and_workers(
    workers: list[PostgresStorage],
) -> None:
    chats = [f"c{n}" for n in range(40)]
    sent = await _load(workers, chats, 30, shared=True)
    assert _most_in_any([t for t, _ in sent.times], 1.0) <= LIMITS.global_per_s + 1
    alone = await _load(workers, chats, 30, shared=False)
    assert _most_in_any([t for t, _ in alone.times], 1.0) > LIMITS.global_per_s * 1.5


def test_a_429_holds_the_chat_for_every_worker(workers: list[PostgresStorage]) -> None:
    first, second = (w.send_budget() for w in workers[:2])
    pace = Pace("telegram:chat:held", rate=1.0, burst=3)
    assert first.reserve([pace]) == 0.0
    first.hold(pace, 5.0)
    assert 4.5 < second.reserve([pace]) <= 5.0
