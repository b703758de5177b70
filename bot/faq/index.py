"""The FAQ index: BM25 in SQLite FTS5 for recall, plus per-phrasing word sets for reranking.

Why FTS5: SQLite ships with Python and its bm25() is maintained with SQLite itself, so the
ranking needs no extra dependency, imports in no time, and an in-memory query takes tens
of microseconds. Text is segmented by jieba before it goes in; FTS5 only splits on spaces.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import sqlite3
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

# Column weights for bm25(): the ways users ask weigh most, the title next, the answer least
# (answers mention many neighbouring topics).
_BM25_WEIGHTS = (4.0, 2.0, 0.6)
# Character pairs of longer words let "实名认证" meet "实名" and survive odd segmentation;
# they count less than whole words.
_BIGRAM_WEIGHT = 0.6
_MAX_QUERY_TERMS = 16
_CJK_RUN = re.compile(r"^[\u4e00-\u9fff]{3,}$")


def features(tokens: list[str]) -> frozenset[str]:
    """Words plus `#`-marked character pairs of Chinese words of three or more characters."""
    out = set(tokens)
    for token in tokens:
        if _CJK_RUN.match(token):
            out.update("#" + token[i : i + 2] for i in range(len(token) - 1))
    return frozenset(out)


# Per entry: the tokens of each phrasing and keyword, of the title, and of the answer.
TokenizedEntry = tuple[list[list[str]], list[str], list[str]]
# Per entry, the texts that become a TokenizedEntry: (phrasings and keywords, title, answer).
EntryTexts = tuple[list[str], str, str]
# Bump when tokenisation changes in code, so cached token lists are rebuilt.
_TOKENS_FORMAT = 2


def tokenize_entries(
    texts: dict[str, EntryTexts],
    tokens: Callable[[str], list[str]],
    cache_dir: Path,
    fingerprint: str,
) -> dict[str, TokenizedEntry]:
    """Every entry's tokens, from a cache file keyed by the knowledge's content when possible.

    Segmenting ~1,200 texts takes a quarter of a second; the cache keeps `beian-bot ask` fast.
    """
    key = hashlib.sha256(f"{_TOKENS_FORMAT}\n{fingerprint}".encode()).hexdigest()[:16]
    path = cache_dir / f"faq-tokens-{key}.json"
    try:
        cached = json.loads(path.read_text(encoding="utf-8"))
        return {eid: (asked, title, answer) for eid, (asked, title, answer) in cached.items()}
    except (OSError, ValueError, TypeError):
        pass
    tokenized: dict[str, TokenizedEntry] = {
        eid: ([tokens(q) for q in asked], tokens(title), tokens(answer))
        for eid, (asked, title, answer) in texts.items()
    }
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(tokenized, ensure_ascii=False), encoding="utf-8")
    tmp.replace(path)
    return tokenized


@dataclass(frozen=True)
class Hit:
    """One entry found by BM25 (higher is better here)."""

    entry_id: str
    bm25: float


@dataclass(frozen=True)
class _Phrasings:
    """One entry's phrasings (and title) for the closest-phrasing cosine.

    `containing` maps a feature to the phrasings that have it, so the dot products are summed
    over the few features the query shares with the entry, touching only phrasings that
    have one: intersecting the query with each of a candidate's ~22 phrasings in turn (about
    half share nothing) was most of `fit`'s time.
    """

    norms: tuple[float, ...]
    containing: dict[str, tuple[int, ...]]


class FaqIndex:
    """Build once at start-up; every lookup is read-only and cheap."""

    def __init__(self, tokenized: dict[str, TokenizedEntry]) -> None:
        self._db = sqlite3.connect(":memory:", check_same_thread=False)
        self._db.execute(
            "CREATE VIRTUAL TABLE faq USING fts5(entry_id UNINDEXED, asked, title, answer,"
            " tokenize = 'unicode61 remove_diacritics 0')"
        )
        self.vocab: dict[str, frozenset[str]] = {}
        self.title_vocab: dict[str, frozenset[str]] = {}
        self.answer_vocab: dict[str, frozenset[str]] = {}
        per_entry: dict[str, list[frozenset[str]]] = {}
        rows = []
        for entry_id, (asked, title, answer) in tokenized.items():
            per_entry[entry_id] = [features(t) for t in [*asked, title]]
            # Coverage looks only at how users ask and the title: answers are broad.
            self.vocab[entry_id] = frozenset().union(*per_entry[entry_id])
            self.title_vocab[entry_id] = features(title)
            self.answer_vocab[entry_id] = features(answer)
            flat = [t for tokens in asked for t in tokens]
            rows.append((entry_id, " ".join(flat), " ".join(title), " ".join(answer)))
        self._db.executemany("INSERT INTO faq VALUES (?, ?, ?, ?)", rows)

        document_frequency = Counter(t for vocab in self.vocab.values() for t in vocab)
        total = max(len(tokenized), 1)
        self._idf = {
            t: math.log(1 + (total - df + 0.5) / (df + 0.5))
            for t, df in document_frequency.items()
        }
        self._known = frozenset(self._idf)
        # A word no entry uses is as informative as the rarest known word.
        self._unknown_idf = math.log(1 + (total + 0.5) / 0.5)
        # Every known feature's squared weight, looked up once: start-up builds a norm for
        # each of several thousand phrasings.
        squared = {t: self.weight(t) ** 2 for t in self._idf}
        self._phrasings = {eid: _phrasings(sets, squared) for eid, sets in per_entry.items()}

    def weight(self, feature: str) -> float:
        """IDF of a word; character pairs count less."""
        idf = self._idf.get(feature, self._unknown_idf)
        return idf * _BIGRAM_WEIGHT if feature.startswith("#") else idf

    def search(self, tokens: list[str], limit: int = 10) -> list[Hit]:
        """Entries ranked by BM25 for the query words (any word may match)."""
        terms = {t for t in tokens if t}
        if not terms:
            return []
        if len(terms) > _MAX_QUERY_TERMS:
            # A long message would make FTS5 score every row for dozens of OR terms; its
            # rarest words decide the ranking anyway.
            # Ties broken by the word itself: set order changes with the hash seed, and the
            # same message must get the same candidates in every run.
            ranked = sorted(terms, key=lambda t: (-self.weight(t), t))
            terms = set(ranked[:_MAX_QUERY_TERMS])
        query = " OR ".join('"' + t.replace('"', '""') + '"' for t in sorted(terms))
        try:
            rows = self._db.execute(
                "SELECT entry_id, bm25(faq, 0, ?, ?, ?) AS rank FROM faq WHERE faq MATCH ?"
                " ORDER BY rank LIMIT ?",
                (*_BM25_WEIGHTS, query, limit),
            ).fetchall()
        except sqlite3.OperationalError:
            # A token FTS5 cannot parse (it strips some symbols to nothing): no hit.
            return []
        return [Hit(entry_id=row[0], bm25=-row[1]) for row in rows]

    def fit(self, query: frozenset[str], entry_ids: list[str]) -> dict[str, Fit]:
        """How well each entry fits the query, in IDF-weighted shares (see `Fit`)."""
        weights = {f: self.weight(f) for f in query}
        squares = {f: w * w for f, w in weights.items()}
        total = sum(weights.values())
        norm = math.sqrt(sum(squares.values()))
        out: dict[str, Fit] = {}
        if total == 0:
            return {entry_id: Fit() for entry_id in entry_ids}

        def share(vocab: frozenset[str]) -> float:
            # Intersect first: the set operation runs in C, the sum only over shared words.
            return sum(weights[f] for f in query & vocab) / total

        known = share(self._known)
        for entry_id in entry_ids:
            # Every phrasing's features are in the entry's vocabulary, so the words shared
            # with it are all a phrasing can share.
            shared = query & self.vocab[entry_id]
            best = 0.0
            if shared:
                phrasings = self._phrasings[entry_id]
                dots: dict[int, float] = {}
                for feature in shared:
                    square = squares[feature]
                    for i in phrasings.containing[feature]:
                        dots[i] = dots.get(i, 0.0) + square
                norms = phrasings.norms
                best = max(dot / (norm * norms[i]) for i, dot in dots.items())
            out[entry_id] = Fit(
                similarity=best,
                coverage=sum(weights[f] for f in shared) / total,
                title=share(self.title_vocab[entry_id]),
                answer=share(self.answer_vocab[entry_id]),
                known=known,
            )
        return out


@dataclass(frozen=True)
class Fit:
    """Shares of the query's IDF weight: the closest phrasing's cosine, and what the entry's
    phrasings, title and answer cover; `known` is the share any entry knows at all."""

    similarity: float = 0.0
    coverage: float = 0.0
    title: float = 0.0
    answer: float = 0.0
    known: float = 0.0


def _phrasings(sets: list[frozenset[str]], squared: dict[str, float]) -> _Phrasings:
    """The non-empty feature sets' norms, and which of them contain each feature."""
    kept = [f for f in sets if f]
    containing: dict[str, list[int]] = {}
    for i, phrasing in enumerate(kept):
        for feature in phrasing:
            containing.setdefault(feature, []).append(i)
    return _Phrasings(
        norms=tuple(math.sqrt(sum(map(squared.__getitem__, f))) for f in kept),
        containing={feature: tuple(ids) for feature, ids in containing.items()},
    )
