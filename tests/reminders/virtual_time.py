"""A fake monotonic clock for asyncio code, shared by the reminder tests and the benchmark."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")


class VirtualTime:
    """Fake monotonic time for asyncio code: `sleep` waits for `run` to advance the clock."""

    def __init__(self, start: float = 0.0) -> None:
        self.t = start
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    def clock(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.t + seconds, next(self._seq), future))
        await future

    async def run(self, work: Awaitable[T]) -> T:
        """Run `work`, jumping the clock to the next sleeper whenever everything waits."""
        task = asyncio.ensure_future(work)
        while not task.done():
            await self._settle(task)
            if task.done():
                break
            if not self._sleepers:
                raise RuntimeError("deadlock: nothing sleeps and the work is not done")
            wake = self._sleepers[0][0]
            self.t = max(self.t, wake)
            while self._sleepers and self._sleepers[0][0] <= wake:
                heapq.heappop(self._sleepers)[2].set_result(None)
        return task.result()

    async def _settle(self, task: asyncio.Future[T]) -> None:
        """Yield until the set of sleepers stops changing (every runnable task has run)."""
        stable, last = 0, -1
        while stable < 3 and not task.done():
            for _ in range(20):
                await asyncio.sleep(0)
            stable = stable + 1 if len(self._sleepers) == last else 0
            last = len(self._sleepers)
