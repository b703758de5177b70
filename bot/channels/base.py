"""What every channel shares: the `Channel` ABC with its run loop, and plain-text choices.

A platform adapter implements `start`, `stop` and `is_alive` (and `serve` when it does more
than wait, like a webhook server); `run` is written once here. The core's side of the seam
is a Protocol (`ReplyEngine`, `bot.messages.Outbox`): test fakes need not inherit.
"""

from __future__ import annotations

import asyncio
import contextlib
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar, Protocol

from bot.messages import Incoming, Outbox, Outgoing

# The heartbeat file is touched this often while the channel is alive (Docker reads it).
HEARTBEAT_SECONDS = 30.0
# What a button press that changes nothing gets, on every channel with buttons: the offer
# was forgotten (a restart) or is too old, or it was made to another user.
EXPIRED_BUTTON = "按钮已失效，请重新发送命令。"
NOT_YOUR_BUTTON = "这个按钮不是给你的。"
# An offer older than a week is not acted on, on any channel.
BUTTON_TTL = 7 * 24 * 3600.0


class ReplyEngine(Protocol):
    """What a channel needs of the engine."""

    def handle(self, msg: Incoming) -> list[Outgoing]:
        """Replies to one message."""
        ...


class Service(Protocol):
    """Something that runs beside a channel (the reminder sender)."""

    async def start(self) -> None:
        """Begin; called once the channel can send."""
        ...

    async def stop(self) -> None:
        """End; called before the channel stops sending."""
        ...


class Channel(ABC):
    """One platform connection: updates in through an inbox, replies out through `outbox`."""

    #: The `ChatRef.channel` of every message it carries ("telegram", "wecom").
    name: ClassVar[str]
    #: Where replies and reminders for this platform go.
    outbox: Outbox

    @abstractmethod
    async def start(self) -> None:
        """Connect and begin taking updates."""

    @abstractmethod
    async def stop(self) -> None:
        """Stop taking updates, finish the ones in hand, disconnect."""

    @abstractmethod
    def is_alive(self) -> bool:
        """Whether updates are still coming in (what the heartbeat reports)."""

    async def serve(self, stop: asyncio.Event) -> None:
        """Run until `stop` is set (a channel with its own server runs that instead)."""
        await stop.wait()

    async def run(
        self,
        stop: asyncio.Event,
        heartbeat: Path | None = None,
        services: Sequence[Service] = (),
    ) -> None:
        """Start, run `services` beside the channel, serve until stopped, then stop all.

        Services start after the channel and stop before it, so they can always send.
        """
        await self.start()
        beat = asyncio.create_task(self._beat(heartbeat))
        try:
            for service in services:
                await service.start()
            await self.serve(stop)
        finally:
            beat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beat
            for service in reversed(services):
                await service.stop()
            await self.stop()

    async def _beat(self, path: Path | None) -> None:
        while path is not None:
            if self.is_alive():
                path.touch()
            await asyncio.sleep(HEARTBEAT_SECONDS)


def render_plain(message: Outgoing) -> str:
    """The message text followed by its choices as `1. label` lines."""
    if not message.choices:
        return message.text
    options = "\n".join(f"{i}. {c.label}" for i, c in enumerate(message.choices, start=1))
    return f"{message.text}\n{options}"
