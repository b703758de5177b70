"""Schemas of conversations/forms/*.yaml and conversations/flows/*.yaml, and a form's state."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator


class ChoiceSpec(BaseModel):
    """One option of a choice slot."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    label: str
    value: str
    # Other words a user may type for this option ("公司" for 企业).
    aliases: list[str] = Field(default_factory=list)
    # Said right after the option is picked (e.g. why an overseas server cannot be filed).
    note: str = ""
    # Shown only when this holds (a person is not offered 企业官网); typed by name, it is
    # still understood, so the pre-check can say why it does not fit.
    when: dict[str, list[Any]] = Field(default_factory=dict)


# `when`: every listed key must hold one of the listed values. Keys are slot names or derived
# facts such as `province.owner_must_be_legal_rep` (see bot/dialogue/context.py).
Condition = dict[str, list[Any]]


class Variant(BaseModel):
    """The wording of a question for one case (a company is asked about its licence)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    when: Condition
    prompt: str = ""
    example: str = ""


class SlotSpec(BaseModel):
    """One question of a form."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: str  # short Chinese name used in summaries, /status and /edit 手机号
    prompt: str
    example: str
    help: str = ""
    choices: list[ChoiceSpec] = Field(default_factory=list)
    validator: str | None = None  # a name in bot/dialogue/slots.py VALIDATORS
    optional: bool = False
    personal: bool = False  # shown masked, preceded by the privacy notice
    when: Condition = Field(default_factory=dict)
    aliases: list[str] = Field(default_factory=list)  # other names for /edit and "改一下…"
    variants: list[Variant] = Field(default_factory=list)  # the first that holds wins

    @model_validator(mode="after")
    def _choice_or_validator(self) -> SlotSpec:
        if not self.choices and not self.validator:
            raise ValueError(f"slot {self.name!r} needs choices or a validator")
        return self


class Outcome(BaseModel):
    """A flow's ending: the first outcome whose condition holds is shown."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    when: Condition = Field(default_factory=dict)
    text: str
    source: str


class Offer(BaseModel):
    """A button offered when a flow ends: the next thing the bot can do for this user."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    text: str
    label: str
    command: str = Field(pattern=r"^/[a-z_]+")


class FormKind(StrEnum):
    """A filing form ends in a pre-check report; a flow ends in one of its outcomes."""

    FILING = "filing"
    CHANGE = "change"
    FLOW = "flow"


class FormSpec(BaseModel):
    """A whole form or troubleshooting flow, loaded from YAML."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z][a-z0-9_-]*$")
    kind: FormKind
    title: str
    intro: str = ""
    notice: str = ""  # shown once before the first personal question (PIPL art. 17)
    triggers: list[str] = Field(default_factory=list)  # plain words that start it
    faq: list[str] = Field(default_factory=list)  # FAQ entries whose answer offers this flow
    slots: list[SlotSpec]
    outcomes: list[Outcome] = Field(default_factory=list)
    offer: Offer | None = None  # after the outcome, e.g. reminders for a returned order
    # The answers that fix the question count (「（n/N）」): once they are given, every slot keeps
    # its number and N stays put; other conditions only skip numbers.
    numbered_by: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> FormSpec:
        names = [s.name for s in self.slots]
        if len(names) != len(set(names)):
            raise ValueError("duplicate slot names")
        if self.kind is FormKind.FLOW and not self.outcomes:
            raise ValueError("a flow needs outcomes")
        if self.kind is FormKind.FLOW and not any(not o.when for o in self.outcomes):
            raise ValueError("a flow needs a last outcome without `when` (the fallback)")
        return self

    def slot(self, name: str) -> SlotSpec:
        """The slot with this name (KeyError if none)."""
        for slot in self.slots:
            if slot.name == name:
                return slot
        raise KeyError(name)


class Phase(StrEnum):
    """Where a form is: asking questions, waiting for the confirm, finished."""

    ASKING = "asking"
    CONFIRMING = "confirming"
    DONE = "done"


class FormState(BaseModel):
    """A running form, saved with the conversation after every turn."""

    form_id: str
    filing_id: int | None = None
    phase: Phase = Phase.ASKING
    values: dict[str, Any] = Field(default_factory=dict)
    skipped: list[str] = Field(default_factory=list)
    # Answer order, so /back undoes the last answer.
    answered: list[str] = Field(default_factory=list)
    notice_shown: bool = False
