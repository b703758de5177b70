"""Answers from the FAQ with a calibrated confidence: answer, "did you mean", or decline."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, Field

from bot.faq.index import FaqIndex, features, tokenize_entries
from bot.faq.knowledge import Knowledge, load_knowledge
from bot.faq.models import FaqEntry
from bot.faq.text import Tokenizer

# Calibrated on tests/data/faq_eval.yaml with `beian-bot eval --sweep`: above ANSWER the top
# entry is right often enough to answer outright; between the two a "did you mean" list is
# safer; below SUGGEST the question is almost always about something else.
ANSWER_THRESHOLD = 0.60
SUGGEST_THRESHOLD = 0.40
# A question without any filing word (knowledge/domain_terms.txt) is often about something
# else that merely shares words ("注册公司需要什么材料"): trust the match less.
OFF_DOMAIN_FACTOR = 0.7
SUGGESTION_COUNT = 3
CANDIDATES = 10
# Weights of the three fit signals; they sum to 1 so the confidence stays in [0, 1].
_W_PHRASING, _W_COVERAGE, _W_BM25 = 0.2, 0.5, 0.3


class Verdict(StrEnum):
    """What the bot does with a question."""

    ANSWER = "answer"
    SUGGEST = "suggest"
    DECLINE = "decline"


class Suggestion(BaseModel):
    """A "did you mean" option."""

    entry_id: str
    title: str


class Match(BaseModel):
    """The retriever's decision for one question."""

    verdict: Verdict
    entry_id: str | None = None
    score: float = 0.0
    suggestions: list[Suggestion] = Field(default_factory=list)


def load_retriever(cache_dir: Path) -> Retriever:
    """Load knowledge/ and build the retriever (caches live in `cache_dir`)."""
    return Retriever(load_knowledge(), cache_dir=cache_dir)


class Retriever:
    """Tokenises, ranks with BM25, and scores confidence as IDF-weighted coverage."""

    def __init__(self, kb: Knowledge, cache_dir: Path) -> None:
        self.kb = kb
        self.tokenizer = Tokenizer(
            userdict=kb.userdict,
            synonyms=kb.synonyms,
            typos=kb.typos,
            filler_words=kb.filler_words,
            corpus=kb.corpus(),
            cache_dir=cache_dir,
        )
        tokenized = tokenize_entries(kb.entries, self.tokenizer, cache_dir, kb.fingerprint())
        self.index = FaqIndex(kb.entries, tokenized)

    def entry(self, entry_id: str) -> FaqEntry:
        """The entry with this id (KeyError if unknown)."""
        return self.kb.entries[entry_id]

    def ranked(self, question: str, limit: int = 5) -> list[tuple[str, float]]:
        """(entry id, confidence) best first; used by `match` and by the evaluation."""
        tokens = self.tokenizer.tokens(question)
        hits = self.index.search(tokens, limit=CANDIDATES)
        if not hits:
            return []
        query = features(tokens)
        best_bm25 = hits[0].bm25
        domain_factor = 1.0 if self.kb.domain_terms & set(tokens) else OFF_DOMAIN_FACTOR
        scored = []
        for hit in hits:
            # BM25 finds and orders candidates; the closest phrasing and the share of the
            # question's words the entry knows say how well it really fits.
            similarity, coverage = self.index.fit(query, hit.entry_id)
            confidence = domain_factor * (
                _W_PHRASING * similarity + _W_COVERAGE * coverage + _W_BM25 * hit.bm25 / best_bm25
            )
            scored.append((hit.entry_id, round(confidence, 4)))
        scored.sort(key=lambda pair: pair[1], reverse=True)
        return scored[:limit]

    def match(self, question: str) -> Match:
        """Decide: answer with an entry, offer the top three, or decline."""
        ranked = self.ranked(question)
        if not ranked:
            return Match(verdict=Verdict.DECLINE)
        top_id, top_score = ranked[0]
        suggestions = [
            Suggestion(entry_id=eid, title=self.kb.entries[eid].title)
            for eid, _ in ranked[:SUGGESTION_COUNT]
        ]
        if top_score >= ANSWER_THRESHOLD:
            return Match(verdict=Verdict.ANSWER, entry_id=top_id, score=top_score)
        if top_score >= SUGGEST_THRESHOLD:
            return Match(verdict=Verdict.SUGGEST, score=top_score, suggestions=suggestions)
        return Match(verdict=Verdict.DECLINE, score=top_score)
