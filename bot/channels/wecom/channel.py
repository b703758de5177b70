"""`WecomChannel`: callbacks in through the long connection, replies back as stream frames.

Messages go through the shared inbox (bot/channels/inbox.py), as Telegram's updates do: kept
in the database with their msgid's dedupe record before they are handled, one at a time per
chat, and what a stop could not finish is handled at the next start. A reply to a message
reuses the message's req_id as a stream (one finished frame per reply, cut to 20,480 bytes);
a reply to a message kept from before a restart, whose req_id died with the old connection,
and a reminder go out with `aibot_send_msg` through the shared rate-limited delivery.

Choices go as a button card where WeCom allows it (bot/channels/wecom/cards.py). A press comes
back as a card event: the card is updated at once (WeCom takes an update only within 5 s of
the event), and the choice then goes through the inbox like a typed message; its replies go
out with `aibot_send_msg`, since a card event's req_id takes nothing but the card update.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ClassVar

from bot.channels.base import EXPIRED_BUTTON, Channel, ReplyEngine, render_plain
from bot.channels.delivery import RateLimitedOutbox, SendLimits
from bot.channels.inbox import Inbox
from bot.channels.wecom import frames
from bot.channels.wecom.cards import CardOffers, fits
from bot.channels.wecom.connection import AckError, WecomConnection
from bot.channels.wecom.frames import Frame
from bot.channels.wecom.group_robot import GroupRobot
from bot.messages import ChatKind, ChatRef, Incoming, Outgoing, SendError
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
        self,
        connection: WecomConnection,
        robots: dict[str, GroupRobot] | None = None,
        cards: CardOffers | None = None,
    ) -> None:
        self.connection = connection
        self.robots = robots or {}
        self.cards = cards or CardOffers()

    async def send(self, message: Outgoing) -> None:
        """aibot_send_msg: choices as a button card where they fit one, else markdown; in a
        group the user is named so the reminder reaches them."""
        chat_id = message.chat.chat_id
        robot = self.robots.get(chat_id)
        if robot is not None:
            await robot.send(message)  # a robot's card would report its presses elsewhere
            return
        if fits(message):
            sends = [frames.send_card(chat_id, self.cards.card(message))]
        else:
            pieces = frames.split_markdown(frames.markdown_of(message))
            sends = [frames.send_markdown(chat_id, piece) for piece in pieces]
        for frame in sends:
            try:
                await self.connection.send(frame)
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
        self.cards = CardOffers()
        self.sender = WecomSender(self.connection, robots, self.cards)
        self.outbox = RateLimitedOutbox(self.sender, WECOM_LIMITS, shared=budget)
        self.executor = ThreadPoolExecutor(1, thread_name_prefix="beian-core")
        # The req_id of the message in hand in each chat. A message kept from an earlier run
        # carries that run's mark instead of this one's: its req_id died with that connection.
        self._answering: dict[str, str | None] = {}
        # Chats whose req_id in hand has had a reply: a card goes only as the first one.
        self._replied: set[str] = set()
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
            kind = frames.event_type(frame)
            if kind == frames.ENTER_CHAT:
                # The only reply allowed to enter_chat, and only within 5 s: not queued.
                await self._reply_safely(frames.welcome(frame.req_id, self.welcome))
            elif kind == frames.CARD_EVENT:
                await self._on_press(frame)
            return
        # WeCom may deliver a message more than once: the inbox's dedupe record decides.
        await self.inbox.accept({**frame.model_dump(exclude_none=True), _RUN: self._run_mark})

    async def _on_press(self, frame: Frame) -> None:
        """A button pressed: the card changes now, the choice queues behind the chat's messages."""
        click = frames.card_click(frame)
        if click is None:
            logger.info("WeCom: a card event without its task_id, key or user: ignored")
            return
        press = self.cards.press(click.task_id, click.key, click.user_id)
        if press.card is not None:
            await self._reply_safely(frames.update_card(frame.req_id, press.card, press.userids))
        if press.refusal == EXPIRED_BUTTON:
            # The card is not known any more, so there is no card to put the word on.
            group = click.chat.kind is ChatKind.GROUP
            notice = Outgoing(
                chat=click.chat,
                text=EXPIRED_BUTTON,
                mention_user_id=click.user_id if group else None,
            )
            try:
                await self.outbox.send(notice)
            except SendError as exc:
                logger.warning("WeCom: the expired-button notice was not delivered: %s", exc)
        if press.value is not None:
            update = {**frame.model_dump(exclude_none=True), _RUN: self._run_mark}
            await self.inbox.accept({**update, _CHOICE: press.value})

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
        key = self.queue_key(update)
        live = update.get(_RUN) == self._run_mark
        self._replied.discard(key)
        choice = update.get(_CHOICE)
        if isinstance(choice, str):
            # A card event's req_id takes only the card update: the replies go on their own.
            self._answering[key] = None
            click = frames.card_click(frame)
            return None if click is None else frames.pressed(click, choice, self.update_id(update))
        self._answering[key] = frame.req_id if live else None
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
        chat_id = message.chat.chat_id
        req_id = self._answering.get(chat_id)
        # A card answers a message only as its first reply; after a stream, it goes apart.
        card = fits(message) and chat_id not in self._replied
        if req_id is not None and (card or not fits(message)):
            try:
                if card:
                    await self.connection.send(frames.card_reply(req_id, self.cards.card(message)))
                else:
                    await self._stream(req_id, render_plain(message))
                self._replied.add(chat_id)
                return
            except AckError as exc:  # e.g. the connection was renewed since it came in
                logger.info("WeCom reply refused (%s): sent as a new message", exc)
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
# Where a kept button press records the value of the choice it picked.
_CHOICE = "beian_choice"


class _Replies:
    """The inbox's outbox: replies on the message's stream, through `WecomChannel.reply`."""

    def __init__(self, channel: WecomChannel) -> None:
        self.channel = channel

    async def send(self, message: Outgoing) -> None:
        await self.channel.reply(message)
