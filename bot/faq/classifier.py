"""A text classifier over the entries: TF-IDF of character n-grams and words, linear weights.

BM25 and word overlap rank the right entry first for under half of real questions, and their
scores say little about whether the first is right. A linear model trained on the entries'
own phrasings (tools/train_reranker.py, scikit-learn's LogisticRegression) learns which
character sequences tell entries apart; its probability is one of the reranker's signals.

The bot only evaluates the stored weights, in pure Python: a question touches a few thousand
(feature, entry) weights, well under a millisecond, and neither scikit-learn nor numpy is
imported at run time (numpy alone would add a tenth of a second and 16 MB to every start).
The weights are kept as packed arrays, not Python floats, for the same reason.
"""

from __future__ import annotations

import base64
import json
import math
import re
import sys
from array import array
from collections import Counter
from operator import itemgetter
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ConfigDict

from bot.faq.text import normalize

# The class of messages about something else; never an entry id (ids are kebab-case).
NONE_CLASS = "_none"
A = TypeVar("A", "array[int]", "array[float]")
_RUN = re.compile(r"\S+")
# Longer grams add little and make every long message a bag of unique features.
_LONGEST_GRAM = 3
_MAX_CHARS = 400


def analyze(text: str, words: list[str]) -> list[str]:
    """The classifier's features: padded character 2-3-grams of `text` and its `words`.

    Shared by training and run time, so both see exactly the same features. Single
    characters are left out: each weighs on nearly every entry and tells none apart.
    """
    out: list[str] = []
    for run in _RUN.findall(normalize(text[:_MAX_CHARS])):
        padded = f" {run} "
        for size in range(2, _LONGEST_GRAM + 1):
            out += [padded[i : i + size] for i in range(len(padded) - size + 1)]
    out += ["w:" + word for word in words]
    return out


class ClassifierModel(BaseModel):
    """knowledge/classifier.json: the vocabulary with its IDF, and the weights as CSR arrays.

    Row r's weights are targets[offsets[r]:offsets[r+1]] (entry indexes, uint16) and the same
    slice of weights (float32); the arrays are base64 of little-endian bytes.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    classes: list[str]
    intercepts: list[float]
    vocabulary: list[str]
    idf: list[float]
    offsets: str
    targets: str
    weights: str
    trained_on: str
    # Knowledge.training_fingerprint() of the texts it learned: a mismatch means retrain.
    trained_for: str


def _unpacked(values: A, data: str) -> A:
    """Fill the empty array `values` from base64 of little-endian bytes."""
    values.frombytes(base64.b64decode(data))
    if sys.byteorder != "little":
        values.byteswap()
    return values


def pack(code: str, values: list[int] | list[float]) -> str:
    """The base64 of `values` as a little-endian array of `code` (for the training script)."""
    packed = array(code, values)
    if sys.byteorder != "little":
        packed.byteswap()
    return base64.b64encode(packed.tobytes()).decode("ascii")


class EntryClassifier:
    """P(entry | question) for every entry, from the stored weights."""

    def __init__(self, model: ClassifierModel) -> None:
        self.classes = model.classes
        self.trained_for = model.trained_for
        self._intercepts = model.intercepts
        self._rows = {feature: row for row, feature in enumerate(model.vocabulary)}
        self._idf = model.idf
        self._offsets = _unpacked(array("I"), model.offsets)
        self._targets = _unpacked(array("H"), model.targets)
        self._weights = _unpacked(array("f"), model.weights)

    def probabilities(self, text: str, words: list[str]) -> list[tuple[str, float]]:
        """Every entry with its probability, best first (softmax over the linear scores)."""
        counts = Counter(analyze(text, words))
        rows, idf, log = self._rows, self._idf, math.log
        found = [
            (row, (1.0 + log(n)) * idf[row])
            for feature, n in counts.items()
            if (row := rows.get(feature)) is not None
        ]
        norm = math.sqrt(sum(value * value for _, value in found)) or 1.0
        scores = list(self._intercepts)
        offsets, targets, weights = self._offsets, self._targets, self._weights
        # A question adds up some 1,500 weights here: only locals in the loop, and each score
        # still adds its weights in the order it always did (same floats to the last bit).
        for row, value in found:
            start, end = offsets[row], offsets[row + 1]
            scaled = value / norm
            for target, weight in zip(targets[start:end], weights[start:end], strict=True):
                scores[target] += weight * scaled
        top = max(scores)
        exps = [math.exp(score - top) for score in scores]
        total = sum(exps)
        ranked = sorted(zip(self.classes, exps, strict=True), key=itemgetter(1), reverse=True)
        return [(entry_id, e / total) for entry_id, e in ranked]


def load_classifier(path: Path) -> EntryClassifier | None:
    """The stored classifier, or None when knowledge/ has none."""
    if not path.exists():
        return None
    return EntryClassifier(
        ClassifierModel.model_validate(json.loads(path.read_text(encoding="utf-8")))
    )
