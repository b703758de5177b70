"""First look at raw user text: too long, empty, unreadable, control characters."""

from __future__ import annotations

import unicodedata

from bot.engine.texts import Replies

MAX_MESSAGE_CHARS = 2000


def clean_text(text: str) -> str:
    """Drop control characters (NUL included) but keep line breaks and tabs as spaces."""
    return "".join(
        " " if ch in "\t\r\n" else ch
        for ch in text
        if ch in "\t\r\n" or unicodedata.category(ch)[0] != "C"
    ).strip()


def has_readable_text(text: str) -> bool:
    """Whether any letter or digit is left (emoji and punctuation are not readable text)."""
    return any(unicodedata.category(ch)[0] in "LN" for ch in text)


def input_problem(text: str, replies: Replies) -> str | None:
    """The reply for input the bot cannot use, or None when the text is fine."""
    if len(text) > MAX_MESSAGE_CHARS:
        return replies.input_too_long.format(length=len(text), limit=MAX_MESSAGE_CHARS)
    if not text:
        return replies.input_empty
    if not has_readable_text(text):
        return replies.input_unreadable
    return None
