"""Embedding requests end to end: limits, cache, batching, normalisation."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from prometheus_client import Counter

from ai_stack.embeddings.batcher import MicroBatcher
from ai_stack.embeddings.cache import VectorCache
from ai_stack.embeddings.limits import check_count, check_tokens, fit_lengths
from ai_stack.embeddings.model import Encoder, Vectors


def normalize_rows(vectors: Vectors) -> Vectors:
    """Unit-length rows; an all-zero row stays zero instead of becoming NaN."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    normalized: Vectors = (vectors / np.maximum(norms, 1e-12)).astype(np.float32, copy=False)
    return normalized


@dataclass
class EmbeddingService:
    """Owns one loaded encoder, its batcher and the optional cache."""

    encoder: Encoder
    batcher: MicroBatcher
    cache: VectorCache | None
    cache_hits: Counter
    cache_misses: Counter
    max_inputs: int
    max_chars: int

    def prepare(self, texts: list[str], truncate: bool) -> list[str]:
        """Applies the request limits; raises InputLimitError."""
        check_count(texts, self.max_inputs)
        texts = fit_lengths(texts, self.max_chars, truncate)
        if not truncate:
            check_tokens(texts, self.encoder.max_seq_length, self.encoder.count_tokens)
        return texts

    async def embed(self, texts: list[str], normalize: bool, *, bulk: bool = False) -> Vectors:
        """Vectors for prepared texts: cached ones from Redis, the rest from the model (`bulk`:
        after every waiting interactive request)."""
        cached = await self.cache.get_many(texts, normalize) if self.cache else [None] * len(texts)
        missing = [i for i, vector in enumerate(cached) if vector is None]
        # A text repeated in one request (a page footer in every chunk of a batch) runs once.
        distinct = list(dict.fromkeys(texts[i] for i in missing))
        self.cache_hits.inc(len(texts) - len(distinct))
        self.cache_misses.inc(len(distinct))
        result = np.empty((len(texts), self.encoder.dimension), dtype=np.float32)
        for i, vector in enumerate(cached):
            if vector is not None:
                result[i] = vector
        if distinct:
            computed = await self.batcher.embed(distinct, bulk=bulk)
            if normalize:
                computed = normalize_rows(computed)
            row = {text: n for n, text in enumerate(distinct)}
            result[missing] = computed[[row[texts[i]] for i in missing]]
            if self.cache:
                await self.cache.put_many(distinct, normalize, computed)
        return result
