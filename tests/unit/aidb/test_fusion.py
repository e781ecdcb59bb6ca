"""Reciprocal rank fusion."""

from __future__ import annotations

import pytest
from ai_stack.aidb.fusion import rrf, single
from ai_stack.aidb.vectors.base import Hit


def hits(*ids: str) -> list[Hit]:
    return [Hit(chunk_id, 1.0 / (i + 1), {"id": chunk_id}) for i, chunk_id in enumerate(ids)]


def test_agreement_beats_a_single_first_place() -> None:
    fused = rrf(hits("a", "b", "c"), hits("b", "d", "a"), k=60)
    assert fused[0].chunk_id == "b"  # 2nd + 1st beats a's 1st + 3rd
    assert {r.chunk_id for r in fused} == {"a", "b", "c", "d"}
    assert fused[0].score == pytest.approx(1 / 62 + 1 / 61)


def test_explain_fields_and_missing_signal() -> None:
    fused = {r.chunk_id: r for r in rrf(hits("a"), hits("b"))}
    assert fused["a"].dense_rank == 1 and fused["a"].keyword is None
    assert fused["b"].keyword_rank == 1 and fused["b"].dense is None


def test_weights_tilt_the_order() -> None:
    assert rrf(hits("a"), hits("b"), dense_weight=2.0)[0].chunk_id == "a"
    assert rrf(hits("a"), hits("b"), keyword_weight=2.0)[0].chunk_id == "b"


def test_ties_are_broken_by_id_for_stable_pages() -> None:
    assert [r.chunk_id for r in rrf(hits("z"), hits("y"))] == ["y", "z"]


def test_single_keeps_order_and_scores() -> None:
    ranked = single(hits("a", "b"), "keyword")
    assert [r.chunk_id for r in ranked] == ["a", "b"]
    assert ranked[1].keyword == 0.5 and ranked[1].keyword_rank == 2
