"""Run what only one worker may run at a time: WeCom allows one long connection per bot (a
second one kicks the first), so among several workers exactly one holds it.

The workers elect the holder through the database (`Storage.leadership`); the others stand
by and try again every `POLL_SECONDS`, so one takes over within seconds of the holder's
death. A holder whose hold is lost (its database connection broke) stops at once, before
another one connects: two holders would only kick each other off.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from bot.storage.base import Leadership

logger = logging.getLogger(__name__)
POLL_SECONDS = 2.0


async def run_as_holder(
    leadership: Leadership,
    stop: asyncio.Event,
    run: Callable[[asyncio.Event], Awaitable[None]],
    *,
    what: str,
    poll: float = POLL_SECONDS,
) -> None:
    """Stand by until this worker holds `leadership`, then `run(its_stop)` until `stop`.

    A lost hold stops the run and goes back to standing by; the run's own end (an error,
    a kick) ends this too."""
    standing_by = False
    while not stop.is_set():
        if not await asyncio.to_thread(leadership.try_acquire):
            if not standing_by:
                logger.info("another worker holds %s: standing by", what)
                standing_by = True
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), poll)
            continue
        standing_by = False
        logger.info("this worker holds %s", what)
        try:
            if await _run_while_held(leadership, stop, run, poll):
                return
            logger.warning("lost the hold on %s: stopped it, standing by", what)
        finally:
            await asyncio.to_thread(leadership.release)


async def _run_while_held(
    leadership: Leadership,
    stop: asyncio.Event,
    run: Callable[[asyncio.Event], Awaitable[None]],
    poll: float,
) -> bool:
    """Run until `stop` or the run's end (True), or until the hold is lost (False)."""
    own_stop = asyncio.Event()
    task = asyncio.ensure_future(run(own_stop))
    stopping = asyncio.ensure_future(stop.wait())
    try:
        while True:
            await asyncio.wait({task, stopping}, timeout=poll, return_when="FIRST_COMPLETED")
            if task.done() or stop.is_set():
                held = True
                break
            if not await asyncio.to_thread(leadership.still_held):
                held = False
                break
        own_stop.set()
        await task  # a run that failed (refused credentials, a kick) raises here
        return held
    finally:
        stopping.cancel()
        own_stop.set()
        if not task.done():
            await asyncio.wait({task})
