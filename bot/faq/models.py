"""Pydantic schemas of the knowledge files (knowledge/faq/*.yaml, knowledge/synonyms.yaml)."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field, field_validator

MIN_QUESTIONS = 5
MIN_ENGLISH_QUESTIONS = 3


class EnglishText(BaseModel):
    """An entry's English side: what an English question is matched against and answered with."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=2)
    questions: list[str] = Field(min_length=MIN_ENGLISH_QUESTIONS)
    answer: str = Field(min_length=10)


class FaqEntry(BaseModel):
    """One answerable topic: several ways users ask it, one answer, its source."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")
    title: str = Field(min_length=2)
    questions: list[str]
    answer: str = Field(min_length=10)
    # A page title with its URL, or a regulation and its article: something a user can open.
    source: str = Field(min_length=2)
    # When someone last read `source` and found the answer still true; None until then.
    checked: date | None = None
    related: list[str] = Field(default_factory=list)
    # Extra search terms that are not natural questions (abbreviations, error texts).
    keywords: list[str] = Field(default_factory=list)
    en: EnglishText | None = None

    @field_validator("questions")
    @classmethod
    def _questions_not_blank(cls, value: list[str]) -> list[str]:
        if any(not q.strip() for q in value):
            raise ValueError("a question is blank")
        return value


class FaqFile(BaseModel):
    """One knowledge/faq/*.yaml file."""

    model_config = ConfigDict(extra="forbid")

    entries: list[FaqEntry]


class SynonymGroup(BaseModel):
    """Words users use for one concept; all are indexed and searched as `canonical`."""

    model_config = ConfigDict(extra="forbid")

    canonical: str
    variants: list[str] = Field(min_length=1)


class SynonymFile(BaseModel):
    """knowledge/synonyms.yaml: synonym groups and common typos (wrong -> right)."""

    model_config = ConfigDict(extra="forbid")

    groups: list[SynonymGroup]
    typos: dict[str, str] = Field(default_factory=dict)
    # English words (stemmed when loaded) -> the word they are searched as: licence -> license.
    english: dict[str, str] = Field(default_factory=dict)


class OffTopicFile(BaseModel):
    """knowledge/off_topic.yaml: messages about something else, written by the team."""

    model_config = ConfigDict(extra="forbid")

    questions: list[str] = Field(min_length=1)
