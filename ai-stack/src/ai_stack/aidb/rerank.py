"""The rerank stage after fusion: a cross-encoder reads the query with each top candidate's text.

Off unless AI_STACK_AIDB_RERANK_MODEL_PATH names a local cross-encoder model (a directory a
`sentence_transformers.CrossEncoder` loads: for example ms-marco-MiniLM-L-6-v2). Nothing is
downloaded at run time: the path must already hold the model.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol

from ai_stack.aidb.fusion import Ranked


class Reranker(Protocol):
    """Scores (query, text) pairs: higher is more relevant."""

    async def scores(self, query: str, texts: Sequence[str]) -> list[float]: ...


class CrossEncoderReranker:
    """A sentence-transformers CrossEncoder loaded from a local directory, run off the event loop."""

    def __init__(self, model_path: Path, *, batch_size: int = 16) -> None:
        # Imported here: aidb loads torch only when a reranker is configured.
        from sentence_transformers import CrossEncoder

        # local_files_only: the path must hold the model; nothing is fetched.
        self._model: Any = CrossEncoder(str(model_path), device="cpu", local_files_only=True)
        self._batch_size = batch_size
        # One scoring at a time: torch already uses every core for one batch.
        self._lock = asyncio.Lock()

    async def scores(self, query: str, texts: Sequence[str]) -> list[float]:
        if not texts:
            return []
        pairs = [(query, text) for text in texts]
        async with self._lock:
            raw = await asyncio.to_thread(
                self._model.predict, pairs, batch_size=self._batch_size, show_progress_bar=False
            )
        return [float(s) for s in raw]


async def reranked(reranker: Reranker, query: str, ranked: list[Ranked], depth: int) -> list[Ranked]:
    """The first `depth` candidates in the reranker's order (its score becomes theirs); the rest
    follow unchanged, below them."""
    head, tail = ranked[:depth], ranked[depth:]
    if not head:
        return ranked
    scores = await reranker.scores(query, [str(r.payload.get("text", "")) for r in head])
    order = sorted(range(len(head)), key=lambda i: (-scores[i], i))
    floor = min(scores)
    rescored = [replace(head[i], score=scores[i], rerank=scores[i]) for i in order]
    # Below every reranked candidate, in fused order (their scores are not comparable).
    return rescored + [replace(r, score=floor - 1 - i, rerank=None) for i, r in enumerate(tail)]
