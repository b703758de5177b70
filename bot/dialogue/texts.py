"""The form runner's fixed texts (conversations/dialogue.yaml)."""

from __future__ import annotations

from functools import cache

from pydantic import BaseModel, ConfigDict

from bot.content import conversations_dir, load_yaml


class DialogueTexts(BaseModel):
    """Every text the runner sends; a missing key fails at start-up."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    question: str
    question_optional: str
    example: str
    invalid: str
    choice_invalid: str
    choice_out_of_range: str
    back_to_question: str
    question_unsure: str
    question_related: str
    understood: str
    nothing_to_go_back_to: str
    skipped: str
    cannot_skip: str
    edit_unknown: str
    edit_which: str
    status: str
    status_confirming: str
    status_none: str
    status_kept: str
    status_kept_line: str
    unnamed: str
    summary_head: str
    summary_confirm: str
    summary_edit: str
    confirm_prompt: str
    cancelled: str
    resumed: str
    which_filing: str
    new_filing: str
    continue_filing: str
    privacy_notice: str


@cache
def load_dialogue_texts() -> DialogueTexts:
    """Load conversations/dialogue.yaml once."""
    return load_yaml(conversations_dir() / "dialogue.yaml", DialogueTexts)
