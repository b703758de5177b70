"""The reranker: a logistic model over a candidate's fit signals, trained on real questions.

BM25 and the fit signals find the right entry among the first ten for four real questions in
five, but first for only two in five, and their sum is not a probability. A logistic model
over the same signals (trained by tools/train_reranker.py on the tuning part of
tests/data/real_questions/ and the team's regression set) reorders the candidates and gives
a confidence that means "how often an answer this sure is right".
"""

from __future__ import annotations

import json
import math
import operator
from pathlib import Path

from pydantic import BaseModel, ConfigDict

FEATURES = (
    "similarity",
    "coverage",
    "title",
    "answer",
    "bm25",
    "first",
    "whole_coverage",
    "whole_answer",
    "domain",
    "known",
    "background",
    "margin",
    "clf",
    "clf_first",
    "clf_top",
    "clf_margin",
    "clf_ratio",
    "clf_none",
    "cue",
)


class RerankModel(BaseModel):
    """knowledge/reranker.json: weights per feature, and the thresholds chosen with them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    features: list[str]
    weights: list[float]
    bias: float
    answer_threshold: float
    suggest_threshold: float
    trained_on: str


def load_model(path: Path) -> RerankModel | None:
    """The trained model, or None when there is none (the hand-set confidence is used)."""
    if not path.exists():
        return None
    model = RerankModel.model_validate(json.loads(path.read_text(encoding="utf-8")))
    if tuple(model.features) != FEATURES or len(model.weights) != len(FEATURES):
        # Trained for other features than this code computes: using it would be nonsense.
        return None
    return model


def probability(model: RerankModel, values: dict[str, float]) -> float:
    """P(this candidate is the right entry) under the model."""
    # map() over C callables: the same products added in the same order as a generator
    # would, at a third of its cost (it runs for every candidate of every question).
    z = model.bias + sum(map(operator.mul, model.weights, map(values.__getitem__, model.features)))
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))
