"""The long connection to WeCom: subscribe, heartbeat, reconnect, one frame at a time.

Written on `websockets` rather than on the official SDK (wecom-aibot-python-sdk 1.0.2),
because the SDK's gaps are the cases this bot must survive: it stops listening for good on a
frame that is not a JSON object or not UTF-8, refuses `ws://` URLs (so no local fake), stops
reconnecting after 10 tries by default, and ignores `disconnected_event` (a second process
with the same bot). The frames are the SDK's (see frames.py); tests run a local fake of the
service that follows them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection

from bot.channels.wecom import frames
from bot.channels.wecom.frames import BadFrame, Frame
from bot.errors import BeianError

logger = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 30.0
MISSED_PINGS = 2  # two unanswered pings: the link is dead
ACK_TIMEOUT = 10.0
BACKOFF_FIRST, BACKOFF_MAX = 1.0, 30.0


class WecomAuthError(BeianError):
    """The bot id or secret was refused (853000): retrying cannot help."""


class WecomKicked(BeianError):
    """Another process subscribed with the same bot and took the connection."""


class AckError(Exception):
    """A sent frame was refused or never acknowledged."""


Handler = Callable[[Frame], Awaitable[None]]


class WecomConnection:
    """Keeps one subscribed connection up and hands callback frames to `handler`."""

    def __init__(
        self,
        url: str,
        bot_id: str,
        secret: str,
        handler: Handler,
        *,
        heartbeat: float = HEARTBEAT_SECONDS,
        ack_timeout: float = ACK_TIMEOUT,
        backoff_max: float = BACKOFF_MAX,
    ) -> None:
        self.url, self.bot_id, self.secret = url, bot_id, secret
        self.handler = handler
        self.heartbeat, self.ack_timeout, self.backoff_max = heartbeat, ack_timeout, backoff_max
        self._ws: ClientConnection | None = None
        self._acks: dict[str, asyncio.Future[Frame]] = {}
        self._send_lock = asyncio.Lock()
        self.subscribed = asyncio.Event()
        self.connects = 0  # successful subscriptions (tests and the reconnect figure read it)
        self._tasks: set[asyncio.Task[None]] = set()

    # ---- the life of the connection ---------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Connect and stay connected until `stop`; raise on refused credentials or a kick."""
        delay = BACKOFF_FIRST
        while not stop.is_set():
            before = self.connects
            try:
                await self._session(stop)
            except (WecomAuthError, WecomKicked):
                raise
            except (OSError, websockets.WebSocketException, TimeoutError) as exc:
                logger.warning("WeCom connection lost (%s); reconnecting", type(exc).__name__)
            self.subscribed.clear()
            if self.connects > before:  # it was up: a fresh drop starts the backoff over
                delay = BACKOFF_FIRST
            if stop.is_set():
                break
            # Exponential backoff with jitter, without a limit on tries.
            await _sleep_or_stop(stop, delay * random.uniform(0.5, 1.0))
            delay = min(delay * 2, self.backoff_max)

    async def _session(self, stop: asyncio.Event) -> None:
        async with websockets.connect(self.url, max_size=frames.MAX_FRAME_BYTES * 2) as ws:
            self._ws = ws
            reader = asyncio.create_task(self._read(ws))
            try:
                await self._subscribe()
                self.connects += 1
                self.subscribed.set()
                beat = asyncio.create_task(self._heartbeat())
                stopper = asyncio.create_task(stop.wait())
                done, _ = await asyncio.wait(
                    {reader, beat, stopper}, return_when=asyncio.FIRST_COMPLETED
                )
                for task in (beat, stopper):
                    task.cancel()
                if reader in done:
                    reader.result()  # raises what ended the read loop (a kick, a drop)
            finally:
                reader.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await reader
                self._ws = None
                self._fail_pending("connection closed")

    async def _subscribe(self) -> None:
        frame = frames.request(frames.SUBSCRIBE, {"bot_id": self.bot_id, "secret": self.secret})
        try:
            await self.send(frame)
        except AckError as exc:
            raise WecomAuthError(
                f"企业微信拒绝了机器人的 BotID 或 Secret（{exc}）。请在管理后台核对后重新设置 "
                "BEIAN_WECOM__BOT_ID 和 BEIAN_WECOM__SECRET。"
            ) from None

    async def _heartbeat(self) -> None:
        missed = 0
        while True:
            await asyncio.sleep(self.heartbeat)
            try:
                await self.send(frames.request(frames.PING), timeout=self.heartbeat)
                missed = 0
            except AckError:
                missed += 1
                if missed >= MISSED_PINGS:
                    logger.warning("WeCom: %d pings unanswered; reconnecting", missed)
                    if self._ws is not None:
                        await self._ws.close()
                    return

    async def _read(self, ws: ClientConnection) -> None:
        async for raw in ws:
            try:
                frame = frames.parse(raw)
            except BadFrame as exc:
                logger.warning("WeCom: skipped a bad frame (%s)", exc)  # never its content
                continue
            if frame.cmd is None:
                waiter = self._acks.pop(frame.req_id, None)
                if waiter is not None and not waiter.done():
                    waiter.set_result(frame)
                continue
            if frame.cmd == frames.EVENT_CALLBACK and frames.event_type(frame) == frames.KICKED:
                raise WecomKicked(
                    "另一个进程用同一个机器人连上了企业微信，这个进程停止（不再重连）。"
                )
            if frame.cmd in {frames.MSG_CALLBACK, frames.EVENT_CALLBACK}:
                task = asyncio.create_task(self._dispatch(frame))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            else:
                logger.info("WeCom: ignored a frame with unknown cmd")

    async def _dispatch(self, frame: Frame) -> None:
        try:
            await self.handler(frame)
        except Exception:
            logger.exception("WeCom: handling a callback failed")

    # ---- sending ------------------------------------------------------------------------

    async def send(self, frame: dict[str, Any], timeout: float | None = None) -> Frame:
        """Send one frame and wait for its acknowledgement (raises AckError if refused)."""
        ws = self._ws
        if ws is None:
            raise AckError("not connected")
        req_id = str(frame["headers"]["req_id"])
        # One frame at a time, and its ack before the next: a stream's frames must arrive in
        # order, and WeCom answers a burst of unacknowledged frames with errors.
        async with self._send_lock:
            waiter: asyncio.Future[Frame] = asyncio.get_running_loop().create_future()
            self._acks[req_id] = waiter
            try:
                await ws.send(json.dumps(frame, ensure_ascii=False))
                ack = await asyncio.wait_for(waiter, timeout or self.ack_timeout)
            except (TimeoutError, websockets.WebSocketException) as exc:
                raise AckError(type(exc).__name__) from None
            finally:
                self._acks.pop(req_id, None)
        if ack.errcode not in (None, 0):
            raise AckError(f"errcode {ack.errcode}")
        return ack

    def _fail_pending(self, reason: str) -> None:
        for waiter in self._acks.values():
            if not waiter.done():
                waiter.set_exception(AckError(reason))
        self._acks.clear()


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
