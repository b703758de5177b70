"""Every troubleshooting flow in conversations/flows: small, choice-only, every outcome reachable.

Generic over the files: a new flow is checked by dropping its YAML into the folder.
"""

from __future__ import annotations

import unicodedata
from datetime import date
from itertools import combinations
from pathlib import Path

import pytest

from bot.content import conversations_dir, load_yaml
from bot.dialogue.models import FormKind, FormSpec, FormState, Outcome
from bot.dialogue.runner import answer, facts, holds, next_slot, store

FLOW_FILES = sorted((conversations_dir() / "flows").glob("*.yaml"))
TODAY = date(2025, 1, 1)
MAX_SLOTS = 3


def _load(path: Path) -> FormSpec:
    return load_yaml(path, FormSpec)


def _fold(text: str) -> str:
    """What a user's text is compared on: width, case and trailing punctuation ignored."""
    return unicodedata.normalize("NFKC", text).strip().casefold().rstrip("。.!！?？")


def _path_to(spec: FormSpec, outcome: Outcome) -> FormState:
    """Answer every question the flow asks: what `outcome.when` needs, else the first option."""
    state = FormState(form_id=spec.id)
    for _ in range(len(spec.slots) + 1):
        slot = next_slot(spec, state)
        if slot is None:
            return state
        wanted = outcome.when.get(slot.name)
        fitting = [c for c in slot.choices if wanted is None or c.value in wanted]
        assert fitting, f"{slot.name}: no option among {wanted}"
        choice = fitting[0]
        # Typed as a user would: the option's label goes through the runner's matching.
        store(state, slot, answer(slot, state, choice.label, TODAY))
    raise AssertionError("the flow keeps asking")


def _first_outcome(spec: FormSpec, state: FormState) -> int:
    known = facts(state.values)
    return next(i for i, o in enumerate(spec.outcomes) if holds(o.when, known))


def test_there_are_flows() -> None:
    assert FLOW_FILES, "conversations/flows holds no YAML file"


@pytest.mark.parametrize("path", FLOW_FILES, ids=lambda p: p.stem)
def test_flow_shape(path: Path) -> None:
    spec = _load(path)
    assert spec.kind is FormKind.FLOW
    assert spec.id == path.stem, "one file per flow, named after its id"
    assert spec.title.strip()
    assert spec.intro.strip() and "\n" not in spec.intro.strip(), "intro is one line"
    assert 3 <= len(spec.triggers) <= 8
    assert 1 <= len(spec.slots) <= MAX_SLOTS
    for slot in spec.slots:
        assert slot.choices, f"{slot.name}: a flow asks choice questions only"
        assert slot.validator is None, f"{slot.name}: no free-text answers in a flow"
        assert not slot.personal, f"{slot.name}: a flow never asks for personal data"
        assert len(slot.choices) >= 2, f"{slot.name}: a choice needs two options"


@pytest.mark.parametrize("path", FLOW_FILES, ids=lambda p: p.stem)
def test_outcomes_have_text_and_source(path: Path) -> None:
    spec = _load(path)
    assert not spec.outcomes[-1].when, "the last outcome is the fallback (no `when`)"
    for i, outcome in enumerate(spec.outcomes):
        assert outcome.text.strip(), f"outcome {i} has no text"
        source = outcome.source.strip()
        assert source and "\n" not in source, f"outcome {i}: source is one short line"


@pytest.mark.parametrize("path", FLOW_FILES, ids=lambda p: p.stem)
def test_conditions_name_real_options(path: Path) -> None:
    """Every `when` names a slot asked earlier and values that slot can take."""
    spec = _load(path)
    values = {s.name: {c.value for c in s.choices} for s in spec.slots}
    order = [s.name for s in spec.slots]
    conditions = [(f"slot {s.name}", s.when, order.index(s.name)) for s in spec.slots]
    conditions += [(f"outcome {i}", o.when, len(order)) for i, o in enumerate(spec.outcomes)]
    for where, when, position in conditions:
        for key, allowed in when.items():
            assert key in values, f"{where}: unknown slot {key!r}"
            assert order.index(key) < position, f"{where}: {key!r} is not asked before"
            unknown = set(allowed) - values[key]
            assert not unknown, f"{where}: {key!r} has no option {sorted(unknown)}"


@pytest.mark.parametrize("path", FLOW_FILES, ids=lambda p: p.stem)
def test_every_option_name_picks_its_own_option(path: Path) -> None:
    spec = _load(path)
    state = FormState(form_id=spec.id)
    for slot in spec.slots:
        assert len({c.value for c in slot.choices}) == len(slot.choices), slot.name
        for choice in slot.choices:
            for name in (choice.label, choice.value, *choice.aliases):
                got = answer(slot, state, name, TODAY).value
                assert got == choice.value, f"{slot.name}: {name!r} picks {got!r}"


@pytest.mark.parametrize("path", FLOW_FILES, ids=lambda p: p.stem)
def test_every_outcome_is_reachable_and_not_shadowed(path: Path) -> None:
    spec = _load(path)
    problems = []
    for index, outcome in enumerate(spec.outcomes):
        if not outcome.when:
            continue
        state = _path_to(spec, outcome)
        shown = _first_outcome(spec, state)
        if shown != index:
            answers = {k: v["value"] for k, v in state.values.items()}
            problems.append(f"outcome {index} {outcome.when}: {answers} shows outcome {shown}")
    assert not problems, "\n".join(problems)


def test_triggers_of_different_flows_do_not_overlap() -> None:
    triggers: dict[str, list[str]] = {}
    for path in FLOW_FILES:
        spec = _load(path)
        folded = [_fold(t) for t in spec.triggers]
        assert all(folded), f"{spec.id}: empty trigger"
        assert len(set(folded)) == len(folded), f"{spec.id}: duplicate trigger"
        triggers[spec.id] = folded
    clashes = [
        f"{a} {ta!r} / {b} {tb!r}"
        for (a, tas), (b, tbs) in combinations(triggers.items(), 2)
        for ta in tas
        for tb in tbs
        if ta in tb or tb in ta
    ]
    assert not clashes, "\n".join(clashes)
