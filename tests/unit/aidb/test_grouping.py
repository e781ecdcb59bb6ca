"""Grouping by document: one place per document, at its best chunk's rank, other sections listed."""

from __future__ import annotations

from ai_stack.aidb.fusion import Ranked
from ai_stack.aidb.grouping import group_by_document, groups_by_default


def chunk(chunk_id: str, document: str, score: float) -> Ranked:
    return Ranked(chunk_id, score, {"document_id": document})


def test_a_document_takes_one_place_at_its_best_rank() -> None:
    ranked = [chunk("a1", "A", 0.9), chunk("a2", "A", 0.8), chunk("b1", "B", 0.7), chunk("a3", "A", 0.6)]
    groups = group_by_document(ranked)
    assert [g.best.chunk_id for g in groups] == ["a1", "b1"]
    assert [o.chunk_id for o in groups[0].others] == ["a2", "a3"]
    assert groups[1].others == []


def test_other_sections_are_capped() -> None:
    ranked = [chunk(f"a{i}", "A", 1 - i / 100) for i in range(10)]
    (group,) = group_by_document(ranked, max_sections=3)
    assert [o.chunk_id for o in group.others] == ["a1", "a2", "a3"]


def test_grouping_is_the_default_only_for_documentation_collections() -> None:
    assert groups_by_default(["docs"], ["docs"])
    assert not groups_by_default(["docs", "memories"], ["docs"])
    assert not groups_by_default([], ["docs"])  # every collection: memories and code too
