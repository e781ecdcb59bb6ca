"""Identical chunks: one result per text within a project, at its best copy's rank."""

from __future__ import annotations

from ai_stack.aidb.duplicates import FINGERPRINT_FIELD, collapse_identical, text_fingerprint
from ai_stack.aidb.fusion import Ranked


def copy(chunk_id: str, text: str, score: float, project: str = "p", collection: str = "docs") -> Ranked:
    payload = {"collection": collection, "project": project, FINGERPRINT_FIELD: text_fingerprint(text)}
    return Ranked(chunk_id, score, payload)


def test_a_text_shows_once_at_its_best_copy() -> None:
    ranked = [
        copy("a", "MIT licence", 0.9),
        copy("b", "the event loop", 0.8),
        copy("c", "MIT licence", 0.7),
        copy("d", "MIT  licence\n", 0.6),  # re-wrapped: the same words
    ]
    kept, duplicates = collapse_identical(ranked)
    assert [k.chunk_id for k in kept] == ["a", "b"]
    assert [d.chunk_id for d in duplicates["a"]] == ["c", "d"]
    assert "b" not in duplicates


def test_copies_in_other_projects_or_collections_are_results_of_their_own() -> None:
    ranked = [
        copy("a", "MIT licence", 0.9),
        copy("b", "MIT licence", 0.8, project="other"),
        copy("c", "MIT licence", 0.7, collection="codebase-context"),
    ]
    kept, duplicates = collapse_identical(ranked)
    assert [k.chunk_id for k in kept] == ["a", "b", "c"]
    assert duplicates == {}


def test_different_words_or_case_are_different_texts() -> None:
    assert text_fingerprint("MIT licence") != text_fingerprint("MIT licences")
    assert text_fingerprint("MIT licence") != text_fingerprint("mit licence")
    assert text_fingerprint("a b") == text_fingerprint(" a\tb\n")


def test_chunks_indexed_before_fingerprints_are_never_merged() -> None:
    old = [
        Ranked("a", 0.9, {"collection": "docs", "project": "p"}),
        Ranked("b", 0.8, {"collection": "docs", "project": "p"}),
    ]
    kept, duplicates = collapse_identical(old)
    assert [k.chunk_id for k in kept] == ["a", "b"]
    assert duplicates == {}


def test_listed_copies_are_capped() -> None:
    ranked = [copy(str(i), "footer", 1 - i / 100) for i in range(30)]
    kept, duplicates = collapse_identical(ranked, max_duplicates=5)
    assert [k.chunk_id for k in kept] == ["0"]
    assert [d.chunk_id for d in duplicates["0"]] == ["1", "2", "3", "4", "5"]
