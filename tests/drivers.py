"""Transcript-style drivers: `chat.say("/start")` returns the bot's reply texts."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.channels.base import render_plain
from bot.engine.core import Engine
from bot.messages import ChatKind, ChatRef, Incoming, Outgoing


@dataclass
class EngineChat:
    """Talks to the engine in-process as one user in one chat."""

    engine: Engine
    user_id: str = "u1"
    user_name: str = "alice"
    chat_id: str | None = None
    kind: ChatKind = ChatKind.PRIVATE
    channel: str = "test"
    last: list[Outgoing] = field(default_factory=list)

    def send(
        self, text: str, *, mention: bool = False, reply_to_bot: bool = False
    ) -> list[Outgoing]:
        """Send one message; returns the Outgoing replies."""
        chat = ChatRef(channel=self.channel, chat_id=self.chat_id or self.user_id, kind=self.kind)
        msg = Incoming(
            chat=chat,
            user_id=self.user_id,
            user_name=self.user_name,
            text=text,
            mentioned=mention,
            reply_to_bot=reply_to_bot,
            message_id="m1",
        )
        self.last = self.engine.handle(msg)
        return self.last

    def say(self, text: str, **kwargs: bool) -> list[str]:
        """Send one message; returns the replies as the terminal would print them."""
        return [render_plain(m) for m in self.send(text, **kwargs)]
