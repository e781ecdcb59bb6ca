"""BM25 keyword vectors, computed here so every vector backend ranks alike (pure).

Documents get BM25's term-frequency part, tf·(k1+1) / (tf + k1·(1 - b + b·len/avg_len)), with
avg_len the collection's real average (aidb.keyword_stats); a query term weighs its IDF in
the searched collections (aidb.keyword_df), or 1 where the engine applies IDF itself (an index
made before aidb kept IDF per collection, with Qdrant's `Modifier.IDF`). Terms come from
text.keywords (stemmed words, and identifiers whole as well as by their parts); ids are murmur3
hashes, as in fastembed's Bm25.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import mmh3

from ai_stack.text.keywords import KeywordAnalyzer


@dataclass(frozen=True)
class SparseVector:
    """Parallel lists of term ids and weights (ids unique)."""

    indices: list[int]
    values: list[float]


@dataclass
class Bm25Encoder:
    """Turns text into BM25 sparse vectors."""

    k1: float = 1.2
    b: float = 0.75
    avg_len: float = 256.0
    analyzer: KeywordAnalyzer = field(default_factory=KeywordAnalyzer)

    def terms(self, text: str) -> list[str]:
        """Stemmed prose words, and identifiers whole and by their parts (see text.keywords)."""
        return self.analyzer.terms(text)

    @staticmethod
    def term_id(term: str) -> int:
        """A stable non-negative 31-bit id for a term."""
        return abs(mmh3.hash(term, signed=True)) & 0x7FFFFFFF

    def document(self, text: str, avg_len: float | None = None) -> SparseVector:
        """The vector stored for a chunk (`avg_len`: its collection's average length in terms)."""
        return self.document_of_terms(self.terms(text), avg_len)

    def document_of_terms(self, terms: list[str], avg_len: float | None = None) -> SparseVector:
        """`document` for terms already analysed."""
        counts = Counter(self.term_id(t) for t in terms)
        norm = self.k1 * (1 - self.b + self.b * len(terms) / (avg_len or self.avg_len))
        ids = sorted(counts)
        return SparseVector(ids, [counts[i] * (self.k1 + 1) / (counts[i] + norm) for i in ids])

    def query_terms(self, text: str) -> list[int]:
        """The distinct term ids of a query, ordered."""
        return sorted({self.term_id(t) for t in self.terms(text)})

    def query(self, text: str, weights: list[float] | None = None) -> SparseVector:
        """The vector a query searches with: term i weighs `weights[i]` (its IDF), or 1."""
        ids = self.query_terms(text)
        return SparseVector(ids, list(weights) if weights is not None else [1.0] * len(ids))
