"""The generic form runner: next question, answers, /back, /skip, /edit, status, summary.

Pure over (FormSpec, FormState): it never touches storage or channels, so a second form or
a troubleshooting flow is another YAML file, not more code.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from bot.dialogue.models import ChoiceSpec, FormSpec, FormState, Phase, SlotSpec
from bot.dialogue.rules import load_province_rules
from bot.dialogue.slots import VALIDATORS, Answer
from bot.dialogue.texts import DialogueTexts
from bot.errors import InputError
from bot.messages import Choice, Document


@dataclass
class Prompt:
    """Text to send, the choices that go with it, and a file where there is one."""

    text: str
    choices: list[Choice] = field(default_factory=list)
    document: Document | None = None


def facts(values: dict[str, Any]) -> dict[str, Any]:
    """Slot values plus derived facts that conditions may test (`province.<rule>`)."""
    out: dict[str, Any] = {name: answer["value"] for name, answer in values.items()}
    code = out.get("province")
    if code:
        province = load_province_rules().find(str(code))
        if province is not None:
            for rule_name, rule in province.rules:
                out[f"province.{rule_name}"] = getattr(rule, "value", None)
    return out


def holds(condition: dict[str, list[Any]], known: dict[str, Any]) -> bool:
    """Whether every key of the condition has one of its listed values."""
    return all(known.get(key) in allowed for key, allowed in condition.items())


def applicable(spec: FormSpec, state: FormState) -> list[SlotSpec]:
    """The slots whose conditions hold for the answers so far."""
    known = facts(state.values)
    return [slot for slot in spec.slots if holds(slot.when, known)]


def next_slot(spec: FormSpec, state: FormState) -> SlotSpec | None:
    """The first applicable slot not yet answered or skipped."""
    for slot in applicable(spec, state):
        if slot.name not in state.values and slot.name not in state.skipped:
            return slot
    return None


def numbered(spec: FormSpec, values: dict[str, Any]) -> list[SlotSpec]:
    """The slots that carry a number: those whose `numbered_by` conditions hold (or are open)."""
    known = facts(values)
    return [
        slot
        for slot in spec.slots
        if all(
            known[key] in allowed
            for key, allowed in slot.when.items()
            if key in spec.numbered_by and key in known
        )
    ]


def total(spec: FormSpec, state: FormState) -> int:
    """N in 「（n/N）」: fixed once the `numbered_by` answers are given; the largest before."""
    open_keys = [key for key in spec.numbered_by if key not in state.values]
    if not open_keys:
        return len(numbered(spec, state.values))
    pivot = spec.slot(open_keys[0])
    return max(
        len(numbered(spec, {**state.values, pivot.name: {"value": c.value}}))
        for c in pivot.choices
    )


def number_of(spec: FormSpec, state: FormState, slot: SlotSpec) -> int:
    """n in 「（n/N）」: the slot's own place, the same when it is asked again by /edit."""
    slots = numbered(spec, state.values)
    return slots.index(slot) + 1 if slot in slots else len(slots)


def progress(spec: FormSpec, state: FormState) -> tuple[int, int]:
    """(answered, total): the answers given so far and the fixed question count."""
    slots = applicable(spec, state)
    done = sum(1 for s in slots if s.name in state.values or s.name in state.skipped)
    return done, total(spec, state)


def choices_of(slot: SlotSpec) -> list[Choice]:
    """A choice slot's options as message choices (the value is what gets typed back)."""
    return [Choice(label=c.label, value=c.label) for c in slot.choices]


def fitted(slot: SlotSpec, state: FormState) -> SlotSpec:
    """The slot as this user sees it: the variant wording for their case, fitting choices."""
    known = facts(state.values)
    variant = next((v for v in slot.variants if holds(v.when, known)), None)
    update: dict[str, Any] = {"choices": [c for c in slot.choices if holds(c.when, known)]}
    if variant is not None:
        update |= {k: getattr(variant, k) for k in ("prompt", "example") if getattr(variant, k)}
    return slot.model_copy(update=update)


def ask(spec: FormSpec, state: FormState, slot: SlotSpec, texts: DialogueTexts) -> Prompt:
    """The question for a slot, with its own number, its example or choices."""
    number, count = number_of(spec, state, slot), total(spec, state)
    slot = fitted(slot, state)
    template = texts.question_optional if slot.optional else texts.question
    text = template.format(done=number, total=count, prompt=slot.prompt.strip())
    if not slot.choices:
        text += "\n" + texts.example.format(example=slot.example)
    return Prompt(text=text, choices=choices_of(slot))


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip().casefold().rstrip("。.!！")


# An answer names its option with a few words around it (「我是个人」「用的是阿里云」); a longer
# message that names one is about something else: 「阿里云账号是个人认证的，能给公司备案吗」
# names 阿里云 and is a question, not the provider.
_AROUND_NAME = 6


def exact_choice(slot: SlotSpec, text: str) -> ChoiceSpec | None:
    """The option the whole reply is: its number, label, value or alias, a ？ after it or not."""
    folded = _fold(text).rstrip("?？").strip()
    # isdecimal, not isdigit: int() refuses "❶" and "፩", which NFKC leaves as they are.
    if folded.isdecimal() and 1 <= int(folded) <= len(slot.choices):
        return slot.choices[int(folded) - 1]
    for choice in slot.choices:
        names = {choice.label, choice.value, *choice.aliases}
        if folded in {_fold(n) for n in names}:
            return choice
    return None


def match_choice(slot: SlotSpec, text: str) -> ChoiceSpec | None:
    """The option a user meant: the exact one, or the one label a short reply contains."""
    exact = exact_choice(slot, text)
    if exact is not None:
        return exact
    folded = _fold(text)
    contained = [
        c
        for c in slot.choices
        if any(
            _fold(n) in folded and len(folded) - len(_fold(n)) <= _AROUND_NAME
            for n in {c.label, *c.aliases}
            if n
        )
    ]
    return contained[0] if len(contained) == 1 else None


def named_choice(slot: SlotSpec, text: str) -> ChoiceSpec | None:
    """The option a longer message names: its longest label or alias found in the text.

    「负责人电话没接」 holds 负责人 and 电话没接; the longer, more specific name wins, and a tie
    between two options names neither.
    """
    folded = _fold(text)
    found = sorted(
        (
            (len(_fold(name)), choice.value)
            for choice in slot.choices
            for name in {choice.label, *choice.aliases}
            if name and _fold(name) in folded
        ),
        reverse=True,
    )
    if not found or (len(found) > 1 and found[0][0] == found[1][0] and found[0][1] != found[1][1]):
        return None
    return next(c for c in slot.choices if c.value == found[0][1])


def answer(slot: SlotSpec, state: FormState, text: str, today: date) -> Answer:
    """Check one answer for a slot; raises InputError (state untouched) when it is wrong."""
    if slot.choices:
        shown = fitted(slot, state)
        # A number picks among the options shown; a name may also be one that is not shown.
        choice = match_choice(shown, text) or (
            None if _fold(text).isdigit() else match_choice(slot, text)
        )
        if choice is None:
            raise InputError("请从选项里选一个，回复序号或选项文字。", shown.example)
        return Answer(value=choice.value, shown=choice.label)
    assert slot.validator is not None  # guaranteed by SlotSpec
    return VALIDATORS[slot.validator](text, state.values, today)


def store(state: FormState, slot: SlotSpec, result: Answer) -> None:
    """Record an answer (replacing an earlier one) and remember the order."""
    state.values[slot.name] = result.model_dump()
    if slot.name in state.skipped:
        state.skipped.remove(slot.name)
    if slot.name in state.answered:
        state.answered.remove(slot.name)
    state.answered.append(slot.name)


def unanswer(state: FormState, name: str) -> None:
    """Forget one answer so the slot is asked again."""
    state.values.pop(name, None)
    if name in state.skipped:
        state.skipped.remove(name)
    if name in state.answered:
        state.answered.remove(name)
    state.phase = Phase.ASKING


def go_back(state: FormState) -> str | None:
    """Undo the last answer; returns the slot name, or None at the first question."""
    if not state.answered:
        return None
    name = state.answered[-1]
    unanswer(state, name)
    return name


def find_slot(spec: FormSpec, state: FormState, name: str) -> SlotSpec | None:
    """A slot by its name, label or alias among those that apply (for /edit 手机号)."""
    wanted = _fold(name)
    if not wanted:
        return None
    slots = applicable(spec, state)
    for slot in slots:
        if wanted in {_fold(slot.name), _fold(slot.label), *map(_fold, slot.aliases)}:
            return slot
    partial = [s for s in slots if wanted in _fold(s.label) or _fold(s.label) in wanted]
    return partial[0] if len(partial) == 1 else None


_EDIT_RE = re.compile(
    r"^(?:我要|我想|帮我|麻烦)?(?:改|修改|更改|更正|重填|重新填)(?:一下|下)?(?:我的)?(.{1,12}?)$"
    r"|^(.{1,12}?)(?:填错了|写错了|错了|要改)$"
)


def edit_request(text: str) -> str | None:
    """The slot name in "改一下域名" / "手机号填错了", or None."""
    match = _EDIT_RE.match(text.strip().rstrip("。！!"))
    if not match:
        return None
    return (match.group(1) or match.group(2) or "").strip() or None


def summary_lines(spec: FormSpec, state: FormState) -> list[str]:
    """`label：shown` for every applicable answered slot; personal values are already masked."""
    lines = []
    for slot in applicable(spec, state):
        if slot.name in state.values:
            lines.append(f"· {slot.label}：{state.values[slot.name]['shown']}")
        elif slot.name in state.skipped:
            lines.append(f"· {slot.label}：（未填）")
    return lines
