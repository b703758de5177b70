"""The fixed reply texts in conversations/replies.yaml, validated at start-up."""

from __future__ import annotations

from functools import cache
from typing import Literal

from pydantic import BaseModel, ConfigDict

from bot.content import conversations_dir, load_yaml
from bot.faq.models import FaqEntry

# The languages the bot answers in.
Language = Literal["zh", "en"]


class EnglishReplies(BaseModel):
    """What the engine says to someone who asks in English."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    out_of_scope: str
    did_you_mean: str
    faq_footer: str
    chinese_only: str
    other_language: str
    language_set: str


class Replies(BaseModel):
    """Every fixed text the engine sends; a missing key fails at start-up."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    start: str
    help: str
    out_of_scope: str
    did_you_mean: str
    faq_footer: str
    input_empty: str
    input_too_long: str
    input_unreadable: str
    unknown_command: str
    choice_out_of_range: str
    unknown_entry: str
    group_pointer: str
    group_pii_warning: str
    forgotten: str
    forget_confirm: str
    forget_yes: str
    forget_no: str
    flow_offer: str
    cancelled_nothing: str
    no_form: str
    error: str
    language_set: str
    language_usage: str
    en: EnglishReplies


@cache
def load_replies() -> Replies:
    """Load conversations/replies.yaml once."""
    return load_yaml(conversations_dir() / "replies.yaml", Replies)


def render_entry(entry: FaqEntry, replies: Replies, language: Language = "zh") -> str:
    """An FAQ answer in `language` with its source as the last line.

    An English reader of an entry with no English text gets the Chinese answer under a
    one-line note saying so, rather than nothing.
    """
    if language == "en":
        footer = replies.en.faq_footer.format(source=entry.source)
        if entry.en is not None:
            return f"{entry.en.answer.strip()}\n{footer}"
        return f"{replies.en.chinese_only}\n{entry.answer.strip()}\n{footer}"
    return f"{entry.answer.strip()}\n{replies.faq_footer.format(source=entry.source)}"
