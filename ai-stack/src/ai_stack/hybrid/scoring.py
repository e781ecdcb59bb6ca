"""Relevance of an aidb search result on one scale, whatever answered it (pure).

aidb's fused RRF scores rank well but are not comparable across queries (about 1/60), so floors
and routing use the dense cosine similarity aidb explains for each result. When the embeddings
service is down only keyword scores exist; they are scaled into [0, KEYWORD_ONLY_CEILING] by the
best keyword score of the answer, so a keyword-only answer never looks like strong evidence.
"""

from __future__ import annotations

from collections.abc import Sequence

from ai_stack.aidb.schemas import SearchResult

KEYWORD_ONLY_CEILING = 0.5


def relevance(result: SearchResult, best_keyword: float) -> float:
    """The result's dense cosine, else its scaled keyword score."""
    explain = result.explain
    if explain is not None and explain.dense is not None:
        return max(0.0, min(1.0, explain.dense))
    keyword = explain.keyword if explain is not None and explain.keyword is not None else 0.0
    return KEYWORD_ONLY_CEILING * keyword / best_keyword if best_keyword > 0 else 0.0


def best_keyword(results: Sequence[SearchResult]) -> float:
    """The highest keyword score among results (0 when none has one)."""
    scores = [r.explain.keyword for r in results if r.explain is not None and r.explain.keyword is not None]
    return max(scores, default=0.0)
