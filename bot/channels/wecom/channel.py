"""`WecomChannel`: callbacks in through the long connection, replies back as stream frames.

Messages go through the shared inbox (bot/channels/inbox.py), as Telegram's updates do: kept
in the database with their msgid's dedupe record before they are handled, one at a time per
chat, and what a stop could not finish is handled at the next start. A reply to a message
reuses the message's req_id as a stream (one finished frame per reply, cut to 20,480 bytes);
a reply to a message kept from before a restart, whose req_id died with the old connection,
and a reminder go out with `aibot_send_msg` through the shared rate-limited delivery.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ClassVar

from bot.channels.base import Channel, ReplyEngine, render_plain
from bot.channels.delivery import RateLimitedOutbox, SendLimits
from bot.channels.inbox import Inbox
from bot.channels.wecom import frames
from bot.channels.wecom.connection import AckError, WecomConnection
from bot.channels.wecom.frames import Frame
from bot.channels.wecom.group_robot import GroupRobot
from bot.messages import ChatRef, Incoming, Outgoing, SendError
from bot.storage.base import InboxStore, SendBudget

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
        store: InboxStore,
        url: str,
        bot_id: str,
        secret: str,
        bot_name: str,
        welcome: str,
        error_text: str,
        unreadable_text: str,
        busy_text: str,
        robots: dict[str, GroupRobot] | None = None,
        grace: float = 10.0,
        budget: SendBudget | None = None,
        ledger: InboxStore | None = None,
        **connection: Any,
    ) -> None:
        self.bot_name, self.welcome, self.unreadable_text = bot_name, welcome, unreadable_text
        self.grace = grace
        self.connection = WecomConnection(url, bot_id, secret, self._on_frame, **connection)
        self.sender = WecomSender(self.connection, robots)
        self.outbox = RateLimitedOutbox(self.sender, WECOM_LIMITS, shared=budget)
        self.executor = ThreadPoolExecutor(1, thread_name_prefix="beian-core")
        # The req_id of the message in hand in each chat. A message kept from an earlier run
        # carries that run's mark instead of this one's: its req_id died with that connection.
        self._answering: dict[str, str | None] = {}
        self._run_mark = secrets.token_hex(8)
        self.inbox = Inbox(
            channel=frames.CHANNEL,
            platform=self,
            engine=engine,
            store=store,
            outbox=_Replies(self),
            error_text=error_text,
            busy_text=busy_text,
            typing_delay=3600.0,  # WeCom has no typing indicator
            executor=self.executor,
            ledger=ledger,
        )
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
        # What the last run kept and could not finish goes first, ahead of new messages.
        await self.inbox.resume()

    async def serve(self, stop: asyncio.Event) -> None:
        """Run until `stop`, or until the connection ends for good (a kick)."""
        assert self._runner is not None
        stopper = asyncio.create_task(stop.wait())
        await asyncio.wait({self._runner, stopper}, return_when=asyncio.FIRST_COMPLETED)
        stopper.cancel()
        if self._runner.done():
            self._runner.result()

    async def stop(self) -> None:
        """Finish queued messages (the rest are kept for the next start), then disconnect."""
        await self.inbox.close(self.grace)
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
        # WeCom may deliver a message more than once: the inbox's dedupe record decides.
        await self.inbox.accept({**frame.model_dump(exclude_none=True), _RUN: self._run_mark})

    # ---- the inbox's Platform ---------------------------------------------------------

    def update_id(self, update: dict[str, Any]) -> str | None:
        """The message's msgid (the same on a redelivery)."""
        msgid = (update.get("body") or {}).get("msgid")
        return str(msgid) if msgid else None

    def queue_key(self, update: dict[str, Any]) -> str:
        """The group's chatid, or the sender's userid in a 1:1 chat."""
        return frames.chat_id_of(update.get("body") or {})

    async def translate(self, update: dict[str, Any]) -> Incoming | None:
        """The message as an `Incoming`; an image or file is told the bot reads text."""
        frame = Frame.model_validate(update)
        live = update.get(_RUN) == self._run_mark
        self._answering[self.queue_key(update)] = frame.req_id if live else None
        if frames.media_kind(frame) is not None:
            if live:
                with contextlib.suppress(AckError):
                    await self._stream(frame.req_id, self.unreadable_text)
            return None
        return frames.incoming(frame, self.bot_name)

    async def typing(self, chat: ChatRef) -> None:
        """WeCom shows no typing indicator for a bot."""

    async def reply(self, message: Outgoing) -> None:
        """On the stream of the message in hand; else (its connection is gone) on its own."""
        req_id = self._answering.get(message.chat.chat_id)
        if req_id is not None:
            try:
                await self._stream(req_id, render_plain(message))
                return
            except AckError as exc:  # e.g. the connection was renewed since it came in
                logger.info("WeCom stream refused (%s): sent as a new message", exc)
        await self.outbox.send(message)

    async def _stream(self, req_id: str, text: str) -> None:
        """One reply as a finished stream message (several when longer than WeCom allows)."""
        for piece in frames.split_markdown(text):
            stream_id = secrets.token_hex(8)
            await self.connection.send(frames.stream(req_id, stream_id, piece, finish=True))

    async def _reply_safely(self, frame: dict[str, Any]) -> None:
        try:
            await self.connection.send(frame)
        except AckError as exc:
            logger.warning("WeCom reply not delivered: %s", exc)


# Where a kept message records the run that received it (see `WecomChannel._run_mark`).
_RUN = "beian_run"


class _Replies:
    """The inbox's outbox: replies on the message's stream, through `WecomChannel.reply`."""

    def __init__(self, channel: WecomChannel) -> None:
        self.channel = channel

    async def send(self, message: Outgoing) -> None:
        await self.channel.reply(message)
