"""Answers from the FAQ with a calibrated confidence: answer, "did you mean", or decline."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, Field

from bot.content import knowledge_dir
from bot.faq.classifier import NONE_CLASS, EntryClassifier, load_classifier
from bot.faq.english import EnglishTokenizer
from bot.faq.focus import split_question
from bot.faq.index import EntryTexts, FaqIndex, Hit, features, tokenize_entries
from bot.faq.knowledge import Knowledge, load_knowledge
from bot.faq.language import Language, language_of
from bot.faq.models import FaqEntry
from bot.faq.rerank import load_model, probability
from bot.faq.text import Tokenizer

# For the hand-set confidence, used only when knowledge/reranker.json is absent (the trained
# model carries its own thresholds). Set on tests/data/faq_eval.yaml with `eval --sweep`:
# above ANSWER answer outright, between the two offer "did you mean", below decline.
ANSWER_THRESHOLD = 0.60
SUGGEST_THRESHOLD = 0.40
# A question without any filing word (knowledge/domain_terms.txt) is often about something
# else that merely shares words ("注册公司需要什么材料"): trust the match less.
OFF_DOMAIN_FACTOR = 0.7
SUGGESTION_COUNT = 3
# Below the trained did-you-mean threshold, a menu still beats "outside my scope" for a message
# with a filing word that the classifier does not take for another subject. Chosen on the
# tuning part with `beian-bot eval --tune`: menus that list the right entry 13% -> 30% of
# covered questions, off-topic refused without a menu 96.9% -> 95.3% (the floor).
MENU_FLOOR = 0.4
MENU_NONE_MAX = 0.1
# Below this P(none), a message with a filing word counts as about filing even when declined.
ABOUT_FILING_NONE_MAX = 0.5
CANDIDATES = 15
# Question words that name what kind of answer is wanted; when the question has one, an
# entry whose title has it too is likelier to answer it ("个人网站备案需要多久" is about time,
# not about personal sites).
_CUES = frozenset({"多久", "收费", "哪里", "哪些", "多少", "区别", "流程", "材料"})
# The classifier's best entries join BM25's candidates: it ranks the right one first more
# often than BM25 does, and BM25 misses entries whose phrasings share few whole words.
CLASSIFIER_CANDIDATES = 5
# Weights of the three fit signals; they sum to 1 so the confidence stays in [0, 1].
_W_PHRASING, _W_COVERAGE, _W_BM25 = 0.2, 0.5, 0.3
# In a message with background, how much the question sentence's own fit counts.
_FOCUS_WEIGHT = 0.7


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
    language: Language = "zh"
    # The top candidate whatever the verdict: what an evaluation compares with its label.
    best_entry_id: str | None = None
    # A filing word, and the classifier does not take it for another subject: a decline
    # must then not say the question is outside the bot's scope.
    about_filing: bool = False


def load_retriever(cache_dir: Path) -> Retriever:
    """Load knowledge/ and build the retriever (caches live in `cache_dir`)."""
    return Retriever(
        load_knowledge(cache_dir=cache_dir),
        cache_dir=cache_dir,
        model_path=knowledge_dir() / "reranker.json",
        classifier_path=knowledge_dir() / "classifier.json",
    )


@dataclass(frozen=True)
class _Side:
    """One language's view of the knowledge: how questions are cut and what they meet."""

    tokens: Callable[[str], list[str]]
    index: FaqIndex
    domain_terms: frozenset[str]
    generic_words: frozenset[str]


class Retriever:
    """Finds candidates with BM25 and the entry classifier; the reranker orders them and says
    how sure it is."""

    def __init__(
        self,
        kb: Knowledge,
        cache_dir: Path,
        model_path: Path | None = None,
        classifier_path: Path | None = None,
    ) -> None:
        self.kb = kb
        self.tokenizer = Tokenizer(
            userdict=kb.userdict,
            synonyms=kb.synonyms,
            typos=kb.typos,
            filler_words=kb.filler_words,
            corpus=kb.corpus(),
            cache_dir=cache_dir,
        )
        chinese = {
            e.id: ([*e.questions, *e.keywords], e.title, e.answer) for e in kb.entries.values()
        }
        fingerprint = kb.fingerprint()
        tokenized = tokenize_entries(chinese, self.tokenizer.tokens, cache_dir, fingerprint)
        english = EnglishTokenizer(kb.english_synonyms)
        # An entry with neither English text nor a Latin keyword has nothing to meet.
        english_texts = {
            e.id: texts for e in kb.entries.values() if (texts := _english_texts(e))[0] or texts[1]
        }
        english_tokenized = tokenize_entries(
            english_texts, english.tokens, cache_dir, "en\n" + fingerprint
        )
        english_domain = frozenset(t for term in kb.domain_terms for t in english.tokens(term))
        chinese_generic = frozenset(t for w in kb.generic_words for t in self.tokenizer.tokens(w))
        english_generic = frozenset(t for w in kb.generic_words for t in english.tokens(w))
        self._sides: dict[Language, _Side] = {
            "zh": _Side(
                self.tokenizer.tokens, FaqIndex(tokenized), kb.domain_terms, chinese_generic
            ),
            "en": _Side(
                english.tokens, FaqIndex(english_tokenized), english_domain, english_generic
            ),
        }
        self.classifier: EntryClassifier | None = (
            load_classifier(classifier_path) if classifier_path else None
        )
        self.model = load_model(model_path) if model_path else None
        # The lines of the answers, whose words `brief` compares with each question: cut
        # once per language on first use instead of at every answer. Only knowledge lines
        # are kept, so the cache never grows past the knowledge base.
        self._answer_lines = frozenset(
            line
            for e in kb.entries.values()
            for answer in (e.answer, e.en.answer if e.en else "")
            for line in (*answer.splitlines(), *answer.strip().splitlines())
        )
        self._line_tokens: dict[tuple[Language, str], tuple[str, ...]] = {}
        self.thresholds = (
            (self.model.answer_threshold, self.model.suggest_threshold)
            if self.model
            else (ANSWER_THRESHOLD, SUGGEST_THRESHOLD)
        )

    def model_problems(self) -> list[str]:
        """What `kb check` says about the trained models: missing, or trained for other texts."""
        retrain = "run tools/train_reranker.py"
        if self.classifier is None:
            return [f"knowledge/classifier.json is missing: {retrain}"]
        problems = []
        if self.classifier.trained_for != self.kb.training_fingerprint():
            problems.append(
                f"knowledge/classifier.json was trained on other phrasings than these: {retrain}"
            )
        if self.model is None:
            problems.append(f"knowledge/reranker.json is missing or for other signals: {retrain}")
        return problems

    def entry(self, entry_id: str) -> FaqEntry:
        """The entry with this id (KeyError if unknown)."""
        return self.kb.entries[entry_id]

    def tokens(self, text: str, language: Language = "zh") -> list[str]:
        """The words of `text` as the index of `language` sees them."""
        side: Language = "en" if language == "en" else "zh"
        if text not in self._answer_lines:
            return self._sides[side].tokens(text)
        cached = self._line_tokens.get((side, text))
        if cached is None:
            cached = self._line_tokens[side, text] = tuple(self._sides[side].tokens(text))
        return list(cached)

    def ranked(
        self, question: str, limit: int = 5, language: Language | None = None
    ) -> list[tuple[str, float]]:
        """(entry id, confidence) best first; used by `match` and by the evaluation."""
        return _scores(self.candidates(question, language))[:limit]

    def candidates(
        self, question: str, language: Language | None = None
    ) -> list[tuple[str, float, dict[str, float]]]:
        """Every candidate with its confidence and the signals behind it, best first."""
        language = language or language_of(question)
        if language == "other":
            return []
        side = self._sides[language]
        asked, background = split_question(question)
        every = side.tokens(question)
        asked_tokens = side.tokens(asked) if background else every
        hits = side.index.search(asked_tokens, limit=CANDIDATES)
        if background:
            seen = {h.entry_id for h in hits}
            hits += [
                h for h in side.index.search(every, limit=CANDIDATES) if h.entry_id not in seen
            ]
        # The classifier reads the whole message: out of fold on the tuning part it ranks the
        # right entry first more often so (54% against 51% on the question sentence alone).
        every_class = self.classifier.probabilities(question, every) if self.classifier else []
        none = next((p for eid, p in every_class if eid == NONE_CLASS), 0.0)
        classified = [(eid, p) for eid, p in every_class if eid in self.kb.entries]
        if classified:
            seen = {h.entry_id for h in hits}
            # The classifier knows every entry; an English question's side only those with an
            # English text (without this, "1A" met a Chinese-only entry: KeyError in fit).
            hits += [
                Hit(entry_id=eid, bm25=0.0)
                for eid, _ in classified[:CLASSIFIER_CANDIDATES]
                if eid not in seen and eid in side.index.vocab
            ]
        if not hits:
            return []
        ids = [h.entry_id for h in hits]
        fits = side.index.fit(features(asked_tokens), ids)
        whole = side.index.fit(features(every), ids) if background else fits
        best_bm25 = max(h.bm25 for h in hits)
        # Filing words anywhere in the message count: the background often names them.
        domain = 1.0 if side.domain_terms & set(every) else OFF_DOMAIN_FACTOR
        cues = _CUES.intersection(asked_tokens)
        rank_of = {eid: i for i, (eid, _) in enumerate(classified)}
        # Only generic words ("ICP question"): never answered outright (see `match`).
        vague = float(not set(every) - side.generic_words)
        rows = []
        for rank, hit in enumerate(hits):
            fit, fit_whole = fits[hit.entry_id], whole[hit.entry_id]
            signals = {
                "similarity": fit.similarity,
                "coverage": fit.coverage,
                "title": fit.title,
                "answer": fit.answer,
                "bm25": hit.bm25 / best_bm25 if best_bm25 > 0 else 0.0,
                "first": 1.0 / (1 + rank),
                "whole_coverage": fit_whole.coverage,
                "whole_answer": fit_whole.answer,
                "domain": domain,
                "known": fit.known,
                "background": float(bool(background)),
                "margin": 0.0,
                **_classifier_signals(classified, rank_of.get(hit.entry_id, len(classified))),
                "clf_none": none,
                "cue": _cue_agreement(cues, side.index.title_vocab.get(hit.entry_id)),
                "vague": vague,  # not a reranker feature
            }
            rows.append((hit.entry_id, self._hand_confidence(signals), signals))
        # How far a candidate stands above the next best tells a sure match from a toss-up.
        rows.sort(key=lambda row: row[1], reverse=True)
        for i, (_, score, signals) in enumerate(rows):
            runner_up = rows[1][1] if i == 0 and len(rows) > 1 else rows[0][1]
            signals["margin"] = score - runner_up if i == 0 else score - rows[0][1]
        if self.model is not None:
            model = self.model
            rows = [(eid, probability(model, sig), sig) for eid, _, sig in rows]
            rows.sort(key=lambda row: row[1], reverse=True)
        return rows

    @staticmethod
    def _hand_confidence(signals: dict[str, float]) -> float:
        """The hand-set blend used before a model is trained, and as the model's first cut."""
        focused = (
            _W_PHRASING * signals["similarity"]
            + _W_COVERAGE * signals["coverage"]
            + _W_BM25 * signals["bm25"]
        )
        if signals["background"]:
            focused = _FOCUS_WEIGHT * focused + (1 - _FOCUS_WEIGHT) * signals["whole_coverage"]
        return signals["domain"] * focused

    def match(self, question: str) -> Match:
        """Decide: answer with an entry, offer the top three, or decline."""
        language = language_of(question)
        rows = self.candidates(question, language)
        if not rows:
            return Match(verdict=Verdict.DECLINE, language=language)
        ranked = _scores(rows)
        top_id, top_score = ranked[0]
        top_signals = rows[0][2]
        suggestions = [
            Suggestion(entry_id=eid, title=self.title(eid, language))
            for eid, _ in ranked[:SUGGESTION_COUNT]
        ]
        answer_at, suggest_at = self.thresholds
        found = {
            "score": top_score,
            "language": language,
            "best_entry_id": top_id,
            "about_filing": _about_filing(top_signals, ABOUT_FILING_NONE_MAX),
        }
        if top_score >= answer_at and not top_signals["vague"]:
            return Match(verdict=Verdict.ANSWER, entry_id=top_id, **found)
        # Below the trained menu threshold, a plainly filing message still gets the best
        # guesses: "outside my scope" would be wrong for it.
        if top_score >= suggest_at or (
            top_score >= MENU_FLOOR and _about_filing(top_signals, MENU_NONE_MAX)
        ):
            return Match(verdict=Verdict.SUGGEST, suggestions=suggestions, **found)
        return Match(verdict=Verdict.DECLINE, **found)

    def title(self, entry_id: str, language: Language) -> str:
        """An entry's title in `language` when it has one there, else its Chinese title."""
        entry = self.kb.entries[entry_id]
        return entry.en.title if language == "en" and entry.en else entry.title


def _scores(rows: list[tuple[str, float, dict[str, float]]]) -> list[tuple[str, float]]:
    """(entry id, confidence to four places) of candidate rows, in their order."""
    return [(eid, round(score, 4)) for eid, score, _ in rows]


def _about_filing(signals: dict[str, float], none_max: float) -> bool:
    """A filing word in the message, and the classifier's P(none) below `none_max`."""
    return signals["domain"] == 1.0 and signals["clf_none"] < none_max


def _cue_agreement(cues: frozenset[str], title: frozenset[str] | None) -> float:
    """1 when the title has the question's cue word, 0 when it lacks it, 0.5 without a cue."""
    if not cues:
        return 0.5
    return 1.0 if title and cues & title else 0.0


def _classifier_signals(classified: list[tuple[str, float]], rank: int) -> dict[str, float]:
    """The classifier's view of the candidate at `rank` in `classified` (len when absent): its
    probability and rank, and how sure the classifier is overall (its best probability, and
    the best's lead over the second)."""
    if not classified:
        return dict.fromkeys(("clf", "clf_first", "clf_top", "clf_margin", "clf_ratio"), 0.0)
    probability = classified[rank][1] if rank < len(classified) else 0.0
    top = classified[0][1]
    second = classified[1][1] if len(classified) > 1 else 0.0
    return {
        "clf": probability,
        "clf_first": 1.0 / (1 + rank),
        "clf_top": top,
        "clf_margin": top - second,
        "clf_ratio": probability / top if top else 0.0,
    }


_LATIN = re.compile(r"^[\x00-\x7f]+$")


def _english_texts(entry: FaqEntry) -> EntryTexts:
    """What an English question meets: the English text, else the entry's Latin keywords."""
    latin = [k for k in entry.keywords if _LATIN.match(k)]
    if entry.en is None:
        return latin, "", ""
    return [*entry.en.questions, *latin], entry.en.title, entry.en.answer
