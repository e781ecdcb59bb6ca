"""Reciprocal rank fusion of the dense and keyword rankings (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ai_stack.aidb.vectors.base import Hit


@dataclass(frozen=True)
class Ranked:
    """A chunk with its fused score and, for `explain`, each signal's score and rank."""

    chunk_id: str
    score: float
    payload: dict[str, Any]
    dense: float | None = None
    keyword: float | None = None
    dense_rank: int | None = None
    keyword_rank: int | None = None
    rerank: float | None = None


def single(hits: list[Hit], signal: str) -> list[Ranked]:
    """One signal's ranking as it is (vector-only or keyword-only search)."""
    return [
        Ranked(h.chunk_id, h.score, h.payload, **{signal: h.score, f"{signal}_rank": i + 1})  # type: ignore[arg-type]
        for i, h in enumerate(hits)
    ]


def rrf(
    dense: list[Hit],
    keyword: list[Hit],
    *,
    k: float = 60.0,
    dense_weight: float = 1.0,
    keyword_weight: float = 1.0,
) -> list[Ranked]:
    """score = Σ weight / (k + rank), rank from 1; ties broken by chunk id so pages are stable."""
    entries: dict[str, dict[str, Any]] = {}
    for signal, hits, weight in (("dense", dense, dense_weight), ("keyword", keyword, keyword_weight)):
        for rank, hit in enumerate(hits, start=1):
            entry = entries.setdefault(hit.chunk_id, {"payload": hit.payload, "score": 0.0})
            entry["score"] += weight / (k + rank)
            entry[signal] = hit.score
            entry[f"{signal}_rank"] = rank
    ranked = [
        Ranked(
            chunk_id,
            e["score"],
            e["payload"],
            e.get("dense"),
            e.get("keyword"),
            e.get("dense_rank"),
            e.get("keyword_rank"),
        )
        for chunk_id, e in entries.items()
    ]
    ranked.sort(key=lambda r: (-r.score, r.chunk_id))
    return ranked
