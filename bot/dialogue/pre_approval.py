"""前置审批 from what the site does: the words of its name, description and business scope.

The categories and their words are in knowledge/rules/pre_approval.yaml. A match only raises a
question: the user's own answer about the content stands, and the report says what to check.
"""

from __future__ import annotations

from functools import cache

from pydantic import BaseModel, ConfigDict, Field

from bot.content import knowledge_dir, load_yaml


class Category(BaseModel):
    """One pre-approval category: how the form names it, its licence, the words that hint it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    label: str
    licence: str
    words: list[str] = Field(min_length=1)


class PreApprovalTable(BaseModel):
    """knowledge/rules/pre_approval.yaml."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str
    categories: dict[str, Category]


@cache
def load_pre_approval() -> PreApprovalTable:
    """Load knowledge/rules/pre_approval.yaml once."""
    return load_yaml(knowledge_dir() / "rules" / "pre_approval.yaml", PreApprovalTable)


def hinted(texts: list[str]) -> dict[str, str]:
    """Category -> the first word found for it in `texts` (a site name, a scope ...)."""
    joined = " ".join(texts)
    found = {}
    for key, category in load_pre_approval().categories.items():
        word = next((w for w in category.words if w in joined), None)
        if word is not None:
            found[key] = word
    return found
