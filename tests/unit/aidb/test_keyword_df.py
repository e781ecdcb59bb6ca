"""BM25 IDF per collection: the formula, a document's contribution and the change a new version
makes (pure parts of aidb.keyword_df)."""

from __future__ import annotations

import math

import pytest
from ai_stack.aidb.keyword_df import bm25_idf, chunk_terms, df_delta
from ai_stack.aidb.sparse import Bm25Encoder


def test_idf_is_qdrants_formula_and_never_negative() -> None:
    assert bm25_idf(100, 10) == pytest.approx(math.log(1 + (100 - 10 + 0.5) / (10 + 0.5)))
    assert bm25_idf(2, 1) == pytest.approx(math.log(2))
    assert bm25_idf(10, 10) > 0
    assert bm25_idf(10, 50) == bm25_idf(10, 10)  # a count ahead of the cached total: clamped
    assert bm25_idf(1000, 1) > bm25_idf(1000, 500) > bm25_idf(1000, 1000)


def test_a_document_counts_each_term_once_per_chunk() -> None:
    assert chunk_terms([[3, 1, 3], [1], []]) == [1, 3, 1]


def test_a_new_version_changes_only_what_differs_in_term_order() -> None:
    terms, changes = df_delta([5, 1, 1, 9], [1, 9, 9, 7])
    assert terms == [1, 5, 7, 9] and changes == [1, 1, -1, -1]
    assert df_delta([2, 2], [2, 2]) == ([], [])
    assert df_delta(None, [4]) == ([4], [-1])


def test_query_weights_follow_the_term_order() -> None:
    encoder = Bm25Encoder()
    ids = encoder.query_terms("zebra giraffe zebra")
    weighted = encoder.query("zebra giraffe zebra", [float(i + 1) for i in range(len(ids))])
    assert weighted.indices == ids and weighted.values == [1.0, 2.0]
    assert encoder.query("zebra giraffe").values == [1.0, 1.0]
