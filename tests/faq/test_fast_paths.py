"""The FAQ's shortcuts give what the long way gives: skipped conversions, fitted phrasings."""

import math

import pytest

from bot.faq.index import features
from bot.faq.retriever import Retriever
from bot.faq.text import _may_convert, _t2s


@pytest.mark.parametrize("text", ["備案號碼要多久", "程序有序运行", "沈默", "伺服器的網域"])
def test_text_that_t2s_changes_is_converted(text: str) -> None:
    assert _may_convert(text)


def test_only_text_that_t2s_leaves_alone_skips_it(retriever: Retriever) -> None:
    texts = [*retriever.kb.corpus().splitlines(), "备案要多久", "icp filing", "有序"]
    skipped = [t for t in texts if not _may_convert(t)]
    assert skipped
    assert all(_t2s.convert(t) == t for t in skipped)


@pytest.mark.parametrize(
    "question", ["个人网站备案需要多久", "备案期间域名可以解析吗", "实名认证失败怎么办"]
)
def test_closest_phrasing_is_the_best_cosine_over_all_phrasings(
    retriever: Retriever, question: str
) -> None:
    index = retriever._sides["zh"].index
    query = features(retriever.tokens(question))
    ids = list(index.vocab)
    weights = {f: index.weight(f) for f in query}
    norm = math.sqrt(sum(w * w for w in weights.values()))
    fits = index.fit(query, ids)
    for entry_id, fit in fits.items():
        entry = retriever.entry(entry_id)
        texts = [*entry.questions, *entry.keywords, entry.title]
        cosines = [
            sum(weights[f] ** 2 for f in query & phrasing)
            / (norm * math.sqrt(sum(index.weight(f) ** 2 for f in phrasing)))
            for phrasing in (features(retriever.tokens(t)) for t in texts)
            if phrasing
        ]
        assert fit.similarity == pytest.approx(max(cosines, default=0.0), rel=1e-12)
