"""Scores the retriever on a labelled question set: top-1, top-3, out-of-scope rejection."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from bot.content import load_yaml
from bot.faq.language import language_of
from bot.faq.retriever import Retriever, Verdict


class LabelledQuestion(BaseModel):
    """An in-scope question and the entry that answers it."""

    model_config = ConfigDict(extra="forbid")

    q: str
    id: str


class EvalSet(BaseModel):
    """tests/data/faq_eval.yaml."""

    model_config = ConfigDict(extra="forbid")

    in_scope: list[LabelledQuestion]
    out_of_scope: list[str]


class Miss(BaseModel):
    """One question the retriever got wrong, for the report."""

    question: str
    expected: str | None
    got: str | None
    verdict: Verdict
    score: float


class EvalReport(BaseModel):
    """The figures `beian-bot eval` prints."""

    in_scope: int
    out_of_scope: int
    top1: float
    top3: float
    answered_right: float  # answered outright with the right entry
    answered_wrong: float  # answered outright with a wrong entry: the costly mistake
    oos_rejected: float  # out-of-scope questions not answered with an entry
    oos_declined: float  # ... and not even offered "did you mean"
    misses: list[Miss] = Field(default_factory=list)


def load_eval_set(path: Path) -> EvalSet:
    """Read and validate an evaluation file."""
    return load_yaml(path, EvalSet)


def evaluate(retriever: Retriever, data: EvalSet) -> EvalReport:
    """Run every question through the same `match` the chat uses."""
    top1 = top3 = right = wrong = 0
    misses: list[Miss] = []
    for item in data.in_scope:
        ranked = [eid for eid, _ in retriever.ranked(item.q)]
        match = retriever.match(item.q)
        top1 += bool(ranked) and ranked[0] == item.id
        top3 += item.id in ranked[:3]
        if match.verdict is Verdict.ANSWER:
            right += match.entry_id == item.id
            wrong += match.entry_id != item.id
        if not ranked or ranked[0] != item.id or match.verdict is not Verdict.ANSWER:
            misses.append(
                Miss(
                    question=item.q,
                    expected=item.id,
                    got=ranked[0] if ranked else None,
                    verdict=match.verdict,
                    score=match.score,
                )
            )
    rejected = declined = 0
    for question in data.out_of_scope:
        match = retriever.match(question)
        rejected += match.verdict is not Verdict.ANSWER
        declined += match.verdict is Verdict.DECLINE
        if match.verdict is Verdict.ANSWER:
            misses.append(
                Miss(
                    question=question,
                    expected=None,
                    got=match.entry_id,
                    verdict=match.verdict,
                    score=match.score,
                )
            )
    n_in, n_out = len(data.in_scope), len(data.out_of_scope)
    return EvalReport(
        in_scope=n_in,
        out_of_scope=n_out,
        top1=top1 / n_in,
        top3=top3 / n_in,
        answered_right=right / n_in,
        answered_wrong=wrong / n_in,
        oos_rejected=rejected / n_out if n_out else 1.0,
        oos_declined=declined / n_out if n_out else 1.0,
        misses=misses,
    )


def format_report(report: EvalReport) -> str:
    """Human-readable figures followed by every miss."""
    lines = [
        f"in-scope questions:      {report.in_scope}",
        f"out-of-scope questions:  {report.out_of_scope}",
        f"top-1 accuracy:          {report.top1:.1%}",
        f"top-3 accuracy:          {report.top3:.1%}",
        f"answered, right entry:   {report.answered_right:.1%}",
        f"answered, wrong entry:   {report.answered_wrong:.1%}",
        f"out-of-scope rejected:   {report.oos_rejected:.1%}  (not answered with an entry)",
        f"out-of-scope declined:   {report.oos_declined:.1%}  (no suggestions either)",
        "",
        f"misses ({len(report.misses)}):",
    ]
    for miss in report.misses:
        lines.append(
            f"  [{miss.verdict.value:7}] {miss.score:.2f} expected={miss.expected} "
            f"got={miss.got}  {miss.question}"
        )
    return "\n".join(lines)


def sweep(retriever: Retriever, data: EvalSet) -> str:
    """How the answer threshold trades right answers against answered out-of-scope questions."""
    in_scope = [(retriever.ranked(item.q)[:1], item.id) for item in data.in_scope]
    out_scope = [retriever.ranked(q)[:1] for q in data.out_of_scope]
    lines = ["threshold  answered-right  answered-wrong  out-of-scope-rejected"]
    for step in range(40, 86, 2):
        threshold = step / 100
        right = sum(
            1 for top, label in in_scope if top and top[0][1] >= threshold and top[0][0] == label
        )
        wrong = sum(
            1 for top, label in in_scope if top and top[0][1] >= threshold and top[0][0] != label
        )
        rejected = sum(1 for top in out_scope if not top or top[0][1] < threshold)
        lines.append(
            f"{threshold:9.2f}  {right / len(in_scope):14.1%}  {wrong / len(in_scope):14.1%}"
            f"  {rejected / max(len(out_scope), 1):21.1%}"
        )
    return "\n".join(lines)


class RealQuestion(BaseModel):
    """A question a real user typed in public, with where it was typed and what answers it."""

    model_config = ConfigDict(extra="forbid")

    q: str
    url: str
    kind: Literal["user", "provider_faq"]
    scope: Literal["filing", "off_topic"]
    # The entry that answers it; None for an off-topic question or a filing question no
    # entry covers yet (then refusing or a did-you-mean is right, an answer is wrong).
    id: str | None = None
    need: str = ""
    split: Literal["tune", "held_out"] | None = None


class RealQuestionFile(BaseModel):
    """tests/data/real_questions/*.yaml."""

    model_config = ConfigDict(extra="forbid")

    questions: list[RealQuestion]


class PartReport(BaseModel):
    """Figures for one part (tuning or held-out) of the real questions."""

    part: str
    covered: int  # filing questions an entry answers
    uncovered: int  # filing questions no entry answers yet
    off_topic: int
    right: float  # covered, answered with the right entry
    wrong_of_answered: float  # answered (covered or not) from a wrong entry, of all answered
    suggested_right: float  # covered, a did-you-mean that lists the right entry
    missed: float  # covered, refused or a did-you-mean without the right entry
    off_topic_refused: float  # off-topic, declined without a menu
    by_language: dict[str, float]  # share of covered questions answered right, per language
    thresholds: list[tuple[float, float, float]]  # (threshold, precision, coverage)
    misses: list[Miss] = Field(default_factory=list)


# About this share of sources is held out: never looked at while tuning, quoted in the README.
HELD_OUT_SHARE = 0.4


def part_of(question: RealQuestion) -> Literal["tune", "held_out"]:
    """Which part a question is in, decided by its source alone so a thread never straddles.

    A hash of the URL (without fragment) fixes the split once for every source, present or
    added later; an explicit `split:` in the file overrides it.
    """
    if question.split is not None:
        return question.split
    source = question.url.split("#", 1)[0].rstrip("/")
    bucket = int(hashlib.sha256(source.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return "held_out" if bucket < HELD_OUT_SHARE else "tune"


def load_real_questions(folder: Path) -> list[RealQuestion]:
    """Every real question under `folder`, validated."""
    questions: list[RealQuestion] = []
    for path in sorted(folder.glob("*.yaml")):
        questions += load_yaml(path, RealQuestionFile).questions
    return questions


def evaluate_part(
    retriever: Retriever, questions: list[RealQuestion], part: str, with_misses: bool = True
) -> PartReport:
    """Answer every question of one part the way the chat would and count what users saw."""
    known = retriever.kb.entries
    covered = [q for q in questions if q.scope == "filing" and q.id in known]
    uncovered = [q for q in questions if q.scope == "filing" and q.id not in known]
    off_topic = [q for q in questions if q.scope == "off_topic"]
    right = suggested = answered = answered_wrong = 0
    per_language: dict[str, list[bool]] = {}
    misses: list[Miss] = []
    tops: list[tuple[float, bool]] = []  # (top score, top is right) over covered + uncovered
    for item in [*covered, *uncovered]:
        match = retriever.match(item.q)
        if match.best_entry_id is not None:
            tops.append((match.score, match.best_entry_id == item.id))
        is_right = match.verdict is Verdict.ANSWER and match.entry_id == item.id
        if match.verdict is Verdict.ANSWER:
            answered += 1
            answered_wrong += not is_right
        if item in covered:
            right += is_right
            offered = any(s.entry_id == item.id for s in match.suggestions)
            suggested += match.verdict is Verdict.SUGGEST and offered
            per_language.setdefault(language_of(item.q), []).append(is_right)
        if not is_right and (item in covered or match.verdict is Verdict.ANSWER):
            misses.append(
                Miss(
                    question=item.q,
                    expected=item.id,
                    got=match.entry_id or match.best_entry_id,
                    verdict=match.verdict,
                    score=match.score,
                )
            )
    refused = 0
    for item in off_topic:
        match = retriever.match(item.q)
        refused += match.verdict is Verdict.DECLINE
        if match.verdict is not Verdict.DECLINE:
            misses.append(
                Miss(
                    question=item.q,
                    expected=None,
                    got=match.entry_id,
                    verdict=match.verdict,
                    score=match.score,
                )
            )
        if match.best_entry_id is not None:
            tops.append((match.score, False))
    n = max(len(covered), 1)
    return PartReport(
        part=part,
        covered=len(covered),
        uncovered=len(uncovered),
        off_topic=len(off_topic),
        right=right / n,
        wrong_of_answered=answered_wrong / answered if answered else 0.0,
        suggested_right=suggested / n,
        missed=(len(covered) - right - suggested) / n,
        off_topic_refused=refused / len(off_topic) if off_topic else 1.0,
        by_language={lang: sum(v) / len(v) for lang, v in sorted(per_language.items())},
        thresholds=_precision_coverage(tops, len(covered)),
        misses=misses if with_misses else [],
    )


def _precision_coverage(
    tops: list[tuple[float, bool]], covered: int
) -> list[tuple[float, float, float]]:
    """At each answer threshold: precision of what is answered, share of covered answered right."""
    rows = []
    for step in range(30, 91, 5):
        threshold = step / 100
        answered = [is_right for score, is_right in tops if score >= threshold]
        precision = sum(answered) / len(answered) if answered else 1.0
        rows.append((threshold, precision, sum(answered) / max(covered, 1)))
    return rows


def format_part(report: PartReport) -> str:
    """The figures of one part, the threshold table, and its misses if they were kept."""
    langs = ", ".join(f"{lang} {share:.1%}" for lang, share in report.by_language.items())
    lines = [
        f"== real questions, {report.part} part",
        f"covered filing questions:    {report.covered}   (uncovered: {report.uncovered},"
        f" off-topic: {report.off_topic})",
        f"answered, right entry:       {report.right:.1%}   ({langs})",
        f"did-you-mean with the right: {report.suggested_right:.1%}",
        f"missed (refused or menu without the right entry): {report.missed:.1%}",
        f"answered from a wrong entry: {report.wrong_of_answered:.1%} of answered",
        f"off-topic refused, no menu:  {report.off_topic_refused:.1%}",
        "threshold  precision  coverage",
        *(f"{t:9.2f}  {p:9.1%}  {c:8.1%}" for t, p, c in report.thresholds),
    ]
    if report.misses:
        lines.append(f"misses ({len(report.misses)}):")
        lines += [
            f"  [{m.verdict.value:7}] {m.score:.2f} expected={m.expected} got={m.got}  "
            + m.question.replace("\n", " ")[:120]
            for m in report.misses
        ]
    return "\n".join(lines)
