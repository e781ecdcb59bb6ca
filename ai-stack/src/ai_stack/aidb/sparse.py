"""BM25 keyword vectors, computed here so every vector backend ranks alike (pure).

Documents get BM25's term-frequency part, tf·(k1+1) / (tf + k1·(1 - b + b·len/avg_len)); the
engine applies IDF (Qdrant's `Modifier.IDF`), and a query term weighs 1. This mirrors
fastembed's Bm25 (Snowball stemming, murmur3 term ids) without downloading anything.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

import mmh3
import Stemmer

_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)
# A short, conservative list: BM25's IDF already discounts common words.
STOPWORDS = frozenset(
    "a an and are as at be but by for if in into is it no not of on or such that the their then there"
    " these they this to was will with".split()
)


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
    language: str = "english"
    _stemmer: Stemmer.Stemmer = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._stemmer = Stemmer.Stemmer(self.language)

    def terms(self, text: str) -> list[str]:
        """Lower-cased, stop-word-free, stemmed tokens."""
        words = [w for w in _TOKEN.findall(text.lower()) if w not in STOPWORDS and len(w) < 40]
        return list(self._stemmer.stemWords(words))

    @staticmethod
    def term_id(term: str) -> int:
        """A stable non-negative 31-bit id for a term."""
        return abs(mmh3.hash(term, signed=True)) & 0x7FFFFFFF

    def document(self, text: str) -> SparseVector:
        """The vector stored for a chunk."""
        terms = self.terms(text)
        counts = Counter(self.term_id(t) for t in terms)
        norm = self.k1 * (1 - self.b + self.b * len(terms) / self.avg_len)
        ids = sorted(counts)
        return SparseVector(ids, [counts[i] * (self.k1 + 1) / (counts[i] + norm) for i in ids])

    def query(self, text: str) -> SparseVector:
        """The vector a query searches with: each distinct term weighs 1 (IDF comes from the engine)."""
        ids = sorted({self.term_id(t) for t in self.terms(text)})
        return SparseVector(ids, [1.0] * len(ids))
