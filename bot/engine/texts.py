"""The fixed reply texts in conversations/replies.yaml, validated at start-up."""

from __future__ import annotations

from functools import cache

from pydantic import BaseModel, ConfigDict

from bot.content import conversations_dir, load_yaml
from bot.faq.models import FaqEntry


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


@cache
def load_replies() -> Replies:
    """Load conversations/replies.yaml once."""
    return load_yaml(conversations_dir() / "replies.yaml", Replies)


def render_entry(entry: FaqEntry, replies: Replies) -> str:
    """An FAQ answer with its source as the last line."""
    return f"{entry.answer.strip()}\n{replies.faq_footer.format(source=entry.source)}"
