"""`WecomChannel`: callbacks in through the long connection, replies back as stream frames.

A reply to a message reuses the message's req_id as a stream (one finished frame per reply,
cut to 20,480 bytes); a reminder goes out with `aibot_send_msg` through the shared
rate-limited delivery. Each chat's messages are handled one at a time, in order; the engine
runs in one worker thread, as for Telegram.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ClassVar

from bot.channels.base import Channel, ReplyEngine, render_plain
from bot.channels.delivery import RateLimitedOutbox, SendLimits
from bot.channels.inbox import ChatQueues
from bot.channels.wecom import frames
from bot.channels.wecom.connection import AckError, WecomConnection
from bot.channels.wecom.frames import Frame
from bot.channels.wecom.group_robot import GroupRobot
from bot.messages import Outgoing, SendError
from bot.storage.base import SeenUpdates

logger = logging.getLogger(__name__)

# WeCom publishes no per-chat limit for a bot's own messages; these stay inside the group
# robot's 20 a minute, the one limit it does publish.
WECOM_LIMITS = SendLimits(
    per_chat_per_s=1.0, per_chat_burst=3, per_group_per_min=20, global_per_s=20
)


class WecomSender:
    """The raw outbox: a message the bot sends on its own, as markdown to its chat.

    A group with a group robot bound to it gets its messages through the robot instead."""

    def __init__(
        self, connection: WecomConnection, robots: dict[str, GroupRobot] | None = None
    ) -> None:
        self.connection = connection
        self.robots = robots or {}

    async def send(self, message: Outgoing) -> None:
        """aibot_send_msg; in a group the user is named so the reminder reaches them."""
        robot = self.robots.get(message.chat.chat_id)
        if robot is not None:
            await robot.send(message)
            return
        for piece in frames.split_markdown(frames.markdown_of(message)):
            try:
                await self.connection.send(frames.send_markdown(message.chat.chat_id, piece))
            except AckError as exc:
                raise SendError(f"WeCom refused the message: {exc}") from None


class WecomChannel(Channel):
    """The WeCom AI bot as a channel of the engine."""

    name: ClassVar[str] = frames.CHANNEL

    def __init__(
        self,
        *,
        engine: ReplyEngine,
        seen: SeenUpdates,
        url: str,
        bot_id: str,
        secret: str,
        bot_name: str,
        welcome: str,
        error_text: str,
        unreadable_text: str,
        robots: dict[str, GroupRobot] | None = None,
        **connection: Any,
    ) -> None:
        self.engine, self.seen, self.bot_name = engine, seen, bot_name
        self.welcome, self.error_text, self.unreadable_text = welcome, error_text, unreadable_text
        self.connection = WecomConnection(url, bot_id, secret, self._on_frame, **connection)
        self.sender = WecomSender(self.connection, robots)
        self.outbox = RateLimitedOutbox(self.sender, WECOM_LIMITS)
        self.executor = ThreadPoolExecutor(1, thread_name_prefix="beian-core")
        self.queues: ChatQueues[Frame] = ChatQueues(self._handle)
        self._stop = asyncio.Event()
        self._runner: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Connect; returns once subscribed (or raises if the credentials are refused)."""
        self._runner = asyncio.create_task(self.connection.run(self._stop))
        subscribed = asyncio.create_task(self.connection.subscribed.wait())
        done, _ = await asyncio.wait(
            {self._runner, subscribed}, return_when=asyncio.FIRST_COMPLETED
        )
        if self._runner in done:
            subscribed.cancel()
            self._runner.result()

    async def serve(self, stop: asyncio.Event) -> None:
        """Run until `stop`, or until the connection ends for good (a kick)."""
        assert self._runner is not None
        stopper = asyncio.create_task(stop.wait())
        await asyncio.wait({self._runner, stopper}, return_when=asyncio.FIRST_COMPLETED)
        stopper.cancel()
        if self._runner.done():
            self._runner.result()

    async def stop(self) -> None:
        """Finish queued messages, then disconnect."""
        if dropped := await self.queues.close(10.0):
            logger.warning("WeCom: stopping with %d messages not handled: dropped", dropped)
        self._stop.set()
        if self._runner is not None and not self._runner.done():
            await asyncio.wait({self._runner}, timeout=5)
        for robot in self.sender.robots.values():
            await robot.close()
        self.executor.shutdown(wait=True)

    def is_alive(self) -> bool:
        """Subscribed right now."""
        return self.connection.subscribed.is_set()

    # ---- callbacks ------------------------------------------------------------------

    async def _on_frame(self, frame: Frame) -> None:
        if frame.cmd == frames.EVENT_CALLBACK:
            if frames.event_type(frame) == frames.ENTER_CHAT:
                # The only reply allowed to enter_chat, and only within 5 s: not queued.
                await self._reply_safely(frames.welcome(frame.req_id, self.welcome))
            return
        self.queues.submit(frames.chat_id_of(frame.body or {}), frame)

    async def _handle(self, frame: Frame) -> None:
        msgid = str((frame.body or {}).get("msgid", ""))
        loop = asyncio.get_running_loop()
        # WeCom may deliver a message more than once: the shared seen-updates store decides.
        if not msgid or not await loop.run_in_executor(
            self.executor, self.seen.claim, frames.CHANNEL, msgid
        ):
            logger.info("WeCom message already handled: skipped")
            return
        if frames.media_kind(frame) is not None:
            await self._stream(frame.req_id, self.unreadable_text)
            return
        message = frames.incoming(frame, self.bot_name)
        if message is None:
            return
        try:
            replies = await loop.run_in_executor(self.executor, self.engine.handle, message)
        except Exception:
            logger.exception("engine failed on a WeCom message")
            replies = [Outgoing(chat=message.chat, text=self.error_text)]
        for reply in replies:
            await self._stream(frame.req_id, render_plain(reply))

    async def _stream(self, req_id: str, text: str) -> None:
        """One reply as a finished stream message (several when longer than WeCom allows)."""
        for piece in frames.split_markdown(text):
            stream_id = secrets.token_hex(8)
            await self._reply_safely(frames.stream(req_id, stream_id, piece, finish=True))

    async def _reply_safely(self, frame: dict[str, Any]) -> None:
        try:
            await self.connection.send(frame)
        except AckError as exc:
            logger.warning("WeCom reply not delivered: %s", exc)
