"""The reranker's stored model: it loads, it matches the code's features, it ranks sensibly."""

from __future__ import annotations

import json
from pathlib import Path

from bot.content import knowledge_dir
from bot.faq.rerank import FEATURES, load_model, probability
from bot.faq.retriever import Retriever


def test_the_shipped_model_fits_the_features_the_code_computes() -> None:
    model = load_model(knowledge_dir() / "reranker.json")
    assert model is not None, (
        "knowledge/reranker.json is missing or was trained for other features"
    )
    assert 0 < model.suggest_threshold <= model.answer_threshold < 1


def test_a_model_for_other_features_is_not_used(tmp_path: Path) -> None:
    stale = json.loads((knowledge_dir() / "reranker.json").read_text(encoding="utf-8"))
    stale["features"] = [*stale["features"][:-1], "something-else"]
    path = tmp_path / "reranker.json"
    path.write_text(json.dumps(stale), encoding="utf-8")
    assert load_model(path) is None
    assert load_model(tmp_path / "absent.json") is None


def test_a_closer_fit_is_never_less_likely(retriever: Retriever) -> None:
    model = retriever.model
    assert model is not None
    base = dict.fromkeys(FEATURES, 0.3)
    for feature in ("similarity", "domain", "margin"):
        better = {**base, feature: 0.9}
        assert probability(model, better) > probability(model, base), feature
