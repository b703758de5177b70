"""Scores the retriever on a labelled question set: top-1, top-3, out-of-scope rejection."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from bot.content import load_yaml
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
