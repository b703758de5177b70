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
    not_found: str
    did_you_mean: str
    faq_footer: str
    chinese_only: str
    other_language: str
    language_set: str
    more_hint: str


class Replies(BaseModel):
    """Every fixed text the engine sends; a missing key fails at start-up."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    start: str
    help: str
    out_of_scope: str
    not_found: str
    did_you_mean: str
    faq_footer: str
    input_empty: str
    input_too_long: str
    input_unreadable: str
    media_unreadable: str
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
    cannot_save: str
    flooded: str
    language_set: str
    language_usage: str
    more_hint: str
    en: EnglishReplies


@cache
def load_replies() -> Replies:
    """Load conversations/replies.yaml once."""
    return load_yaml(conversations_dir() / "replies.yaml", Replies)


def entry_body(entry: FaqEntry, replies: Replies, language: Language = "zh") -> str:
    """An entry's answer in `language`.

    An English reader of an entry with no English text gets the Chinese answer under a
    one-line note saying so, rather than nothing.
    """
    if language == "en":
        if entry.en is not None:
            return entry.en.answer.strip()
        return f"{replies.en.chinese_only}\n{entry.answer.strip()}"
    return entry.answer.strip()


def source_line(entry: FaqEntry, replies: Replies, language: Language = "zh") -> str:
    """The last line of every answer: where the user can check it."""
    footer = replies.en.faq_footer if language == "en" else replies.faq_footer
    return footer.format(source=entry.source)


def render_entry(entry: FaqEntry, replies: Replies, language: Language = "zh") -> str:
    """An FAQ answer in `language` with its source as the last line."""
    return f"{entry_body(entry, replies, language)}\n{source_line(entry, replies, language)}"


def decline_text(replies: Replies, about_filing: bool, english: bool) -> str:
    """The reply to a question with no sure entry: "not found" for a filing question, else
    "outside my scope"."""
    if about_filing:
        return replies.en.not_found if english else replies.not_found
    return replies.en.out_of_scope if english else replies.out_of_scope
