"""What the engine remembers between two messages of one conversation."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, PrivateAttr

from bot.messages import Choice


class ConversationState(BaseModel):
    """Saved as JSON per (channel, chat, user) before each reply is sent."""

    # The options last offered; a bare number picks one (terminal, WeCom text).
    pending_choices: list[Choice] = Field(default_factory=list)
    # The running form or flow, owned by bot.dialogue (a FormState as a dict).
    form: dict[str, Any] | None = None
    # The filing the user works on when they have several.
    active_filing_id: int | None = None
    # Set by /lang: answers in this language whatever the question's; None follows the question.
    language: Literal["zh", "en"] | None = None
    # The part of the last answer that was cut; "更多" / "more" shows it.
    more: str | None = None
    # Set by /forget: the conversation was deleted and must not be written back.
    _deleted: bool = PrivateAttr(default=False)
