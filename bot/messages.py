"""The only contract shared by the engine and every channel: Incoming, Outgoing, Choice, Outbox."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter


class ChatKind(StrEnum):
    """Where a message was said: a one-to-one chat or a group."""

    PRIVATE = "private"
    GROUP = "group"


class ChatRef(BaseModel):
    """A chat on one channel; the key that state and reminders are filed under."""

    model_config = ConfigDict(frozen=True)

    channel: str
    chat_id: str
    kind: ChatKind = ChatKind.PRIVATE


class Incoming(BaseModel):
    """One user message (or button press) translated from a platform update."""

    chat: ChatRef
    user_id: str
    user_name: str = ""
    text: str
    # Group etiquette needs to know whether the bot was addressed.
    mentioned: bool = False
    reply_to_bot: bool = False
    message_id: str | None = None
    # The kept update this message came in (bot.channels.inbox): the turn that handles it
    # drops it in its own transaction, so a crash never makes a turn run twice.
    update_id: str | None = None
    # Platform detail travels with the message; the core never reads it.
    raw: dict[str, Any] | None = Field(default=None, repr=False)


class Choice(BaseModel):
    """A button (or a numbered option where a channel has no buttons)."""

    model_config = ConfigDict(frozen=True)

    label: str
    value: str


class Document(BaseModel):
    """A file the bot sends (exports)."""

    # Kept replies travel as JSON (`dump_replies`): the file's bytes as base64, not UTF-8.
    model_config = ConfigDict(ser_json_bytes="base64", val_json_bytes="base64")

    filename: str
    content: bytes
    mime_type: str = "application/octet-stream"


class Outgoing(BaseModel):
    """One reply or notice from the bot to a chat."""

    chat: ChatRef
    text: str
    choices: list[Choice] = Field(default_factory=list)
    # In a group, whom the message addresses (a reminder, a warning).
    mention_user_id: str | None = None
    mention_user_name: str | None = None
    document: Document | None = None
    # Ask the channel to delete a user's message (personal data posted in a group).
    delete_message_id: str | None = None
    # Deep link target on channels that have one (Telegram `/start filing`).
    deep_link: str | None = None
    # Whose choices these are: a button press by anyone else changes nothing.
    for_user_id: str | None = None


_REPLIES = TypeAdapter(list[Outgoing])


def dump_replies(replies: list[Outgoing]) -> str:
    """A turn's replies as JSON, to keep until they are sent."""
    return _REPLIES.dump_json(replies).decode()


def load_replies(text: str) -> list[Outgoing]:
    """The replies `dump_replies` kept."""
    return _REPLIES.validate_json(text)


class SendError(Exception):
    """A send failed; `permanent` means never retry (chat blocked or deleted)."""

    def __init__(self, message: str, *, permanent: bool = False, retry_after: float = 0) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after


class Outbox(Protocol):
    """What reminders send through; each channel implements it, app.py wires it."""

    async def send(self, message: Outgoing) -> None:
        """Deliver one message or raise SendError."""
        ...
