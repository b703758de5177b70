"""The FAQ index: BM25 in SQLite FTS5 for recall, plus per-phrasing word sets for reranking.

Why FTS5: SQLite ships with Python and its bm25() is maintained with SQLite itself, so the
ranking needs no extra dependency, imports in no time, and an in-memory query takes tens
of microseconds. Text is segmented by jieba before it goes in; FTS5 only splits on spaces.
"""

from __future__ import annotations

import math
import re
import sqlite3
from collections import Counter
from dataclasses import dataclass

from bot.faq.models import FaqEntry
from bot.faq.text import Tokenizer

# Column weights for bm25(): the ways users ask weigh most, the title next, the answer least
# (answers mention many neighbouring topics).
_BM25_WEIGHTS = (4.0, 2.0, 0.6)
# Character pairs of longer words let "实名认证" meet "实名" and survive odd segmentation;
# they count less than whole words.
_BIGRAM_WEIGHT = 0.6
_CJK_RUN = re.compile(r"^[\u4e00-\u9fff]{3,}$")


def features(tokens: list[str]) -> frozenset[str]:
    """Words plus `#`-marked character pairs of Chinese words of three or more characters."""
    out = set(tokens)
    for token in tokens:
        if _CJK_RUN.match(token):
            out.update("#" + token[i : i + 2] for i in range(len(token) - 1))
    return frozenset(out)


@dataclass(frozen=True)
class Hit:
    """One entry found by BM25 (higher is better here)."""

    entry_id: str
    bm25: float


@dataclass(frozen=True)
class _Phrasing:
    entry_id: str
    features: frozenset[str]
    norm: float


class FaqIndex:
    """Build once at start-up; every lookup is read-only and cheap."""

    def __init__(self, entries: dict[str, FaqEntry], tokenizer: Tokenizer) -> None:
        self._db = sqlite3.connect(":memory:", check_same_thread=False)
        self._db.execute(
            "CREATE VIRTUAL TABLE faq USING fts5(entry_id UNINDEXED, asked, title, answer,"
            " tokenize = 'unicode61 remove_diacritics 0')"
        )
        self.vocab: dict[str, frozenset[str]] = {}
        per_entry: dict[str, list[frozenset[str]]] = {}
        rows = []
        for entry in entries.values():
            asked = [tokenizer.tokens(q) for q in [*entry.questions, *entry.keywords]]
            title = tokenizer.tokens(entry.title)
            answer = tokenizer.tokens(entry.answer)
            per_entry[entry.id] = [features(t) for t in [*asked, title]]
            # Coverage looks only at how users ask and the title: answers are broad.
            self.vocab[entry.id] = frozenset().union(*per_entry[entry.id])
            flat = [t for tokens in asked for t in tokens]
            rows.append((entry.id, " ".join(flat), " ".join(title), " ".join(answer)))
        self._db.executemany("INSERT INTO faq VALUES (?, ?, ?, ?)", rows)

        document_frequency = Counter(t for vocab in self.vocab.values() for t in vocab)
        total = len(entries)
        self._idf = {
            t: math.log(1 + (total - df + 0.5) / (df + 0.5))
            for t, df in document_frequency.items()
        }
        # A word no entry uses is as informative as the rarest known word.
        self._unknown_idf = math.log(1 + (total + 0.5) / 0.5)
        self._phrasings: dict[str, list[_Phrasing]] = {
            eid: [_Phrasing(eid, f, self._norm(f)) for f in sets if f]
            for eid, sets in per_entry.items()
        }

    def weight(self, feature: str) -> float:
        """IDF of a word; character pairs count less."""
        idf = self._idf.get(feature, self._unknown_idf)
        return idf * _BIGRAM_WEIGHT if feature.startswith("#") else idf

    def _norm(self, feats: frozenset[str]) -> float:
        return math.sqrt(sum(self.weight(f) ** 2 for f in feats))

    def search(self, tokens: list[str], limit: int = 10) -> list[Hit]:
        """Entries ranked by BM25 for the query words (any word may match)."""
        terms = {t for t in tokens if t}
        if not terms:
            return []
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

    def best_phrasing_similarity(self, query: frozenset[str], entry_id: str) -> float:
        """IDF-weighted cosine between the query and the entry's closest phrasing."""
        query_norm = self._norm(query)
        if query_norm == 0:
            return 0.0
        best = 0.0
        for phrasing in self._phrasings.get(entry_id, []):
            shared = query & phrasing.features
            if shared:
                dot = sum(self.weight(f) ** 2 for f in shared)
                best = max(best, dot / (query_norm * phrasing.norm))
        return best

    def coverage(self, query: frozenset[str], entry_id: str) -> float:
        """IDF-weighted share of the query's words that the entry's phrasings contain."""
        vocab = self.vocab[entry_id]
        total = sum(self.weight(f) for f in query)
        if total == 0:
            return 0.0
        return sum(self.weight(f) for f in query if f in vocab) / total
