"""The entry classifier: its features, its stored weights, and that the shipped one is current."""

from __future__ import annotations

import json
from pathlib import Path

from bot.faq.classifier import ClassifierModel, analyze, load_classifier, pack
from bot.faq.language import language_of
from bot.faq.retriever import Retriever
from tests.conftest import CACHE_DIR


def test_features_are_character_pairs_and_triples_and_words() -> None:
    features = analyze("备案要多久", ["备案", "多久"])
    assert " 备" in features and "备案要" in features and "久 " in features
    assert "w:备案" in features and "w:多久" in features
    assert not [f for f in features if len(f) == 1]
    # Full-width, traditional and case variants meet the same features.
    assert analyze("備案要多久", []) == analyze("备案要多久", [])
    assert analyze("ICP", []) == analyze("ｉｃｐ", [])


def test_the_shipped_models_were_trained_on_these_phrasings(retriever: Retriever) -> None:
    assert retriever.model_problems() == []


def test_the_classifier_knows_the_entries_it_learned(retriever: Retriever) -> None:
    classifier = retriever.classifier
    assert classifier is not None
    kb = retriever.kb
    right = total = 0
    for entry_id, texts in kb.training_texts().items():
        for text in texts[:3]:
            ranked = classifier.probabilities(text, retriever.tokens(text, language_of(text)))
            right += ranked[0][0] == entry_id
            total += 1
    assert right / total >= 0.9, f"{right}/{total}"


def _tiny_model(classes: list[str], trained_for: str) -> ClassifierModel:
    # Two features; "w:多久" speaks for the second class, "w:收费" for the first.
    return ClassifierModel(
        classes=classes,
        intercepts=[0.0, 0.0],
        vocabulary=["w:多久", "w:收费"],
        idf=[1.0, 1.0],
        offsets=pack("I", [0, 1, 2]),
        targets=pack("H", [1, 0]),
        weights=pack("f", [4.0, 4.0]),
        trained_on="test",
        trained_for=trained_for,
    )


def test_stored_weights_decide_the_ranking(tmp_path: Path) -> None:
    path = tmp_path / "classifier.json"
    path.write_text(_tiny_model(["a", "b"], "x").model_dump_json(), encoding="utf-8")
    classifier = load_classifier(path)
    assert classifier is not None
    assert [e for e, _ in classifier.probabilities("", ["多久"])] == ["b", "a"]
    assert [e for e, _ in classifier.probabilities("", ["收费"])] == ["a", "b"]
    ranked = classifier.probabilities("", ["收费", "收费", "多久"])
    assert abs(sum(p for _, p in ranked) - 1.0) < 1e-9
    assert load_classifier(tmp_path / "absent.json") is None


def test_a_stale_classifier_is_reported_and_its_unknown_entries_never_offered(
    tmp_path: Path, retriever: Retriever
) -> None:
    path = tmp_path / "classifier.json"
    model = _tiny_model(["an-entry-since-removed", "total-time"], "old")
    path.write_text(json.dumps(model.model_dump()), encoding="utf-8")
    stale = Retriever(retriever.kb, cache_dir=CACHE_DIR, classifier_path=path)
    assert any("trained on other phrasings" in p for p in stale.model_problems())
    ids = [eid for eid, _, _ in stale.candidates("收费吗")]
    assert ids and "an-entry-since-removed" not in ids
