"""What every channel shares: rendering choices as numbered text where there are no buttons."""

from __future__ import annotations

from bot.messages import Outgoing


def render_plain(message: Outgoing) -> str:
    """The message text followed by its choices as `1. label` lines."""
    if not message.choices:
        return message.text
    options = "\n".join(f"{i}. {c.label}" for i, c in enumerate(message.choices, start=1))
    return f"{message.text}\n{options}"
